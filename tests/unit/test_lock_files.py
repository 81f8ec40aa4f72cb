"""The lock files (`make lock`) hold what pyproject.toml asks for, every pin with its hashes, and
pyproject.toml declares every library inbound's code imports. Installs everywhere (CI's `make`,
the Dockerfile, Cloud Foundry's buildpack) come from these files, so a stale lock would ship
versions nobody tested."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# Where the lock is used: CPython 3.11 on Linux (CI, the image, Cloud Foundry's stack).
TARGET = {"python_version": "3.11", "sys_platform": "linux", "platform_system": "Linux"}

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)((?:\s*;[^\\\n]*)?)")


def pins(lock: str) -> dict[str, tuple[Version, int]]:
    """Each pinned package that applies on the target: its version and how many hashes it has."""
    text = (ROOT / lock).read_text()
    found: dict[str, tuple[Version, int]] = {}
    entries = re.split(r"\n(?=[A-Za-z0-9])", text)
    for entry in entries:
        match = PIN.match(entry)
        if match is None:
            continue
        name, version, marker = match.groups()
        if marker.strip() and not Marker(marker.strip().lstrip(";").strip()).evaluate(TARGET):
            continue
        found[canonicalize_name(name)] = (Version(version), entry.count("--hash=sha256:"))
    return found


def applies(requirement: Requirement) -> bool:
    return requirement.marker is None or requirement.marker.evaluate({**TARGET, "extra": ""})


RUNTIME = [Requirement(line) for line in PROJECT["dependencies"]]
DEV = [Requirement(line) for line in PROJECT["optional-dependencies"]["dev"]]


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [("requirements.txt", RUNTIME), ("requirements-dev.txt", RUNTIME + DEV)],
)
def test_the_lock_pins_every_declared_dependency_within_its_range(
    lock: str, requirements: list[Requirement]
) -> None:
    pinned = pins(lock)
    stale = []
    for requirement in filter(applies, requirements):
        name = canonicalize_name(requirement.name)
        if name not in pinned:
            stale.append(f"{requirement.name} is not in {lock}")
        elif not requirement.specifier.contains(pinned[name][0], prereleases=True):
            stale.append(f"{requirement} but {lock} pins {pinned[name][0]}")
    assert not stale, "run `make lock`: " + "; ".join(stale)


@pytest.mark.parametrize("lock", ["requirements.txt", "requirements-dev.txt"])
def test_every_pin_carries_its_hashes(lock: str) -> None:
    pinned = pins(lock)
    assert len(pinned) > 20
    assert [name for name, (_, hashes) in pinned.items() if hashes == 0] == []


def test_the_service_runs_the_versions_its_tests_ran() -> None:
    runtime, dev = pins("requirements.txt"), pins("requirements-dev.txt")
    differ = {name: (v, dev.get(name, (None,))[0]) for name, (v, _) in runtime.items()}
    assert {name: pair for name, pair in differ.items() if pair[0] != pair[1]} == {}


def imported_libraries() -> dict[str, str]:
    """Top-level third-party modules imported anywhere in inbound/, with one file importing each."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "inbound").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top != "inbound" and top not in sys.stdlib_module_names:
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def test_pyproject_declares_every_library_the_code_imports() -> None:
    declared = {canonicalize_name(requirement.name) for requirement in RUNTIME}
    providers = metadata.packages_distributions()
    undeclared = [
        f"{module} (imported in {where}, from {', '.join(providers.get(module, ['?']))})"
        for module, where in imported_libraries().items()
        if not declared & {canonicalize_name(d) for d in providers.get(module, [])}
    ]
    assert undeclared == [], "add to [project].dependencies: " + "; ".join(undeclared)


def test_every_install_comes_from_a_lock_file() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "--require-hashes -r /tmp/requirements.txt" in dockerfile
    assert "--no-deps /wheels/" in dockerfile
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements-dev.txt" in makefile
    assert "--no-deps -e ." in makefile
    # Cloud Foundry's buildpack installs requirements.txt and nothing else, so the Procfile runs
    # the package from the app folder rather than an installed console script.
    procfile = (ROOT / "Procfile").read_text().splitlines()
    assert all("python -m inbound " in line for line in procfile if line)
