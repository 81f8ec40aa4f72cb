"""access control and two-factor hardening: disabled users, token expiry and revocation, TOTP
replay guard, room for encrypted TOTP keys, webhook nonces, purge by inbound's own clock

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 07:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled_at", TZ, nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
        # An encrypted key (Fernet token) is longer than the 32-character base32 key.
        batch_op.alter_column(
            "totp_secret", existing_type=sa.String(length=64), type_=sa.String(length=255)
        )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.alter_column(
            "totp_pending", existing_type=sa.String(length=64), type_=sa.String(length=255)
        )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", TZ, nullable=True))
        batch_op.add_column(sa.Column("last_used_at", TZ, nullable=True))
        batch_op.add_column(sa.Column("revoked_at", TZ, nullable=True))
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        # Sign-in throttling counts recent failures per account and per client address.
        batch_op.create_index("ix_audit_events_action_subject_at", ["action", "subject", "at"])
        batch_op.create_index("ix_audit_events_action_address_at", ["action", "address", "at"])
    with op.batch_alter_table("messages", schema=None) as batch_op:
        # Retention runs on the time inbound accepted a message, not the provider's claim.
        batch_op.create_index("ix_messages_service_accepted", ["service_id", "accepted_at"])
    op.create_table(
        "webhook_nonces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("nonce", sa.String(length=200), nullable=False),
        sa.Column("seen_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider", "nonce", name="uq_webhook_nonces_provider_nonce"),
    )
    with op.batch_alter_table("webhook_nonces", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_nonces_seen_at", ["seen_at"])


def downgrade() -> None:
    with op.batch_alter_table("webhook_nonces", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_nonces_seen_at")
    op.drop_table("webhook_nonces")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_service_accepted")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_action_address_at")
        batch_op.drop_index("ix_audit_events_action_subject_at")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.alter_column(
            "totp_pending", existing_type=sa.String(length=255), type_=sa.String(length=64)
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column(
            "totp_secret", existing_type=sa.String(length=255), type_=sa.String(length=64)
        )
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("disabled_at")
