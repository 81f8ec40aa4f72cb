"""Reading back the prompts a service sent, in every state, for `inbound rules replay`.

Read-only: a replay decides stored replies again with these and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.store.models import PromptRow

# One conversion of a row for every reader of prompts (its module keeps it private to the store).
from inbound.store.prompts import StoredPrompt, _stored

# Numbers per statement: well under SQLite's limit on parameters (32,766).
_SLICE = 1000


async def prompts_by_sender(
    session: AsyncSession, service: str, numbers: Iterable[str]
) -> dict[str, list[StoredPrompt]]:
    """Every prompt the service sent to each of `numbers` (open, answered and withdrawn), with
    the message that answered it, oldest sent first; numbers with none are left out."""
    wanted = sorted(set(numbers))
    found: dict[str, list[StoredPrompt]] = {}
    for start in range(0, len(wanted), _SLICE):
        rows = await session.scalars(
            select(PromptRow)
            .where(
                PromptRow.service_id == service,
                PromptRow.recipient.in_(wanted[start : start + _SLICE]),
            )
            .order_by(PromptRow.sent_at, PromptRow.id)
        )
        for row in rows:
            found.setdefault(row.recipient, []).append(_stored(row))
    return found
