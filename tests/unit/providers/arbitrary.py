"""Hypothesis strategies for hostile webhooks, and the property every provider must keep."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

from inbound.providers.base import Provider, WebhookError, WebhookRequest

# Every character, lone surrogates included: aiohttp decodes headers with surrogateescape.
ANY_CHAR = st.characters(codec=None, exclude_categories=())
ANY_TEXT = st.text(ANY_CHAR, max_size=40)

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | ANY_TEXT
    | st.sampled_from(["", " ", "+447700900123", "2026-11-28T09:15:00Z", "mo_text", "in"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(ANY_TEXT, children, max_size=4)
    ),
    max_leaves=12,
)


def mutated(template: Any) -> st.SearchStrategy[Any]:
    """`template` (a JSON value) with any one of its leaves or containers replaced."""
    if isinstance(template, dict):
        keys = sorted(template)
        if not keys:
            return JSON_VALUES
        return st.one_of(
            JSON_VALUES,
            st.sampled_from(keys).flatmap(
                lambda key: mutated(template[key]).map(lambda new: {**template, key: new})
            ),
            st.sampled_from(keys).map(lambda key: {k: v for k, v in template.items() if k != key}),
        )
    if isinstance(template, list) and template:
        return st.one_of(
            JSON_VALUES,
            st.integers(0, len(template) - 1).flatmap(
                lambda i: mutated(template[i]).map(
                    lambda new: [*template[:i], new, *template[i + 1 :]]
                )
            ),
        )
    return JSON_VALUES


def bodies(template: Any = None, form: Sequence[tuple[str, str]] = ()) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, arbitrary JSON, and near-misses of a genuine body (JSON or form)."""
    options = [
        st.binary(max_size=200),
        JSON_VALUES.map(lambda value: json.dumps(value).encode()),
        st.integers(40_000, 50_000).map(_nested),
    ]
    if template is not None:
        options.append(mutated(template).map(lambda value: json.dumps(value).encode()))
    if form:
        pairs = st.lists(st.tuples(st.sampled_from([k for k, _ in form]) | ANY_TEXT, ANY_TEXT))
        options.append(pairs.map(lambda items: _form(items)))
        options.append(st.binary(max_size=60).map(lambda raw: b"message=%" + raw.hex().encode()))
    return st.one_of(options)


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _form(items: Sequence[tuple[str, str]]) -> bytes:
    from urllib.parse import quote_plus

    return "&".join(
        f"{quote_plus(k, errors='surrogatepass')}={quote_plus(v, errors='surrogatepass')}"
        for k, v in items
    ).encode()


def basic_headers() -> st.SearchStrategy[str]:
    """Authorization values: garbage, other schemes, and Basic with arbitrary contents."""
    return st.one_of(
        ANY_TEXT,
        ANY_TEXT.map(lambda text: "Basic " + text),
        st.binary(max_size=40).map(lambda raw: "Basic " + base64.b64encode(raw).decode()),
        st.just("Bearer abc"),
    )


def requests(
    header_values: Mapping[str, st.SearchStrategy[str]],
    body: st.SearchStrategy[bytes],
    methods: Sequence[str] = ("POST",),
) -> st.SearchStrategy[WebhookRequest]:
    """Requests whose named headers (and content type) take arbitrary or near-genuine values."""
    named = {name: st.one_of(st.none(), ANY_TEXT, values) for name, values in header_values.items()}
    named["content-type"] = st.one_of(
        st.none(),
        ANY_TEXT,
        st.sampled_from(["application/json", "application/x-www-form-urlencoded; charset=utf-8"]),
    )
    return st.builds(
        lambda method, headers, body, query: WebhookRequest(
            method,
            "https://sms.example.gov.uk/webhooks/x?a=1",
            {k: v for k, v in headers.items() if v is not None},
            body,
            query,
        ),
        st.sampled_from([*methods, "GET", "POST"]),
        st.fixed_dictionaries(named),
        body,
        st.lists(st.tuples(ANY_TEXT | st.sampled_from(["id", "body"]), ANY_TEXT), max_size=6),
    )


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine that awaits nothing (every verify here is pure) without an event loop."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    coroutine.close()
    raise AssertionError("verify awaited something; these providers do no I/O")


def only_webhook_errors(provider: Provider, request: WebhookRequest) -> None:
    """The property: verify and parse either succeed or raise a WebhookError, nothing else."""
    with contextlib.suppress(WebhookError):
        run(provider.verify(request))
    with contextlib.suppress(WebhookError):
        provider.parse(request)
