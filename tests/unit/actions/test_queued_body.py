"""What a message on the actions queue says: the action, and (since issue 14) its service."""

from __future__ import annotations

import pytest

from inbound.actions.queue import action_id, queued


@pytest.mark.parametrize(
    ("body", "found"),
    [
        (b'{"action": 7, "service": "alpha"}', (7, "alpha")),
        (b'{"action": 7}', (7, None)),  # queued before messages named their service
        (b'{"action": 7, "service": 3}', (7, None)),
        (b'{"action": true, "service": "alpha"}', (None, None)),
        (b'{"action": "7"}', (None, None)),
        (b"[7]", (None, None)),
        (b"not json", (None, None)),
        (b"\xff", (None, None)),
    ],
)
def test_queued(body: bytes, found: tuple[int | None, str | None]) -> None:
    assert queued(body) == found
    assert action_id(body) == found[0]
