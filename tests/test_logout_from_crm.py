"""Logout asked by the CRM: the device is unlinked on the phone, the browser and the profile go."""

from __future__ import annotations

import os

import pytest

from tests.gateway import connected
from tests.helpers import (
    connected_client,
    nothing_left,
    sim_events,
    wait_until,
)


def test_logout_from_the_crm_unlinks_the_device(make_client, simulator):
    client = connected_client(make_client, simulator)
    profile_dir = client.settings.profile_dir
    status = client.logout()
    assert status["state"] == "disconnected" and status["reason"] == "logout_requested"
    assert sim_events(simulator, "web_logout") or sim_events(simulator, "module_logout")
    assert simulator.state()["linked_devices"] == 0
    wait_until(lambda: nothing_left(profile_dir) and not os.path.exists(profile_dir), 10, what="clean logout")


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
