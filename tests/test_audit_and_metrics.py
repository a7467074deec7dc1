"""Who did what (/history and the log), LOG_FORMAT=json, and /metrics (Prometheus text: counts and what the
browser costs), in-process and over the real service."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.gateway import Gateway, SocketEvents, commands_recorded, samples
from tests.helpers import wait_until
from web import metrics as web_metrics

TOKEN = "ops-test-token-abcdefghijklmnop"
FINGERPRINT = hashlib.sha256(TOKEN.encode()).hexdigest()[:8]



def _gauge(gateway: Gateway, name: str) -> float:
    line = next(x for x in gateway.get("/metrics").text.splitlines() if x.startswith(name + " "))
    return float(line.split()[1])


@pytest.mark.browser
def test_every_command_is_recorded_with_its_origin_and_the_log_is_json(gateway_factory, simulator):
    gateway = gateway_factory(token=TOKEN, LOG_FORMAT="json")
    assert gateway.post("/force-reset", headers={"X-WA-Client": "page"}).status_code == 200
    assert gateway.post("/logout").status_code == 409
    assert gateway.post("/takeover").status_code == 409
    assert gateway.post("/pairing-code", json={"phone": "+55 11 99999 0000"}).status_code == 409
    events = SocketEvents(gateway.url, token=TOKEN)
    try:
        events.emit("start-session")
        gateway.wait_status("qr", timeout=60)
        memory, processes = _gauge(gateway, "wa_browser_memory_bytes"), _gauge(gateway, "wa_browser_processes")
        service = _gauge(gateway, "wa_service_resident_memory_bytes")
        print(f"\nbrowser tree: {processes:.0f} processes, {memory / 2**20:.0f} MiB (PSS); service RSS "
              f"{service / 2**20:.0f} MiB")
        assert processes >= 3 and memory > 20 * 2**20 and service > 10 * 2**20
        events.emit("force-reset")
        events.wait_for("force-reset-success", timeout=30)
    finally:
        events.close()
    assert _gauge(gateway, "wa_browser_processes") == 0

    http = {"address": "127.0.0.1", "token": FINGERPRINT}
    assert commands_recorded(gateway) == [
        ("force_reset", {"via": "page", **http}), ("logout", {"via": "http", **http}),
        ("takeover", {"via": "http", **http}), ("pairing_code", {"via": "http", **http}),
        ("start_session", {"via": "socketio", **http}), ("force_reset", {"via": "socketio", **http}),
    ]
    log = gateway.log_text()
    assert TOKEN not in log
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    assert all(line["time"].endswith("Z") for line in lines)
    command = next(x for x in lines if x["message"].startswith("command start_session"))
    assert command["message"] == f"command start_session by via=socketio address=127.0.0.1 token={FINGERPRINT}"
    assert command["logger"] == "wa_client.session.record" and command["session"]["state"] in ("idle", "starting")


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
