"""The `prompts:` block of a rule file: how a service's prompts behave. Pure.

Apart from `inbound.prompts` (which builds on the rule-file model), so the rule-file model can
hold these settings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum
from types import MappingProxyType

from inbound.rules.errors import RuleValueError

# The longest `expires_after` a rule file may set. A prompt open for longer would tie replies
# sent more than a year later to it, and retention purges expired prompts, so a longer setting
# is far more likely a typo ("140d" for "14d") than a wish.
MAX_EXPIRES_AFTER = timedelta(days=366)
_DURATION = re.compile(r"^(\d{1,9})([dhm])$")
_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
# A GOV.UK Notify template id: a UUID, as Notify shows it on the template's page ("Template ID")
# and sends it in every delivery receipt's `template_id`.
_TEMPLATE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TEMPLATE_EXAMPLE = "f33517ff-2a88-4f6e-b855-c550268ce08a"


class WithoutPrompt(StrEnum):
    """What happens to a reply from a number with no prompt at all."""

    RULES = "rules"  # decide as before prompts existed, with no prompt on the outcome
    REVIEW = "review"  # a person decides


class PromptSettingError(RuleValueError):
    """A rule file's `prompts:` setting is wrong: names the setting and the bad value, and says
    how to fix it. A RuleValueError, so the rule-file loader reports it with the file and line."""

    def __init__(
        self,
        setting: str,
        value: object,
        problem: str,
        fix: str,
        loc: tuple[str | int, ...] | None = None,
    ) -> None:
        super().__init__(problem, fix, loc if loc is not None else (setting,) if setting else ())
        self.args = (f"prompts.{setting}: {problem}" if setting else f"prompts: {problem}",)
        self.setting = setting
        self.value = value


def parse_duration(value: object, setting: str = "expires_after") -> timedelta:
    """A duration written as a whole number and a unit: "14d", "12h", "30m"."""
    fix = 'write a whole number and a unit: "14d" (days), "12h" (hours) or "30m" (minutes)'
    if not isinstance(value, str):
        raise PromptSettingError(setting, value, f"{value!r} is not a duration", fix)
    found = _DURATION.match(value.strip())
    if found is None:
        raise PromptSettingError(setting, value, f"{value!r} is not a duration", fix)
    duration = int(found[1]) * _UNITS[found[2]]
    if not duration:
        raise PromptSettingError(setting, value, f"{value!r} is no time at all", fix)
    if duration > MAX_EXPIRES_AFTER:
        raise PromptSettingError(
            setting,
            value,
            f"{value!r} is longer than {MAX_EXPIRES_AFTER.days} days",
            f"prompts may stay open for at most {MAX_EXPIRES_AFTER.days}d",
        )
    return duration


@dataclass(frozen=True)
class TemplatePrompt:
    """What a text sent from one GOV.UK Notify template asks: the actions that answer it (by
    name; the rule-file model checks them against the service's rules) and how long it stays
    open after it was sent."""

    expects: frozenset[str]
    expires_after: timedelta


@dataclass(frozen=True)
class PromptSettings:
    """A rule file's `prompts:` block: how prompts of this service behave."""

    expires_after: timedelta = timedelta(days=14)  # when a prompt sent without expires_at ends
    without_prompt: WithoutPrompt = WithoutPrompt.RULES
    allow_change: bool = False  # may a later, different answer replace an earlier one?
    # Notify template id (lower case) → the prompt each delivered text of it becomes.
    templates: Mapping[str, TemplatePrompt] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )

    @classmethod
    def parse(cls, raw: Mapping[str, object] | None) -> PromptSettings:
        """Read the `prompts:` block of a rule file (None or empty: the defaults)."""
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise PromptSettingError(
                "", raw, "is not a mapping", "write e.g. prompts: {expires_after: 14d}"
            )
        known = ("expires_after", "without_prompt", "allow_change", "templates")
        for key in raw:
            if key not in known:
                raise PromptSettingError(
                    str(key), raw[key], f"unknown setting {key!r}", f"use {', '.join(known)}"
                )
        settings = cls()
        if "expires_after" in raw:
            settings = replace(settings, expires_after=parse_duration(raw["expires_after"]))
        if "without_prompt" in raw:
            value = raw["without_prompt"]
            choices = [member.value for member in WithoutPrompt]
            if value not in choices:
                raise PromptSettingError(
                    "without_prompt",
                    value,
                    f"{value!r} is not a policy",
                    f"use {' or '.join(choices)}",
                )
            settings = replace(settings, without_prompt=WithoutPrompt(value))
        if "allow_change" in raw:
            value = raw["allow_change"]
            if not isinstance(value, bool):
                raise PromptSettingError(
                    "allow_change", value, f"{value!r} is not true or false", "write true or false"
                )
            settings = replace(settings, allow_change=value)
        if "templates" in raw:
            templates = _templates(raw["templates"], settings.expires_after)
            settings = replace(settings, templates=MappingProxyType(templates))
        return settings

    def written(self) -> dict[str, object]:
        """The block as a rule file writes it: what `parse` reads back to these settings."""
        return {
            "expires_after": written_duration(self.expires_after),
            "without_prompt": self.without_prompt.value,
            "allow_change": self.allow_change,
            "templates": {
                template_id: {
                    "expects": sorted(template.expects),
                    "expires_after": written_duration(template.expires_after),
                }
                for template_id, template in self.templates.items()
            },
        }


