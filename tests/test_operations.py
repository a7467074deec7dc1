"""Who did what (/history and the log), what the browser costs (/metrics), and LOG_FORMAT=json, over the
real service in real Chromium."""

from __future__ import annotations

import hashlib
import json

import pytest
from selenium.webdriver.common.by import By

from tests.gateway import Gateway, SocketEvents
from tests.helpers import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

TOKEN = "ops-test-token-abcdefghijklmnop"
FINGERPRINT = hashlib.sha256(TOKEN.encode()).hexdigest()[:8]


def _commands(gateway: Gateway) -> list[tuple[str, dict]]:
    return [(e["command"], e["by"]) for e in gateway.get("/history").json()["commands"]]


def _gauge(gateway: Gateway, name: str) -> float:
    line = next(x for x in gateway.get("/metrics").text.splitlines() if x.startswith(name + " "))
    return float(line.split()[1])


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
    assert _commands(gateway) == [
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
    assert command["logger"] == "wa_client.client" and command["session"]["state"] in ("idle", "starting")


def test_the_bundled_page_shows_as_the_page(gateway_factory, simulator, make_driver):
    gateway = gateway_factory()
    driver = make_driver()
    driver.get(gateway.url + "/")
    wait_until(lambda: driver.find_element(By.ID, "generate").is_enabled(), 20, what="the Generate QR button")
    driver.find_element(By.ID, "generate").click()
    gateway.wait_status("qr", timeout=60)
    assert _commands(gateway) == [("start_session", {"via": "page", "address": "127.0.0.1", "token": None})]
    assert gateway.post("/force-reset").status_code == 200
