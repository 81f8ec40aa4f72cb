"""The error a wrong rule-file value raises. Pure, and apart from the rule-file model, so the
modules that model parts of a rule file (`rules.prompt_settings`) can raise it too."""

from __future__ import annotations


class RuleValueError(ValueError):
    """A rule-file value is wrong; carries a plain-English fix and, optionally, where inside it."""

    def __init__(self, problem: str, fix: str, loc: tuple[str | int, ...] = ()) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix
        self.loc = loc
