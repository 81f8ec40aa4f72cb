"""Security events as log lines and metrics, beside the audit rows that record them.

The audit table is the record; these are what an operator watches and alerts on. A line names
the user by id (when the attempt named an account) and the client address, never the email
typed: an email is personal data, log lines travel further than the database (aggregators,
support tickets), and a hash of an email is no disguise for addresses one can guess. Whoever may
read the audit table can turn an id back into a person; nobody else needs to.
"""

from __future__ import annotations

from enum import StrEnum

from inbound.logs import get_logger
from inbound.metrics import Metrics

_log = get_logger("security")


class SignInRefusal(StrEnum):
    """Why a sign-in was refused (the `reason` label of inbound_sign_in_failures_total)."""

    PASSWORD = "password"  # noqa: S105 (a label) wrong password, no such account, or disabled
    CODE = "code"  # wrong two-factor code
    CODE_REUSED = "code_reused"  # a right code, but of a step already used
    THROTTLED = "throttled"  # told to wait; nothing was checked
    STALE_ENROLMENT = "stale_enrolment"  # confirming a key when the account already has one
    BUSY = "busy"  # too many password checks queued; told to try again in a moment


class Denied(StrEnum):
    """What was refused (the `kind` label of inbound_access_denied_total)."""

    ITEM = "item"  # another service's review item (pages or API)
    QUEUE = "queue"  # another service's queue
    RULES = "rules"  # the rules page of a service the user doesn't administer
    ACTION = "action"  # another service's undelivered callback or reply ("try again")
    TEAM = "team"  # the team page of a service the user doesn't administer, or its members
    OPT_OUTS = "opt_outs"  # the opt-out register of a service the user doesn't work on
    REVOKED_TOKEN = "revoked_token"  # noqa: S105 (a label) an API token revoked, or whose user was disabled
    EXPIRED_TOKEN = "expired_token"  # noqa: S105 (a label) an API token past its expiry


class SecurityEvents:
    """Writes each event as one structured log line and counts it."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        # Every series exists from the start at 0, so increase() sees the first event.
        for reason in SignInRefusal:
            metrics.sign_in_failures.labels(reason.value)
        for kind in Denied:
            metrics.access_denied.labels(kind.value)

    @classmethod
    def unexported(cls) -> SecurityEvents:
        """Events that are logged, with metrics nobody scrapes (tests, tools)."""
        return cls(Metrics.create())

    def sign_in_refused(
        self,
        reason: SignInRefusal,
        *,
        user_id: int | None,
        address: str | None,
        wait_seconds: int | None = None,
    ) -> None:
        """A refused sign-in: `user_id` when the email named an account, None when it didn't."""
        self._metrics.sign_in_failures.labels(reason.value).inc()
        _log.warning(
            "sign_in_refused",
            reason=reason.value,
            user_id=user_id,
            address=address,
            wait_seconds=wait_seconds,
        )

    def access_denied(
        self,
        kind: Denied,
        *,
        user_id: int | None,
        address: str | None,
        service_id: str | None = None,
        item_id: int | None = None,
        token_id: int | None = None,
        detail: str | None = None,
    ) -> None:
        """A refusal of something outside the user's scope, or of a token no longer valid."""
        self._metrics.access_denied.labels(kind.value).inc()
        _log.warning(
            "access_denied",
            kind=kind.value,
            user_id=user_id,
            address=address,
            service_id=service_id,
            item_id=item_id,
            token_id=token_id,
            detail=detail,
        )

    def revoked_token_used(self, *, token_id: int, user_id: int, address: str | None) -> None:
        """Someone presented an API token that was revoked (or whose user was disabled)."""
        self.access_denied(
            Denied.REVOKED_TOKEN, user_id=user_id, address=address, token_id=token_id
        )
