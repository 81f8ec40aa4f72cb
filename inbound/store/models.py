"""Database tables. Message content can be purged; ids, outcomes and review state stay."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from inbound.states import ReviewState


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC time")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base for every table."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime(), dict[str, Any]: JSON}


class Message(Base):
    """One received SMS, stored once per (provider, provider message id)."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("provider", "provider_message_id", name="uq_messages_provider_id"),
        Index("ix_messages_provider_message_id", "provider_message_id"),
        Index("ix_messages_service_received", "service_id", "received_at"),
        Index("ix_messages_service_accepted", "service_id", "accepted_at"),
        # One number's conversation with a service, newest first (migration 0010).
        Index("ix_messages_service_sender_accepted", "service_id", "sender", "accepted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_message_id: Mapped[str] = mapped_column(String(200))
    sender: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text)  # None once purged after retention
    service_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # processed | review | repeat
    received_at: Mapped[datetime]
    accepted_at: Mapped[datetime]
    stored_at: Mapped[datetime]
    # The prompt this reply answered, or most likely relates to (migration 0009; prompts.id, no
    # FK: retention purges the two on their own schedules), and how it was matched, in words.
    prompt_id: Mapped[int | None]
    prompt_match: Mapped[str | None] = mapped_column(String(500))


class Outcome(Base):
    """An automatic action taken on a message by a rule."""

    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    service_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str] = mapped_column(String(200))
    captures: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class ReviewItem(Base):
    """A message waiting for a person, and why."""

    __tablename__ = "review_items"
    __table_args__ = (
        Index("ix_review_items_service_state", "service_id", "state", "created_at"),
        # The live queue in the page's order (migration 0013): partial, so decided items,
        # which only grow, stay out of it. The states are LIVE_REVIEW_STATES.
        Index(
            "ix_review_items_live_service_created",
            "service_id",
            "created_at",
            "id",
            postgresql_where=text("state IN ('open', 'claimed')"),
            sqlite_where=text("state IN ('open', 'claimed')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    service_id: Mapped[str | None] = mapped_column(String(64))  # None: no service owns the number
    reason: Mapped[str] = mapped_column(String(500))
    rule: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default=ReviewState.OPEN)
    created_at: Mapped[datetime]
    # Caseworker review (migration 0005): who holds it, and what they decided.
    claimed_by: Mapped[int | None]  # users.id (no FK: SQLite batch alters stay simple)
    claimed_at: Mapped[datetime | None]
    decided_by: Mapped[int | None]  # users.id
    decided_at: Mapped[datetime | None]
    decision: Mapped[str | None] = mapped_column(String(32))  # an action, or "dismissed"
    decision_note: Mapped[str | None] = mapped_column(String(500))  # e.g. the dismissal reason
    # Claims that lapse (migration 0014): the holder's last touch, when an untouched claim was
    # released (shown until the next claim), and who assigned it to its holder (users.id).
    touched_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]
    assigned_by: Mapped[int | None]
    # Its message's accepted_at (migration 0017), so the queue's day filter and its counts per
    # reason read no message. Set whenever an item is opened.
    received_at: Mapped[datetime | None]


class PartGroup(Base):
    """The parts of one concatenated SMS, gathered until all have arrived (or time runs out)."""

    __tablename__ = "part_groups"
    __table_args__ = (
        UniqueConstraint("provider", "sender", "recipient", "reference", name="uq_part_groups_key"),
        Index("ix_part_groups_state_first_seen", "state", "first_seen_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    sender: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(100))
    total: Mapped[int]
    state: Mapped[str] = mapped_column(String(16))  # waiting | joined | expired
    first_seen_at: Mapped[datetime]
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))


class MessagePart(Base):
    """One received part; its text is cleared once the whole message is stored."""

    __tablename__ = "message_parts"
    __table_args__ = (
        UniqueConstraint("provider", "provider_message_id", name="uq_message_parts_provider_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("part_groups.id"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_message_id: Mapped[str] = mapped_column(String(200))
    number: Mapped[int]
    text: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]
    accepted_at: Mapped[datetime]


class Action(Base):
    """One side effect of an outcome (a callback or a reply), delivered at most once in effect.

    Written in the same transaction as the outcome (an outbox), so a crash can't lose it.
    """

    __tablename__ = "actions"
    __table_args__ = (
        Index("ix_actions_state_published", "state", "published_at"),
        Index("ix_actions_kind_recipient_created", "kind", "recipient", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    service_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # callback | reply
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    recipient: Mapped[str | None] = mapped_column(String(32))  # reply: the number texted
    payload: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16))  # pending | delivered | failed | suppressed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None]
    first_attempt_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # A worker sending it holds it until then (a holder that died lets go when it passes).
    claimed_until: Mapped[datetime | None]
    # Not handed over before then (migration 0011): a caseworker's decision may be undone
    # until it passes.
    not_before: Mapped[datetime | None]


class OptOut(Base):
    """A number that asked a service to stop texting it; kept when message content is purged."""

    __tablename__ = "opt_outs"
    __table_args__ = (UniqueConstraint("service_id", "number", name="uq_opt_outs_service_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[str] = mapped_column(String(64))
    number: Mapped[str] = mapped_column(String(32))
    opted_out_at: Mapped[datetime]


class SpoolEntry(Base):
    """An accepted message RabbitMQ didn't confirm in time, kept until a relay publishes it."""

    __tablename__ = "spool"
    __table_args__ = (
        UniqueConstraint("provider", "provider_message_id", name="uq_spool_provider_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_message_id: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)  # the InboundMessage as published (JSON)
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))


class User(Base):
    """A person who signs in to the review queue."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id
    # None until enrolled; encrypted with INBOUND_SECRET_KEY where one is set.
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)  # a code is used once
    platform_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]  # set: no sign-in, no session, no token


class Membership(Base):
    """A user's role in one service: caseworker or service_admin."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "service_id", name="uq_memberships_user_service"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    service_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))


class WebSession(Base):
    """A signed-in browser; the cookie holds a random token, this row its SHA-256."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16))  # password (second factor due) | full
    csrf_token: Mapped[str] = mapped_column(String(64))
    totp_pending: Mapped[str | None] = mapped_column(String(255))  # enrolment not yet confirmed
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class AuditEvent(Base):
    """Who did what, when; never a message body or a phone number."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_action_at", "action", "at"),
        Index("ix_audit_events_action_subject_at", "action", "subject", "at"),
        Index("ix_audit_events_action_address_at", "action", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(32))
    service_id: Mapped[str | None] = mapped_column(String(64))
    item_id: Mapped[int | None]
    subject: Mapped[str | None] = mapped_column(String(254))  # e.g. the email tried at sign-in
    address: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(500))


class ApiToken(Base):
    """A bearer token for /api/, acting as its user (a personal token) or for one service (a
    service token, for machine clients: then user_id is None); only the SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    service_id: Mapped[str | None] = mapped_column(String(64))  # set exactly for service tokens
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # A key in GOV.UK Notify's format (migration 0016): the issuer its JWTs name (the service's
    # UUID, inbound.notify_keys) and its secret, sealed with INBOUND_SECRET_KEY (HS256 needs the
    # secret itself to check a signature). Both None for every other token.
    notify_issuer: Mapped[str | None] = mapped_column(String(36), index=True)
    notify_secret: Mapped[str | None] = mapped_column(String(255))


class Note(Base):
    """A caseworker's note on a review item."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class WebhookNonce(Base):
    """A provider's one-time value already seen, so a captured request can't be replayed."""

    __tablename__ = "webhook_nonces"
    __table_args__ = (
        UniqueConstraint("provider", "nonce", name="uq_webhook_nonces_provider_nonce"),
        Index("ix_webhook_nonces_seen_at", "seen_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[str] = mapped_column(String(200))
    seen_at: Mapped[datetime]


class PromptRow(Base):
    """One outbound message a service sent that expects an answer (`inbound.prompts.model`)."""

    __tablename__ = "prompts"
    __table_args__ = (
        # The key, which also serves a reply's lookup by (service, recipient): no index of its
        # own, so an answer that can't be HOT writes two index entries, not three (0020). Not
        # on state: an answer then changes no indexed column and can be a HOT update (0012,
        # which also sets a fill factor of 90 on PostgreSQL).
        UniqueConstraint(
            "service_id", "recipient", "reference", name="uq_prompts_service_recipient_reference"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(32))  # E.164
    reference: Mapped[str] = mapped_column(String(200))
    expects: Mapped[list[str]] = mapped_column(JSON)  # action names, sorted
    sent_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    text: Mapped[str | None] = mapped_column(Text)  # None: not given, or purged
    state: Mapped[str] = mapped_column(String(16))  # a PromptState
    answer_action: Mapped[str | None] = mapped_column(String(32))
    answered_at: Mapped[datetime | None]
    # messages.id of the reply that answered it (no FK: retention may purge messages first).
    answer_message_id: Mapped[int | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class NotifyPoll(Base):
    """One service whose received texts are polled from GOV.UK Notify (`inbound.backfill`).

    The row is the lease that lets one process at a time poll the service, however many run.
    """

    __tablename__ = "notify_polls"

    service_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))  # the process polling it now
    lease_until: Mapped[datetime | None]  # the holder's lease lapses then (a process that died)
    polled_at: Mapped[datetime | None]  # when the last poll ended (inbound's clock)
    covered_to: Mapped[datetime | None]  # when it began: every text Notify had then was seen


class RuleVersion(Base):
    """One published version of a service's rules managed in inbound (migration 0018).

    The rules in force are the service's highest `number` (unless it was moved back to a rule
    file: `RuleRelease`); a version is never changed.
    """

    __tablename__ = "rule_versions"

    service_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    number: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    yaml: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(254))  # a user's email, or who ran the command
    created_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    based_on: Mapped[int | None]  # the version in force when its draft began (None: imported)


class RuleRelease(Base):
    """A version of a service's rules moved back to a rule file (migration 0019).

    While `finished_at` is None the version stays in force until its file is in the rules
    folder; once finished the file alone is, and the service's versions are history.
    """

    __tablename__ = "rule_releases"

    service_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    number: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # the version
    path: Mapped[str] = mapped_column(Text)  # the rule file written
    author: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class RuleDraft(Base):
    """Rules checked but not published; `based_on` is the version in force when it began."""

    __tablename__ = "rule_drafts"
    __table_args__ = (Index("ix_rule_drafts_service", "service_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[str] = mapped_column(String(64))
    yaml: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime]
    based_on: Mapped[int | None]
