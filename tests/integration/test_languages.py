"""A Welsh keyword gets the Welsh auto-reply, end to end: webhook, RabbitMQ, the rules worker,
the outbox and the action worker sending through (the fake) GOV.UK Notify; the service's
callback says which language the person wrote in."""

from __future__ import annotations

from pathlib import Path

import pytest

from inbound.config import Settings
from tests.integration.conftest import running_stack
from tests.integration.test_actions import actions, configured, send, with_notify_service
from tests.support.fake_notify import FakeNotify
from tests.support.fake_service import FakeService, fake_service
from tests.support.waiting import eventually

NUMBER = "+447700900031"
WELSH_SENDER, ENGLISH_SENDER = "+447700900124", "+447700900125"
RULES = """
service:
  id: biniau
  name: Council bins
  region: GB
  language: en
  numbers: ["{number}"]
  callback:
    url: {url}
rules:
  - name: confirm
    keywords:
      en: ["yes"]
      cy: [ydw, ie]
    action: confirm
    reply:
      en: Thank you, confirmed.
      cy: Diolch, wedi'i gadarnhau.
"""


@pytest.fixture
def notify(fake_notify: FakeNotify) -> FakeNotify:
    return with_notify_service(fake_notify)


async def test_a_welsh_keyword_gets_the_welsh_auto_reply(
    settings: Settings, tmp_path: Path, notify: FakeNotify
) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    async with fake_service([200]) as service:
        rules = RULES.format(number=NUMBER, url=service.url + "outcomes")
        (folder / "biniau.yaml").write_text(rules, encoding="utf-8")
        async with running_stack(configured(settings, folder, notify)) as stack:
            await send(stack, "Ydw", to=NUMBER, sender=WELSH_SENDER)
            await send(stack, "Yes", to=NUMBER, sender=ENGLISH_SENDER)
            await eventually(lambda: _sent(notify), lambda count: count == 2)
            await eventually(lambda: _called(service), lambda count: count == 2)
            rows = await actions(stack)
    assert [sms.body for sms in notify.sent_to(WELSH_SENDER)] == ["Diolch, wedi'i gadarnhau."]
    assert [sms.body for sms in notify.sent_to(ENGLISH_SENDER)] == ["Thank you, confirmed."]
    # The outbox keeps which language each reply went in.
    languages = {row.recipient: row.payload["language"] for row in rows if row.kind == "reply"}
    assert languages == {WELSH_SENDER: "cy", ENGLISH_SENDER: "en"}
    events = {event["sender"]: event["language"] for event in (r.json() for r in service.received)}
    assert events == {WELSH_SENDER: "cy", ENGLISH_SENDER: "en"}


async def _sent(notify: FakeNotify) -> int:
    return len(notify.sent)


async def _called(service: FakeService) -> int:
    return len(service.received)
