"""prompts: the outbound messages a service sent that expect an answer, and service API tokens
for the machine clients that send them (issue 15)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "prompts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("expects", sa.JSON(), nullable=False),
        sa.Column("sent_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("answer_action", sa.String(length=32), nullable=True),
        sa.Column("answered_at", TZ, nullable=True),
        sa.Column("answer_message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "service_id", "reference", "recipient", name="uq_prompts_service_reference_recipient"
        ),
    )
    with op.batch_alter_table("prompts", schema=None) as batch_op:
        # Every reply looks up its sender's prompts for the service, by state.
        batch_op.create_index(
            "ix_prompts_service_recipient_state", ["service_id", "recipient", "state"]
        )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        # A service token acts for one service, not as a user: user_id is NULL for it.
        batch_op.add_column(sa.Column("service_id", sa.String(length=64), nullable=True))
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # Service tokens have no user to keep them under; they go with the column that scoped them.
    op.execute("DELETE FROM api_tokens WHERE user_id IS NULL")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("service_id")
    with op.batch_alter_table("prompts", schema=None) as batch_op:
        batch_op.drop_index("ix_prompts_service_recipient_state")
    op.drop_table("prompts")
