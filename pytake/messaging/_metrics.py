"""The inbound side's Prometheus metrics: webhook answers (counted by the web edge) and what
processing did with each message (counted by the engine)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class WebhookMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "pytake_webhook_requests", "WhatsApp webhook requests by answer", ["status"],
            registry=registry,
        )
        self.ack_seconds = Histogram(
            "pytake_webhook_ack_seconds", "Time from request to answer of webhook POSTs",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=registry,
        )
        self.inbound = Counter(
            "pytake_inbound_messages", "Inbound WhatsApp messages by outcome", ["outcome"],
            registry=registry,
        )
        for outcome in ("stored", "duplicate", "unsupported", "dead_letter"):
            self.inbound.labels(outcome)
        self.held = Counter(
            "pytake_webhook_held",
            "Webhook answers held back while the inbox's processing backlog was over its limit",
            registry=registry,
        )
        self.signature_failures = Counter(
            "pytake_webhook_signature_failures", "Webhook POSTs with a bad or missing signature",
            registry=registry,
        )
