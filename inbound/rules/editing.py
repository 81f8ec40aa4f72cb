"""The changes the browser's rule editor makes to a service's rules: add, change, move and remove
a rule, add keywords to one (issue 18). Pure: YAML in, YAML out.

Each change touches only the `rules:` list, through a round-trip YAML reader, so the rest of the
file (service, prompts, replies, labels) and every comment outside the changed rule stay as the
team wrote them. The result is not checked here: the caller checks it as any draft is checked.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from inbound.rules.model import Rule


class EditError(Exception):
    """The YAML can't take the change: not a rule file, or no such rule. The message says why."""


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # never fold a long reply onto a second line
    yaml.preserve_quotes = True
    return yaml


def _load(text: str) -> tuple[CommentedMap, CommentedSeq]:
    try:
        document = _yaml().load(text)
    except YAMLError as error:
        raise EditError(f"the rules are not YAML: {error}") from None
    if not isinstance(document, CommentedMap):
        raise EditError("the rules are not a mapping of service, rules, …")
    rules = document.get("rules")
    if rules is None:
        rules = document["rules"] = CommentedSeq()
    if not isinstance(rules, CommentedSeq):
        raise EditError("`rules:` is not a list")
    return document, rules


def _dump(document: CommentedMap) -> str:
    out = io.StringIO()
    _yaml().dump(document, out)
    return out.getvalue()


def _index(rules: CommentedSeq, index: int) -> int:
    if not 0 <= index < len(rules):
        raise EditError(f"there is no rule {index + 1}: the rules have {len(rules)}")
    return index


def rule_mapping(rule: Rule) -> CommentedMap:
    """A rule as the YAML writes it: its fields in the documented order, defaults left out
    except `match`, which a reader wants to see."""
    written = rule.model_dump(mode="json", exclude_defaults=True)
    written["match"] = rule.match.value
    order = ("name", "keywords", "match", "action", "captures", "requires", "reply")
    mapping = CommentedMap((key, written[key]) for key in order if key in written)
    # Keywords on one line, [yes, y, yep], as the example files write them.
    keywords = mapping["keywords"]
    if isinstance(keywords, dict):
        mapping["keywords"] = CommentedMap((lang, _flow(words)) for lang, words in keywords.items())
    else:
        mapping["keywords"] = _flow(keywords)
    if "requires" in mapping:
        mapping["requires"] = _flow(mapping["requires"])
    return mapping


def _flow(words: list[str]) -> CommentedSeq:
    seq = CommentedSeq(words)
    seq.fa.set_flow_style()
    return seq


def add_rule(text: str, rule: Rule, position: int | None = None) -> str:
    """The rules with `rule` inserted before rule `position` (0-based), or last."""
    document, rules = _load(text)
    where = len(rules) if position is None else max(0, min(position, len(rules)))
    rules.insert(where, rule_mapping(rule))
    return _dump(document)


def replace_rule(text: str, index: int, rule: Rule) -> str:
    """The rules with rule `index` (0-based) replaced by `rule`."""
    document, rules = _load(text)
    rules[_index(rules, index)] = rule_mapping(rule)
    return _dump(document)


def move_rule(text: str, index: int, offset: int) -> str:
    """The rules with rule `index` moved `offset` places (negative: earlier), within bounds."""
    document, rules = _load(text)
    moving = rules.pop(_index(rules, index))
    rules.insert(max(0, min(index + offset, len(rules))), moving)
    return _dump(document)


def remove_rule(text: str, index: int) -> str:
    """The rules without rule `index` (0-based)."""
    document, rules = _load(text)
    del rules[_index(rules, index)]
    return _dump(document)


def add_keywords(text: str, rule_name: str, words: Sequence[str], language: str | None) -> str:
    """The rules with `words` added to the keywords of the rule named `rule_name`, under
    `language` when its keywords are listed by language; a word already there is not repeated."""
    document, rules = _load(text)
    rule = next(
        (r for r in rules if isinstance(r, CommentedMap) and r.get("name") == rule_name), None
    )
    if rule is None:
        raise EditError(f"there is no rule named {rule_name!r}")
    keywords = rule.get("keywords")
    if isinstance(keywords, CommentedMap):
        if language is None:
            raise EditError(
                f"rule {rule_name!r} lists its keywords by language: say which language"
            )
        if language not in keywords:
            keywords[language] = CommentedSeq()
        keywords = keywords[language]
    if not isinstance(keywords, list):
        raise EditError(f"rule {rule_name!r} has no list of keywords")
    present = {str(word).casefold() for word in keywords}
    keywords.extend(word for word in words if word.casefold() not in present)
    return _dump(document)
