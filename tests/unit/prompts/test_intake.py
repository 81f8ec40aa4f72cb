"""Reading prompts as a service sends them (API objects, CSV rows): tables of cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbound.prompts.intake import (
    FIELDS,
    MAX_BATCH,
    InvalidBatch,
    OtherService,
    Sender,
    read_batch,
    read_prompt,
)
from inbound.prompts.model import InvalidPrompt, Prompt
from inbound.rules.model import Action
from inbound.rules.prompt_settings import PromptSettings

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CLINIC = Sender("clinic", "GB", PromptSettings(expires_after=timedelta(days=2)), NOW)


def raw(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "to": "07700 900123",
        "reference": "appt-8812",
        "expects": ["confirm", "cancel"],
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def test_the_issues_example_is_read_with_the_number_in_e164() -> None:
    prompt = read_prompt(
        raw(
            expires_at="2026-12-03T09:00:00Z",
            text="Reminder: ... Reply YES or CANCEL",
            sent_at="2026-11-30T08:00:00+00:00",
        ),
        CLINIC,
    )
    assert prompt.service == "clinic"
    assert prompt.recipient == "+447700900123"
    assert prompt.expects == {Action.confirm, Action.cancel}
    assert prompt.expires_at == datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    assert prompt.sent_at == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert prompt.text == "Reminder: ... Reply YES or CANCEL"


def test_sent_at_defaults_to_now_and_expires_at_to_the_services_expires_after() -> None:
    prompt = read_prompt(raw(), CLINIC)
    assert prompt.sent_at == NOW
    assert prompt.expires_at == NOW + timedelta(days=2)
    assert prompt.text is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("confirm,cancel", {Action.confirm, Action.cancel}),  # a CSV cell
        ("confirm cancel", {Action.confirm, Action.cancel}),
        (" Confirm ", {Action.confirm}),
        (["change"], {Action.change}),
    ],
)
def test_expects_is_a_list_or_a_csv_cell(given: object, expected: set[Action]) -> None:
    assert read_prompt(raw(expects=given), CLINIC).expects == expected


def test_an_empty_text_is_text_not_stored() -> None:
    assert read_prompt(raw(text=""), CLINIC).text is None


@pytest.mark.parametrize(
    ("changes", "field", "why"),
    [
        ({"to": None}, "to", "is missing"),
        ({"to": 447700900123}, "to", "not a string"),
        ({"to": "hello"}, "to", "not a phone number"),
        ({"to": "12345"}, "to", "not a phone number"),  # a short code can't be texted a prompt
        ({"reference": None}, "reference", "is missing"),
        ({"reference": "   "}, "reference", "is empty"),
        ({"reference": "a\nb"}, "reference", "control character"),
        ({"reference": "r" * 201}, "reference", "longer than 200"),
        ({"expects": None}, "expects", "is missing"),
        ({"expects": []}, "expects", "names no action"),
        ({"expects": ["confrim"]}, "expects", "is not an action"),
        ({"expects": [1]}, "expects", "not an action name"),
        ({"expects": ["manual"]}, "expects", "manual is not an answer"),
        ({"expects": ["help", "confirm"]}, "expects", "leave them out"),
        ({"expires_at": "soon"}, "expires_at", "not a time"),
        ({"expires_at": "2026-12-03T09:00"}, "expires_at", "no time zone"),
        ({"sent_at": "2026-11-30T09:00"}, "sent_at", "no time zone"),
        ({"expires_at": "2026-11-29T09:00:00Z"}, "expires_at", "not after sent_at"),
        ({"text": 5}, "text", "not a string"),
        ({"text": "x" * 2001}, "text", "longer than 2000"),
        ({"expire_at": "2026-12-03T09:00:00Z"}, "expire_at", "not a prompt field"),
    ],
)
def test_a_wrong_value_is_refused_naming_its_field(
    changes: dict[str, Any], field: str, why: str
) -> None:
    with pytest.raises(InvalidPrompt) as refused:
        read_prompt(raw(**changes), CLINIC)
    assert refused.value.field == field
    assert why in str(refused.value)


def test_a_refused_number_is_masked_in_the_message() -> None:
    with pytest.raises(InvalidPrompt) as refused:
        read_prompt(raw(to="+44 7700 900123 999 999"), CLINIC)
    assert "900123" not in str(refused.value)


def test_a_prompt_for_another_service_is_refused_as_such() -> None:
    with pytest.raises(OtherService):
        read_prompt(raw(service="gp"), CLINIC)
    assert read_prompt(raw(service="clinic"), CLINIC).service == "clinic"


def test_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidPrompt, match="send a JSON object"):
        read_prompt(["to"], CLINIC)


def test_a_batch_names_the_first_wrong_prompt_by_its_index() -> None:
    with pytest.raises(InvalidBatch) as refused:
        read_batch([raw(), raw(reference="b"), raw(to="nope"), raw(expects=[])], CLINIC)
    assert refused.value.index == 2
    assert refused.value.wrong.field == "to"


def test_a_batch_is_one_to_ten_thousand_prompts() -> None:
    assert len(read_batch([raw(reference=str(n)) for n in range(MAX_BATCH)], CLINIC)) == MAX_BATCH
    with pytest.raises(InvalidBatch, match="none sent"):
        read_batch([], CLINIC)
    with pytest.raises(InvalidBatch, match="at most 10,000"):
        read_batch([raw()] * (MAX_BATCH + 1), CLINIC)


def test_a_national_number_needs_the_services_region() -> None:
    nowhere = Sender("clinic", None, PromptSettings(), NOW)
    with pytest.raises(InvalidPrompt, match="not a phone number"):
        read_prompt(raw(), nowhere)
    assert read_prompt(raw(to="+447700900123"), nowhere).recipient == "+447700900123"


@pytest.mark.parametrize(
    ("to", "stored"),
    [
        ("+447700900123", "+447700900123"),
        (" +447700900123 ", "+447700900123"),
        ("+4407700900123", "+447700900123"),  # E.164's shape with the national 0: not E.164
        ("+44 7700 900123", "+447700900123"),
        ("0044 7700 900123", "+447700900123"),
        ("07700 900123", "+447700900123"),
    ],
)
def test_a_number_is_stored_in_e164_however_it_was_written(to: str, stored: str) -> None:
    assert read_prompt(raw(to=to), CLINIC).recipient == stored


@pytest.mark.parametrize("to", ["+4477009001234", "+999123456789"])
def test_a_number_shaped_like_e164_that_no_number_can_be_is_refused(to: str) -> None:
    with pytest.raises(InvalidPrompt, match=r"to: .* is not a phone number"):
        read_prompt(raw(to=to), CLINIC)


def test_a_number_already_in_e164_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """An import's numbers are mostly E.164 and all different (no cache helps): parsing each
    twice with phonenumbers was most of an import's time."""
    parsed: list[str] = []
    parse = phonenumbers.parse

    def counting(number: str, region: str | None = None) -> phonenumbers.PhoneNumber:
        parsed.append(number)
        return parse(number, region)

    monkeypatch.setattr(phonenumbers, "parse", counting)
    assert read_prompt(raw(to="+447700900571"), CLINIC).recipient == "+447700900571"
    assert parsed == []


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
FIELD_VALUES = {
    "to": st.sampled_from(["07700 900123", "+447700900123", "12", "", "+1"]) | JSON,
    "reference": st.text(max_size=210) | JSON,
    "expects": st.lists(st.sampled_from([a.value for a in Action] + ["yes", ""])) | JSON,
    "expires_at": st.sampled_from(["2026-12-03T09:00:00Z", "2026-12-03", "x"]) | JSON,
    "sent_at": st.sampled_from(["2026-11-30T09:00:00+01:00", "2027-01-01T00:00:00Z"]) | JSON,
    "text": st.text(max_size=50) | JSON,
    "service": st.sampled_from(["clinic", "gp"]) | JSON,
}


