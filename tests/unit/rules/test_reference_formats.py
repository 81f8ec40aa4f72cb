"""References without regular expressions: named formats, as the matcher, the rule file and a
caseworker's decision read them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from inbound.commands.rules import rule_file_schema
from inbound.review.decisions import Invalid, decision
from inbound.review.desk import reference_hint
from inbound.rules.errors import RuleValueError
from inbound.rules.load import RuleFileError, load_file
from inbound.rules.match import decide
from inbound.rules.model import Captures, Rule, ServiceRules
from inbound.rules.reference_formats import Mismatch, nhs_check_digit, parse

from .conftest import WriteRules


@pytest.mark.parametrize(
    ("written", "text", "accepted"),
    [
        ({"digits": 6}, "123456", "123456"),
        ({"digits": 6}, "012345", "012345"),  # leading zeros are kept
        ({"digits": 6}, "12345", None),
        ({"digits": 6}, "1234567", None),
        ({"digits": 6}, "12 3456", None),
        ({"digits": 6}, "١٢٣٤٥٦", None),  # Arabic-Indic digits are not a council's reference
        ({"digits": [4, 8]}, "1234", "1234"),
        ({"digits": [4, 8]}, "12345678", "12345678"),
        ({"digits": [4, 8]}, "123", None),
        ({"digits": [4, 8]}, "123456789", None),
        ({"letters": 2, "digits": 6}, "AB123456", "AB123456"),
        ({"letters": 2, "digits": 6}, "ab123456", "AB123456"),
        ({"letters": 2, "digits": 6}, "A123456", None),
        ({"letters": 2, "digits": 6}, "AB 123456", None),
        ({"letters": 2, "digits": 6}, "123456AB", None),
        ({"letters": [1, 3], "digits": 4}, "abc1234", "ABC1234"),
        ("letters_then_digits", "MB123456", "MB123456"),
        ("letters_then_digits", "x1234", "X1234"),
        ("letters_then_digits", "ABCD1234", None),  # 1 to 3 letters
        ("letters_then_digits", "AB123", None),  # 4 to 10 digits
        ("postcode", "SW1A 1AA", "SW1A 1AA"),
        ("postcode", "sw1a1aa", "SW1A 1AA"),
        ("postcode", "M1 1AE", "M1 1AE"),
        ("postcode", "B33 8TH", "B33 8TH"),
        ("postcode", "cr2 6xh", "CR2 6XH"),
        ("postcode", "DN55 1PT", "DN55 1PT"),
        ("postcode", "W1A 0AX", "W1A 0AX"),
        ("postcode", "EC1A 1BB", "EC1A 1BB"),
        ("postcode", "GIR 0AA", "GIR 0AA"),
        ("postcode", "SW1A 1AI", None),  # I is never in the inward code
        ("postcode", "QA1 1AA", None),  # Q never opens a postcode
        ("postcode", "AJ1 1AA", None),  # J is never second
        ("postcode", "SW1A", None),
        ("postcode", "SW1A  1AA", None),
        ("postcode", "12345", None),
        ("nhs_number", "9434765919", "9434765919"),
        ("nhs_number", "943 476 5919", "9434765919"),
        ("nhs_number", "943-476-5919", "9434765919"),
        ("nhs_number", "9434765918", None),  # wrong check digit
        ("nhs_number", "943 4765919", None),  # groups must be written alike
        ("nhs_number", "943476591", None),
        ("nhs_number", "1234567890", None),  # its check digit would be 10: no such number
        ("ni_number", "AB 12 34 56 C", "AB123456C"),
        ("ni_number", "ab123456c", "AB123456C"),
        ("ni_number", "JG 103728 A", "JG103728A"),
        ("ni_number", "QQ 12 34 56 C", None),  # HMRC's example prefix: Q is never used
        ("ni_number", "AO123456A", None),  # O is never second
        ("ni_number", "GB123456A", None),  # never allocated
        ("ni_number", "AB123456E", None),  # the suffix is A to D
        ("ni_number", "AB12345C", None),
        ("[a-z]{2}[0-9]{6}", "mb123456", "mb123456"),  # a regex keeps the text as typed
        ("[a-z]{2}[0-9]{6}", "MB12345", None),
    ],
)
def test_a_format_accepts_its_references_in_their_normal_form(
    written: object, text: str, accepted: str | None
) -> None:
    assert parse(written).accept(text) == accepted


@pytest.mark.parametrize(
    ("nine", "check"),
    [
        ("943476591", 9),
        ("401023213", 7),  # 4010232137, a published example
        ("000000000", 0),  # the sum is 0: 11 - 0 is 11, read as 0
        ("123456789", None),  # the sum leaves 1: 10 is not a digit, so no such number
    ],
)
def test_nhs_check_digit_is_modulus_11(nine: str, check: int | None) -> None:
    assert nhs_check_digit(nine) == check


@pytest.mark.parametrize(
    ("written", "text", "found"),
    [
        ("postcode", "REPORT pothole outside 12 Mill Lane, sw1a 1aa", "SW1A 1AA"),
        ("postcode", "REPORT bins at M1 1AE.", "M1 1AE"),
        ("nhs_number", "my NHS number is 943 476 5919 thanks", "9434765919"),
        ("nhs_number", "call 01632 960 001 or 943-476-5919", "9434765919"),
        ("ni_number", "my NI number is jg 10 37 28 a thanks", "JG103728A"),
        ({"digits": 6}, "ref #123456.", "123456"),
        ({"digits": 6}, "(123456)", "123456"),
        ({"letters": 2, "digits": 6}, "status ab123456 please", "AB123456"),
        ("[a-z]{2}[0-9]{6}", "status (ab123456).", "ab123456"),
        ({"digits": 6}, "no number here", None),
    ],
)
def test_a_format_is_found_in_a_reply(written: object, text: str, found: str | None) -> None:
    assert parse(written).find(text) == found


@pytest.mark.parametrize(
    ("written", "text", "why"),
    [
        ({"digits": 6}, "ref 1234567", "the reference is not 6 digits"),
        ({"digits": 6}, "ref 01234567890", "the reference is not 6 digits"),  # not its middle
        ("nhs_number", "943 476 5918", "the reference is not an NHS number"),
        ("postcode", "outside number 12", "the reference is not a GB postcode"),
        ("ni_number", "GB 12 34 56 A", "the reference is not a National Insurance number"),
        ("letters_then_digits", "ref 123456", "1 to 3 letters then 4 to 10 digits"),
        ("[a-z]{2}[0-9]{6}", "ref 123456", "the reference is not in the expected form"),
    ],
)
def test_a_reply_with_a_wrong_reference_is_a_mismatch(written: object, text: str, why: str) -> None:
    found = parse(written).find(text)
    assert isinstance(found, Mismatch)
    assert why in found.why


@pytest.mark.parametrize(
    ("written", "problem", "fix"),
    [
        ("postcod", "'postcod' is not a reference format", "did you mean postcode?"),
        ("Postcode", "format names are written in lower case", "write reference: postcode"),
        ("nhs", "'nhs' is not a reference format", "nhs_number"),
        ("digits", "format 'digits' needs a count", "{digits: 6}"),
        ({"digits": 0}, "digits: 0 would allow a reference with no digits", "digits: 6"),
        ({"digits": [8, 4]}, "goes from more to fewer", "[4, 8]"),
        ({"digits": [4]}, "is not a count", "digits: [4, 8]"),
        ({"digits": "six"}, "'six' is not a count", "digits: 6"),
        ({"digits": True}, "True is not a count", "digits: 6"),
        ({"digits": 31}, "31 is more than 30", "from 1 to 30"),
        ({"letters": 2}, "needs digits after them", "{letters: 2, digits: 6}"),
        ({"letters": 0, "digits": 6}, "no letters", "letters: 6"),
        ({"digit": 6}, "unknown key 'digit'", "{digits: 6}"),
        ("[a-z", "is not a valid regular expression", "single quotes"),
    ],
)
def test_a_wrong_format_says_how_to_fix_it(written: object, problem: str, fix: str) -> None:
    with pytest.raises(RuleValueError) as caught:
        parse(written)
    assert problem in caught.value.problem
    assert fix in caught.value.fix


@pytest.mark.parametrize(
    "written", ["postcode", "nhs_number", {"digits": 6}, {"letters": 2, "digits": [4, 8]}, "a+1"]
)
def test_a_format_is_written_back_as_it_was_written(written: object) -> None:
    captures = _rules(reference=written).rules[0].captures
    dumped = captures.model_dump(mode="json")
    assert dumped["reference"] == written
    assert Captures.model_validate(dumped) == captures


def _rules(region: str = "GB", **captures: Any) -> ServiceRules:
    return ServiceRules.model_validate(
        {
            "service": {"id": "s", "name": "S", "region": region, "numbers": ["+447700900123"]},
            "rules": [
                {
                    "name": "status",
                    "keywords": ["status"],
                    "match": "first",
                    "action": "follow_up",
                    "captures": captures,
                    "requires": ["reference"],
                    "reply": "We will text you about {reference}.",
                }
            ],
        }
    )


@pytest.mark.parametrize(
    ("written", "text", "reference"),
    [
        ("postcode", "STATUS sw1a1aa", "SW1A 1AA"),
        ("nhs_number", "status: 943 476 5919", "9434765919"),
        ("ni_number", "status AB 12 34 56 C", "AB123456C"),
        ({"digits": 6}, "Status 004512", "004512"),
        ({"letters": 2, "digits": 6}, "status mb123456", "MB123456"),
    ],
)
def test_the_matcher_captures_through_a_named_format(
    written: object, text: str, reference: str
) -> None:
    decided = decide(_rules(reference=written), text)
    assert decided.automatic
    assert decided.captures["reference"] == reference
    assert decided.reply == f"We will text you about {reference}."


@pytest.mark.parametrize(
    ("written", "text", "reason"),
    [
        ("postcode", "STATUS 12 Mill Lane", "the reference is not a GB postcode"),
        ("nhs_number", "status 943 476 5918", "the reference is not an NHS number"),
        ({"digits": 6}, "status 45120", "the reference is not 6 digits (rule 'status')"),
        ({"digits": 6}, "status please", "rule 'status' needs reference after the keyword"),
    ],
)
def test_the_matcher_sends_a_wrong_reference_to_a_person(
    written: object, text: str, reason: str
) -> None:
    decided = decide(_rules(reference=written), text)
    assert decided.action is None
    assert reason in decided.reason


def test_a_regex_keyword_capture_is_checked_and_normalised_by_the_format() -> None:
    rules = ServiceRules.model_validate(
        {
            "service": {"id": "s", "name": "S", "region": "GB", "numbers": ["+447700900123"]},
            "rules": [
                {
                    "name": "where",
                    "keywords": [r"^at (?P<reference>\w+ ?\w+)$"],
                    "match": "regex",
                    "action": "report",
                    "captures": {"reference": "postcode"},
                }
            ],
        }
    )
    assert decide(rules, "at sw1a1aa").captures["reference"] == "SW1A 1AA"
    assert decide(rules, "at the shop").action is None


POSTCODE_FILE = """\
service:
  id: streets
  name: Street reports
  region: US
  numbers: ["+12025550123"]
