"""Whose request it is: the client address behind trusted proxies, read from X-Forwarded-For.

The header is believed only as far as trusted proxies wrote it. Each proxy appends the address
it was connected from, so reading right to left, every hop a trusted proxy appended is skipped
and the first address that isn't a trusted proxy is the client. Anything to its left came from
the client and could say anything.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def networks(text: str) -> list[Network]:
    """Comma-separated IP addresses or CIDR ranges; ValueError names the one that isn't."""
    found: list[Network] = []
    for part in text.split(","):
        item = part.strip()
        if not item:
            continue
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or CIDR range") from None
    return found


def parse_address(text: str) -> Address | None:
    """An address as proxies write it: bare, `1.2.3.4:port`, or `[v6]:port`; None if neither."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # IPv4 with a port; a bare IPv6 address has several colons
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)


def client_address(
    peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]
) -> str | None:
    """The client's address: the peer itself unless it is a trusted proxy, else the rightmost
    X-Forwarded-For hop that isn't one (all header lines, in order)."""
    if peer is None:
        return None
    current = parse_address(peer)
    if current is None or not _trusted(current, trusted):
        return peer
    hops = [hop for line in forwarded_for for hop in line.split(",")]
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None:
            # A trusted proxy wrote something that isn't an address: stop believing the header
            # here and blame the last proxy we could name.
            break
        current = address
        if not _trusted(address, trusted):
            break
    return str(current)
