"""For CRM integrators: pairing code, logout, takeover, link-aware health, history, metrics and webhooks."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prometheus_client.parser import text_string_to_metric_families

import app as app_module
from tests import test_page as page_kit
from tests.gateway import Gateway, SocketEvents
from tests.helpers import wait_until
from wa_client import ActionError
from wa_client.webhooks import verify
from web import metrics as web_metrics

TOKEN = "integrator-token-for-tests"
PHONE = "+55 11 99999-0000"
CODE = re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$")
BAD_PHONES = ["", "12", "abc", "+55 11 9999x0000", "0011999990000", 5511999990000, None, ["+5511999990000"]]
WEBHOOK_SECRET = "webhook-secret-for-tests"


def is_json_error(response) -> bool:
    body = response.get_json(silent=True)
    return isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"] != ""


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a Prometheus text exposition."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def received(sio_client) -> dict[str, list]:
    out: dict[str, list] = {}
    for message in sio_client.get_received():
        out.setdefault(message["name"], []).append(message["args"][0] if message["args"] else None)
    return out


# -- in-process: shapes, refusals and auth, no browser -------------------------------------------
@pytest.mark.parametrize("body", [{"phone": phone} for phone in BAD_PHONES] + [{}, [], "just text", 42])
def test_bad_phone_is_400_and_changes_nothing(app, body):
    client = app.test_client()
    before = client.get("/status").get_json()
    response = client.post("/pairing-code", json=body)
    assert response.status_code == 400 and is_json_error(response)
    assert client.get("/status").get_json() == before
    assert app.extensions["wa_client"].counters["transitions"] == 0


def test_pairing_code_without_a_body_says_what_to_send(http):
    response = http.post("/pairing-code")
    assert response.status_code == 400
    assert '"phone"' in response.get_json()["error"]


@pytest.mark.parametrize("path, body", [("/pairing-code", {"phone": PHONE}), ("/logout", None), ("/takeover", None)])
def test_commands_in_the_wrong_state_are_409(app, path, body):
    response = app.test_client().post(path, json=body)
    assert response.status_code == 409 and is_json_error(response)
    assert "idle" in response.get_json()["error"]
    assert app.extensions["wa_client"].status()["state"] == "idle"


@pytest.mark.parametrize("path, method", [("/pairing-code", "request_pairing_code"), ("/logout", "logout"),
                                          ("/takeover", "take_over")])
def test_whatsapp_not_offering_the_controls_is_502(app, monkeypatch, path, method):
    def refuse(*_args, **_kwargs):
        raise ActionError("WhatsApp did not show the menu button within 10 s")

    monkeypatch.setattr(app.extensions["wa_client"], method, refuse)
    response = app.test_client().post(path, json={"phone": PHONE})
    assert response.status_code == 502
    assert response.get_json() == {"error": "WhatsApp did not show the menu button within 10 s"}


@pytest.mark.parametrize("path, method", [("/pairing-code", "POST"), ("/logout", "POST"), ("/takeover", "POST"),
                                          ("/metrics", "GET"), ("/healthz?linked=1", "GET")])
def test_new_endpoints_need_the_token(app_factory, path, method):
    client = app_factory(api_token=TOKEN).test_client()
    response = client.open(path, method=method, json={"phone": PHONE} if method == "POST" else None)
    assert response.status_code == 401 and is_json_error(response)
    assert client.open(path, method=method, headers={"X-API-Key": TOKEN}).status_code != 401


def test_bare_healthz_stays_public_and_linked_reports_the_state(app_factory):
    client = app_factory(api_token=TOKEN).test_client()
    assert client.get("/healthz").get_json() == {"ok": True}
    assert client.get("/healthz?linked=0").get_json() == {"ok": True}
    response = client.get("/healthz?linked=1", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 503
    assert response.get_json() == {"ok": False, "state": "idle"}


def test_linked_healthz_needs_no_token_when_none_is_set(http):
    assert http.get("/healthz?linked=true").status_code == 503


def test_history_keeps_the_last_50_transitions_with_times_and_reasons(http):
    for _ in range(60):
        assert http.post("/force-reset").status_code == 200
    history = http.get("/history").get_json()["history"]
    assert len(history) == 50
    assert all(h.keys() == {"from", "state", "at", "reason", "error"} for h in history)
    assert all(h["reason"] == "force_reset" and h["at"].endswith("Z") for h in history)
    assert [h["at"] for h in history] == sorted(h["at"] for h in history)


def test_metrics_are_prometheus_text_from_the_apps_own_registry(app_factory):
    first, second = app_factory(), app_factory()  # two apps in one process: no duplicate registration
    client = first.test_client()
    first.extensions["wa_client"].emit("browser_started", {"seconds": 2.5})
    client.post("/force-reset")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    found = samples(response.get_data(as_text=True))
    assert found[("wa_session_state", (("state", "idle"),))] == 1
    assert found[("wa_session_state", (("state", "connected"),))] == 0
    assert found[("wa_resets_total", ())] == 1
    assert found[("wa_browser_start_seconds_count", ())] == 1
    assert found[("wa_browser_start_seconds_bucket", (("le", "3.0"),))] == 1
    for name in ("wa_session_transitions_total", "wa_qr_versions_total", "wa_browser_crashes_total",
                 "wa_browser_starts_total", "wa_qr_png_served_total"):
        assert (name, ()) in found, name
    assert samples(second.test_client().get("/metrics").get_data(as_text=True))[("wa_resets_total", ())] == 0
    assert first.extensions[web_metrics.EXTENSION].registry is not second.extensions[web_metrics.EXTENSION].registry


def test_internal_events_are_not_pushed_to_socket_clients(app):
    sio = app_module.socketio.test_client(app)
    sio.get_received()
    app.extensions["wa_client"].emit("browser_started", {"seconds": 1.0})
    app.extensions["wa_client"].emit("ready", {})
    events = received(sio)
    assert "browser_started" not in events and "ready" in events
    sio.disconnect()


@pytest.mark.parametrize("event, payload, answer", [
    ("pairing-code", {"phone": "abc"}, "pairing-code-error"), ("pairing-code", "not an object", "pairing-code-error"),
    ("pairing-code", {"phone": PHONE}, "pairing-code-error"), ("logout", None, "logout-error"),
    ("takeover", None, "takeover-error"),
])
def test_socket_commands_answer_the_asker_with_an_error(app, event, payload, answer):
    sio = app_module.socketio.test_client(app)
    sio.get_received()
    ack = sio.emit(event, payload, callback=True)
    assert received(sio)[answer][0]["error"] == ack["error"]
    assert sio.is_connected() and app.extensions["wa_client"].status()["state"] == "idle"
    sio.disconnect()


def test_page_offers_the_integrator_controls(http):
    page = http.get("/").get_data(as_text=True)
    for text in ("Link with phone number instead", "Log out of WhatsApp", "Use here",
                 "WhatsApp → Linked devices → Link with phone number"):
        assert text in page


# -- e2e: `python app.py` + real Chromium + the simulator ----------------------------------------
def connected(gateway: Gateway, simulator) -> dict:
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr")
    gateway.phone_scans(simulator)
    return gateway.wait_status("connected")


def metric(gateway: Gateway, name: str, labels: tuple = ()) -> float:
    response = gateway.get("/metrics")
    assert response.status_code == 200
    return samples(response.text)[(name, labels)]


@pytest.mark.e2e
@pytest.mark.browser
def test_pairing_code_links_the_clinic_phone_without_a_scan(gateway, simulator):
    simulator.configure(pairing_code_s=60)  # the phone types the code well before it rotates
    assert gateway.get("/healthz?linked=1").status_code == 503
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr")
    assert gateway.get("/healthz?linked=1").json() == {"ok": False, "state": "qr"}

    bad = gateway.post("/pairing-code", json={"phone": "12"})
    assert bad.status_code == 400 and "digits" in bad.json()["error"]
    assert gateway.status()["pairing_code"] is None and gateway.status()["state"] == "qr"
    assert (metric(gateway, "wa_session_starts_total"), metric(gateway, "wa_resets_total")) == (1, 0)

    answer = gateway.post("/pairing-code", json={"phone": PHONE}, timeout=60)
    assert answer.status_code == 200, answer.text
    code = answer.json()["pairing_code"]
    assert CODE.match(code)
    assert answer.json()["status"]["state"] == "qr" and answer.json()["status"]["pairing_code"] == code
    assert gateway.get("/qr").status_code == 404  # the QR is off screen while the code is shown
    assert simulator.state()["pairing_codes"][0]["phone"].endswith("999990000")

    assert simulator.confirm_pairing_code(code).status_code == 200
    status = gateway.wait_status("connected", timeout=60)
    assert status["pairing_code"] is None
    assert gateway.get("/healthz?linked=1").json() == {"ok": True, "state": "connected"}
    assert gateway.post("/pairing-code", json={"phone": PHONE}).status_code == 409
    assert gateway.http.get(gateway.url + "/healthz").json() == {"ok": True}


@pytest.mark.e2e
@pytest.mark.browser
@pytest.mark.parametrize("async_mode", ["eventlet", "threading"])
def test_pairing_code_over_socketio_answers_the_asker(gateway_factory, simulator, async_mode):
    simulator.configure(pairing_code_s=60)
    gateway = gateway_factory(token=TOKEN, WA_ASYNC_MODE=async_mode)
    events = SocketEvents(gateway.url, TOKEN)
    try:
        events.emit("start-session")
        events.wait_for("status", lambda s: s["state"] == "qr", timeout=60)
        mark = len(events.events)
        events.emit("pairing-code", {"phone": "abc"})
        assert "digits" in events.wait_for("pairing-code-error", after=mark)["error"]
        events.emit("pairing-code", {"phone": PHONE})
        code = events.wait_for("pairing-code", after=mark, timeout=60)["pairing_code"]
        assert CODE.match(code)
        assert simulator.confirm_pairing_code(code).status_code == 200
        events.wait_for("ready", after=mark, timeout=60)
        assert "browser_started" not in events.names()
    finally:
        events.close()


@pytest.mark.e2e
@pytest.mark.browser
def test_logout_from_the_crm_unlinks_and_cleans_up(gateway, simulator):
    connected(gateway, simulator)
    assert simulator.state()["linked_devices"] == 1
    response = gateway.post("/logout", timeout=60)
    assert response.status_code == 200, response.text
    status = response.json()
    assert (status["state"], status["reason"]) == ("disconnected", "logout_requested")
    wait_until(lambda: not gateway.browser_pids() and not gateway.driver_pids(), 20, what="no browser left")
    wait_until(lambda: not gateway.profile_dir.exists(), 20, what="the profile deleted")
    assert simulator.state()["linked_devices"] == 0
    assert gateway.get("/healthz?linked=1").status_code == 503
    assert gateway.post("/logout").status_code == 409
    assert gateway.stays(lambda s: s["state"] == "disconnected" and s["reason"] == "logout_requested", 1.0)
    history = gateway.get("/history").json()["history"]
    assert history[-1]["state"] == "disconnected" and history[-1]["reason"] == "logout_requested"


@pytest.mark.e2e
@pytest.mark.browser
def test_takeover_on_demand_and_logout_over_socketio(gateway_factory, simulator):
    gateway = gateway_factory(WA_TAKEOVER_ON_CONFLICT="0")
    connected(gateway, simulator)
    assert gateway.post("/takeover").status_code == 409
    assert simulator.conflict().status_code == 200
    gateway.wait_status("conflict")
    assert gateway.stays("conflict", seconds=1.5)
    assert gateway.get("/healthz?linked=1").json() == {"ok": False, "state": "conflict"}

    response = gateway.post("/takeover", timeout=60)
    assert response.status_code == 200 and response.json()["state"] == "connected", response.text
    assert any(e["event"] == "takeover" for e in simulator.state()["events"])

    events = SocketEvents(gateway.url)
    try:
        events.emit("takeover")
        assert "conflict" in events.wait_for("takeover-error")["error"]
        events.emit("logout")
        answer = events.wait_for("logout-success", timeout=60)
        assert (answer["state"], answer["reason"]) == ("disconnected", "logout_requested")
        assert events.wait_for("disconnected")["reason"] == "logout_requested"
    finally:
        events.close()
    wait_until(lambda: not gateway.browser_pids() and not gateway.profile_dir.exists(), 20, what="clean logout")


@pytest.mark.e2e
@pytest.mark.browser
def test_conflict_is_taken_over_by_default(gateway, simulator):
    connected(gateway, simulator)
    assert simulator.conflict().status_code == 200
    wait_until(lambda: any(h["state"] == "conflict" for h in gateway.get("/history").json()["history"]), 30,
               what="the conflict in the history")
    gateway.wait_status("connected")
    assert gateway.get("/healthz?linked=1").status_code == 200


@pytest.mark.e2e
@pytest.mark.browser
def test_metrics_count_a_start_a_qr_and_a_reset(gateway_factory):
    gateway = gateway_factory(token=TOKEN)
    assert gateway.get("/metrics", headers={"Authorization": ""}).status_code == 401
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr")
    qr = gateway.get("/qr").json()
    cycle = qr["cycle"]
    assert cycle["index"] >= 1 and cycle["of"] >= 1
    assert cycle["next_change_at"].endswith("Z") and cycle["timeout_at"].endswith("Z")
    wait_until(lambda: gateway.get("/qr.png").status_code == 200, 20, what="a QR image")

    response = gateway.get("/metrics")
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    found = samples(response.text)
    assert found[("wa_session_state", (("state", "qr"),))] == 1
    assert found[("wa_session_starts_total", ())] == 1
    assert found[("wa_browser_starts_total", ())] == 1
    assert found[("wa_browser_start_seconds_count", ())] == 1
    assert found[("wa_qr_versions_total", ())] >= 1
    assert found[("wa_qr_png_served_total", ())] >= 1

    assert gateway.post("/force-reset").status_code == 200
    found = samples(gateway.get("/metrics").text)
    assert found[("wa_resets_total", ())] == 1
    assert found[("wa_session_state", (("state", "idle"),))] == 1
    assert found[("wa_session_transitions_total", ())] >= 3  # starting, qr, idle
    assert found[("wa_browser_crashes_total", ())] == 0


@pytest.mark.e2e
@pytest.mark.browser
def test_front_desk_links_by_phone_number_uses_here_and_logs_out(make_driver, gateway_factory, simulator):
    simulator.configure(pairing_code_s=60)
    desk = page_kit.FrontDesk(make_driver(), gateway_factory(WA_TAKEOVER_ON_CONFLICT="0"))
    desk.wait_state("idle")
    assert not desk.element("logout").is_enabled() and not desk.element("phone-form").is_displayed()
    desk.click("generate")
    desk.wait_state("qr")
    desk.wait(desk.element("phone-form").is_displayed, 10, what="the phone number field")
    assert "Link with phone number instead" in desk.element("phone-form").text

    desk.element("phone-input").send_keys("12")
    desk.click("phone-submit")
    desk.wait(lambda: "digits" in desk.element("phone-error").text, 30, what="the refusal of a short number")
    desk.element("phone-input").clear()
    desk.element("phone-input").send_keys(PHONE)
    desk.click("phone-submit")
    code = desk.wait(lambda: CODE.match(desk.element("pairing-code").text) and desk.element("pairing-code").text,
                     60, what="the pairing code")
    assert "WhatsApp → Linked devices → Link with phone number" in desk.element("pairing").text
    assert not desk.element("phone-form").is_displayed() and not desk.element("qr-img").is_displayed()
    desk.shot("integrators-01-pairing-code")

    assert simulator.confirm_pairing_code(code).status_code == 200
    desk.wait_state("connected", timeout=60)
    assert desk.element("logout").is_enabled() and not desk.element("use-here").is_displayed()

    assert simulator.conflict().status_code == 200
    desk.wait_state("conflict")
    desk.wait(desk.element("use-here").is_displayed, 10, what="the Use here button")
    desk.shot("integrators-02-conflict")
    desk.click("use-here")
    desk.wait_state("connected", timeout=60)

    desk.driver.execute_script("window.confirm = function () { return true; };")
    desk.click("logout")
    desk.wait_state("disconnected", timeout=60)
    assert "Logged out of WhatsApp from the gateway" in desk.headline()
    assert not desk.element("logout").is_enabled() and desk.element("generate").is_enabled()
    desk.shot("integrators-03-logged-out")
    wait_until(lambda: not desk.gateway.browser_pids() and not desk.gateway.profile_dir.exists(), 20,
               what="no browser and no profile left")


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
