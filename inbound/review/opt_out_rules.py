"""Who may see and change a service's opt-out register, and reading what a caseworker types
into its forms (a number in any way people write it, a reason). Pure.

Everyone who works on a service (caseworker or service admin) and a platform admin may see the
register and search it: a caseworker needs to know why their reply to a number was refused.
Only the service's admins and platform admins may opt a number back in: it lets the service
text someone who said stop, so it is the service's decision, not one caseworker's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from inbound import phone
from inbound.review.decisions import control_character

PER_PAGE = 50
LONGEST_REASON = 400  # the audit row's detail holds 500, with the masked number and the id
LONGEST_TYPED_NUMBER = 40  # longer than any way of writing a phone number


@dataclass(frozen=True)
class Viewer:
    """The person looking at the register."""

    roles: Mapping[str, str]  # service id -> role
    platform_admin: bool


class RegisterError(ValueError):
    """What a caseworker typed can't be used; `field` names the form field at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def may_view(viewer: Viewer, service_id: str) -> bool:
    """True when the person may see and search the service's register."""
    return viewer.platform_admin or service_id in viewer.roles


def may_opt_back_in(viewer: Viewer, service_id: str) -> bool:
    """True when the person may take a number off the service's register."""
    return viewer.platform_admin or viewer.roles.get(service_id) == "service_admin"


def searched_number(typed: str, region: str) -> str:
    """The number to look for, in E.164, from however it was typed (`07700 900123`, `+44 7700
    900123`, `0044…`), read in the service's region; RegisterError when it can't be one."""
    value = typed.strip()
    if not value:
        raise RegisterError("Enter a phone number", "number")
    if len(value) > LONGEST_TYPED_NUMBER or control_character(value) is not None:
        raise RegisterError("Enter a phone number, like 07700 900123", "number")
    try:
        number = phone.normalise(value, region)
    except phone.InvalidNumber:
        number = ""
    # normalise keeps sender names and short codes as given: neither is on a register of
    # numbers people text from, and "abc" is a typing mistake, not a name to look for.
    if not phone.is_e164(number):
        raise RegisterError("Enter a phone number, like 07700 900123 or +44 7700 900123", "number")
    return number


def reason(typed: str) -> str:
    """Why a number is opted back in, trimmed; required, since the audit log keeps it."""
    value = typed.strip()
    if not value:
        raise RegisterError("Enter why this number is being opted back in", "reason")
    if control_character(value) is not None:
        raise RegisterError("The reason contains a character no one types: remove it", "reason")
    if len(value) > LONGEST_REASON:
        raise RegisterError(f"The reason must be {LONGEST_REASON} characters or fewer", "reason")
    return value


def page_count(total: int) -> int:
    """How many pages the register takes; one even when it is empty."""
    return max(1, -(-total // PER_PAGE))


def page_number(raw: str) -> int | None:
    """The page asked for (1 when none is); None when the value can't be a page."""
    if raw == "":
        return 1
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6 or int(raw) < 1:
        return None
    return int(raw)


def pages_shown(current: int, last: int) -> list[int | None]:
    """The page numbers the pagination links, None for an ellipsis: the first, the last, and
    the current with its neighbours, as the Design System's pagination shows them."""
    wanted = sorted({1, last, current - 1, current, current + 1} & set(range(1, last + 1)))
    shown: list[int | None] = []
    for number in wanted:
        if shown and number - (shown[-1] or 0) > 1:
            shown.append(None)
        shown.append(number)
    return shown
