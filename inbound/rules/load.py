"""Reading rule files: YAML in, a validated model out, or errors naming file, line and fix."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from inbound.rules.errors import RuleValueError
from inbound.rules.lint import lint
from inbound.rules.model import CannedReply, Rule, RuleBook, ServiceRules

Loc = tuple[str | int, ...]
_EXAMPLE = "rules/examples/appointments.yaml"


class RuleFileError(Exception):
    """One problem in one rule file: where it is, what is wrong and how to fix it."""

    def __init__(
        self, path: Path, line: int | None, problem: str, fix: str, field: str | None = None
    ) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        self.fix = fix
        self.field = field  # where in the file's structure, e.g. "rules[2].action"
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else f"{self.path}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.problem} — {self.fix}"


class RuleSetError(Exception):
    """Problems in a folder of rule files; `errors` lists every one found."""

    def __init__(self, errors: Iterable[RuleFileError]) -> None:
        self.errors = list(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(error) for error in self.errors)


def load_file(path: Path) -> ServiceRules:
    """Load and validate one rule file; raises `RuleFileError` for its first problem."""
    loaded = _load(path)
    if isinstance(loaded, _Loaded):
        return loaded.rules
    raise loaded[0]


def load_directory(path: Path) -> RuleBook:
    """Load every `*.yaml`/`*.yml` under `path`; raises `RuleSetError` listing every problem."""
    if not path.is_dir():
        problem = "is not a folder" if path.exists() else "folder not found"
        raise RuleSetError([RuleFileError(path, None, problem, _DIR_FIX)])
    report = check(path)
    if report.errors:
        raise RuleSetError(report.errors)
    return RuleBook(rules for _, rules in report.services)


_DIR_FIX = "point INBOUND_RULES_DIR (or the command's path) at the folder of rule files"


@dataclass(frozen=True)
class CheckReport:
    """What `check` found: the services that loaded, every error, and every warning."""

    services: list[tuple[Path, ServiceRules]]
    errors: list[RuleFileError]
    warnings: list[RuleFileError]


def check(path: Path, folder: Path | None = None) -> CheckReport:
    """Validate a rule file, or every rule file under a folder, and lint what loads.

    Errors stop a file (or a folder) loading; warnings (carrier opt-out words reused, keywords
    shared between rules, unreachable rules) don't. A file given with `folder` is checked
    against the other services there too (their service ids, numbers and Notify templates), as
    loading the folder with it would be.
    """
    if path.is_file() and folder is not None:
        return _check_in(path, folder)
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(
            file for file in path.rglob("*") if file.suffix in {".yaml", ".yml"} and file.is_file()
        )
    else:
        return CheckReport([], [RuleFileError(path, None, "not found", _DIR_FIX)], [])
    errors: list[RuleFileError] = []
    loaded: list[_Loaded] = []
    for file in files:
        result = _load(file)
        if isinstance(result, _Loaded):
            loaded.append(result)
        else:
            errors.extend(result)
    kept = _drop_clashes(loaded, errors)
    return _report(kept, errors)


def _check_in(path: Path, folder: Path) -> CheckReport:
    """Check one file as it would load in `folder`: beside every other service there. A file
    there for the same service is the version this one replaces, so it is left out."""
    result = _load(path)
    if not isinstance(result, _Loaded):
        return _report([], result)
    mine = path.resolve()
    others: list[_Loaded] = []
    if folder.is_dir():
        for file in sorted(folder.rglob("*")):
            if file.suffix not in {".yaml", ".yml"} or not file.is_file():
                continue
            if file.resolve() == mine:
                continue
            other = _load(file)
            if isinstance(other, _Loaded) and other.rules.service.id != result.rules.service.id:
                others.append(other)
    # The folder's own problems are reported by checking the folder; here only this file's.
    consistent = _drop_clashes(others, [])
    errors: list[RuleFileError] = []
    kept = [item for item in _drop_clashes([*consistent, result], errors) if item is result]
    return _report(kept, [error for error in errors if error.path == path])


def _report(kept: list[_Loaded], errors: list[RuleFileError]) -> CheckReport:
    warnings = [
        RuleFileError(
            item.path, item.line(warning.loc), warning.problem, warning.fix, _show_loc(warning.loc)
        )
        for item in kept
        for warning in lint(item.rules)
    ]
    return CheckReport(
        [(item.path, item.rules) for item in kept],
        sorted(errors, key=lambda error: (error.path, error.line or 0)),
        warnings,
    )


@dataclass(frozen=True)
class _Loaded:
    path: Path
    rules: ServiceRules
    lines: Mapping[Loc, int]

    def line(self, loc: Loc) -> int | None:
        return _line_for(self.lines, loc)


def _drop_clashes(loaded: list[_Loaded], errors: list[RuleFileError]) -> list[_Loaded]:
    """Report service ids, numbers and Notify templates already claimed by an earlier file;
    keep the rest."""
    ids: dict[str, _Loaded] = {}
    numbers: dict[str, tuple[_Loaded, int]] = {}
    templates: dict[str, _Loaded] = {}
    kept: list[_Loaded] = []
    for item in loaded:
        service = item.rules.service
        clashes: list[RuleFileError] = []
        first = ids.get(service.id)
        if first is not None:
            where = f"{first.path}:{first.line(('service', 'id'))}"
            clashes.append(
                RuleFileError(
                    item.path,
                    item.line(("service", "id")),
                    f"service id {service.id!r} is already used by {where}",
                    "give each service its own id, or merge the two files",
                    "service.id",
                )
            )
        for index, number in enumerate(service.numbers):
            owner = numbers.get(number)
            if owner is None:
                continue
            other, other_index = owner
            where = f"{other.path}:{other.line(('service', 'numbers', other_index))}"
            clashes.append(
                RuleFileError(
                    item.path,
                    item.line(("service", "numbers", index)),
                    f"number {number} is already used by service "
                    f"{other.rules.service.id!r} in {where}",
                    "a number belongs to one service: remove it from one of the two files",
                    _show_loc(("service", "numbers", index)),
                )
            )
        for template_id in item.rules.prompts.templates:
            mapper = templates.get(template_id)
            if mapper is None:
                continue
            loc: Loc = ("prompts", "templates", template_id)
            where = f"{mapper.path}:{mapper.line(loc)}"
            clashes.append(
                RuleFileError(
                    item.path,
                    item.line(loc),
                    f"Notify template {template_id} is already mapped by service "
                    f"{mapper.rules.service.id!r} in {where}",
                    "a delivery receipt names only its template, so a template belongs to one "
                    "service: remove it from one of the two files",
                    _show_loc(loc),
                )
            )
        if clashes:
            errors.extend(clashes)
            continue
        ids[service.id] = item
        numbers.update({number: (item, i) for i, number in enumerate(service.numbers)})
        templates.update(dict.fromkeys(item.rules.prompts.templates, item))
        kept.append(item)
    return kept


def _load(path: Path) -> _Loaded | list[RuleFileError]:
    """The validated file with its line index, or its problems in line order."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        return [RuleFileError(path, None, f"cannot read the file: {reason}", _READ_FIX)]
    return _load_bytes(path, raw)


