"""The rule book of a process: rule files for services managed in files, plus the latest
published version for services managed in inbound (issue 18). The same service in both is
refused; so are numbers or Notify templates claimed twice across the two.

A service moving back to files (`inbound rules export SERVICE --to-files`) is the one exception:
its version yields to its file, so it is in force until the file is in the folder, and then the
file is, whichever order a process reads the two in."""

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
    # Moving back to files: in force until a file in the folder defines the service, then not.
    yields_to_file: bool = False


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
    in_files = {rules.service.id for _, rules in files.services}
    published = [v for v in published if not (v.yields_to_file and v.service_id in in_files)]
    errors = [*files.errors, *in_both(files.services, published)]
    managed = {version.service_id for version in published}
    services = [rules for _, rules in files.services if rules.service.id not in managed]
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


def in_both(
    files: Sequence[tuple[Path, ServiceRules]], published: Sequence[Published]
) -> list[RuleFileError]:
    """An error for each file defining a service managed in inbound (one whose version doesn't
    yield to a file): the processes refuse the pair. Pure."""
    managed = {v.service_id: v.number for v in published if not v.yields_to_file}
    return [
        RuleFileError(
            path,
            None,
            f"service {rules.service.id!r} is managed in inbound (version "
            f"{managed[rules.service.id]}), and this file defines it too",
            "remove this file from the rules folder (`inbound rules import` moved the service "
            "into inbound), or move the service back to files over it, its version in force "
            f"replacing this file's content: `inbound rules export {rules.service.id} "
            f"--to-files --file {path} --overwrite`",
            "service.id",
        )
        for path, rules in files
        if rules.service.id in managed
    ]


def clashes_with_published(
    files: Sequence[tuple[Path, ServiceRules]], published: Sequence[Published]
) -> list[RuleFileError]:
    """An error for each file claiming a number or Notify template that another service's
    version in force has, as loading them together would refuse it. Pure."""
    errors: list[RuleFileError] = []
    managed = [
        loaded
        for version in published
        for _, loaded in check_version(version.service_id, version.number, version.yaml).services
    ]
    for path, rules in files:
        others = [loaded for loaded in managed if loaded.service.id != rules.service.id]
        try:
            RuleBook([*others, rules])
        except ValueError as clash:
            fix = (
                f"{clash.args[0].split(' belongs', 1)[0]} belongs to a service managed in "
                "inbound: use another here, or remove it from that service's rules first"
            )
            errors.append(RuleFileError(path, None, f"{clash} (managed in inbound)", fix))
    return errors


def load_rule_book(folder: Path, published: Sequence[Published]) -> RuleBook:
    """Read the rule folder and compose it with the published versions (`RuleSetError`)."""
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "folder not found"
        fix = "point INBOUND_RULES_DIR (or the command's path) at the folder of rule files"
        raise RuleSetError([RuleFileError(folder, None, problem, fix)])
    return compose(check(folder), published)
