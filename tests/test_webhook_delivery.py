"""Webhook delivery end to end: `python app.py`, the simulator, real HTTP receivers on loopback.

A receiver that is down across a restart still gets every event, in order; a dropped event is counted in
/metrics and a person is told in fixed words.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.gateway import connected, metric
from tests.helpers import wait_until
from tests.receivers import Hook, JsonReceiver, Receiver
from wa_client.notify.alerts import Notifier
from wa_client.notify.webhooks import WebhookSender, verify

SECRET = "delivery-secret-for-tests"


def spawn(fn, *args):
    threading.Thread(target=fn, args=args, daemon=True).start()


def test_a_receiver_down_across_a_restart_gets_every_event_in_order_once_it_is_up(gateway_factory, simulator,
                                                                                   shared_home):
    hook = Hook()  # the CRM's receiver is down the whole first run
    env = {"WA_WEBHOOK_URL": hook.url, "WA_WEBHOOK_SECRET": SECRET, "WA_DATA_DIR": str(shared_home / "data")}
    first = gateway_factory(**env)
    connected(first, simulator)
    assert simulator.send_from_patient("+55 11 98888 0000", "Sim, confirmo").status_code == 200
    wait_until(lambda: first.get("/messages?direction=in").json()["messages"], 30, what="the reply stored")
    first.stop()  # SIGTERM: what waited in memory used to be lost here
    second = gateway_factory(**env)
    try:
        hook.up()
        wait_until(lambda: hook.events("message.received"), 60, what="the first run's events after the restart")
        wait_until(lambda: metric(second, "wa_webhook_events_waiting") == 0, 30, what="nothing left waiting")
    finally:
        hook.down()
    bodies = [json.loads(call["body"]) for call in hook.calls]
    for call in hook.calls:
        assert verify(SECRET, call["headers"]["X-Timestamp"], call["body"], call["headers"]["X-Signature"])
    assert [m["text"] for m in hook.events("message.received")] == ["Sim, confirmo"]
    states = [b["data"]["state"] for b in bodies if b["event"] == "status"]
    assert states[0] == "starting" and "connected" in states  # the first run's life, from its start
    assert states.index("connected") < [b["event"] for b in bodies].index("message.received")  # in order
    assert [b["sent_at"] for b in bodies] == sorted(b["sent_at"] for b in bodies)
    assert len({b["id"] for b in bodies}) == len(bodies)  # each event once (nothing was half-delivered)
    assert metric(second, "wa_webhook_deliveries_total", (("result", "delivered"),)) == len(bodies)


def test_a_dropped_event_is_counted_and_a_person_is_told_without_its_content(gateway_factory, simulator):
    refusing = Receiver(codes=[410] * 1000)  # the receiver refuses everything: each event is dropped
    with JsonReceiver() as notices:
        try:
            gateway = gateway_factory(WA_WEBHOOK_URL=refusing.url, WA_NOTIFY_URLS=notices.url())
            assert gateway.post("/start-session").status_code == 202
            gateway.wait_status("qr")
            wait_until(lambda: metric(gateway, "wa_webhook_events_dropped_total", (("reason", "refused"),)) >= 2,
                       30, what="the refused events counted")
            wait_until(lambda: notices.bodies, 30, what="the notification")
        finally:
            refusing.close()
        assert metric(gateway, "wa_webhook_deliveries_total", (("result", "delivered"),)) == 0
        assert metric(gateway, "wa_webhook_deliveries_total", (("result", "failed"),)) >= 2
        told = [b for b in notices.bodies if "webhook" in b.get("title", "")]
        assert len(told) == 1  # one message, however many events were dropped (rate limited)
        text = told[0]["title"] + told[0]["message"]
        assert "WA_WEBHOOK_URL" in text and "could not deliver" in text
        assert "qr" not in text.lower().split() and "starting" not in text and refusing.url not in text


class Redirecting(ThreadingHTTPServer):
    """A receiver that answers every POST with a redirect to `target` (and keeps the count)."""

    def __init__(self, code: int, target: str) -> None:
        self.count = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers["Content-Length"]))
                server.count += 1
                self.send_response(code if server.count == 1 else 200)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/hook"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()


def test_a_redirect_is_not_followed_and_the_event_is_posted_again_to_the_receiver():
    elsewhere = Receiver()
    for code in (301, 302, 303, 307, 308):
        redirecting = Redirecting(code, elsewhere.url)
        try:
            sender = WebhookSender(redirecting.url, SECRET, spawn, backoff_s=0.01)
            sender("ready", {})
            wait_until(lambda s=sender: s.delivered == 1, 10, what=f"delivery after a {code}")
            assert redirecting.count == 2, code  # the 3xx was not delivery: the same event came again
        finally:
            redirecting.close()
    assert elsewhere.calls == []  # a signed event never goes where a redirect points
    elsewhere.close()


def test_the_drop_notice_is_fixed_words_sent_once_per_ten_minutes():
    with JsonReceiver() as receiver:
        notifier = Notifier(receiver.url(), spawn, clock=lambda: 1000.0)
        notifier("webhook.dropped", {"reason": "expired", "count": 3})
        notifier("webhook.dropped", {"reason": "full", "count": 1})  # within 10 minutes: counted, not sent
        wait_until(lambda: receiver.bodies, 10, what="the notice")
        wait_until(lambda: notifier.counts["sent"] == 1, 10, what="the notice counted")
    assert len(receiver.bodies) == 1 and notifier.counts["suppressed"] == 1
    notice = receiver.bodies[0]
    assert notice["title"] == "Clinic WhatsApp gateway: webhook events dropped"
    assert "WA_WEBHOOK_URL" in notice["message"] and "wa_webhook_events_dropped_total" in notice["message"]
