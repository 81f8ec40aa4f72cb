"""The rule book of a process: rule files for services managed in files, plus the latest
published version for services managed in inbound (issue 18). The same service in both is
refused; so are numbers or Notify templates claimed twice across the two."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from inbound.rules.load import CheckReport, RuleFileError, RuleSetError, check, check_text
from inbound.rules.model import RuleBook, ServiceRules


@dataclass(frozen=True)
class Published:
    """A service's version in force while its rules are managed in inbound."""

    service_id: str
    number: int
    yaml: str


def version_source(service_id: str, number: int | None) -> Path:
    """How errors and warnings name a stored version (or, with None, a draft)."""
    which = f"version {number}" if number is not None else "draft"
    return Path(f"{service_id} ({which} in inbound)")


def check_version(service_id: str, number: int | None, text: str) -> CheckReport:
    """Check the YAML of a version or draft of `service_id`: it must be that service's. Pure."""
    source = version_source(service_id, number)
    report = check_text(source, text)
    for _, rules in report.services:
        if rules.service.id != service_id:
            wrong = RuleFileError(
                source,
                None,
                f"these are the rules of service {rules.service.id!r}, not {service_id!r}",
                f"set `service.id: {service_id}`; a service's id can't be changed here",
                "service.id",
            )
            return CheckReport([], [wrong], report.warnings)
    return report


def compose(files: CheckReport, published: Sequence[Published]) -> RuleBook:
    """The rule book from the folder's check and the published versions, or `RuleSetError`
    naming every problem. Pure."""
    errors = list(files.errors)
    services: list[ServiceRules] = []
    managed = {version.service_id: version.number for version in published}
    for path, rules in files.services:
        number = managed.get(rules.service.id)
        if number is None:
            services.append(rules)
            continue
        errors.append(
            RuleFileError(
                path,
                None,
                f"service {rules.service.id!r} is managed in inbound (version {number}), and "
                "this file defines it too",
                "remove this file from the rules folder: `inbound rules import` moved the "
                "service into inbound, and `inbound rules export` prints its rules in force",
                "service.id",
            )
        )
    for version in published:
        report = check_version(version.service_id, version.number, version.yaml)
        errors.extend(report.errors)
        services.extend(rules for _, rules in report.services)
    if errors:
        raise RuleSetError(errors)
    try:
        return RuleBook(services)
    except ValueError as clash:
        where = Path("rules managed in inbound")
        fix = "a number or Notify template belongs to one service: remove it from one of them"
        raise RuleSetError([RuleFileError(where, None, str(clash), fix)]) from None


def load_rule_book(folder: Path, published: Sequence[Published]) -> RuleBook:
    """Read the rule folder and compose it with the published versions (`RuleSetError`)."""
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "folder not found"
        fix = "point INBOUND_RULES_DIR (or the command's path) at the folder of rule files"
        raise RuleSetError([RuleFileError(folder, None, problem, fix)])
    return compose(check(folder), published)
