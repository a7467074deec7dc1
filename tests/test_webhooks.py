"""Webhooks: signed POSTs to a real local HTTP server, retried, in order, never blocking the session."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.helpers import nothing_left, wait_state, wait_until
from wa_client import Settings, WhatsAppClient
from wa_client.webhooks import WebhookSender, sign, verify

SECRET = "s3cret-for-tests"


class Receiver:
    """A real HTTP server on loopback that records webhook calls and answers scripted codes."""

    def __init__(self, codes: list[int] | None = None, delay_s: float = 0.0) -> None:
        self.calls: list[dict] = []
        self.codes = list(codes or [])
        self.delay_s = delay_s
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay_s)  # a slow receiver, on purpose
                receiver.calls.append({"body": body, "headers": dict(self.headers)})
                self.send_response(receiver.codes.pop(0) if receiver.codes else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[dict]:
        return [json.loads(c["body"]) for c in self.calls]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


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
    client = WhatsAppClient(Settings.from_mapping({"wa_url": simulator.url, "profile_dir": profile_dir,
                                                   "webhook_url": hook.url, "webhook_secret": SECRET}))
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
