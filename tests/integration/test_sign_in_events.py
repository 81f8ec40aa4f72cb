"""Security events as log lines and Prometheus metrics, not only audit rows (issue 13): failed
and throttled sign-ins, and refusals of another service's item, queue or rules."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from inbound.config import Settings
from tests.integration.conftest import Stack
from tests.integration.sign_in_support import (
    Browsers,
    browsers_on,
    caseworker,
    review_stack,
    stored_user,
)
from tests.support.browser import add_item, signed_in


@pytest.fixture
async def stack(settings: Settings, tmp_path: Path) -> AsyncIterator[Stack]:
    async with review_stack(settings, tmp_path, sign_in_limit=1) as started:
        yield started


@pytest.fixture
async def browsers(stack: Stack) -> AsyncIterator[Browsers]:
    async with browsers_on(stack) as opened:
        yield opened


async def counted(stack: Stack, name: str) -> dict[str, float]:
    """A labelled counter's samples, by its one label's value."""
    answer = await stack.request("GET", "/metrics", b"", {})
    return {
        next(iter(sample.labels.values())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
        if sample.name == name
    }


def events(logs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [line for line in logs if line["event"] == name]


async def test_refused_sign_ins_are_logged_by_user_id_and_counted(
    stack: Stack, browsers: Browsers
) -> None:
    person = await caseworker(stack, "case@alpha.example")
    user_id = (await stored_user(stack, person.email)).id
    with capture_logs() as logs:
        await browsers.password_step(person.email, "wrong")
        await browsers.password_step(person.email, "wrong again")  # throttled: limit 1
        await browsers.password_step("nobody@alpha.example", "wrong")
    refused = events(logs, "sign_in_refused")
    assert [(line["reason"], line["user_id"]) for line in refused] == [
        ("password", user_id),
        ("throttled", user_id),
        ("password", None),  # no such account: nothing to name it by
    ]
    assert all(line["address"] == "127.0.0.1" for line in refused)
    assert refused[1]["wait_seconds"] == 30
    assert "@" not in json.dumps(refused)  # an email address is personal data
    failures = await counted(stack, "inbound_sign_in_failures_total")
    assert (failures["password"], failures["throttled"], failures["code"]) == (2, 1, 0)


async def test_refusals_of_another_services_data_are_logged_and_counted(stack: Stack) -> None:
    person = await caseworker(stack, "case@alpha.example")
    theirs = await add_item(stack.sessions, "beta", "beta's message", recipient="+447700900002")
    browser = await signed_in(stack.base_url, person)
    try:
        with capture_logs() as logs:
            assert (await browser.get(f"/review/items/{theirs}"))[0] == 404
            assert (await browser.post(f"/review/items/{theirs}/claim", {}))[0] == 404
            assert (await browser.get("/review/?service=beta"))[0] == 404
            assert (await browser.get("/review/services/beta/rules"))[0] == 404
    finally:
        await browser.close()
    denied = events(logs, "access_denied")
    user_id = (await stored_user(stack, person.email)).id
    assert [(line["kind"], line["service_id"]) for line in denied] == [
        ("item", "beta"),
        ("item", "beta"),
        ("queue", "beta"),
        ("rules", "beta"),
    ]
    assert {line["user_id"] for line in denied} == {user_id}
    found = await counted(stack, "inbound_access_denied_total")
    assert (found["item"], found["queue"], found["rules"], found["revoked_token"]) == (2, 1, 1, 0)
