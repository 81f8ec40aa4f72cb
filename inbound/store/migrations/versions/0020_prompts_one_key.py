"""prompts: the unique key as (service, recipient, reference), which also serves a reply's lookup
by (service, recipient), so the lookup's own index goes: an answer that can't be HOT writes two
index entries, not three (issue 15)

In `make bench`'s alternated runs on 1,000,000 prompts the answers' UPDATE took 5-34 % less
without the third index (docs/performance.md). PostgreSQL and SQLite infer an ON CONFLICT target
from a unique index whatever the order of its columns, so the writes' (service_id, reference,
recipient) target finds the new key. Building it locks the table's writes for a few seconds per
million prompts.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 04:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("prompts", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_prompts_service_recipient_reference", ["service_id", "recipient", "reference"]
        )
        batch_op.drop_constraint("uq_prompts_service_reference_recipient", type_="unique")
        batch_op.drop_index("ix_prompts_service_recipient")


def downgrade() -> None:
    with op.batch_alter_table("prompts", schema=None) as batch_op:
        batch_op.create_index("ix_prompts_service_recipient", ["service_id", "recipient"])
        batch_op.create_unique_constraint(
            "uq_prompts_service_reference_recipient", ["service_id", "reference", "recipient"]
        )
        batch_op.drop_constraint("uq_prompts_service_recipient_reference", type_="unique")
