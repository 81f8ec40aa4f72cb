"""Prometheus metrics: what each part counts, and the gauges read at scrape time.

Names follow Prometheus' naming conventions (prometheus.io/docs/practices/naming): the `inbound_`
prefix; a unit suffix in base units and plural where the value has a unit (`_seconds`); none for
counts of things (messages, items); counters are named without `_total`, which prometheus_client
adds. deploy/grafana/inbound.json and deploy/prometheus/alerts.yml use these names, and
tests/integration/test_observability.py fails if one of theirs isn't exposed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

# A webhook's time in its handler, from reading the body to the answer: a millisecond or two when
# RabbitMQ confirms at once; INBOUND_SPOOL_AFTER plus the spool write when it doesn't (at most
# ANSWER_WITHIN, 12 s).
WEBHOOK_SECONDS_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    12.0,
)


@dataclass(frozen=True)
class Metrics:
    """One process's metrics, in their own registry (tests can build as many as they like)."""

    registry: CollectorRegistry
    webhooks: Counter
    webhook_seconds: Histogram
    publish_seconds: Histogram
    spooled: Counter
    processed: Counter
    batch_messages: Histogram
    outcomes: Counter
    action_attempts: Counter
    queue_messages: Gauge
    spool_depth: Gauge
    review_open: Gauge
    review_oldest_seconds: Gauge
    nonces_unchecked: Counter
    received_at_skewed: Counter
    sign_in_failures: Counter
    access_denied: Counter
    notify_receipts: Counter

    @classmethod
    def create(cls) -> Metrics:
        """A fresh registry with every inbound metric registered."""
        registry = CollectorRegistry(auto_describe=True)
        # The standard process_* (CPU, memory, open files) and python_gc_* / python_info series,
        # on this registry rather than prometheus_client's global one, which inbound never serves.
        ProcessCollector(registry=registry)
        GCCollector(registry=registry)
        PlatformCollector(registry=registry)
        return cls(
            registry=registry,
            webhooks=Counter(
                "inbound_webhooks",
                "Webhook requests by provider and HTTP status.",
                ["provider", "status"],
                registry=registry,
            ),
            webhook_seconds=Histogram(
                "inbound_webhook_duration_seconds",
                "Time the webhook handler took to answer, by provider ('unknown' for a name "
                "no provider has).",
                ["provider"],
                buckets=WEBHOOK_SECONDS_BUCKETS,
                registry=registry,
            ),
            publish_seconds=Histogram(
                "inbound_publish_seconds",
                "Time from publish to RabbitMQ's confirm.",
                buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
                registry=registry,
            ),
            spooled=Counter(
                "inbound_spooled_messages",
                "Messages written to the database spool because RabbitMQ didn't confirm.",
                registry=registry,
            ),
            processed=Counter(
                "inbound_processed_messages",
                "Messages processed by the rules worker, by where they ended.",
                ["status"],
                registry=registry,
            ),
            batch_messages=Histogram(
                "inbound_batch_messages",
                "Messages the rules worker wrote in one database transaction.",
                buckets=(1, 2, 4, 8, 16, 32, 64, 128),
                registry=registry,
            ),
            outcomes=Counter(
                "inbound_outcomes",
                "Automatic outcomes by action.",
                ["action"],
                registry=registry,
            ),
            action_attempts=Counter(
                "inbound_action_attempts",
                "Callback and reply delivery attempts by kind and result.",
                ["kind", "result"],
                registry=registry,
            ),
            queue_messages=Gauge(
                "inbound_queue_messages",
                "Messages waiting in each RabbitMQ queue (the worker's lag).",
                ["queue"],
                registry=registry,
            ),
            spool_depth=Gauge(
                "inbound_spool_depth",
                "Messages in the database spool waiting for RabbitMQ.",
                registry=registry,
            ),
            review_open=Gauge(
                "inbound_review_open",
                "Open review items by service ('none' for numbers no service owns).",
                ["service"],
                registry=registry,
            ),
            review_oldest_seconds=Gauge(
                "inbound_review_oldest_seconds",
                "Age of the oldest open review item by service.",
                ["service"],
                registry=registry,
            ),
            nonces_unchecked=Counter(
                "inbound_webhook_nonces_unchecked",
                "Single-use webhook nonces accepted without the replay check because the "
                "database didn't answer, by provider.",
                ["provider"],
                registry=registry,
            ),
            received_at_skewed=Counter(
                "inbound_received_at_skewed",
                "Messages whose provider-stated time is outside the provider's retry window of "
                "inbound's clock, by provider and direction (past, future). Kept, not refused.",
                ["provider", "direction"],
                registry=registry,
            ),
            sign_in_failures=Counter(
                "inbound_sign_in_failures",
                "Review sign-ins refused, by reason: password (or no such account), code, "
                "code_reused, throttled (told to wait; not checked), stale_enrolment, busy.",
                ["reason"],
                registry=registry,
            ),
            access_denied=Counter(
                "inbound_access_denied",
                "Refused attempts by signed-in users and API clients, by kind: item, queue and "
                "rules of a service outside the user's scope; revoked_token, expired_token.",
                ["kind"],
                registry=registry,
            ),
            notify_receipts=Counter(
                "inbound_notify_receipts",
                "GOV.UK Notify delivery receipts taken at /webhooks/notify-status, by result: "
                "prompt (stored or already stored), not_sms, unmapped_template, not_delivered.",
                ["result"],
                registry=registry,
            ),
        )

    def start_at_zero(self, providers: Iterable[str]) -> None:
        """Create the rare-event series of every enabled provider at 0.

        A labelled counter's series appears only at its first event, and rate() or increase()
        need two samples: the first 5xx, skewed time or unchecked nonce would never alert.
        """
        for provider in providers:
            for status in ("500", "503"):
                self.webhooks.labels(provider, status)
            self.nonces_unchecked.labels(provider)
            for direction in ("past", "future"):
                self.received_at_skewed.labels(provider, direction)
