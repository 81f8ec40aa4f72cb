"""multipart message parts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 01:27:25.761977
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "part_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("sender", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "provider", "sender", "recipient", "reference", name="uq_part_groups_key"
        ),
    )
    with op.batch_alter_table("part_groups", schema=None) as batch_op:
        batch_op.create_index(
            "ix_part_groups_state_first_seen", ["state", "first_seen_at"], unique=False
        )

    op.create_table(
        "message_parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("provider_message_id", sa.String(length=200), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["part_groups.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider", "provider_message_id", name="uq_message_parts_provider_id"),
    )
    with op.batch_alter_table("message_parts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_parts_group_id"), ["group_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("message_parts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_parts_group_id"))

    op.drop_table("message_parts")
    with op.batch_alter_table("part_groups", schema=None) as batch_op:
        batch_op.drop_index("ix_part_groups_state_first_seen")

    op.drop_table("part_groups")
