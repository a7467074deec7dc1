"""The phone logs the device out: disconnected, browser and profile gone, nothing restarts by itself, a new QR
links again (`make test-logout` runs the whole story)."""

from __future__ import annotations

import os

import pytest

from tests.helpers import (
    connected_client,
    holds_for,
    nothing_left,
    phone_scans,
    sim_events,
    wait_state,
    wait_until,
)
from wa_client import StateError

pytestmark = pytest.mark.browser


@pytest.mark.logout
@pytest.mark.e2e
def test_logout_from_phone_then_generate_qr_links_again(gateway, socket_events, simulator):
    # Generate QR over HTTP, as a CRM would; the phone scans what /qr.png shows.
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr")
    first_payload = gateway.phone_scans(simulator)
    gateway.wait_status("connected")
    assert len(gateway.browser_pids()) == 1

    # The phone logs the gateway out: disconnected, browser gone, profile deleted.
    assert simulator.logout().status_code == 200
    status = gateway.wait_status("disconnected", timeout=20)
    assert status["reason"] == "logout"
    wait_until(lambda: not gateway.browser_pids() and not gateway.driver_pids(), 10, what="no browser left")
    wait_until(lambda: not gateway.profile_dir.exists(), 10, what="the profile to be deleted")

    # Nothing starts again by itself.
    assert gateway.stays(lambda s: s["state"] == "disconnected" and not gateway.browser_pids(), seconds=2.0)
    assert not gateway.profile_dir.exists()

    # Generate QR again, this time over Socket.IO (the alias): a new code, and it links.
    mark = len(socket_events.events)
    socket_events.emit("generate-qr")
    socket_events.wait_for("status", lambda s: s["state"] == "starting", after=mark)
    gateway.wait_status("qr")
    second_payload = gateway.phone_scans(simulator)
    assert second_payload != first_payload
    gateway.wait_status("connected")

    # Force Reset from the socket: idle, and nothing left behind.
    mark = len(socket_events.events)
    socket_events.emit("force-reset")
    assert socket_events.wait_for("force-reset-success", after=mark)["message"]
    assert gateway.status()["state"] == "idle"
    assert not gateway.browser_pids() and not gateway.driver_pids()
    assert not gateway.profile_dir.exists()
    assert holds_for(lambda: not gateway.browser_pids(), 1.0)

    # Every Socket.IO client heard the whole story.
    names = socket_events.names()
    for event in ("status", "qr", "authenticated", "ready", "disconnected"):
        assert event in names, f"no {event!r} event; got {names}"
    assert socket_events.wait_for("disconnected") == {"reason": "logout"}
    qr = socket_events.wait_for("qr")
    assert qr["png"] == f"/qr.png?v={qr['version']}" and qr["qr"]
    states = [data["state"] for name, data in socket_events.events if name == "status"]
    assert states[0] == "idle"  # the greeting on connect
    for expected in ("starting", "qr", "authenticating", "connected", "disconnected", "idle"):
        assert expected in states, f"no status {expected!r}; got {states}"


def test_logout_from_phone_ends_in_disconnected_and_deletes_profile(make_client, simulator):
    client = connected_client(make_client, simulator)
    profile_dir = client.settings.profile_dir
    simulator.logout()
    status = wait_state(client, "disconnected", timeout=10)
    assert status["reason"] == "logout"
    wait_until(lambda: nothing_left(profile_dir) and not os.path.exists(profile_dir), 10,
               what="browser quit and profile deleted")
    assert ("disconnected", {"reason": "logout"}) in client.events
    # nothing starts again by itself
    assert holds_for(lambda: client.status()["state"] == "disconnected" and nothing_left(profile_dir), 1.5)
    # and a new start gives a fresh QR that scans
    client.start_session()
    wait_state(client, "qr")
    phone_scans(client, simulator)
    wait_state(client, "connected")


def test_a_crm_logout_racing_a_phone_logout_keeps_the_phones_reason(make_client, simulator):
    client = connected_client(make_client, simulator)
    closed = len(sim_events(simulator, "connection_closed"))
    simulator.logout()  # the phone first; its page leaves (logs out) on its next poll of the server
    # Before the page has heard of it, a CRM logout would be the first to log out: no race to test. (The
    # gateway hears the page's logout event and may quit the browser before the page leaves.)
    wait_until(lambda: len(sim_events(simulator, "connection_closed")) > closed
               or client.status()["state"] == "disconnected", 15, what="the page to log out")
    try:
        status = client.logout(timeout=10)  # the CRM a moment later
    except StateError as exc:
        assert "session ended" in str(exc) or "connected session" in str(exc)
        status = wait_state(client, "disconnected", timeout=15)
    assert status["state"] == "disconnected" and status["reason"] == "logout"
