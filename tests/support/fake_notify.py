"""A faithful fake GOV.UK Notify on a real local port: its API-key JWT check, `POST
/v2/notifications/sms`, `GET /v2/received-text-messages`, and its two callbacks to a service.

Use it in a test (pytest-asyncio, auto mode)::

    from tests.support.fake_notify import FakeNotify  # the fixture is in tests/conftest.py

    async def test_reply(fake_notify: FakeNotify) -> None:
        service = fake_notify.add_service(
            templates={TEMPLATE_ID: "((body))"}, sms_senders={SENDER_ID: "07700900111"}
        )
        key = fake_notify.mint_key(service)          # "inbound-<service id>-<secret>"
        ...  # point the code under test at fake_notify.url with `key`
        assert fake_notify.sent[0].body == "..."

or `async with running_fake_notify() as notify:` outside a fixture. A test can make the next N
sends fail (`fail_next(429, times=2)`), add received texts (`add_received`), and post Notify's
callbacks to inbound (`post_received_text`, `post_delivery_status`; `retry_delay` shortens
Notify's 5 minutes between tries).

Where each behaviour comes from (alphagov/notifications-api, main branch, August 2026, unless
said otherwise; notifications-python-client for the JWT check itself):
- JWT: `app/authentication/auth.py` `requires_auth` and `_decode_jwt_token`, and the client's
  `authentication.py` `decode_jwt_token`: HS256 only, `iss` is the service id (a UUID), `iat`
  within 30 s of Notify's clock either way (`__bound__ = 30`); each API key of the service is
  tried in turn. Errors are `{"status_code", "errors": [{"error": "AuthError", "message"}]}`:
  401 for no Authorization header or not `Bearer `, 403 for everything else (messages below are
  copied from auth.py). A token without `iat` is a TokenDecodeError there, so it ends as
  "API key not found", as in Notify.
- API keys: `{key name}-{service id}-{secret}`, the last 73 characters being two UUIDs; the
  clients split it so (`notifications_python_client/base.py`). Key types `normal` (live),
  `team` and `test` (`app/constants.py`).
- Team-only key to a number outside the team: 400 BadRequestError "Can’t send to this
  recipient using a team-only API key" (`app/notifications/validators.py`
  `service_can_send_to_recipient`; note Notify's typographic apostrophe).
- Send: the request schema `post_sms_request` (`app/v2/notifications/notification_schemas.py`:
  phone_number and template_id required, reference at most 1,000 characters, sms_sender_id a
  UUID, no other properties); schema errors are ValidationError with messages such as
  "phone_number is a required property", "template_id is not a valid UUID", "phone_number Not
  enough digits" (`app/schema_validation/__init__.py`, notifications-utils' legacy v2 phone
  messages); "Template not found" and "Missing personalisation: body" are BadRequestError 400;
  an unknown sms_sender_id is 400 "sms_sender_id <id> does not exist in database for service id
  <service id>" (validators.py `check_service_sms_sender_id`). Success is 201 with id,
  reference, content {body, from_number}, uri, template {id, version, uri}, scheduled_for
  (`app/v2/notifications/create_response.py`).
- Rate limit: 429 RateLimitError "Exceeded rate limit for key type LIVE of 3000 requests per 60
  seconds" (`app/v2/errors.py`; the default service rate limit is 3,000 a minute,
  `app/models.py` Service.rate_limit); an unexpected error is 500 with "Internal server error".
- Received texts: `app/v2/inbound_sms/get_inbound_sms.py` and `inbound_sms_dao.py`: newest
  first by created_at, API_PAGE_SIZE 250 (`app/config.py`), `older_than=<id>` (a UUID, else
  400 "older_than is not a valid UUID") returns those created before that message;
  `links.current` is the URL without query, `links.next` carries `older_than=<last id on the
  page>` and is present whenever the page is not empty. Fields id, user_number (international
  without "+"), notify_number, created_at (`%Y-%m-%dT%H:%M:%S.%fZ`), service_id, content. Texts
  are deleted after 7 days, counted from midnight in London (`delete_inbound_sms_older_than_
  retention`, `midnight_n_days_ago(7)`).
- Callbacks: `app/celery/service_callback_tasks.py`: JSON POST with `Authorization: Bearer
  <token>` and a 5 s timeout; `max_retries=5` and `default_retry_delay=300` (so at most 6
  tries), retried on no answer, 5xx and 429 only; any other 4xx ends it. Received-text body
  {id, source_number, destination_number, message, date_received}; delivery-status body {id,
  reference, to, status, created_at, completed_at, sent_at, notification_type, template_id,
  template_version}.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import aiohttp
import jwt
import phonenumbers
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

KeyType = Literal["normal", "team", "test"]
NOTIFY_DATETIME = "%Y-%m-%dT%H:%M:%S.%fZ"
CLOCK_BOUND = 30  # seconds either side of Notify's clock that an `iat` may be
PAGE_SIZE = 250
RETENTION_DAYS = 7
CALLBACK_RETRIES = 5
CALLBACK_RETRY_DELAY = 300.0
CALLBACK_TIMEOUT = 5.0
RATE_LIMIT = 3000
GENERAL_TOKEN_ERROR = (
    "Invalid token: make sure your API token matches the example at "
    "https://docs.notifications.service.gov.uk/rest-api.html#authorisation-header"
)
CLOCK_ERROR = "Error: Your system clock must be accurate to within 30 seconds"
TEAM_ONLY_ERROR = "Can’t send to this recipient using a team-only API key"
_SMS_FIELDS = {
    "phone_number",
    "template_id",
    "personalisation",
    "reference",
    "scheduled_for",
    "sms_sender_id",
}
_PLACEHOLDER = re.compile(r"\(\(([^()]+)\)\)")
_LONDON = ZoneInfo("Europe/London")


def notify_time(moment: datetime) -> str:
    """A time as Notify writes it in JSON: UTC, microseconds, a Z."""
    return moment.astimezone(UTC).strftime(NOTIFY_DATETIME)


class NotifyError(Exception):
    """An answer Notify gives as `{"status_code", "errors": [{"error", "message"}]}`."""

    def __init__(self, status: int, error: str, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.status = status
        self.errors = [{"error": error, "message": message} for message in messages]

    def response(self) -> web.Response:
        body = {"status_code": self.status, "errors": self.errors}
        return web.json_response(body, status=self.status)


def _auth(message: str, status: int = 403) -> NotifyError:
    return NotifyError(status, "AuthError", message)


def _bad(message: str) -> NotifyError:
    return NotifyError(400, "BadRequestError", message)


def _invalid(*messages: str) -> NotifyError:
    return NotifyError(400, "ValidationError", *messages)


@dataclass(frozen=True)
class ApiKey:
    """One API key of a fake service; `text` is what a Notify user copies from the admin."""

    name: str
    service_id: str
    secret: str
    key_type: KeyType = "normal"
    revoked: bool = False

    @property
    def text(self) -> str:
        return f"{self.name}-{self.service_id}-{self.secret}"


@dataclass(frozen=True)
class ReceivedText:
    """A text someone sent to a service's Notify number, as Notify stores it."""

    id: str
    service_id: str
    user_number: str  # international without "+", as Notify stores it
    notify_number: str  # the service's number as Notify holds it (national, "07…")
    content: str
    created_at: datetime

    def api_json(self) -> dict[str, str]:
        """The item of `GET /v2/received-text-messages`."""
        return {
            "id": self.id,
            "user_number": self.user_number,
            "notify_number": self.notify_number,
            "created_at": notify_time(self.created_at),
            "service_id": self.service_id,
            "content": self.content,
        }

    def callback_json(self) -> dict[str, str]:
        """The body of Notify's received-text callback."""
        return {
            "id": self.id,
            "source_number": self.user_number,
            "destination_number": self.notify_number,
            "message": self.content,
            "date_received": notify_time(self.created_at),
        }


