"""Prometheus metrics, one registry per runtime (so tests can build many apps)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["Metrics", "RATE_LIMIT_BUCKETS"]

RATE_LIMIT_BUCKETS = ("create", "read", "write", "send", "waits", "smtp_connect")


class Metrics:
    """The Prometheus counters and gauges of one runtime; `refresh()` copies the gauges from the
    running objects before each scrape."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.delivered = Counter(
            "inboxkit_messages_delivered", "Messages stored for a mailbox.", registry=self.registry
        )
        self.smtp_replies = Counter(
            "inboxkit_smtp_replies",
            "SMTP replies after DATA, by code.",
            ["code"],
            registry=self.registry,
        )
        self.quota_refusals = Counter(
            "inboxkit_quota_refusals",
            "Requests and SMTP recipients refused by a plan ceiling, by the limit.",
            ["limit"],
            registry=self.registry,
        )
        self.subscribers = Gauge(
            "inboxkit_bus_subscribers",
            "Local consumers waiting on the bus.",
            registry=self.registry,
        )
        self.commit_batches = Gauge(
            "inboxkit_commit_batches", "Group commits performed.", registry=self.registry
        )
        # Exposed as inboxkit_rate_limited_total{bucket}: create, read, write, send (plans'
        # per-minute limits), waits (open waits and streams), smtp_connect (new SMTP sessions).
        self.rate_limited = Counter(
            "inboxkit_rate_limited",
            "Requests refused by a rate limit, by bucket.",
            ["bucket"],
            registry=self.registry,
        )
        for bucket in RATE_LIMIT_BUCKETS:
            self.rate_limited.labels(bucket)
        self.committed_items = Gauge(
            "inboxkit_committed_items",
            "Deliveries committed by group commits.",
            registry=self.registry,
        )

        # Sender authentication (senders/): results by method (spf, dkim, dmarc) and result
        # word, and the DNS time each authenticated message took (bounded by the budget).
        self.sender_auth_results = Counter(
            "inboxkit_sender_auth_results",
            "Sender authentication results of inbound mail, by method and result.",
            ["method", "result"],
            registry=self.registry,
        )
        self.sender_auth_dns_seconds = Histogram(
            "inboxkit_sender_auth_dns_seconds",
            "Time spent on DNS to authenticate one inbound message.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0),
            registry=self.registry,
        )

        # Spam (spam/): each mailbox's verdict by engine, and how long the engine took.
        self.spam_verdicts = Counter(
            "inboxkit_spam_verdicts",
            "Spam verdicts of inbound mail per receiving mailbox, by engine and verdict.",
            ["engine", "verdict"],
            registry=self.registry,
        )
        self.spam_seconds = Histogram(
            "inboxkit_spam_seconds",
            "Time the spam engine took to score one inbound message, by engine.",
            ["engine"],
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0),
            registry=self.registry,
        )

        # Mail over HTTP: what each verified SNS request came to (services/inbound_ses.py).
        self.sns_messages = Counter(
            "inboxkit_sns_messages",
            "Verified SNS requests at /inbound/ses, by outcome.",
            ["outcome"],
            registry=self.registry,
        )

    def refresh(self, runtime: Any) -> None:
        self.subscribers.set(runtime.bus.subscriber_count())
        self.commit_batches.set(runtime.batcher.batches)
        self.committed_items.set(runtime.batcher.items)
