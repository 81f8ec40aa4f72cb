"""notify_polls: one row a service whose received texts inbound polls from GOV.UK Notify
(issue 17): the lease that lets one process poll it at a time, when it was last polled, and
when the last complete poll began

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 23:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notify_polls",
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("covered_to", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("service_id"),
    )


def downgrade() -> None:
    op.drop_table("notify_polls")
