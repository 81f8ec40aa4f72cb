"""claims that lapse: when the holder last touched an item, when it was released for not being
touched, and who assigned it (issue 16)

A claim not touched (claimed, replied to, noted, a decision checked) for
INBOUND_CLAIM_RELEASE_AFTER minutes is released the next time anyone looks at the queue or acts
on the item; `released_at` keeps the queue's "released: not touched" tag until it is claimed
again. Existing claims count as touched when they were claimed.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 21:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("review_items") as batch:
        batch.add_column(sa.Column("touched_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("released_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("assigned_by", sa.Integer(), nullable=True))
    op.execute("UPDATE review_items SET touched_at = claimed_at WHERE state = 'claimed'")


def downgrade() -> None:
    with op.batch_alter_table("review_items") as batch:
        batch.drop_column("assigned_by")
        batch.drop_column("released_at")
        batch.drop_column("touched_at")