def check_text(source: Path, text: str) -> CheckReport:
    """Validate and lint one rule file given as text (a version stored in the database);
    `source` names it in errors and warnings."""
    result = _load_bytes(source, text.encode())
    if not isinstance(result, _Loaded):
        return CheckReport([], result, [])
    warnings = [
        RuleFileError(source, result.line(w.loc), w.problem, w.fix, _show_loc(w.loc))
        for w in lint(result.rules)
    ]
    return CheckReport([(source, result.rules)], [], warnings)


def _load_bytes(path: Path, raw: bytes) -> _Loaded | list[RuleFileError]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        return [RuleFileError(path, line, "the file is not UTF-8 text", "save it as UTF-8")]
    parsed = _parse(path, text)
    if isinstance(parsed, RuleFileError):
        return [parsed]
    data, lines, problems = parsed
    if problems:
        return problems
    try:
        rules = ServiceRules.model_validate(data)
    except ValidationError as error:
        found = [_explain(path, lines, detail) for detail in _without_echoes(error.errors())]
        found += [
            late
            for late in (_explain(path, lines, detail) for detail in _skipped(data, error))
            if all((late.field, late.problem) != (e.field, e.problem) for e in found)
        ]
        return sorted(found, key=lambda e: e.line or 0)
    return _Loaded(path, rules, lines)


