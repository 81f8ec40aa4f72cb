"""Prompts and prompt settings: durations, settings blocks and prompt values, from tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inbound.prompts.model import Answer, InvalidPrompt, Prompt, PromptState, in_words, revise
from inbound.rules.errors import RuleValueError
from inbound.rules.model import Action
from inbound.rules.prompt_settings import (
    PromptSettingError,
    PromptSettings,
    WithoutPrompt,
    parse_duration,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TO = "+447700900123"


def make(**changes: object) -> Prompt:
    values: dict[str, object] = {
        "service": "appointments",
        "recipient": TO,
        "reference": "appt-8812",
        "expects": frozenset({Action.confirm, Action.cancel}),
        "sent_at": T0,
        "expires_at": T0 + timedelta(days=2),
    }
    values.update(changes)
    return Prompt(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("14d", timedelta(days=14), id="days are written d"),
        pytest.param("12h", timedelta(hours=12), id="hours are written h"),
        pytest.param("30m", timedelta(minutes=30), id="minutes are written m"),
        pytest.param(" 7d ", timedelta(days=7), id="spaces around the value are ignored"),
        pytest.param("366d", timedelta(days=366), id="a year and a day is the longest allowed"),
    ],
)
def test_a_duration_is_a_whole_number_and_a_unit(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        pytest.param("14", "'14' is not a duration", id="a number without a unit is refused"),
        pytest.param("14 days", "is not a duration", id="a unit spelled out is refused"),
        pytest.param("14D", "is not a duration", id="units are lower case"),
        pytest.param("1.5d", "is not a duration", id="fractions are refused"),
        pytest.param("-3d", "is not a duration", id="a negative duration is refused"),
        pytest.param("2w", "is not a duration", id="weeks are not a unit"),
        pytest.param("", "is not a duration", id="an empty value is refused"),
        pytest.param(14, "14 is not a duration", id="a bare YAML number is refused"),
        pytest.param(None, "None is not a duration", id="a missing value is refused"),
        pytest.param("0m", "is no time at all", id="zero is refused"),
        pytest.param("367d", "longer than 366 days", id="more than a year is refused"),
        pytest.param("999999999d", "longer than 366 days", id="a huge value doesn't overflow"),
    ],
)
def test_a_bad_duration_names_the_setting_and_the_value(value: object, problem: str) -> None:
    with pytest.raises(PromptSettingError, match=problem) as raised:
        parse_duration(value)
    assert raised.value.setting == "expires_after"
    assert raised.value.value == value
    assert raised.value.loc == ("expires_after",)
    assert str(raised.value).startswith("prompts.expires_after: ")
    assert raised.value.fix  # every error says how to put it right
    assert isinstance(raised.value, RuleValueError)  # so the rule loader shows file and line


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        pytest.param(timedelta(days=3, hours=5), "3 days", id="whole days, rounded down"),
        pytest.param(timedelta(days=1), "1 day", id="one day is singular"),
        pytest.param(timedelta(hours=23, minutes=59), "23 hours", id="under a day is hours"),
        pytest.param(timedelta(minutes=90), "1 hour", id="ninety minutes is an hour"),
        pytest.param(timedelta(minutes=5), "5 minutes", id="under an hour is minutes"),
        pytest.param(timedelta(seconds=59), "less than a minute", id="seconds are a moment"),
    ],
)
def test_a_duration_in_words(delta: timedelta, words: str) -> None:
    assert in_words(delta) == words


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(None, PromptSettings(), id="no prompts block gives the defaults"),
        pytest.param({}, PromptSettings(), id="an empty block gives the defaults"),
        pytest.param(
            {"expires_after": "12h"},
            PromptSettings(expires_after=timedelta(hours=12)),
            id="expires_after alone keeps the other defaults",
        ),
        pytest.param(
            {"expires_after": "30m", "without_prompt": "review", "allow_change": True},
            PromptSettings(timedelta(minutes=30), WithoutPrompt.REVIEW, allow_change=True),
            id="every setting at once",
        ),
    ],
)
def test_settings_are_read_from_the_prompts_block(
    raw: dict[str, object] | None, expected: PromptSettings
) -> None:
    assert PromptSettings.parse(raw) == expected


def test_the_defaults_are_fourteen_days_rules_and_no_changes() -> None:
    assert PromptSettings() == PromptSettings(
        timedelta(days=14), WithoutPrompt.RULES, allow_change=False
    )


@pytest.mark.parametrize(
    ("raw", "setting", "problem"),
    [
        pytest.param(
            {"expires_after": "fortnight"},
            "expires_after",
            "'fortnight' is not a duration",
            id="a bad duration",
        ),
        pytest.param(
            {"without_prompt": "ignore"},
            "without_prompt",
            "'ignore' is not a policy",
            id="an unknown without_prompt policy",
        ),
        pytest.param(
            {"allow_change": "yes"},
            "allow_change",
            "'yes' is not true or false",
            id="allow_change given as text",
        ),
        pytest.param(
            {"allow_changes": True},
            "allow_changes",
            "unknown setting 'allow_changes'",
            id="a misspelled setting",
        ),
        pytest.param(["14d"], "", "is not a mapping", id="a list instead of a block"),
    ],
)
def test_bad_settings_say_which_and_why(raw: object, setting: str, problem: str) -> None:
    with pytest.raises(PromptSettingError, match=problem) as raised:
        PromptSettings.parse(raw)  # type: ignore[arg-type]
    assert raised.value.setting == setting
    assert raised.value.fix


@pytest.mark.parametrize(
    ("changes", "field", "problem"),
    [
        pytest.param({"recipient": "07700900123"}, "to", "not an E.164", id="a national number"),
        pytest.param({"reference": " "}, "reference", "is empty", id="an empty reference"),
        pytest.param({"service": ""}, "service", "is empty", id="no service"),
        pytest.param({"expects": frozenset()}, "expects", "no action", id="nothing expected"),
        pytest.param(
            {"expects": frozenset({Action.manual})},
            "expects",
            "manual is not an answer",
            id="manual as an answer",
        ),
        pytest.param(
            {"expects": frozenset({Action.confirm, Action.opt_out})},
            "expects",
            "opt_out always take effect",
            id="opt_out as an answer",
        ),
        pytest.param(
            {"sent_at": datetime(2026, 12, 1, 9, 0)},
            "sent_at",
            "no time zone",
            id="a naive sent_at",
        ),
        pytest.param({"expires_at": T0}, "expires_at", "not after sent_at", id="expiry at sending"),
        pytest.param(
            {"state": PromptState.ANSWERED},
            "answer",
            "exactly when",
            id="answered without an answer",
        ),
        pytest.param(
            {"answer": Answer(Action.confirm, T0)},
            "answer",
            "exactly when",
            id="an answer on an open prompt",
        ),
    ],
)
def test_a_bad_prompt_names_the_field(changes: dict[str, object], field: str, problem: str) -> None:
    with pytest.raises(InvalidPrompt, match=problem) as raised:
        make(**changes)
    assert raised.value.field == field


def test_a_bad_number_is_masked_in_the_error() -> None:
    with pytest.raises(InvalidPrompt) as raised:
        make(recipient="447700900123")
    assert "447700900123" not in str(raised.value)


def test_a_reply_exactly_at_expiry_is_in_time_and_a_second_later_is_not() -> None:
    prompt = make()
    assert not prompt.expired_at(prompt.expires_at)
    assert prompt.expired_at(prompt.expires_at + timedelta(seconds=1))


def test_answering_and_withdrawing_change_only_the_state() -> None:
    prompt = make()
    answered = prompt.answered(Action.cancel, T0 + timedelta(hours=1))
    assert answered.state is PromptState.ANSWERED
    assert answered.answer == Answer(Action.cancel, T0 + timedelta(hours=1))
    assert answered.withdrawn() == make(state=PromptState.WITHDRAWN)


def test_sending_a_new_prompt_stores_it_open() -> None:
    assert revise(None, make()) == make()


def test_sending_an_answered_prompt_again_keeps_its_answer() -> None:
    later = T0 + timedelta(days=1)
    answered = make().answered(Action.confirm, T0 + timedelta(hours=1))
    resent = make(sent_at=later, expires_at=later + timedelta(days=2), text="new text")
    assert revise(answered, resent) == resent.answered(Action.confirm, T0 + timedelta(hours=1))


def test_sending_a_withdrawn_prompt_again_asks_afresh() -> None:
    withdrawn = make().answered(Action.confirm, T0 + timedelta(hours=1)).withdrawn()
    assert revise(withdrawn, make()) == make()


def test_revising_another_prompt_is_refused() -> None:
    with pytest.raises(ValueError, match="same prompt"):
        revise(make(), make(reference="appt-9999"))
