"""The QR code's life, in real Chromium against the simulator: the first code, rotation, expiry and reload, the
scan that links, a saved login across restarts; in-process and on the real service."""

from __future__ import annotations

import pytest

from tests.helpers import (
    STATUS_KEYS,
    connected_client,
    decode_png,
    decode_qr,
    holds_for,
    nothing_left,
    phone_scans,
    sim_events,
    wait_state,
    wait_until,
)
from wa_client import StateError
from wa_client.browser import procs

pytestmark = pytest.mark.browser


def event_names(client) -> list[str]:
    return [name for name, _ in client.events]


def test_first_qr_is_the_live_code_on_screen(make_client, simulator):
    client = make_client()
    status, started = client.start_session()
    assert started and status["state"] == "starting"
    wait_state(client, "qr")
    payload, version = client.qr()
    assert payload in simulator.live_payloads()
    assert version == client.status()["qr_version"]
    assert decode_png(client.qr_png()[1]) == payload


def test_start_session_is_idempotent_while_running(make_client):
    client = make_client()
    client.start_session()
    for _ in range(3):
        status, started = client.start_session()
        assert not started and status["state"] in ("starting", "qr")
    wait_state(client, "qr")
    assert len(procs.browsers_using(client.settings.profile_dir)) == 1


def test_png_is_rendered_once_per_version(make_client):
    client = make_client()
    client.start_session()
    wait_state(client, "qr")
    first, second = client.qr_png(), client.qr_png()
    if first[0] == second[0]:
        assert first[1] is second[1]




def test_rotation_publishes_each_new_code(make_client, simulator):
    simulator.configure(first_ref_s=1, next_ref_s=1, refs_per_cycle=4)
    client = make_client()
    client.start_session()
    served = wait_until(lambda: len(s := [p["qr"] for name, p in client.events if name == "qr"]) >= 3 and s, 15,
                        what="three QR events")
    issued = [e["payload"] for e in sim_events(simulator, "ref_issued")]
    assert len(set(served)) == len(served) >= 3
    assert set(served) <= set(issued)
    assert [p for p in issued if p in served] == served  # in the order WhatsApp showed them
    status = client.status()
    assert status["qr_cycle"]["index"] >= 3 and status["qr_cycle"]["of"] == 6


def test_expired_qr_is_never_served_and_reload_brings_fresh_codes(make_client, simulator):
    simulator.configure(first_ref_s=1, next_ref_s=1, refs_per_cycle=2)
    client = make_client()
    client.start_session()
    wait_state(client, "qr")
    expiry = wait_until(lambda: sim_events(simulator, "qr_expired"), 10, what="the first cycle to expire")[0]
    first_cycle = {e["payload"] for e in sim_events(simulator, "ref_issued") if e["t"] <= expiry["t"]}
    # the gateway clicks reload; a code of a new cycle is served, and the faded one never is
    wait_until(lambda: (q := client.qr()) and q[0] not in first_cycle and q[0] in simulator.live_payloads(), 10,
               what="a fresh code after reload")
    assert any(e["index"] == 1 and e["t"] > expiry["t"] for e in sim_events(simulator, "ref_issued"))
    served_after = [p["qr"] for name, p in client.events if name == "qr"][len(first_cycle):]
    assert not set(served_after) & first_cycle
    assert client.status()["state"] == "qr"


def test_faded_qr_is_withdrawn_while_it_waits_for_reload(make_client, simulator, monkeypatch):
    # WhatsApp keeps the old data-ref under the faded canvas; with the reload click kept from
    # working, the gateway must withdraw that code and serve nothing rather than a dead QR.
    monkeypatch.setattr("wa_client.page.actions.PageActions.reload_qr", lambda self: None)
    simulator.configure(first_ref_s=1, next_ref_s=1, refs_per_cycle=2)
    client = make_client()
    client.start_session()
    wait_state(client, "qr")
    wait_until(lambda: sim_events(simulator, "qr_expired"), 10, what="the cycle to expire")
    wait_until(lambda: client.qr() is None, 3, what="the faded QR withdrawn")
    assert holds_for(lambda: client.qr() is None and client.qr_png() is None, 1.0)
    assert client.status()["state"] == "qr" and client.status()["qr_version"] is None


def test_scan_leads_to_connected_with_events(make_client, simulator):
    client = connected_client(make_client, simulator)
    # events are delivered just after the state they belong to is published: wait for them
    names = wait_until(lambda: "ready" in (seen := event_names(client)) and seen, 10, what="the ready event")
    assert names.index("authenticated") < names.index("ready")
    assert client.qr() is None and client.status()["qr_version"] is None
    states = [h["state"] for h in client.history()]
    assert states[:2] == ["starting", "qr"] and states[-1] == "connected"


def test_saved_login_survives_a_client_restart(make_client, simulator):
    first = make_client()
    first.start_session()
    wait_state(first, "qr")
    phone_scans(first, simulator)
    wait_state(first, "connected")
    first.shutdown()
    assert nothing_left(first.settings.profile_dir)
    second = make_client()
    second.start_session()
    wait_state(second, "connected")
    wait_until(lambda: "authenticated" in event_names(second), 10, what="the authenticated event")
    assert "qr" not in event_names(second)


def test_logs_never_carry_the_whole_payload(make_client, caplog):
    caplog.set_level("DEBUG")
    client = make_client()
    client.start_session()
    wait_state(client, "qr")
    payload = client.qr()[0]
    assert payload not in caplog.text
    assert payload.split(",")[0] not in caplog.text


def test_commands_refuse_the_wrong_state(make_client):
    client = make_client()
    for command in (client.logout, client.take_over, lambda: client.request_pairing_code("+5511999990000")):
        with pytest.raises(StateError):
            command()
    assert client.status()["state"] == "idle"


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
