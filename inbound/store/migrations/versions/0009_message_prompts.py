"""message prompts: each stored reply records the prompt it answered (or most likely relates
to) and, in words, how it was matched to it (issue 15)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: PostgreSQL adds them without rewriting the table. No foreign key:
    # retention deletes prompts and messages on their own schedules.
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prompt_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("prompt_match", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("prompt_match")
        batch_op.drop_column("prompt_id")