@dataclass(frozen=True)
class SentSms:
    """An SMS Notify accepted: what was asked and what it would have sent."""

    id: str
    service_id: str
    key_type: KeyType
    phone_number: str  # as given in the request
    template_id: str
    personalisation: dict[str, Any]
    reference: str | None
    sms_sender_id: str | None
    from_number: str
    body: str
    created_at: datetime


@dataclass
class FakeNotifyService:
    """A Notify service: its keys, team, templates, text senders and received texts."""

    id: str
    name: str
    keys: list[ApiKey] = field(default_factory=list)
    team_numbers: set[str] = field(default_factory=set)  # E.164; team members and guest list
    templates: dict[str, str] = field(default_factory=dict)  # template id -> body
    sms_senders: dict[str, str] = field(default_factory=dict)  # sms_sender_id -> sender
    default_sender: str = "GOVUK"
    received: list[ReceivedText] = field(default_factory=list)
    active: bool = True


@dataclass(frozen=True)
class CallbackTry:
    """One try of a callback: the status answered, or the error when there was no answer."""

    status: int | None
    error: str | None = None


@dataclass
class CallbackDelivery:
    """Every try of one callback, in order; `delivered` once a 2xx/3xx came back."""

    url: str
    body: dict[str, Any]
    tries: list[CallbackTry] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        return (
            bool(self.tries) and self.tries[-1].status is not None and self.tries[-1].status < 400
        )


