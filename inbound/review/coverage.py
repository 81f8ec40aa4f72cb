"""Which services have nobody to work their review queue. Pure.

A service's review items reach the people with a role in it (caseworker or service_admin: both
see its queue); a platform admin sees only messages no service owns, and a disabled account
signs in to nothing. A service whose rules load but that has none of these gets a warning.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# The roles that see a service's queue (platform_admin is not per service).
QUEUE_ROLES = frozenset({"caseworker", "service_admin"})


@dataclass(frozen=True)
class Member:
    """One user's role in one service, and whether the user can sign in."""

    service_id: str
    role: str
    active: bool  # False when the account is disabled (or removed)


def without_caseworker(services: Iterable[str], members: Iterable[Member]) -> tuple[str, ...]:
    """The services (sorted, once each) no active user can work the queue of."""
    covered = {m.service_id for m in members if m.active and m.role in QUEUE_ROLES}
    return tuple(sorted({service for service in services if service not in covered}))


def warning(service_id: str) -> str:
    """The warning in words, with the command that fixes it."""
    return (
        f"service '{service_id}' has no caseworker: its review items will reach nobody. "
        f"Add one with `inbound users add EMAIL --service {service_id} --role caseworker`"
    )
