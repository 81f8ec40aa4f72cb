"""actions.not_before: a caseworker's decision holds its callback and reply back for the undo
window (issue 16)

A decision made on the item page may be undone for 30 seconds. Its actions are written with
`not_before` = decided + 30 s; the outbox's sweep hands a pending action over only once
`not_before` has passed, so until then undoing can delete it before anything has left.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 20:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("actions") as batch:
        batch.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("actions") as batch:
        batch.drop_column("not_before")
