"""Audit the installed dependencies for known vulnerabilities with pip-audit (`make audit`).

Fails on a vulnerability that is not accepted in .ci/audit-accepted (one advisory id per line,
then its reason). Where the advisory data can't be reached (this workplace reaches the package
index but not PyPI's JSON API), it says so on one line and passes: no data is not a finding.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ACCEPTED = HERE / "audit-accepted"


def accepted() -> set[str]:
    """Advisory ids reviewed and accepted, each with its reason in the file."""
    if not ACCEPTED.exists():
        return set()
    lines = (line.split("#", 1)[0].split() for line in ACCEPTED.read_text().splitlines())
    return {words[0] for words in lines if words}


def verdict(report: dict[str, Any], accepted_ids: set[str]) -> tuple[list[str], int]:
    """What to print and the exit status, from pip-audit's JSON report."""
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if "skip_reason" in d]
    found = [
        (d["name"], d["version"], v["id"], ", ".join(v.get("fix_versions", [])) or "none")
        for d in dependencies
        for v in d.get("vulns", [])
        if v["id"] not in accepted_ids and not set(v.get("aliases", [])) & accepted_ids
    ]
    audited = len(dependencies) - len(skipped)
    lines = []
    if skipped:
        lines.append(
            f"audit: advisory data unreachable for {len(skipped)} of {len(dependencies)} "
            "packages, not audited (pip-audit asks PyPI's JSON API; run `make audit` where "
            "pypi.org answers)"
        )
    lines += [f"audit: {n} {v}: {a} (fixed in {f})" for n, v, a, f in found]
    if found:
        lines.append(f"audit: {len(found)} known vulnerabilities; upgrade, or accept in {ACCEPTED}")
        return lines, 1
    if audited:
        lines.append(f"audit: {audited} packages audited, no known vulnerability")
    return lines, 0


def main() -> int:
    pip_audit = Path(sys.executable).with_name("pip-audit")
    done = subprocess.run(  # noqa: S603 - our own venv's pip-audit, fixed arguments
        [str(pip_audit), "--progress-spinner", "off", "--skip-editable", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    try:
        report = json.loads(done.stdout)
    except ValueError:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"audit: pip-audit could not run, nothing audited ({last[:200]})")
        return 0
    lines, status = verdict(report, accepted())
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main())
