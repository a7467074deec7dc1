"""The session in Prometheus text format (GET /metrics), from a registry of this app's own."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from flask import Flask, current_app
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import Collector

from wa_client import State, WhatsAppClient
from wa_client.names import Event
from wa_client.notify.alerts import Notifier
from wa_client.notify.webhooks import WebhookSender
from web.costs import CostCollector

logger = logging.getLogger(__name__)

EXTENSION = "wa_metrics"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # "text/plain; version=0.0.4; charset=utf-8"
BROWSER_START_BUCKETS = (0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0)

#: client.counters key -> (metric name without _total, help)
COUNTERS = {
    "starts": ("wa_session_starts", "Sessions started (Generate QR from idle, disconnected or failed)."),
    "transitions": ("wa_session_transitions", "State changes of the session."),
    "qr_versions": ("wa_qr_versions", "QR codes published (each rotation is one)."),
    "resets": ("wa_resets", "Force resets."),
    "crashes": ("wa_browser_crashes", "Browsers (Chromium or chromedriver) that died under the session."),
    "browser_starts": ("wa_browser_starts", "Browsers launched successfully."),
    "channel_disagreements": ("wa_channel_disagreements",
                              "Times the DOM and WhatsApp's modules lastingly disagreed about the page."),
    "illegal_transitions": ("wa_illegal_transitions", "Transitions the state table forbids (bugs; never applied)."),
    "autostarts": ("wa_autostarts", "Saved logins started by WA_AUTOSTART when the service started."),
    "crash_restarts": ("wa_crash_restarts", "Browser restarts after a crash (WA_RESTART_ON_CRASH)."),
    "restart_give_ups": ("wa_crash_restart_give_ups", "Times the gateway stopped restarting (5 tries in an hour)."),
    "page_probes": ("wa_page_probes", "Full reads of the WhatsApp page (polls, wakes and the slow safety-net probe)."),
    "page_wakes": ("wa_page_wakes", "Times the page (or a command) woke the listening worker before its slow probe."),
}


class SessionCollector(Collector):
    """Reads the client's state and counters at scrape time: nothing is updated on the session's path."""

    def __init__(self, client: WhatsAppClient, webhooks: WebhookSender | None = None,
                 notifier: Notifier | None = None) -> None:
        self.client = client
        self.webhooks = webhooks  # the WebhookSender and the Notifier built beside the client (app.py), or None
        self.notifier = notifier

    def collect(self) -> Iterator[Metric]:
        """The state gauge (1 for the current state), the counters, and the webhook deliveries."""
        current = self.client.state
        state = GaugeMetricFamily("wa_session_state", "1 for the session's current state, 0 for the others.",
                                  labels=["state"])
        for each in State:
            state.add_metric([each.value], 1.0 if each is current else 0.0)
        yield state
        counters = dict(self.client.counters)
        for key, (name, documentation) in COUNTERS.items():
            yield CounterMetricFamily(name, documentation, value=counters.get(key, 0))
        seen = CounterMetricFamily("wa_page_recognitions", "Polls whose page state each reading channel recognised.",
                                   labels=["channel"])
        for channel in ("dom", "modules"):
            seen.add_metric([channel], counters.get("seen_" + channel, 0))
        yield seen
        webhooks = self.webhooks
        if webhooks is not None:
            deliveries = CounterMetricFamily("wa_webhook_deliveries", "Webhook events by outcome (after retries).",
                                             labels=["result"])
            deliveries.add_metric(["delivered"], webhooks.delivered)
            deliveries.add_metric(["failed"], webhooks.failed)
            yield deliveries
            dropped = CounterMetricFamily("wa_webhook_events_dropped", "Webhook events dropped undelivered, by "
                                          "reason (expired: 24 h of retries).", labels=["reason"])
            for reason, value in dict(webhooks.dropped).items():
                dropped.add_metric([reason], value)
            yield dropped
            count, age = webhooks.waiting()
            yield GaugeMetricFamily("wa_webhook_events_waiting", "Webhook events kept, not yet delivered.", value=count)
            yield GaugeMetricFamily("wa_webhook_oldest_waiting_seconds", "Age of the oldest webhook event waiting "
                                    "(0 when none waits).", value=age or 0.0)
        notifier = self.notifier
        if notifier is not None:
            told = CounterMetricFamily("wa_notifications", "WA_NOTIFY_URLS messages by outcome "
                                       "(suppressed: the rate limit).", labels=["result"])
            for result, value in dict(notifier.counts).items():
                told.add_metric([result], value)
            yield told


class Metrics:
    """The app's registry: the session collector, the browser start histogram, the /qr.png counter."""

    def __init__(self, client: WhatsAppClient, webhooks: WebhookSender | None = None,
                 notifier: Notifier | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(SessionCollector(client, webhooks, notifier))
        self.registry.register(CostCollector(client))
        self.browser_start_seconds = Histogram(
            "wa_browser_start_seconds", "Seconds from launching the browser to WhatsApp Web's page opening.",
            buckets=BROWSER_START_BUCKETS, registry=self.registry)
        self.qr_png_served = Counter("wa_qr_png_served", "QR images served (200 answers of /qr.png).",
                                     registry=self.registry)
        client.subscribe(self.on_session_event)

    def on_session_event(self, event: str, payload: dict) -> None:
        """The client listener: time every browser launch."""
        if event == Event.BROWSER_STARTED and isinstance(payload.get("seconds"), int | float):
            self.browser_start_seconds.observe(payload["seconds"])

    def exposition(self) -> bytes:
        """Everything in the Prometheus text format 0.0.4."""
        return generate_latest(self.registry)


def get_metrics() -> Metrics:
    """The current app's metrics."""
    return current_app.extensions[EXTENSION]


def init_app(app: Flask, client: WhatsAppClient, webhooks: WebhookSender | None = None,
             notifier: Notifier | None = None) -> Metrics:
    """Create the app's metrics (GET /metrics in web/api.py serves them)."""
    metrics = Metrics(client, webhooks, notifier)
    app.extensions[EXTENSION] = metrics
    return metrics