def _skipped(data: Any, error: ValidationError) -> list[ErrorDetails]:
    """The errors pydantic didn't reach: with a rule or canned reply wrong, the checks across
    the file (names used twice, Notify templates' answers, …) never ran, so a second run would
    have shown them. Validate again with each wrong item replaced by a stand-in holding its
    good name and action, until nothing new is found."""
    if not isinstance(data, dict):
        return []
    broken: dict[str, dict[int, set[str]]] = {"rules": {}, "replies": {}}
    seen = {_key(detail) for detail in error.errors()}
    _mark(error.errors(), broken)
    found = [detail for detail in _rule_checks(data, broken["rules"]) if _key(detail) not in seen]
    seen.update(_key(detail) for detail in found)
    set_aside: set[str] = set()  # optional sections a check across the file found wrong
    for _ in range(_ROUNDS):
        again = _with_stand_ins(data, broken)
        if again is not None:
            again = {key: value for key, value in again.items() if key not in set_aside}
        if again is None:
            break
        try:
            ServiceRules.model_validate(again)
        except ValidationError as second:
            actions_wrong = any("action" in fields for fields in broken["rules"].values())
            new = [
                detail
                for detail in second.errors()
                if _key(detail) not in seen
                and not _inside(_full_loc(detail), broken)
                # A rule whose action is wrong gives no action: "no rule gives confirm" would
                # only repeat that error.
                and not (actions_wrong and _full_loc(detail)[:1] == ("prompts",))
            ]
            seen.update(_key(detail) for detail in new)
            found += new
            aside = _aside(second.errors(), set_aside)
            if not _mark(new, broken) and not aside:
                break  # nothing more to set aside: the checks after it ran
        else:
            break
    return found


# A rule's own checks (keywords, captures, its reply's placeholders) read neither its action
# nor its name, so a rule wrong only there is checked again with a stand-in for them.
_STAND_INS = {"action": "manual", "name": "stand-in"}


def _rule_checks(data: dict[str, Any], broken: Mapping[int, set[str]]) -> list[ErrorDetails]:
    """The errors of each rule's own checks, which pydantic skips when its action or name is
    wrong (an unknown action and an unknown {placeholder} in one rule)."""
    items = data.get("rules")
    if not isinstance(items, list):
        return []
    found: list[ErrorDetails] = []
    for index, wrong in broken.items():
        item = items[index] if index < len(items) else None
        if not isinstance(item, dict) or not wrong or not wrong <= _STAND_INS.keys():
            continue
        try:
            Rule.model_validate(item | {field: _STAND_INS[field] for field in wrong})
        except ValidationError as again:
            found += [
                ErrorDetails(**{**detail, "loc": ("rules", index, *detail["loc"])})
                for detail in again.errors()
                if _full_loc(detail)[:1] not in {(field,) for field in wrong}
            ]
    return found


_ROUNDS = 20  # each round sets aside what the last found; a file has only so many checks


def _key(detail: ErrorDetails) -> tuple[Loc, str]:
    return _full_loc(detail), str(detail["msg"])


def _mark(details: Iterable[ErrorDetails], broken: dict[str, dict[int, set[str]]]) -> bool:
    """Note the rules and canned replies `details` find wrong; True when there were any."""
    marked = False
    for detail in details:
        loc = _full_loc(detail)
        if len(loc) >= 2 and loc[0] in broken and isinstance(loc[1], int):
            field = str(loc[2]) if len(loc) > 2 else ""
            broken[str(loc[0])].setdefault(loc[1], set()).add(field)
            marked = True
    return marked


_OPTIONAL_SECTIONS = frozenset({"prompts", "labels"})


def _aside(details: Iterable[ErrorDetails], set_aside: set[str]) -> bool:
    """Set aside the optional sections the checks across the whole file found wrong (they
    stop at their first problem), so the next round runs the checks after them."""
    before = len(set_aside)
    for detail in details:
        loc = _full_loc(detail)
        if not detail["loc"] and loc and loc[0] in _OPTIONAL_SECTIONS:
            set_aside.add(str(loc[0]))
    return len(set_aside) > before


def _with_stand_ins(data: dict[str, Any], broken: dict[str, dict[int, set[str]]]) -> Any:
    again = dict(data)
    for key, model in (("rules", Rule), ("replies", CannedReply)):
        items = data.get(key)
        if not broken[key] or not isinstance(items, list):
            continue
        replaced = [
            _stand_in(model, item, index, broken[key][index]) if index in broken[key] else item
            for index, item in enumerate(items)
        ]
        if None in replaced:
            return None
        again[key] = replaced
    return again


