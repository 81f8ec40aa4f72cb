"""rule_versions and rule_drafts: rules managed in inbound (issue 18)

A service whose rules are managed in inbound has its rule file's YAML stored here, one row a
published version (who, when, why, and the version it was based on); the rules in force are its
latest version. Drafts are YAML checked but not yet published; a draft remembers the version it
began from, so a publish after someone else's is refused rather than silently undoing theirs.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rule_versions",
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("yaml", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("based_on", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("service_id", "number"),
    )
    op.create_table(
        "rule_drafts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("yaml", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("based_on", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rule_drafts_service", "rule_drafts", ["service_id"])


def downgrade() -> None:
    op.drop_index("ix_rule_drafts_service", table_name="rule_drafts")
    op.drop_table("rule_drafts")
    op.drop_table("rule_versions")
