"""`make test-logout`: the phone logs out, nothing restarts by itself, a new QR links again, reset cleans up."""

from __future__ import annotations

import pytest

from tests.helpers import holds_for, wait_until

pytestmark = [pytest.mark.logout, pytest.mark.e2e, pytest.mark.browser]


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