def _stand_in(
    model: type[Rule] | type[CannedReply], item: Any, index: int, wrong: set[str]
) -> Rule | CannedReply | None:
    """A valid item keeping only what the checks across the file read of `item` (its name,
    and a rule's action) when those are right; made-up values clash with nothing."""
    given = item if isinstance(item, dict) else {}
    keep = [key for key in ("name", "action") if key in given and not wrong & {key, ""}]
    fields: dict[str, Any] = {"name": f"stand-in-{index}"}
    if model is Rule:
        fields |= {"keywords": [f"stand-in {index}"], "action": "manual"}
    else:
        fields |= {"text": "stand-in"}
    for kept in (keep, keep[:1], []):
        try:
            return model.model_validate(fields | {key: given[key] for key in kept})
        except ValidationError:
            continue  # a kept value is wrong in a way not yet reported: leave it out
    return None


def _full_loc(detail: ErrorDetails) -> Loc:
    cause = detail.get("ctx", {}).get("error")
    extra = cause.loc if isinstance(cause, RuleValueError) else ()
    return (*detail["loc"], *extra)


def _inside(loc: Loc, broken: Mapping[str, Mapping[int, set[str]]]) -> bool:
    return len(loc) >= 2 and isinstance(loc[1], int) and loc[1] in broken.get(str(loc[0]), {})


_READ_FIX = "check the path exists and the service can read it"
_START_FIX = f"start from {_EXAMPLE}: a mapping with `service:` and `rules:`"


class _RuleFileLoader(yaml.SafeLoader):
    """YAML 1.2-style plain scalars: only true/false are booleans, only plain digits numbers.

    YAML 1.1 would read the keywords yes, no, on and off as booleans, and +447700900000 as an
    integer; in rule files they are text.
    """


_RuleFileLoader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in [
    ("bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("int", r"0|[1-9][0-9]*", "0123456789"),
    ("null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ("merge", r"<<", "<"),
]:
    _RuleFileLoader.add_implicit_resolver(
        f"tag:yaml.org,2002:{_tag}", re.compile(f"^(?:{_pattern})$"), list(_first)
    )


def _parse(
    path: Path, text: str
) -> tuple[Any, dict[Loc, int], list[RuleFileError]] | RuleFileError:
    """YAML to plain data plus the line of every key and item; duplicate keys are problems."""
    loader = _RuleFileLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return RuleFileError(path, None, "the file is empty", _START_FIX)
        if not isinstance(node, yaml.MappingNode):
            return RuleFileError(
                path, node.start_mark.line + 1, "the file is not a mapping of keys", _START_FIX
            )
        lines: dict[Loc, int] = {(): node.start_mark.line + 1}
        problems: list[RuleFileError] = []
        _index_lines(path, node, (), lines, problems, set())
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        return _yaml_error(path, error)
    except yaml.YAMLError as error:
        return RuleFileError(path, None, f"YAML syntax: {error}", _YAML_FIX)
    except RecursionError:
        return RuleFileError(path, None, "the file is nested too deeply", _START_FIX)
    finally:
        loader.dispose()
    return data, lines, problems


def _yaml_error(path: Path, error: yaml.MarkedYAMLError) -> RuleFileError:
    # The parser reports where it gave up; the construct it was inside (a `[...]` list, say)
    # may have started earlier, and that line is often where the mistake is.
    mark = error.problem_mark or error.context_mark
    line = mark.line + 1 if mark is not None else None
    problem = f"YAML syntax: {error.problem or error.context or 'not valid YAML'}"
    context = error.context_mark
    if error.problem and error.context and context is not None and context.line + 1 != line:
        problem += f" ({error.context} on line {context.line + 1})"
    return RuleFileError(path, line, problem, _YAML_FIX)


_YAML_FIX = (
    "check the indentation and punctuation on or just before this line; "
    "quote text that contains ': ' or starts with a symbol"
)


def _index_lines(
    path: Path,
    node: yaml.Node,
    loc: Loc,
    lines: dict[Loc, int],
    problems: list[RuleFileError],
    active: set[int],
) -> None:
    # `active` guards against aliases that contain themselves.
    if id(node) in active:
        return
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = str(key_node.value)
            key_loc = (*loc, key)
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(
                    RuleFileError(
                        path,
                        line,
                        f"key {key!r} appears twice here",
                        "keep one: YAML would silently use only the last",
                        _show_loc(key_loc),
                    )
                )
            seen.add(key)
            lines.setdefault(key_loc, line)
            _index_lines(path, value_node, key_loc, lines, problems, active)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*loc, index)] = item.start_mark.line + 1
            _index_lines(path, item, (*loc, index), lines, problems, active)
    active.discard(id(node))


def _line_for(lines: Mapping[Loc, int], loc: Loc) -> int | None:
    """The line of `loc`, or of its nearest ancestor that has one."""
    for end in range(len(loc), -1, -1):
        line = lines.get(loc[:end])
        if line is not None:
            return line
    return None


