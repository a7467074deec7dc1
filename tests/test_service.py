"""The service as users start it (`python app.py`): real Chromium against the simulator, real HTTP and Socket.IO."""

from __future__ import annotations

import pytest
import socketio

from tests.gateway import SocketEvents
from tests.helpers import decode_qr, wait_until

pytestmark = pytest.mark.e2e

STATUS_KEYS = {"state", "reason", "error", "qr_version", "since", "pairing_code"}
TOKEN = "s3cret-token-for-tests"


@pytest.mark.browser
@pytest.mark.parametrize("async_mode", ["eventlet", "threading"])
def test_start_session_is_idempotent_and_serves_the_live_qr(gateway_factory, simulator, async_mode):
    gateway = gateway_factory(WA_ASYNC_MODE=async_mode)
    first = gateway.post("/start-session")
    assert first.status_code == 202 and first.json()["state"] == "starting"
    again = gateway.post("/start-session", json={})
    assert again.status_code == 200 and STATUS_KEYS <= again.json().keys()
    status = gateway.wait_status("qr")

    png = gateway.get("/qr.png")
    assert png.status_code == 200 and png.headers["Content-Type"] == "image/png"
    assert png.headers["Cache-Control"] == "no-store"
    version = int(png.headers["ETag"].strip('"').lstrip("v"))
    assert version >= status["qr_version"]
    cached = gateway.get("/qr.png", headers={"If-None-Match": png.headers["ETag"]})
    assert cached.status_code in (304, 200)  # 200 only when the code rotated in between
    if cached.status_code == 304:
        assert cached.content == b""
    payload = decode_qr(png.content)
    assert payload in simulator.live_payloads() + [r["payload"] for r in simulator.state()["recent_refs"]]
    wait_until(lambda: (q := gateway.get("/qr").json()) and decode_qr(gateway.get("/qr.png").content) == q["qr"],
               10, what="/qr and /qr.png to agree")

    assert gateway.post("/start-session").status_code == 200
    assert len(gateway.browser_pids()) == 1
    reset = gateway.post("/force-reset")
    assert reset.status_code == 200 and reset.json()["state"] == "idle"
    assert not gateway.browser_pids()
    assert not gateway.profile_dir.exists()


def test_token_protects_the_running_service(gateway_factory):
    gateway = gateway_factory(token=TOKEN)
    assert gateway.get("/status", headers={"Authorization": ""}).status_code == 401
    assert gateway.get("/status").status_code == 200
    assert gateway.http.get(gateway.url + "/healthz").status_code == 200
    with pytest.raises(socketio.exceptions.ConnectionError):
        SocketEvents(gateway.url, token="wrong")
    events = SocketEvents(gateway.url, token=TOKEN)
    assert events.wait_for("status")["state"] == "idle"
    events.close()
    assert TOKEN not in gateway.log_text()


@pytest.mark.browser
def test_force_reset_over_http_in_the_middle_of_a_start(gateway):
    assert gateway.post("/start-session").status_code == 202
    reset = gateway.post("/force-reset")
    assert reset.status_code == 200
    assert reset.json() == {"ok": True, "message": reset.json()["message"], "state": "idle"}
    wait_until(lambda: not gateway.browser_pids() and not gateway.driver_pids(), 10, what="no browser left")
    assert not gateway.profile_dir.exists()
    assert gateway.stays("idle", seconds=1.0)


@pytest.mark.browser
@pytest.mark.parametrize("async_mode", ["eventlet", "threading"])
def test_sigterm_quits_the_browser_and_keeps_the_login(gateway_factory, simulator, async_mode):
    first = gateway_factory(WA_ASYNC_MODE=async_mode)
    assert first.post("/start-session").status_code == 202
    first.wait_status("qr")
    first.phone_scans(simulator)
    first.wait_status("connected")
    assert first.browser_pids()

    assert first.stop(check=True, keep_home=True) == 0  # exit 0, no Chromium or chromedriver left
    assert (first.profile_dir / "Default").is_dir()

    # The next start on the same profile links without a new scan.
    second = gateway_factory(profile_dir=first.profile_dir, WA_ASYNC_MODE=async_mode)
    assert second.post("/start-session").status_code == 202
    second.wait_status("connected")
    assert "qr" not in [change["state"] for change in second.get("/history").json()["history"]]
    assert second.stop(check=True) == 0
