"""API keys in GOV.UK Notify's format: a service token row that also keeps its key's issuer (the
service's UUID) and its secret, sealed, for checking the JWTs Notify's clients sign (issue 17)

HS256 needs the secret itself at verification, so unlike a token's SHA-256 it is kept, sealed
with INBOUND_SECRET_KEY as two-factor keys are (inbound/review/secret_box.py; docs/security.md).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 00:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("notify_issuer", sa.String(36), nullable=True))
        batch.add_column(sa.Column("notify_secret", sa.String(255), nullable=True))
        batch.create_index("ix_api_tokens_notify_issuer", ["notify_issuer"])


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_index("ix_api_tokens_notify_issuer")
        batch.drop_column("notify_secret")
        batch.drop_column("notify_issuer")
