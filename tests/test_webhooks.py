"""Webhooks: signed POSTs to a real local HTTP server, retried, in order, never blocking the session."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app import tell_the_outside
from tests.gateway import metric
from tests.helpers import nothing_left, wait_state, wait_until
from tests.receivers import Receiver
from wa_client import Settings, WhatsAppClient
from wa_client.notify.webhooks import WebhookSender, sign, verify

WEBHOOK_SECRET = "webhook-secret-for-tests"

SECRET = "s3cret-for-tests"


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def build(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield build
    for r in made:
        r.close()


def spawn(fn, *args):
    threading.Thread(target=fn, args=args, daemon=True).start()


def test_signature_covers_timestamp_and_body():
    signature = sign(SECRET, "1700000000", b'{"a":1}')
    assert verify(SECRET, "1700000000", b'{"a":1}', signature)
    assert not verify(SECRET, "1700000001", b'{"a":1}', signature)
    assert not verify(SECRET, "1700000000", b'{"a":2}', signature)
    assert not verify("other", "1700000000", b'{"a":1}', signature)


def test_events_arrive_signed_and_in_order(receiver):
    hook = receiver()
    sender = WebhookSender(hook.url, SECRET, spawn)
    for i in range(5):
        sender("status", {"state": "qr", "n": i})
    sender("browser_started", {"seconds": 1})  # internal events are not sent
    wait_until(lambda: len(hook.calls) == 5, 10, what="five deliveries")
    assert [e["data"]["n"] for e in hook.events()] == [0, 1, 2, 3, 4]
    for call in hook.calls:
        assert verify(SECRET, call["headers"]["X-Timestamp"], call["body"], call["headers"]["X-Signature"])


def test_server_errors_are_retried_with_backoff(receiver):
    hook = receiver(codes=[503, 500])
    sender = WebhookSender(hook.url, SECRET, spawn, backoff_s=0.05)
    sender("disconnected", {"reason": "logout"})
    wait_until(lambda: sender.delivered == 1, 10, what="delivery after two failures")
    assert len(hook.calls) == 3
    assert len({c["body"] for c in hook.calls}) == 1  # the same event each time


def test_a_rejected_event_is_not_retried(receiver):
    hook = receiver(codes=[400])
    sender = WebhookSender(hook.url, SECRET, spawn, backoff_s=0.05)
    sender("ready", {})
    wait_until(lambda: sender.failed == 1, 10, what="the event given up")
    assert len(hook.calls) == 1


def test_an_unreachable_receiver_does_not_block_the_caller():
    sender = WebhookSender("http://127.0.0.1:9/hook", SECRET, spawn, attempts=3, backoff_s=0.05, timeout_s=1)
    started = time.monotonic()
    for _ in range(20):
        sender("status", {"state": "qr"})
    queued_in = time.monotonic() - started
    wait_until(lambda: sender.failed == 20, 60, what="every event given up")
    assert queued_in < sender.timeout_s  # the listener never waited for the network


@pytest.mark.browser
def test_the_session_posts_its_state_changes_and_qr(receiver, simulator):
    hook = receiver(delay_s=0.3)  # slow receiver: the session must not wait for it
    root = tempfile.mkdtemp(prefix="wa-webhook-test-")
    profile_dir = os.path.join(root, "profile")
    settings = Settings.from_mapping({"wa_url": simulator.url, "profile_dir": profile_dir,
                                      "webhook_url": hook.url, "webhook_secret": SECRET})
    client = WhatsAppClient(settings)
    tell_the_outside(client, settings)  # as create_app composes them: the webhooks listen to the session's bus
    try:
        client.start_session()
        wait_state(client, "qr")
        wait_until(lambda: any(e["event"] == "qr" for e in hook.events()), 10, what="the qr webhook")
        states = [e["data"]["state"] for e in hook.events() if e["event"] == "status"]
        assert states[:2] == ["starting", "qr"]
        qr_event = next(e for e in hook.events() if e["event"] == "qr")
        payload, version = wait_until(client.qr, 10, what="a current QR")  # read once: a code may be withdrawn
        assert qr_event["data"]["qr"] == payload or qr_event["data"]["version"] < version
    finally:
        client.force_reset()
        wait_until(lambda: nothing_left(profile_dir), 10, what="no browser left")
        shutil.rmtree(root, ignore_errors=True)


# -- webhooks end to end -------------------------------------------------------------------------
class WebhookInbox(ThreadingHTTPServer):
    """A CRM's webhook receiver on 127.0.0.1: keeps every POST (headers and raw body)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _InboxHandler)
        self.received: list[tuple[dict, bytes]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/whatsapp"

    def events(self) -> list[dict]:
        with self.lock:
            return [json.loads(body) for _, body in self.received]


class _InboxHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:
            self.server.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def webhook_inbox() -> Iterator[WebhookInbox]:
    inbox = WebhookInbox()
    thread = threading.Thread(target=inbox.serve_forever, daemon=True, name="webhook-inbox")
    thread.start()
    yield inbox
    inbox.shutdown()
    inbox.server_close()
    thread.join(10)


@pytest.mark.e2e
@pytest.mark.browser
def test_webhooks_deliver_signed_status_and_qr_events(gateway_factory, webhook_inbox):
    gateway = gateway_factory(WA_WEBHOOK_URL=webhook_inbox.url, WA_WEBHOOK_SECRET=WEBHOOK_SECRET)
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr")
    wait_until(lambda: any(e["event"] == "qr" for e in webhook_inbox.events()), 30, what="a qr webhook")
    assert gateway.post("/force-reset").status_code == 200
    wait_until(lambda: any(e["event"] == "status" and e["data"]["state"] == "idle" for e in webhook_inbox.events()),
               30, what="the idle status webhook")

    with webhook_inbox.lock:
        deliveries = list(webhook_inbox.received)
    for headers, body in deliveries:
        assert headers["Content-Type"] == "application/json"
        assert verify(WEBHOOK_SECRET, headers["X-Timestamp"], body, headers["X-Signature"])
        assert not verify("another-secret", headers["X-Timestamp"], body, headers["X-Signature"])
    events = webhook_inbox.events()
    assert all(e.keys() == {"id", "event", "data", "sent_at"} for e in events)
    assert len({e["id"] for e in events}) == len(events)
    assert {e["event"] for e in events} <= {"status", "qr", "authenticated", "ready", "disconnected"}
    states = [e["data"]["state"] for e in events if e["event"] == "status"]
    assert states[0] == "starting" and states[-1] == "idle"  # delivered in order
    qr = next(e["data"] for e in events if e["event"] == "qr")
    assert qr["qr"] and qr["version"] >= 1
    wait_until(lambda: metric(gateway, "wa_webhook_deliveries_total", (("result", "delivered"),)) == len(deliveries),
               10, what="the delivered webhooks counted in /metrics")