def _e164(number: str) -> str | None:
    try:
        parsed = phonenumbers.parse(number, "GB")
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _phone_problem(number: str) -> str | None:
    """Notify's legacy v2 message for a number it can't send to, or None when it can."""
    if re.search(r"[^0-9()+\-\s.]", number):
        return "Must not contain letters or symbols"
    try:
        parsed = phonenumbers.parse(number, "GB")
    except phonenumbers.NumberParseException as error:
        if error.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            return "Not a valid country prefix"
        return "Not enough digits"
    if parsed.country_code == 44:
        # notifications-utils checks a UK number by its length alone (10 digits after 0 or
        # 44), not with libphonenumber's validity, so Ofcom's 07700 900xxx drama range passes.
        digits = len(phonenumbers.national_significant_number(parsed))
        if digits != 10:
            return "Too many digits" if digits > 10 else "Not enough digits"
        return None
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    if reason == phonenumbers.ValidationResult.TOO_LONG:
        return "Too many digits"
    if reason in (
        phonenumbers.ValidationResult.TOO_SHORT,
        phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    ):
        return "Not enough digits"
    if reason == phonenumbers.ValidationResult.INVALID_COUNTRY_CODE:
        return "Not a valid country prefix"
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        return "Not a valid phone number"
    return None