def _show_loc(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _explain(path: Path, lines: Mapping[Loc, int], detail: ErrorDetails) -> RuleFileError:
    """Turn one pydantic error into a file error with a plain-English problem and fix."""
    loc: Loc = tuple(detail["loc"])
    cause = detail.get("ctx", {}).get("error")
    if isinstance(cause, RuleValueError):
        loc = (*loc, *cause.loc)
        problem, fix = cause.problem, cause.fix
    else:
        problem, fix = _describe(loc, detail)
    return RuleFileError(path, _line_for(lines, loc), problem, fix, _show_loc(loc) or None)


def _without_echoes(details: list[ErrorDetails]) -> list[ErrorDetails]:
    """Drop "'rules' is missing" when "unknown key 'rulez'" beside it already explains it."""
    unknown = {
        (tuple(detail["loc"][:-1]), str(detail["loc"][-1]))
        for detail in details
        if detail["type"] == "extra_forbidden"
    }

    def is_echo(detail: ErrorDetails) -> bool:
        if detail["type"] != "missing":
            return False
        parent, key = tuple(detail["loc"][:-1]), str(detail["loc"][-1])
        return any(
            place == parent and difflib.get_close_matches(key, [other]) for place, other in unknown
        )

    return [detail for detail in details if not is_echo(detail)]


def _describe(loc: Loc, detail: ErrorDetails) -> tuple[str, str]:
    """Problem and fix for pydantic's own error types."""
    kind = detail["type"]
    value = detail["input"]
    ctx = detail.get("ctx", {})
    key = loc[-1] if loc else ""
    if kind == "extra_forbidden":
        allowed = list(_fields_at(loc[:-1]))
        fix = f"allowed keys here: {', '.join(allowed)}"
        return f"unknown key {key!r}", _did_you_mean(str(key), allowed) + fix
    if kind == "missing":
        return f"{key!r} is missing", f"add `{key}:` {_describe_place(loc[:-1])}"
    if value is None:
        return "has no value", f"give it a value (see {_EXAMPLE})"
    if kind == "enum":
        choices = [str(choice) for choice in _enum_at(loc)]
        fix = f"use one of: {', '.join(choices)}"
        return f"{value!r} is not a known {key}", _did_you_mean(str(value), choices) + fix
    if kind == "literal_error":
        return f"{value!r} is not allowed here", f"use one of: {ctx.get('expected', '')}"
    if kind == "too_short":
        return "is empty", f"give at least one (see {_EXAMPLE})"
    if kind == "string_too_short":
        return "is blank", "write some text"
    if kind == "greater_than_equal":
        return f"{value!r} is too small", f"use {ctx.get('ge')} or more"
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return f"{value!r} is not a whole number", "write a whole number, e.g. 7"
    if kind == "string_type":
        return f"expected text, got {_kind_of(value)}", "write text; put it in quotes if unsure"
    if kind == "list_type":
        return (
            f"expected a list, got {_kind_of(value)}",
            "write a list, one `- item` per line or [a, b]",
        )
    if kind in {"model_type", "dict_type", "model_attributes_type"}:
        return f"expected a mapping, got {_kind_of(value)}", "write `key: value` lines under it"
    return detail["msg"], f"compare with {_EXAMPLE}"


def _kind_of(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return "a number"
    return f"{value!r}"


def _describe_place(loc: Loc) -> str:
    if not loc:
        return "at the top level of the file"
    if len(loc) == 2 and loc[0] == "rules":
        return "to this rule"
    return f"under `{_show_loc(loc)}:`"


def _did_you_mean(given: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(given.lower(), choices, n=1)
    return f"did you mean '{close[0]}'? " if close else ""


def _type_at(loc: Loc) -> Any:
    """The annotated type at `loc` inside a rule file, or None when it can't be followed."""
    current: Any = ServiceRules
    for part in loc:
        if isinstance(part, str) and isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            if field is None:
                return None
            current = field.annotation
        elif isinstance(part, int) and get_origin(current) is list:
            current = get_args(current)[0]
        else:
            return None
        if get_origin(current) is Annotated:
            current = get_args(current)[0]
    return current


def _fields_at(loc: Loc) -> Iterable[str]:
    model = _type_at(loc)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return model.model_fields
    return ()


def _enum_at(loc: Loc) -> Iterable[StrEnum]:
    enum = _type_at(loc)
    if isinstance(enum, type) and issubclass(enum, StrEnum):
        return list(enum)
    return ()