def written_duration(duration: timedelta) -> str:
    """A duration as rule files write it, in the largest whole unit: "14d", "36h", "90m"."""
    minutes = int(duration.total_seconds()) // 60
    for unit, size in (("d", 24 * 60), ("h", 60)):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"


def _templates(raw: object, default_expiry: timedelta) -> dict[str, TemplatePrompt]:
    """The `templates:` mapping: Notify template id → {expects, expires_after}."""
    example = f"write e.g. templates: {{{TEMPLATE_EXAMPLE}: {{expects: [confirm, cancel]}}}}"
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise PromptSettingError("templates", raw, f"{raw!r} is not a mapping", example)
    found: dict[str, TemplatePrompt] = {}
    for key, value in raw.items():
        given = str(key)
        template_id = given.strip().lower()
        where = f"templates.{given}"
        if not _TEMPLATE_ID.match(template_id):
            raise PromptSettingError(
                where,
                key,
                f"{given!r} is not a Notify template id",
                f"copy the template's ID (36 characters, like {TEMPLATE_EXAMPLE}) from the "
                "template's page in GOV.UK Notify",
                ("templates", given),
            )
        if template_id in found:
            raise PromptSettingError(
                where,
                key,
                f"template {template_id} is listed twice",
                "keep one entry per template",
                ("templates", given),
            )
        found[template_id] = _template(given, value, default_expiry)
    return found


def _template(given: str, raw: object, default_expiry: timedelta) -> TemplatePrompt:
    where = f"templates.{given}"
    if not isinstance(raw, Mapping):
        raise PromptSettingError(
            where,
            raw,
            f"{raw!r} is not a mapping",
            "write e.g. {expects: [confirm, cancel], expires_after: 7d}",
            ("templates", given),
        )
    for key in raw:
        if key not in ("expects", "expires_after"):
            raise PromptSettingError(
                f"{where}.{key}",
                raw[key],
                f"unknown setting {key!r}",
                "use expects and expires_after",
                ("templates", given, str(key)),
            )
    names = raw.get("expects")
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not names:
        raise PromptSettingError(
            f"{where}.expects",
            names,
            "is missing" if names is None else f"{names!r} is not a list of actions",
            "list the actions that answer texts of this template, e.g. expects: [confirm, cancel]",
            ("templates", given, "expects"),
        )
    expects = []
    for index, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            raise PromptSettingError(
                f"{where}.expects",
                name,
                f"{name!r} is not an action name",
                "write action names such as confirm or cancel",
                ("templates", given, "expects", index),
            )
        expects.append(name.strip().lower())
    expires_after = default_expiry
    if "expires_after" in raw:
        try:
            expires_after = parse_duration(raw["expires_after"], f"{where}.expires_after")
        except PromptSettingError as wrong:
            raise PromptSettingError(
                wrong.setting,
                wrong.value,
                wrong.problem,
                wrong.fix,
                ("templates", given, "expires_after"),
            ) from None
    return TemplatePrompt(frozenset(expects), expires_after)