def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class FakeNotify:
    """The fake's state and handlers; `url` is set once it listens (ends with "/")."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.url = ""
        self.clock = clock
        self.services: dict[str, FakeNotifyService] = {}
        self.sent: list[SentSms] = []
        self.requests: list[tuple[str, str]] = []  # (method, path_qs) of every API request
        self.callbacks: list[CallbackDelivery] = []
        self.retry_delay = CALLBACK_RETRY_DELAY
        self.callback_timeout = CALLBACK_TIMEOUT
        self._failures: list[int] = []
        self._http: aiohttp.ClientSession | None = None

    # --- set-up, for tests ---------------------------------------------------------------

    def add_service(
        self,
        *,
        name: str = "Test service",
        team_numbers: Iterable[str] = (),
        templates: dict[str, str] | None = None,
        sms_senders: dict[str, str] | None = None,
        default_sender: str = "GOVUK",
        service_id: str | None = None,
    ) -> FakeNotifyService:
        """A new service with the given team, templates (id -> body with ((placeholders)))
        and text senders (sms_sender_id -> number or name)."""
        service = FakeNotifyService(
            id=service_id or str(uuid.uuid4()),
            name=name,
            team_numbers={n for n in (_e164(t) for t in team_numbers) if n},
            templates=dict(templates or {}),
            sms_senders=dict(sms_senders or {}),
            default_sender=default_sender,
        )
        self.services[service.id] = service
        return service

    def mint_key(
        self,
        service: FakeNotifyService,
        key_type: KeyType = "normal",
        name: str = "inbound",
        secret: str | None = None,
    ) -> str:
        """A new API key for `service`, in Notify's `{name}-{service id}-{secret}` form (a
        random secret unless one is given)."""
        key = ApiKey(name, service.id, secret or str(uuid.uuid4()), key_type)
        service.keys.append(key)
        return key.text

    def revoke(self, key_text: str) -> None:
        """Revoke a key: Notify then answers 403 "Invalid token: API key revoked"."""
        for service in self.services.values():
            service.keys = [
                ApiKey(k.name, k.service_id, k.secret, k.key_type, True)
                if k.text == key_text
                else k
                for k in service.keys
            ]

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer the next `times` sends with `status` (429 rate limit or a 5xx)."""
        self._failures.extend([status] * times)

    def add_received(
        self,
        service: FakeNotifyService,
        user_number: str,
        content: str,
        *,
        notify_number: str = "07700900000",
        created_at: datetime | None = None,
    ) -> ReceivedText:
        """A text Notify received for `service` (user_number as "447…", "+447…" or "07…")."""
        e164 = _e164(user_number) or user_number
        text = ReceivedText(
            id=str(uuid.uuid4()),
            service_id=service.id,
            user_number=e164.lstrip("+"),
            notify_number=notify_number,
            content=content,
            created_at=created_at or datetime.fromtimestamp(self.clock(), UTC),
        )
        service.received.append(text)
        return text

    def sent_to(self, phone_number: str) -> list[SentSms]:
        """What was accepted for `phone_number`, in any spelling of it."""
        wanted = _e164(phone_number)
        return [s for s in self.sent if _e164(s.phone_number) == wanted]

    # --- the API ---------------------------------------------------------------------------

    def authenticate(self, header: str | None) -> tuple[FakeNotifyService, ApiKey]:
        """The service and key a request's Authorization header proves, or NotifyError."""
        if not header:
            raise _auth("Unauthorized: authentication token must be provided", 401)
        if header[:7].title() != "Bearer ":
            raise _auth("Unauthorized: authentication bearer scheme must be used", 401)
        token = header[7:]
        try:
            claims = jwt.decode(token, options={"verify_signature": False}, algorithms=["HS256"])
        except jwt.DecodeError:
            raise _auth(GENERAL_TOKEN_ERROR) from None
        if "iss" not in claims:
            raise _auth("Invalid token: iss field not provided")
        if not _is_uuid(claims["iss"]):
            raise _auth("Invalid token: service id is not the right data type")
        service = self.services.get(str(uuid.UUID(claims["iss"])))
        if service is None:
            raise _auth("Invalid token: service not found")
        if not service.keys:
            raise _auth("Invalid token: service has no API keys")
        if not service.active:
            raise _auth("Invalid token: service is archived")
        for key in service.keys:
            if not self._signed_with(token, key):
                continue
            if key.revoked:
                raise _auth("Invalid token: API key revoked")
            return service, key
        raise _auth("Invalid token: API key not found")

    def _signed_with(self, token: str, key: ApiKey) -> bool:
        """True when `key` signed `token`; NotifyError for a wrong algorithm or clock."""
        now = int(self.clock())
        try:
            # Notify lets PyJWT check the signature (and an `iat` in the future, with 30 s of
            # leeway) and then checks the `iat` bound itself; we check both ourselves with the
            # fake's clock, so a test can move it.
            claims = jwt.decode(
                token,
                key=key.secret,
                algorithms=["HS256"],
                options={"verify_iat": False, "verify_exp": False, "verify_nbf": False},
            )
        except jwt.InvalidAlgorithmError:
            raise _auth("Invalid token: algorithm used is not HS256") from None
        except jwt.DecodeError:
            return False  # a bad signature: another of the service's keys may match
        except jwt.InvalidTokenError:
            raise _auth(GENERAL_TOKEN_ERROR) from None
        if "iat" not in claims:
            return False  # Notify's TokenIssuedAtError is a TokenDecodeError: "not found"
        try:
            issued = int(claims["iat"])
        except (TypeError, ValueError):
            raise _auth(CLOCK_ERROR) from None
        if now > issued + CLOCK_BOUND or issued > now + CLOCK_BOUND:
            raise _auth(CLOCK_ERROR)
        return True

    async def post_sms(self, request: web.Request) -> web.Response:
        """`POST /v2/notifications/sms`."""
        service, key = self.authenticate(request.headers.get("Authorization"))
        try:
            form = json.loads(await request.read())
        except ValueError:
            raise _bad("Invalid JSON supplied in POST data") from None
        if not isinstance(form, dict):
            raise _invalid(f"{form!r} is not of type object".replace("'", ""))
        self._check_sms_schema(form)
        if self._failures:
            status = self._failures.pop(0)
            if status == 429:
                raise NotifyError(
                    429,
                    "RateLimitError",
                    f"Exceeded rate limit for key type {_key_word(key)} of {RATE_LIMIT} "
                    "requests per 60 seconds",
                )
            raise NotifyError(status, "Exception", "Internal server error")
        template = service.templates.get(str(uuid.UUID(form["template_id"])))
        if template is None:
            raise _bad("Template not found")
        personalisation: dict[str, Any] = form.get("personalisation") or {}
        missing = [p for p in _PLACEHOLDER.findall(template) if p not in personalisation]
        if missing:
            raise _bad("Missing personalisation: " + ", ".join(dict.fromkeys(missing)))
        to = _e164(form["phone_number"])
        if key.key_type == "team" and to not in service.team_numbers:
            raise _bad(TEAM_ONLY_ERROR)
        sender_id = form.get("sms_sender_id")
        if sender_id is not None:
            sender = service.sms_senders.get(str(uuid.UUID(sender_id)))
            if sender is None:
                raise _bad(
                    f"sms_sender_id {sender_id} does not exist in database for service id "
                    f"{service.id}"
                )
        else:
            sender = service.default_sender
        body = _PLACEHOLDER.sub(lambda m: str(personalisation[m.group(1)]), template)
        sms = SentSms(
            id=str(uuid.uuid4()),
            service_id=service.id,
            key_type=key.key_type,
            phone_number=form["phone_number"],
            template_id=form["template_id"],
            personalisation=personalisation,
            reference=form.get("reference"),
            sms_sender_id=sender_id,
            from_number=sender,
            body=body,
            created_at=datetime.fromtimestamp(self.clock(), UTC),
        )
        self.sent.append(sms)
        root = str(request.url.origin()) + "/"
        answer = {
            "id": sms.id,
            "reference": sms.reference,
            "content": {"body": body, "from_number": sender},
            "uri": f"{root}v2/notifications/{sms.id}",
            "template": {
                "id": sms.template_id,
                "version": 1,
                "uri": f"{root}services/{service.id}/templates/{sms.template_id}",
            },
            "scheduled_for": None,
        }
        return web.json_response(answer, status=201)

    @staticmethod
    def _check_sms_schema(form: dict[str, Any]) -> None:
        errors: list[str] = []
        extra = sorted(set(form) - _SMS_FIELDS)
        if extra:
            was = "were" if len(extra) > 1 else "was"
            errors.append(
                f"Additional properties are not allowed ({', '.join(extra)} {was} unexpected)"
            )
        for name in ("phone_number", "template_id"):
            if name not in form:
                errors.append(f"{name} is a required property")
        number = form.get("phone_number")
        if "phone_number" in form and not isinstance(number, str):
            errors.append(f"phone_number {number!r} is not of type string".replace("'", ""))
        elif isinstance(number, str) and (problem := _phone_problem(number)):
            errors.append(f"phone_number {problem}")
        for name in ("template_id", "sms_sender_id"):
            if name in form and not _is_uuid(form[name]):
                errors.append(f"{name} is not a valid UUID")
        if "personalisation" in form and not isinstance(form["personalisation"], dict):
            errors.append("personalisation is not of type object")
        reference = form.get("reference")
        if "reference" in form and not isinstance(reference, str):
            errors.append(f"reference {reference!r} is not of type string".replace("'", ""))
        elif isinstance(reference, str) and len(reference) > 1000:
            errors.append(f"reference {reference} is too long")
        if errors:
            raise _invalid(*errors)

    async def get_received(self, request: web.Request) -> web.Response:
        """`GET /v2/received-text-messages`."""
        service, _ = self.authenticate(request.headers.get("Authorization"))
        unknown = sorted(set(request.query) - {"older_than"})
        if unknown:
            raise _invalid(
                f"Additional properties are not allowed ({', '.join(unknown)} was unexpected)"
            )
        kept = [t for t in service.received if t.created_at >= self._retention_start()]
        texts = sorted(kept, key=lambda t: t.created_at, reverse=True)
        older_than = request.query.get("older_than")
        if older_than is not None:
            if not _is_uuid(older_than):
                raise _invalid("older_than is not a valid UUID")
            anchor = next((t for t in kept if t.id == str(uuid.UUID(older_than))), None)
            # An id Notify no longer has makes its subquery NULL: `created_at < NULL` is empty.
            texts = [] if anchor is None else [t for t in texts if t.created_at < anchor.created_at]
        page = texts[:PAGE_SIZE]
        current = str(request.url.with_query(None))
        links = {"current": current}
        if page:
            links["next"] = str(request.url.with_query({"older_than": page[-1].id}))
        return web.json_response(
            {"received_text_messages": [t.api_json() for t in page], "links": links}
        )

    def _retention_start(self) -> datetime:
        today = datetime.fromtimestamp(self.clock(), _LONDON).date()
        midnight = datetime.combine(today - timedelta(days=RETENTION_DAYS), datetime.min.time())
        return midnight.replace(tzinfo=_LONDON).astimezone(UTC)

    @web.middleware
    async def errors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path_qs))
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except NotifyError as error:
            return error.response()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.errors])
        app.router.add_post("/v2/notifications/sms", self.post_sms)
        app.router.add_get("/v2/received-text-messages", self.get_received)
        return app

    # --- the callbacks Notify makes --------------------------------------------------------

    async def post_received_text(
        self, url: str, token: str, text: ReceivedText
    ) -> CallbackDelivery:
        """Post Notify's received-text callback for `text`, retrying as Notify does."""
        return await self._deliver(url, token, text.callback_json())

    async def post_delivery_status(
        self,
        url: str,
        token: str,
        sms: SentSms,
        status: str = "delivered",
        *,
        completed_at: datetime | None = None,
    ) -> CallbackDelivery:
        """Post Notify's delivery-status callback for a sent `sms` (status e.g. "delivered",
        "permanent-failure", "temporary-failure", "technical-failure")."""
        done = completed_at or datetime.fromtimestamp(self.clock(), UTC)
        body = {
            "id": sms.id,
            "reference": sms.reference,
            "to": sms.phone_number,
            "status": status,
            "created_at": notify_time(sms.created_at),
            "completed_at": notify_time(done),
            "sent_at": notify_time(sms.created_at),
            "notification_type": "sms",
            "template_id": sms.template_id,
            "template_version": 1,
        }
        return await self._deliver(url, token, body)

    async def _deliver(self, url: str, token: str, body: dict[str, Any]) -> CallbackDelivery:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        delivery = CallbackDelivery(url, body)
        self.callbacks.append(delivery)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        timeout = aiohttp.ClientTimeout(total=self.callback_timeout)
        for attempt in range(CALLBACK_RETRIES + 1):
            if attempt:
                await asyncio.sleep(self.retry_delay)
            try:
                async with self._http.post(
                    url, data=json.dumps(body), headers=headers, timeout=timeout
                ) as response:
                    await response.read()
                    delivery.tries.append(CallbackTry(response.status))
                    if response.status < 400 or (
                        400 <= response.status < 500 and response.status != 429
                    ):
                        return delivery
            except (aiohttp.ClientError, TimeoutError) as error:
                delivery.tries.append(CallbackTry(None, type(error).__name__))
        return delivery

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()


def _key_word(key: ApiKey) -> str:
    # Notify's documentation calls `normal` keys "live", and so does its error message.
    return "LIVE" if key.key_type == "normal" else key.key_type.upper()


@asynccontextmanager
async def running_fake_notify(clock: Callable[[], float] = time.time) -> AsyncIterator[FakeNotify]:
    """Serve a FakeNotify on 127.0.0.1 (a free port) for the block."""
    notify = FakeNotify(clock)
    server = TestServer(notify.app(), host="127.0.0.1")
    await server.start_server()
    notify.url = str(server.make_url("/"))
    try:
        yield notify
    finally:
        await notify.close()
        await server.close()


@pytest.fixture
async def fake_notify() -> AsyncIterator[FakeNotify]:
    """A FakeNotify listening on a real local port for one test (retries 0.05 s apart)."""
    async with running_fake_notify() as notify:
        notify.retry_delay = 0.05
        yield notify