rules:
  - name: where
    keywords: [report]
    match: first
    action: report
    captures:
      reference: postcode
"""


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "problem", "fix"),
    [
        (
            "reference: postcode",
            "reference: postcode",
            12,
            "rules[0].captures.reference",
            "the reference format postcode is for region GB, but this file's region is US",
            "{digits: ...}",
        ),
        (
            "region: US",
            "region: GB",
            0,  # no error: a GB file may use it
            "",
            "",
            "",
        ),
        (
            "reference: postcode",
            "reference: {digits: 0}",
            12,
            "rules[0].captures.reference.digits",
            "digits: 0 would allow a reference with no digits",
            "digits: 6",
        ),
        (
            "reference: postcode",
            "reference:\n        digitz: 6",
            13,
            "rules[0].captures.reference.digitz",
            "unknown key 'digitz'",
            "{digits: 6}",
        ),
        (
            "reference: postcode",
            "reference: post_code",
            12,
            "rules[0].captures.reference",
            "'post_code' is not a reference format",
            "did you mean postcode?",
        ),
    ],
)
def test_a_rule_file_error_names_the_line_and_the_fix(
    write_rules: WriteRules, old: str, new: str, line: int, field: str, problem: str, fix: str
) -> None:
    path = write_rules("streets.yaml", POSTCODE_FILE.replace(old, new, 1))
    if not line:
        assert load_file(path).rules[0].captures.reference is not None
        return
    with pytest.raises(RuleFileError) as caught:
        load_file(path)
    error = caught.value
    assert (error.line, error.field) == (line, field)
    assert problem in error.problem
    assert fix in error.fix


@pytest.mark.parametrize(
    ("written", "typed", "kept"),
    [
        ("postcode", "sw1a1aa", "SW1A 1AA"),
        ("nhs_number", "943 476 5919", "9434765919"),
        ({"digits": 6}, " 004512 ", "004512"),
    ],
)
def test_a_caseworker_reference_is_kept_in_its_normal_form(
    written: object, typed: str, kept: str
) -> None:
    assert decision("follow_up", {"reference": typed}, (parse(written),))[1] == {"reference": kept}


@pytest.mark.parametrize(
    ("written", "typed", "message"),
    [
        ("postcode", "SW1A", "enter the reference as a GB postcode, like SW1A 1AA"),
        ("nhs_number", "943 476 5918", "enter the reference as an NHS number"),
        ({"digits": 6}, "45120", "enter the reference as 6 digits"),
    ],
)
def test_a_caseworker_reference_in_the_wrong_format_is_refused(
    written: object, typed: str, message: str
) -> None:
    with pytest.raises(Invalid) as caught:
        decision("follow_up", {"reference": typed}, (parse(written),))
    assert message in str(caught.value)
    assert caught.value.field == "reference"


def test_the_json_schema_describes_the_formats() -> None:
    schema = rule_file_schema()
    reference = schema["$defs"]["Captures"]["properties"]["reference"]
    forms = reference["anyOf"][0]["oneOf"]
    assert forms[0]["enum"] == ["postcode", "nhs_number", "ni_number", "letters_then_digits"]
    assert set(forms[2]["properties"]) == {"digits", "letters"}
    assert "nhs_number" in json.dumps(reference)


@given(st.text(alphabet="0123456789", min_size=9, max_size=9), st.sampled_from(["", " ", "-"]))
def test_every_nhs_number_with_its_check_digit_is_found_however_it_is_spaced(
    nine: str, gap: str
) -> None:
    check = nhs_check_digit(nine)
    assume(check is not None)
    assert check is not None
    number = f"{nine}{check}"
    written = f"{number[:3]}{gap}{number[3:6]}{gap}{number[6:]}"
    nhs = parse("nhs_number")
    assert nhs.find(f"my number is {written}, thanks") == number
    wrong = f"{written[:-1]}{(check + 1) % 10}"
    assert nhs.accept(wrong) is None


@given(st.text(alphabet="0123456789", min_size=1, max_size=12))
def test_digits_capture_exactly_their_count(typed: str) -> None:
    found = parse({"digits": 6}).find(f"status {typed}")
    assert (found == typed) is (len(typed) == 6)


def test_a_rule_survives_a_python_round_trip_as_suggestions_and_exports_make() -> None:
    rule = _rules(reference={"letters": 2, "digits": 6}).rules[0]
    assert Rule.model_validate(rule.model_dump()) == rule


@pytest.mark.parametrize(
    ("references", "hint"),
    [
        (["postcode"], "A GB postcode, like SW1A 1AA"),
        ([{"digits": 6}, {"letters": 2, "digits": 6}], "6 digits or 2 letters then 6 digits"),
        ([{"digits": 6}, {"digits": 6}], "6 digits"),
        (["postcode", "[a-z]{2}[0-9]{4}"], "In the form the service's rules expect"),
        ([], "In the form the service's rules expect"),
    ],
)
def test_the_decide_forms_hint_names_the_services_formats(
    references: list[object], hint: str
) -> None:
    rules = [
        {"name": f"r{index}", "keywords": [f"k{index}"], "match": "first", "action": "report"}
        | {"captures": {"reference": written}}
        for index, written in enumerate(references)
    ] or [{"name": "r", "keywords": ["k"], "action": "confirm"}]
    service = ServiceRules.model_validate(
        {
            "service": {"id": "s", "name": "S", "region": "GB", "numbers": ["+447700900123"]},
            "rules": rules,
        }
    )
    assert reference_hint(service) == hint
