"""The `prompts:` block of a rule file: how a service's prompts behave. Pure.

Apart from `inbound.prompts` (which builds on the rule-file model), so the rule-file model can
hold these settings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum

from inbound.rules.errors import RuleValueError

# The longest `expires_after` a rule file may set. A prompt open for longer would tie replies
# sent more than a year later to it, and retention purges expired prompts, so a longer setting
# is far more likely a typo ("140d" for "14d") than a wish.
MAX_EXPIRES_AFTER = timedelta(days=366)
_DURATION = re.compile(r"^(\d{1,9})([dhm])$")
_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}


class WithoutPrompt(StrEnum):
    """What happens to a reply from a number with no prompt at all."""

    RULES = "rules"  # decide as before prompts existed, with no prompt on the outcome
    REVIEW = "review"  # a person decides


class PromptSettingError(RuleValueError):
    """A rule file's `prompts:` setting is wrong: names the setting and the bad value, and says
    how to fix it. A RuleValueError, so the rule-file loader reports it with the file and line."""

    def __init__(self, setting: str, value: object, problem: str, fix: str) -> None:
        super().__init__(problem, fix, (setting,) if setting else ())
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
class PromptSettings:
    """A rule file's `prompts:` block: how prompts of this service behave."""

    expires_after: timedelta = timedelta(days=14)  # when a prompt sent without expires_at ends
    without_prompt: WithoutPrompt = WithoutPrompt.RULES
    allow_change: bool = False  # may a later, different answer replace an earlier one?

    @classmethod
    def parse(cls, raw: Mapping[str, object] | None) -> PromptSettings:
        """Read the `prompts:` block of a rule file (None or empty: the defaults)."""
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise PromptSettingError(
                "", raw, "is not a mapping", "write e.g. prompts: {expires_after: 14d}"
            )
        known = ("expires_after", "without_prompt", "allow_change")
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
        return settings
