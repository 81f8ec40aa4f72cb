"""Prometheus metrics: what each part counts, and the gauges read at scrape time."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass(frozen=True)
class Metrics:
    """One process's metrics, in their own registry (tests can build as many as they like)."""

    registry: CollectorRegistry
    webhooks: Counter
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

    @classmethod
    def create(cls) -> Metrics:
        """A fresh registry with every inbound metric registered."""
        registry = CollectorRegistry(auto_describe=True)
        return cls(
            registry=registry,
            webhooks=Counter(
                "inbound_webhooks",
                "Webhook requests by provider and HTTP status.",
                ["provider", "status"],
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
        )
