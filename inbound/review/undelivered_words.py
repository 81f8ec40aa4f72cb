"""A callback or reply that gave up, said in plain English, and whether a person may send it
again. Pure.

The action worker stores why the last attempt failed in a few safe words (`attempts.py`:
`HTTP 503`, `timeout after 2 s`, `ClientConnectorError: …`, `Notify answered HTTP 400: <Notify's
own words>`, `Notify unreachable: …`, `Notify not set up: …`); a caseworker reads a sentence
instead, with Notify's words quoted when it gave some.
"""

from __future__ import annotations

import re

from inbound.states import ActionKind, ActionState

_STATUS = re.compile(r"HTTP (?P<status>\d{3})")
_TIMEOUT = re.compile(r"timeout after (?P<seconds>\d+(?:\.\d+)?) s")
_ERROR = re.compile(r"(?P<kind>[A-Za-z_][A-Za-z0-9_]*)(?::.*)?", re.DOTALL)
# Notify's own words after the status (`attempts.notify_reason`): "HTTP 400: Can’t send…".
_STATUS_SAID = re.compile(r"HTTP (?P<status>\d{3}): (?P<said>.+)", re.DOTALL)
_NOTIFY = "Notify answered "
_NOTIFY_AWAY = "Notify unreachable: "
_NOTIFY_UNSET = "Notify not set up: "
_NOTIFY_HELD = "Notify rate limit: "

# What a connection error's type says happened (aiohttp's names), as the end of a sentence.
_CONNECTION = {
    "ClientConnectorDNSError": "could not be found: its host name does not exist",
    "ClientConnectorCertificateError": "refused a secure connection: its certificate was not "
    "accepted",
    "ClientConnectorSSLError": "refused a secure connection",
    "ClientSSLError": "refused a secure connection",
    "ServerDisconnectedError": "closed the connection without answering",
    "ServerTimeoutError": "stopped answering part way through",
    "ClientPayloadError": "sent an answer that could not be read",
    "ClientResponseError": "sent an answer that could not be read",
    "InvalidURL": "is not a valid web address",
    "InvalidUrlClientError": "is not a valid web address",
    "NonHttpUrlClientError": "is not a web address inbound can send to",
    "ClientConnectorError": "could not be reached: the connection was refused or the host is down",
    "ClientOSError": "could not be reached: the connection failed",
}


def times(attempts: int) -> str:
    """`once`, `twice`, `3 times`."""
    return {1: "once", 2: "twice"}.get(attempts, f"{attempts} times")


def _seconds(raw: str) -> str:
    value = float(raw)
    shown = f"{value:g}"
    return f"{shown} second" if value == 1 else f"{shown} seconds"


def _callback_status(status: int) -> str:
    if status in (502, 503, 504):
        return f"was unavailable (HTTP {status})"
    if status >= 500:
        return f"answered with an error of its own (HTTP {status})"
    if status == 408:
        return "took too long to read the callback (HTTP 408)"
    if status == 429:
        return "said it was getting too many requests (HTTP 429)"
    if status in (401, 403):
        return f"refused the callback: it did not accept inbound's signature (HTTP {status})"
    if status in (404, 410):
        return f"said there is no such address (HTTP {status})"
    if status >= 400:
        return f"refused the callback as not valid (HTTP {status})"
    if 300 <= status < 400:
        return f"answered with a redirect (HTTP {status}), which inbound does not follow"
    return f"answered HTTP {status}"


def _notify_status(status: int) -> str:
    if status >= 500:
        return f"was unavailable (HTTP {status})"
    if status == 429:
        return "said the service had sent too many texts for now (HTTP 429)"
    if status in (401, 403):
        return f"did not accept inbound's API key (HTTP {status})"
    if status == 400:
        return (
            "refused the text (HTTP 400): most often a number that can't receive texts, or a "
            "template or trial-mode setting"
        )
    return f"refused the text (HTTP {status})"


def _notify_said(status: int) -> str:
    """As `_notify_status`, without the guess at a 400's cause: Notify's words follow."""
    return f"refused the text (HTTP {status})" if status == 400 else _notify_status(status)


def _unreachable(detail: str) -> str | None:
    """The end of a sentence for a timeout or a connection error; None if it is neither."""
    timeout = _TIMEOUT.fullmatch(detail)
    if timeout:
        return f"did not answer within {_seconds(timeout['seconds'])}"
    error = _ERROR.fullmatch(detail)
    if error and error["kind"] in _CONNECTION:
        return _CONNECTION[error["kind"]]
    return None


def why_in_words(kind: str, error: str | None, attempts: int) -> str:
    """Why a callback or reply gave up, as a sentence, e.g. "The service's callback address
    did not answer within 2 seconds, 4 times."."""
    tried = times(max(attempts, 1))
    detail = (error or "").strip()
    if kind == ActionKind.REPLY:
        who, status_words = "GOV.UK Notify", _notify_status
        if detail.startswith(_NOTIFY_UNSET):
            why = detail.removeprefix(_NOTIFY_UNSET)
            # Final at once: a setting to fix, not something a retry can help.
            return f"The text was not sent: {why}."
        if detail.startswith(_NOTIFY_HELD):
            return (
                "inbound held the text back to keep within GOV.UK Notify's limit of texts a "
                f"minute, {tried}."
            )
        if detail.startswith(_NOTIFY):
            detail = detail.removeprefix(_NOTIFY)
        elif detail.startswith(_NOTIFY_AWAY):
            detail = detail.removeprefix(_NOTIFY_AWAY)
        else:
            who = "The text message provider"
        said = _STATUS_SAID.fullmatch(detail)
        if said and who == "GOV.UK Notify":
            # Notify's own words say more than a guess from the status.
            words = _notify_said(int(said["status"]))
            return f"{who} {words}, {tried}. Notify said: “{said['said'].strip()}”"
    else:
        who, status_words = "The service's callback address", _callback_status
    status = _STATUS.fullmatch(detail)
    if status:
        return f"{who} {status_words(int(status['status']))}, {tried}."
    away = _unreachable(detail)
    if away is not None:
        return f"{who} {away}, {tried}."
    what = "text" if kind == ActionKind.REPLY else "callback"
    return f"The {what} could not be delivered, {tried}, for a reason not described in words here."


def retry_refusal(
    *,
    state: str,
    kind: str,
    has_payload: bool,
    opted_out: bool,
    allowed: bool = True,
    sent_last_hour: int = 0,
    cap: int | None = None,
) -> str | None:
    """Why a person may not send this action again now; None when they may. A reply sent again
    is a caseworker's text: `cap` is their hourly cap on one number, `sent_last_hour` the texts
    it has had from the service in the last hour."""
    if state == ActionState.PENDING:
        return "it is already waiting to be sent again"
    if state == ActionState.DELIVERED:
        return "it has been delivered"
    if state != ActionState.FAILED:
        return "it was never to be sent (an opted-out number, the hourly cap, or callbacks off)"
    if not has_payload:
        return "what it would send was deleted by the retention policy, so there is nothing to send"
    if kind == ActionKind.REPLY and opted_out:
        return "the number has since asked this service not to text it (opted out)"
    if kind == ActionKind.REPLY and cap is not None and sent_last_hour >= cap:
        if cap == 0:
            return (
                "caseworkers' texts are turned off here (INBOUND_CASEWORKER_REPLY_CAP_PER_HOUR=0)"
            )
        return (
            f"this number has had {sent_last_hour} texts from the service in the last hour and "
            f"{cap} is the most allowed: try again later"
        )
    if not allowed:
        return "this service's callbacks are turned off here (INBOUND_CALLBACKS=off)"
    return None
