"""The Grafana dashboard and the Prometheus alert rules in deploy/ against what inbound exposes.

Every metric name in the dashboard's and the rules' PromQL must be a series a running inbound
serves at /metrics, so renaming a metric without updating them fails here; the rules must be the
alerts docs/operations.md describes, and their runbooks sections that exist.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from inbound.metrics import Metrics
from tests.integration.conftest import Stack
from tests.integration.test_pipeline import generic

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "inbound.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
OPERATIONS = ROOT / "docs" / "operations.md"

# A metric name in PromQL: an identifier with one of the prefixes inbound's /metrics serves.
METRIC_NAME = re.compile(r"(?<![\w:$])((?:inbound|process|python)_\w+)")
QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')

# The series each family type adds to its name in the text format.
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
}

# What the dashboard must show (issue 14): each of these metrics has a panel.
DASHBOARD_MUST_SHOW = {
    "inbound_webhooks_total",
    "inbound_webhook_duration_seconds_bucket",
    "inbound_queue_messages",
    "inbound_spool_depth",
    "inbound_review_open",
    "inbound_review_oldest_seconds",
    "inbound_action_attempts_total",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
}


def names_in(expression: str) -> set[str]:
    """The metric names a PromQL expression reads (label values in quotes left out)."""
    return set(METRIC_NAME.findall(QUOTED.sub('""', expression)))


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def alert_rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(ALERTS.read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def panels(within: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in within:
        yield panel
        yield from panels(panel.get("panels", []))


def dashboard_expressions() -> list[str]:
    """Every query in the dashboard: the panels' targets and the template variables'."""
    board = dashboard()
    found = [
        target["expr"] for panel in panels(board["panels"]) for target in panel.get("targets", [])
    ]
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            found.append(query["query"] if isinstance(query, dict) else query)
    return found


def exposed_series(text: str) -> set[str]:
    """Every series name an exposition can hold, from its families' names and types: a labelled
    counter that has counted nothing yet is still named (HELP and TYPE), with no samples."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    kept = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return kept.replace(" ", "-")


def documented_alerts() -> dict[str, dict[str, str]]:
    """The alert table of docs/operations.md: name → expression, for, severity."""
    text = OPERATIONS.read_text()
    section = text[text.index("## What to alert on") :]
    section = section[: section.index("\n## ", 1)]
    rows = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        name, expression, wait, severity = cells[0].strip("`"), cells[1], cells[2], cells[3]
        rows[name] = {
            "expr": expression.strip("`").replace("\\|", "|"),
            "for": wait,
            "severity": severity,
        }
    return rows


def test_dashboard_is_json_with_a_query_in_every_panel() -> None:
    board = dashboard()
    assert board["uid"]
    assert board["title"]
    for panel in panels(board["panels"]):
        if panel["type"] != "row":
            assert panel.get("targets"), panel["title"]
            assert all(target["expr"].strip() for target in panel["targets"]), panel["title"]
    shown = set().union(*map(names_in, dashboard_expressions()))
    assert shown >= DASHBOARD_MUST_SHOW, DASHBOARD_MUST_SHOW - shown


def test_alert_rules_are_yaml_each_with_a_wait_a_severity_and_a_runbook() -> None:
    rules = alert_rules()
    assert len(rules) >= 10
    assert len({rule["alert"] for rule in rules}) == len(rules), "alert names repeat"
    headings = {
        slug(line.lstrip("#"))
        for line in OPERATIONS.read_text().splitlines()
        if line.startswith("#")
    }
    for rule in rules:
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        page, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert page == "docs/operations.md", rule["alert"]
        assert anchor in headings, f"{rule['alert']}: no section #{anchor} in {page}"


def test_the_alert_table_in_the_docs_is_the_rules_file() -> None:
    documented = documented_alerts()
    in_file = {
        rule["alert"]: {
            "expr": " ".join(rule["expr"].split()),
            "for": rule["for"],
            "severity": rule["labels"]["severity"],
        }
        for rule in alert_rules()
    }
    assert sorted(documented) == sorted(in_file)
    for name, row in documented.items():
        assert row == in_file[name], name


def test_names_carry_their_units() -> None:
    """Prometheus' naming conventions: base units as a plural suffix; only counters end in
    _total. A gauge or histogram of time must end in _seconds, of size in _bytes."""
    for family in Metrics.create().registry.collect():
        name = family.name
        if not name.startswith("inbound_"):
            continue
        assert re.fullmatch(r"inbound_[a-z0-9_]+", name), name
        assert not re.search(r"_(ms|milliseconds|minutes|hours|kb|mb|percent)$", name), name
        if family.type in {"gauge", "histogram"}:
            assert not name.endswith("_total"), name
            if re.search(r"\b(time|age|duration|latency|seconds)\b", family.documentation, re.I):
                assert name.endswith("_seconds"), name
            if re.search(r"\b(size|bytes)\b", family.documentation, re.I):
                assert name.endswith("_bytes"), name


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_every_metric_the_dashboard_and_alerts_name_is_served(stack: Stack) -> None:
    signed = generic("yes")
    assert (await stack.post_generic(signed)).status == 202
    assert (await stack.post_generic(generic("yes"), secret="wrong")).status == 403
    await stack.processed(signed["id"])
    answer = await stack.request("GET", "/metrics", b"", {})
    assert answer.status == 200
    served = exposed_series(answer.text)

    used: dict[str, set[str]] = {}
    for source, expressions in (
        ("dashboard", dashboard_expressions()),
        ("alerts", [rule["expr"] for rule in alert_rules()]),
    ):
        for expression in expressions:
            for name in names_in(expression):
                used.setdefault(name, set()).add(source)
    assert len(used) >= 20, used
    missing = {name: sorted(source) for name, source in used.items() if name not in served}
    assert not missing, f"named in deploy/ but not served at /metrics: {missing}"

    found = samples(answer.text)
    for name in (
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "python_gc_collections_total",
        "python_gc_objects_collected_total",
    ):
        assert any(series == name for series, _ in found), name
    generic_provider = frozenset({("provider", "generic")})
    # Rare events' series exist (at 0) from the start, so their first occurrence can alert
    # (rate() and increase() need a sample before it).
    for series, labels in (
        ("inbound_webhooks_total", {("status", "503")}),
        ("inbound_webhooks_total", {("status", "500")}),
        ("inbound_webhook_nonces_unchecked_total", set()),
        ("inbound_received_at_skewed_total", {("direction", "past")}),
        ("inbound_received_at_skewed_total", {("direction", "future")}),
    ):
        assert (series, generic_provider | labels) in found, (series, labels)
    assert found[("inbound_webhooks_total", generic_provider | {("status", "503")})] == 0
    # Both webhooks, the signed one and the refused one, were timed under their provider.
    assert found[("inbound_webhook_duration_seconds_count", generic_provider)] == 2
    assert found[("inbound_webhook_duration_seconds_sum", generic_provider)] > 0
    assert (
        found[("inbound_webhook_duration_seconds_bucket", generic_provider | {("le", "+Inf")})] == 2
    )
    assert (
        found[("inbound_webhook_duration_seconds_bucket", generic_provider | {("le", "10.0")})] == 2
    )
