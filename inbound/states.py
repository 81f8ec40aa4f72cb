"""The states a stored record moves through, each named once. Pure.

The database keeps the values as strings; a StrEnum member compares equal to its value, so
queries and rows read either way.
"""

from __future__ import annotations

from enum import StrEnum


class ReviewState(StrEnum):
    """Where a review item is: open → claimed → resolved or dismissed."""

    OPEN = "open"  # waiting for a caseworker
    CLAIMED = "claimed"  # one caseworker holds it; only they can decide, reply or dismiss
    RESOLVED = "resolved"  # decided with an action (an outcome was recorded)
    DISMISSED = "dismissed"  # closed without an action, with the caseworker's reason

    @property
    def is_live(self) -> bool:
        """True while a caseworker can still act on it."""
        return self in (ReviewState.OPEN, ReviewState.CLAIMED)


LIVE_REVIEW_STATES = (ReviewState.OPEN, ReviewState.CLAIMED)


class ActionKind(StrEnum):
    """What an outbox row does."""

    CALLBACK = "callback"  # POST the outcome to the service's own system
    REPLY = "reply"  # text the sender


class ActionState(StrEnum):
    """Where an outbox row is: pending until delivered, failed or never to be sent."""

    # to be attempted (queued, or waiting in a retry queue). A worker claims a pending action
    # before each attempt (`claimed_until`, `attempts.may_claim`): a lease beside the state, not
    # a state of its own, so the reply cap, the sweep and retention see a pending action as one.
    PENDING = "pending"
    DELIVERED = "delivered"  # the service or the SMS provider took it
    FAILED = "failed"  # gave up: a final answer or out of attempts; the message went to review
    SUPPRESSED = "suppressed"  # decided not to send (opted out, reply cap, can't receive texts)


FINISHED_ACTION_STATES = (ActionState.DELIVERED, ActionState.FAILED, ActionState.SUPPRESSED)


class PartGroupState(StrEnum):
    """Where the parts of one long SMS are."""

    WAITING = "waiting"  # parts still missing
    JOINED = "joined"  # every part arrived; the whole was stored
    EXPIRED = "expired"  # the timeout passed first; what arrived went to review