def outcome(value: object) -> Prompt | InvalidPrompt:
    try:
        return read_prompt(value, CLINIC)
    except InvalidPrompt as wrong:
        return wrong


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({}, optional=FIELD_VALUES) | JSON)
def test_any_json_is_a_prompt_or_refused_naming_a_field(value: object) -> None:
    """Whatever a client sends, the answer is a prompt or an InvalidPrompt (a 4xx), never
    another exception (a 500)."""
    read = outcome(value)
    if isinstance(read, InvalidPrompt):
        assert read.field in (*FIELDS, "prompt") or isinstance(value, dict)
        assert str(read).startswith(f"{read.field}: ")
    else:
        assert read.service == "clinic"
        assert read.expires_at > read.sent_at


@pytest.mark.parametrize(
    "changes",
    [
        {"sent_at": "9999-12-31T23:59:59+00:00"},  # + 14 days would overflow
        {"expires_at": "0001-01-01T00:00:00+01:00"},  # in UTC, before year 1
        {"sent_at": "1999-12-31T23:59:59Z"},
    ],
)
def test_times_at_the_ends_of_the_calendar_are_refused_not_overflowed(
    changes: dict[str, Any],
) -> None:
    read = outcome(raw(**changes))
    assert isinstance(read, InvalidPrompt)
    assert read.field in changes
    assert "between 2000 and 2999" in str(read)
