"""`inbound send TEXT`: post a signed message to a running server, for trying it out."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from datetime import UTC, datetime

from inbound.commands.context import CommandError, Subcommands, add_command, complete, load_settings


async def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    import aiohttp

    try:
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=body, headers=headers) as response,
        ):
            return response.status, await response.text()
    except aiohttp.ClientConnectorError:
        raise CommandError(
            f"nothing answers at {url}: start the server with `inbound run` (or `inbound "
            "serve`) with the same INBOUND_PORT, or give --url"
        ) from None
    except aiohttp.ClientError as error:
        raise CommandError(f"cannot post to {url}: {error}") from None


def _command(args: argparse.Namespace) -> int:
    settings = load_settings()
    if settings.generic_secret is None:
        raise CommandError("set INBOUND_GENERIC_SECRET (the same one the server uses)")
    from inbound.providers import generic

    secret = settings.generic_secret.get_secret_value().split(",")[0].strip()
    payload = {
        "id": args.id or f"cli-{uuid.uuid4().hex[:16]}",
        "from": args.sender,
        "to": args.to,
        "text": args.text,
        "received_at": datetime.now(UTC).isoformat(),
    }
    body = json.dumps(payload).encode()
    url = args.url or f"http://127.0.0.1:{settings.port}/webhooks/generic"
    headers = {
        "Content-Type": "application/json",
        "X-Inbound-Signature": generic.sign(secret, body),
    }
    status, answer = complete(_post(url, body, headers))
    if status in (401, 403):
        raise CommandError(
            f"{url} refused the signature ({status}): INBOUND_GENERIC_SECRET here is not the "
            "server's; give both the same value"
        )
    if status >= 300:
        print(f"inbound: {url} answered {status} {answer.strip()}", file=sys.stderr)
        return 1
    print(f"{status} {answer}")
    print(f"trace it with: inbound trace {payload['id']}")
    return 0


def register(commands: Subcommands) -> None:
    """Add `send` to the top-level parser."""
    text = "Post a signed message to a running server's generic webhook (for trying it out)."
    reads = (
        "Signs with INBOUND_GENERIC_SECRET, which must be the server's; posts to INBOUND_PORT "
        "on this machine unless --url."
    )
    send = add_command(commands, "send", text, reads=reads)
    send.add_argument("text", help="the message text")
    send.add_argument(
        "--from",
        dest="sender",
        metavar="NUMBER",
        default="+447700900123",
        help="the sender's number (default: %(default)s)",
    )
    send.add_argument(
        "--to",
        metavar="NUMBER",
        default="+447700900000",
        help="one of a service's numbers (default: %(default)s, the example service's)",
    )
    send.add_argument("--id", help="message id (default: a random one)")
    send.add_argument(
        "--url", help="webhook URL (default: http://127.0.0.1:$INBOUND_PORT/webhooks/generic)"
    )
    send.set_defaults(handler=_command)
