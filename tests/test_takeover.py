"""WhatsApp open on another computer: the conflict is taken over by default (Use here, never a trap),
stays when WA_TAKEOVER_ON_CONFLICT=0, and is taken over on demand."""

from __future__ import annotations

import pytest

from tests.gateway import SocketEvents, connected
from tests.helpers import (
    connected_client,
    holds_for,
    sim_events,
    wait_state,
    wait_until,
)


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
def test_conflict_is_taken_over_by_default_on_the_live_service(gateway, simulator):
    connected(gateway, simulator)
    assert simulator.conflict().status_code == 200
    wait_until(lambda: any(h["state"] == "conflict" for h in gateway.get("/history").json()["history"]), 30,
               what="the conflict in the history")
    gateway.wait_status("connected")
    assert gateway.get("/healthz?linked=1").status_code == 200


def test_conflict_is_taken_over_by_default(make_client, simulator):
    client = connected_client(make_client, simulator)
    simulator.conflict()
    wait_until(lambda: any(h["state"] == "conflict" for h in client.history()), 10, what="conflict seen")
    wait_state(client, "connected")
    assert sim_events(simulator, "takeover")


def test_conflict_stays_when_takeover_is_off(make_client, simulator):
    client = connected_client(make_client, simulator, takeover_on_conflict=False)
    simulator.conflict()
    wait_state(client, "conflict")
    assert holds_for(lambda: client.status()["state"] == "conflict", 1.0)


def test_takeover_on_demand_when_automatic_takeover_is_off(make_client, simulator):
    client = connected_client(make_client, simulator, takeover_on_conflict=False)
    simulator.conflict()
    wait_state(client, "conflict")
    assert client.take_over()["state"] == "connected"
    assert sim_events(simulator, "takeover")
