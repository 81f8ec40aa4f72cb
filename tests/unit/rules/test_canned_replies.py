"""Canned replies: their placeholders, filling them from what an item knows, the rule-file
checks, choosing between a canned reply and a caseworker's own words, and the segment line."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from inbound.cli import main
from inbound.review.decisions import Invalid, reply_choice, reply_length
from inbound.rules.canned import PlaceholderError, fill, placeholders
from inbound.rules.model import ServiceRules
from tests.unit.rules.conftest import WriteRules


@pytest.mark.parametrize(
    ("text", "used"),
    [
        ("Please call us.", ()),
        ("Please call {service}.", ("service",)),
        ("{reference} on {received}, {reference} again", ("reference", "received")),
        ("Braces {{like this}} are text", ()),
    ],
)
def test_the_placeholders_a_text_uses(text: str, used: tuple[str, ...]) -> None:
    assert placeholders(text) == used


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("About {refrence}", "unknown placeholder {refrence}"),
        ("About {details}", "unknown placeholder {details}"),  # a rule's capture, not an item's
        ("About {service:>20}", "unknown placeholder {service:>20}"),
        ("About {service!r}", "unknown placeholder {service!r}"),
        ("About {}", "unknown placeholder {}"),
        ("About {service", "a brace without its pair"),
        ("About service}", "a brace without its pair"),
    ],
)
def test_an_unknown_placeholder_is_named(text: str, named: str) -> None:
    with pytest.raises(PlaceholderError, match=named.replace("{", r"\{").replace("}", r"\}")):
        placeholders(text)


def test_filling_from_what_the_item_knows() -> None:
    values = {"service": "Riverside Surgery", "reference": None, "received": "30 November"}
    assert fill("Call", "Call {service}; {{ok}}", values).text == "Call Riverside Surgery; {ok}"
    missing = fill("Ref", "About {reference}", values)
    assert (missing.text, missing.missing) == (None, ("reference",))


def rule_file(replies: list[Any], **service: Any) -> ServiceRules:
    return ServiceRules.model_validate(
        {
            "service": {
                "id": "surgery",
                "name": "Riverside Surgery",
                "region": "GB",
                "numbers": ["+447700900000"],
                **service,
            },
            "rules": [{"name": "yes", "keywords": ["yes"], "action": "confirm"}],
            "replies": replies,
        }
    )


def test_a_rule_file_with_canned_replies_loads() -> None:
    loaded = rule_file([{"name": "Call us", "text": "Call {service}"}], canned_replies_only=True)
    assert loaded.service.canned_replies_only
    reply = loaded.canned_reply("Call us")
    assert reply is not None
    assert reply.text == "Call {service}"
    assert loaded.canned_reply("Other") is None
    assert rule_file([]).service.canned_replies_only is False


@pytest.mark.parametrize(
    ("replies", "service", "why"),
    [
        ([{"name": "Ref", "text": "About {refrence}"}], {}, r"unknown placeholder \{refrence\}"),
        ([{"name": "A", "text": "x"}, {"name": "A", "text": "y"}], {}, "'A' is used twice"),
        ([{"name": "", "text": "x"}], {}, "at least 1 character"),
        ([{"name": "A", "text": " "}], {}, "at least 1 character"),
        ([{"name": "A", "text": "x", "when": "always"}], {}, "Extra inputs"),
        ([], {"canned_replies_only": True}, "canned_replies_only is true but the file has no"),
    ],
)
def test_a_canned_reply_the_page_could_not_send_stops_the_file_loading(
    replies: list[Any], service: dict[str, Any], why: str
) -> None:
    with pytest.raises(ValidationError, match=why):
        rule_file(replies, **service)


OFFERED = {"Call us": "Call Riverside Surgery", "Ref": None}


@pytest.mark.parametrize(
    ("canned", "text", "only", "sent"),
    [
        ("Call us", "", False, "Call Riverside Surgery"),  # picked, without JavaScript
        ("Call us", "Call Riverside Surgery today", False, "Call Riverside Surgery today"),
        ("", "My own words", False, "My own words"),
        ("", "", False, None),
        ("Call us", "", True, "Call Riverside Surgery"),
        ("Call us", "Call Riverside Surgery", True, "Call Riverside Surgery"),  # filled by JS
    ],
)
def test_the_reply_chosen(canned: str, text: str, only: bool, sent: str | None) -> None:
    assert reply_choice(canned, text, OFFERED, only) == sent


@pytest.mark.parametrize(
    ("canned", "text", "only", "why"),
    [
        ("Ref", "", False, "select one of the canned replies"),  # can't be filled here
        ("Nope", "", False, "select one of the canned replies"),
        ("", "My own words", True, "only its canned replies"),
        ("Call us", "Call Riverside Surgery today", True, "only its canned replies"),
    ],
)
def test_a_reply_the_service_does_not_allow_is_refused(
    canned: str, text: str, only: bool, why: str
) -> None:
    with pytest.raises(Invalid, match=why) as refused:
        reply_choice(canned, text, OFFERED, only, "reply_canned")
    assert refused.value.field == "reply_canned"


@pytest.mark.parametrize(
    ("text", "starts"),
    [
        ("", "Sends as 0 texts. Basic SMS alphabet"),
        ("a" * 160, "Sends as 1 text. Basic SMS alphabet"),
        ("a" * 161, "Sends as 2 texts. Basic SMS alphabet"),
        ("€" * 80, "Sends as 1 text. Basic"),  # two septets each
        ("a" * 69 + "ŵ", "Sends as 1 text. 'ŵ' is outside the basic SMS alphabet"),
        ("a" * 70 + "ŵ", "Sends as 2 texts. 'ŵ'"),
        ("👍" * 35, "Sends as 1 text. '👍'"),  # an emoji is two UTF-16 units
        ("👍" * 36, "Sends as 2 texts. '👍'"),
    ],
)
def test_the_segment_line(text: str, starts: str) -> None:
    assert reply_length(text).startswith(starts)


def test_rules_check_lists_the_canned_replies(
    capsys: pytest.CaptureFixture[str], write_rules: WriteRules
) -> None:
    path = write_rules(
        "surgery.yaml",
        "service:\n  id: surgery\n  name: Surgery\n  region: GB\n  numbers: ['+447700900111']\n"
        "  canned_replies_only: true\n"
        "rules:\n  - name: yes\n    keywords: ['yes']\n    action: confirm\n"
        "replies:\n  - name: Call us\n    text: Call {service}\n",
    )
    assert main(["rules", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "canned replies 'Call us' (caseworkers may send only these)" in out


def test_rules_check_names_an_unknown_placeholder_with_its_line(
    capsys: pytest.CaptureFixture[str], write_rules: WriteRules
) -> None:
    path = write_rules(
        "surgery.yaml",
        "service:\n  id: surgery\n  name: Surgery\n  region: GB\n  numbers: ['+447700900111']\n"
        "rules:\n  - name: yes\n    keywords: ['yes']\n    action: confirm\n"
        "replies:\n  - name: Ref\n    text: About {refrence}\n",
    )
    assert main(["rules", "check", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:12: replies[0].text: unknown placeholder {{refrence}}" in err
    assert "use only {service}" in err
