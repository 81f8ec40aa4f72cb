"""rule_releases: a service managed in inbound moved back to a rule file (issue 18)

`inbound rules export SERVICE --to-files` writes the version in force as a rule file and records
here that the service's rules are managed in files again. Its versions stay (history is never
deleted); a later `inbound rules import` stores the next version after the last.

A row is written before the file and finished after it: while `finished_at` is NULL the version
stays in force until its file is in the rules folder, and then the file is (no moment with no
rules or with both). Once finished, the version is history and the file alone is in force.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 03:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rule_releases",
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=254), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("service_id", "number"),
    )


def downgrade() -> None:
    op.drop_table("rule_releases")
