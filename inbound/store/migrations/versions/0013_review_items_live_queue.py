"""the live review queue in order: open and claimed items by (service_id, created_at, id),
partial on those two states (issue 16)

The queue page lists a service's open and claimed items oldest first, 50 at a time (keyset on
created_at, id). `ix_review_items_service_state` has `state` before `created_at`, so two states
can't be read from it in order: with 100,000 open items and 1,000,000 messages PostgreSQL joined
every item to its message and sorted them for each page (231 ms, p95 493 ms over HTTP in
`make bench`). This index gives the rows in the page's order, so a page reads 51 of them
(0.2 ms). Partial: decided items, which only grow, are not in it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 21:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("state IN ('open', 'claimed')")


def upgrade() -> None:
    op.create_index(
        "ix_review_items_live_service_created",
        "review_items",
        ["service_id", "created_at", "id"],
        postgresql_where=LIVE,
        sqlite_where=LIVE,
    )


def downgrade() -> None:
    op.drop_index("ix_review_items_live_service_created", table_name="review_items")
