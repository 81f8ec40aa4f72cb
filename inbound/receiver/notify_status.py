"""POST /webhooks/notify-status: GOV.UK Notify's delivery receipts, made into prompts (issue 17).

The "take a delivery receipt" use case: check the bearer token, read the receipt, ask the pure
`inbound.prompts.notify_receipt.prompt_for` whether it is a prompt, and store it if so. A
service that sends its reminders with Notify then needs no code to tell inbound what it asked.

Answers: 200 once the prompt is stored (or the receipt makes none: an email, a failure, a
template no rule file maps; counted in `inbound_notify_receipts`), 401/403 for a missing or
wrong token, 400/422 naming what is wrong with the body, and 503 when the database can't take
the prompt, the one answer Notify retries (5xx and 429; five more tries, 5 minutes apart).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound import phone
from inbound.logs import get_logger
from inbound.metrics import Metrics
from inbound.prompts.notify_receipt import Skipped, prompt_for, read_receipt
from inbound.providers import json_fields
from inbound.providers.base import WebhookError, WebhookRequest
from inbound.providers.notify import Notify
from inbound.rules.compiled import RulesInForce
from inbound.rules.model import ServiceRules
from inbound.store import prompt_writes

PATH = "/webhooks/notify-status"
# Seconds the prompt's write may take before the answer is a 503: Notify waits 5 s for an answer
# (`timeout=5` in notifications-api's `_send_data_to_service_callback_api`) and retries a 5xx,
# so a stalled database gets a clean retry rather than a request left hanging. Giving up the
# stalled connection takes up to 2 s more (SQLAlchemy's asyncpg adapter closes it gracefully
# with `timeout=2`), so the 503 leaves within about 4 s.
WRITE_WITHIN = 2.0
_log = get_logger("receiver")

# Raises SignatureMissing (401) or SignatureInvalid (403) unless the request's bearer token is
# one Notify was given: INBOUND_NOTIFY_INBOUND_TOKENS, or the token of the service that owns the
# receipt's template (None when no service maps it: then only the former).
TokenCheck = Callable[[Mapping[str, str], ServiceRules | None], None]


def provider_token_check(notify: Notify) -> TokenCheck:
    """The Notify provider's own token check (`Notify.check_token`, the one place Notify's bearer
    tokens are checked), asked about the service whose rule file maps the receipt's template.

    A service's own token is good for messages to its numbers; a receipt names no number of
    the service's, so the check is given the first of them (all have the same tokens).
    """

    def check(headers: Mapping[str, str], owner: ServiceRules | None) -> None:
        number = owner.service.numbers[0] if owner is not None else None
        request = WebhookRequest(method="POST", url=PATH, headers=headers, body=b"")
        notify.check_token(request, lambda _: number, "template_id")

    return check


@dataclass(frozen=True)
class Receipts:
    """What the receipts handler needs, built once per process."""

    sessions: async_sessionmaker[AsyncSession]
    rules: RulesInForce
    metrics: Metrics
    check_token: TokenCheck
    max_body_bytes: int


RECEIPTS = web.AppKey("notify_receipts", Receipts)


def _error(error: WebhookError) -> web.Response:
    return web.json_response(error.body(), status=error.status, headers=dict(error.headers))


def _template_owner(fields: Mapping[str, object], receipts: Receipts) -> ServiceRules | None:
    """The service whose rule file maps the body's `template_id`, read before the rest of the
    body is checked: which tokens are good depends on it."""
    template_id = fields.get("template_id")
    if not isinstance(template_id, str):
        return None
    return receipts.rules().book.service_for_template(template_id)


async def take_receipt(request: web.Request) -> web.StreamResponse:
    """Take one delivery receipt; see the module's docstring for the answers."""
    receipts = request.app[RECEIPTS]
    limit = receipts.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        return web.json_response(
            {"error": {"code": "too_large", "message": f"body is over the {limit}-byte limit"}},
            status=413,
        )
    body = await request.read()
    try:
        try:
            fields = json_fields.json_obj(body)
        except WebhookError:
            # Not JSON, so no template: a caller without a platform token learns no more.
            receipts.check_token(request.headers, None)
            raise
        receipts.check_token(request.headers, _template_owner(fields, receipts))
        receipt = read_receipt(fields)
        decided = prompt_for(receipt, receipts.rules().book)
    except WebhookError as error:
        _log.warning("notify_receipt_refused", status=error.status, code=error.code)
        return _error(error)
    if isinstance(decided, Skipped):
        receipts.metrics.notify_receipts.labels(decided.value).inc()
        _log.info(
            "notify_receipt_skipped",
            notification=receipt.id,
            reason=decided.value,
            status=receipt.status,
        )
        return web.json_response({"prompt": None, "skipped": decided.value})
    try:
        async with asyncio.timeout(WRITE_WITHIN), receipts.sessions.begin() as session:
            stored = await prompt_writes.store_later(session, decided, datetime.now(UTC))
    except (SQLAlchemyError, OSError, TimeoutError) as error:
        _log.error(
            "notify_receipt_not_stored", notification=receipt.id, reason=type(error).__name__
        )
        return web.json_response(
            {"error": {"code": "unavailable", "message": "prompt not stored; try again"}},
            status=503,
            headers={"Retry-After": "5"},
        )
    receipts.metrics.notify_receipts.labels("prompt").inc()
    _log.info(
        "notify_receipt_prompt",
        notification=receipt.id,
        service=decided.service,
        recipient=phone.mask(decided.recipient),
        stored="new or later" if stored is not None else "already stored",
    )
    return web.json_response(
        {"prompt": {"service": decided.service, "reference": decided.reference}}
    )


def add_route(app: web.Application, receipts: Receipts) -> None:
    """Serve POST /webhooks/notify-status on `app` (before the /webhooks/{provider} catch-all)."""
    app[RECEIPTS] = receipts
    app.router.add_post(PATH, take_receipt)
    app.router.add_get(PATH, _post_only, allow_head=False)


async def _post_only(request: web.Request) -> web.StreamResponse:
    """A GET here is a 405 naming POST, not the catch-all's "no such webhook"."""
    return web.json_response(
        {"error": {"code": "method_not_allowed", "message": "Notify posts delivery receipts"}},
        status=405,
        headers={"Allow": "POST"},
    )
