"""prompts looked up by (service, recipient) without state, with room on each page: answering a
prompt no longer writes any index (issue 15)

A reply's answer sets `state`, `answer_action`, `answered_at` and `answer_message_id`. With
`state` in the lookup index, PostgreSQL could never make that update HOT: every answer wrote a
new entry into each of the table's three indexes (0 HOT updates of 5,000 in `make bench`). The
lookup needs only (service_id, recipient), a handful of rows a number, whose state is read from
the row anyway; and a fill factor of 90 leaves each page room for its rows' new versions.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 20:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_prompts_service_recipient", "prompts", ["service_id", "recipient"])
    op.drop_index("ix_prompts_service_recipient_state", table_name="prompts")
    if op.get_bind().dialect.name == "postgresql":
        # Only pages written from now on keep the room; existing ones fill as rows move.
        op.execute("ALTER TABLE prompts SET (fillfactor = 90)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE prompts RESET (fillfactor)")
    op.create_index(
        "ix_prompts_service_recipient_state", "prompts", ["service_id", "recipient", "state"]
    )
    op.drop_index("ix_prompts_service_recipient", table_name="prompts")
