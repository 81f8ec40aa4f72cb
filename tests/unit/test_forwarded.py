"""The client address behind trusted proxies, from a table of peers and X-Forwarded-For."""

from __future__ import annotations

import pytest

from inbound.forwarded import client_address, networks, parse_address

ROUTER = networks("10.0.0.0/8, 192.0.2.7, 2001:db8::/32")


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "trusted", "expected"),
    [
        # No trusted proxies (the default): the header is never read.
        ("203.0.113.9", ["198.51.100.1"], [], "203.0.113.9"),
        # A peer that isn't a trusted proxy can't speak for anyone else.
        ("203.0.113.9", ["198.51.100.1"], ROUTER, "203.0.113.9"),
        # Through the router: the hop it appended.
        ("10.1.2.3", ["198.51.100.1"], ROUTER, "198.51.100.1"),
        # A client's own X-Forwarded-For is to the left of what the router appended: ignored.
        ("10.1.2.3", ["1.1.1.1, 198.51.100.1"], ROUTER, "198.51.100.1"),
        ("10.1.2.3", ["1.1.1.1", "198.51.100.1"], ROUTER, "198.51.100.1"),
        # Two trusted proxies in a row are both skipped.
        ("10.1.2.3", ["198.51.100.1, 192.0.2.7"], ROUTER, "198.51.100.1"),
        # From a trusted proxy with no header: the proxy is all we know.
        ("10.1.2.3", [], ROUTER, "10.1.2.3"),
        # Only trusted hops: the leftmost of them.
        ("10.1.2.3", ["10.9.9.9"], ROUTER, "10.9.9.9"),
        # Garbage where a trusted proxy's hop should be: stop at the last address we can name.
        ("10.1.2.3", ["198.51.100.1, unknown"], ROUTER, "10.1.2.3"),
        ("10.1.2.3", ["  "], ROUTER, "10.1.2.3"),
        # Ports and IPv6, as proxies write them.
        ("10.1.2.3", ["198.51.100.1:4711"], ROUTER, "198.51.100.1"),
        ("10.1.2.3", ["[2001:db9::1]:443"], ROUTER, "2001:db9::1"),
        ("2001:db8::5", ["2001:db9::1"], ROUTER, "2001:db9::1"),
        ("::ffff:10.1.2.3", ["198.51.100.1"], ROUTER, "198.51.100.1"),
        (None, ["198.51.100.1"], ROUTER, None),
    ],
)
def test_the_client_is_the_rightmost_hop_no_trusted_proxy_wrote(
    peer: str | None, forwarded_for: list[str], trusted: list, expected: str | None
) -> None:
    assert client_address(peer, forwarded_for, trusted) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.2.3.4", "1.2.3.4"),
        ("1.2.3.4:80", "1.2.3.4"),
        ("[::1]:80", "::1"),
        ("::1", "::1"),
        ("not an address", None),
        ("", None),
    ],
)
def test_addresses_are_read_as_proxies_write_them(text: str, expected: str | None) -> None:
    parsed = parse_address(text)
    assert (None if parsed is None else str(parsed)) == expected


def test_trusted_proxies_name_the_entry_that_is_not_an_address() -> None:
    assert [str(n) for n in networks(" 10.0.0.0/8 ,, 192.0.2.7 ")] == ["10.0.0.0/8", "192.0.2.7/32"]
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33' is not"):
        networks("10.0.0.0/8,10.0.0.0/33")
