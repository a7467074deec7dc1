"""Unattended operation over the real service: back after a reboot (WA_AUTOSTART), back after a crash
(WA_RESTART_ON_CRASH), and never a QR that nobody asked for."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.gateway import Gateway, SocketEvents
from tests.helpers import wait_until
from tests.processes import browser_tree, still_alive
from tests.receivers import JsonReceiver
from wa_client.browser import profile
from wa_client.session.recovery import LINKED_MARKER

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

FAST_RESTART = {"WA_RESTART_ON_CRASH": "1", "WA_RESTART_BACKOFF_S": "0.2"}


@pytest.fixture
def saved_profile(shared_home):
    """A profile directory that outlives one gateway (for a second one to find); gone after the test's gateways."""
    return shared_home / "profile"


def _link(gateway: Gateway, simulator) -> None:
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr", timeout=60)
    gateway.phone_scans(simulator)
    gateway.wait_status("connected", timeout=30)


def _login_on_disk(profile_dir: Path) -> bool:
    """Chromium has written WhatsApp's saved login (localStorage) to the profile: a crash now keeps it."""
    store = profile_dir / "Default" / "Local Storage" / "leveldb"
    return any(b"WASecretBundle" in f.read_bytes() for f in store.glob("*") if f.is_file())


def _kill_chromium(gateway: Gateway) -> None:
    victims = gateway.browser_pids()
    assert len(victims) == 1, victims
    os.kill(victims.pop(), signal.SIGKILL)


def _entries(gateway: Gateway, **match) -> list[dict]:
    """Entries of /history's transitions (or of its commands, when `command` is asked for) that match."""
    key = "commands" if "command" in match else "history"
    return [e for e in gateway.get("/history").json()[key] if all(e.get(k) == v for k, v in match.items())]


def _metric(gateway: Gateway, name: str) -> float:
    for line in gateway.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_autostart_reconnects_a_saved_login_without_a_scan(gateway_factory, simulator, saved_profile):
    first = gateway_factory(WA_AUTOSTART="1", profile_dir=saved_profile)
    assert first.stays("idle", 0.5), "a fresh profile must not start by itself"
    _link(first, simulator)
    wait_until(lambda: (saved_profile / LINKED_MARKER).is_file(), 10, what="the linked marker")
    first.stop(check=True)
    assert (saved_profile / LINKED_MARKER).is_file(), "SIGTERM keeps the saved login"

    booted = time.monotonic()
    second = gateway_factory(WA_AUTOSTART="1", profile_dir=saved_profile)  # as after a reboot
    second.wait_status("connected", timeout=60)
    print(f"\nautostart: connected {time.monotonic() - booted:.2f} s after `python app.py` (no scan)")
    assert len(second.browser_pids()) == 1
    assert _entries(second, state="starting", reason="autostart")
    assert _entries(second, command="start_session", by={"via": "autostart"})
    assert _metric(second, "wa_autostarts_total") == 1
    assert second.post("/start-session").status_code == 200  # running already: never a second browser
    assert len(second.browser_pids()) == 1


def test_autostart_never_shows_a_qr_when_the_login_is_gone(gateway_factory, simulator, saved_profile):
    profile.ensure(saved_profile)  # a profile this gateway made (its marker inside)
    (saved_profile / LINKED_MARKER).write_text("2026-01-01T00:00:00.000Z\n")  # the phone unlinked us meanwhile
    gateway = gateway_factory(WA_AUTOSTART="1", profile_dir=saved_profile)
    status = gateway.wait_status(lambda s: s["reason"] == "not_linked", timeout=60)
    assert status["state"] == "idle" and "Generate QR" in status["error"]
    assert not any(e["state"] == "qr" for e in gateway.get("/history").json()["history"])
    assert gateway.get("/qr").status_code == 404
    assert not (saved_profile / LINKED_MARKER).exists()
    wait_until(lambda: not gateway.browser_pids(), 15, what="the browser to quit")
    assert gateway.post("/start-session").status_code == 202  # Generate QR still shows one
    gateway.wait_status("qr", timeout=60)


def test_a_crash_restarts_the_saved_login_and_a_logout_stays_down(gateway_factory, simulator):
    gateway = gateway_factory(**FAST_RESTART)
    _link(gateway, simulator)
    wait_until(lambda: _login_on_disk(gateway.profile_dir), 30, what="Chromium to write the login to disk")
    killed = time.monotonic()
    _kill_chromium(gateway)
    gateway.wait_status(lambda s: s["reason"] == "browser_crashed", timeout=30)
    wait_until(lambda: _entries(gateway, state="starting", reason="restart_after_crash"), 30, what="a restart")
    gateway.wait_status("connected", timeout=60)
    print(f"\ncrash: connected again {time.monotonic() - killed:.2f} s after SIGKILL (backoff 0.2 s)")
    assert len(gateway.browser_pids()) == 1
    restarts = _entries(gateway, command="start_session")
    assert restarts[-1]["by"] == {"via": "recovery", "attempt": 1}
    assert any("starts it again in 0.2 s (try 1 of 5" in (e["error"] or "") for e in _entries(gateway, state="failed"))
    assert _metric(gateway, "wa_crash_restarts_total") == 1

    assert simulator.logout().status_code == 200
    gateway.wait_status("disconnected", timeout=30)
    assert gateway.stays("disconnected", 1.0), "nothing restarts after a logout"
    assert _metric(gateway, "wa_crash_restarts_total") == 1


def test_a_crash_before_linking_restarts_without_showing_a_qr(gateway_factory, simulator):
    gateway = gateway_factory(**FAST_RESTART)
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr", timeout=60)
    events = SocketEvents(gateway.url)
    try:
        _kill_chromium(gateway)
        status = gateway.wait_status(lambda s: s["reason"] == "not_linked", timeout=60)
        assert status["state"] == "idle"
        assert "qr" not in events.names(), "the restart served a QR"
    finally:
        events.close()
    assert _entries(gateway, state="starting", reason="restart_after_crash")
    wait_until(lambda: not gateway.browser_pids(), 15, what="the browser to quit")


def test_a_force_reset_during_the_backoff_cancels_the_restart(gateway_factory, simulator):
    gateway = gateway_factory(WA_RESTART_ON_CRASH="1", WA_RESTART_BACKOFF_S="2")
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr", timeout=60)
    _kill_chromium(gateway)
    gateway.wait_status(lambda s: "starts it again" in (s["error"] or ""), timeout=30)
    assert gateway.post("/force-reset").json()["state"] == "idle"
    assert gateway.stays("idle", 3.0), "the planned restart must not run after a reset"
    assert not _entries(gateway, reason="restart_after_crash")


def test_after_five_restarts_in_an_hour_it_gives_up_in_words_and_tells_a_person(gateway_factory, simulator):

    with JsonReceiver() as receiver:
        gateway = gateway_factory(**FAST_RESTART, WA_NOTIFY_URLS=receiver.url())
        _link(gateway, simulator)
        wait_until(lambda: _login_on_disk(gateway.profile_dir), 30, what="Chromium to write the login to disk")
        for attempt in range(1, 6):
            _kill_chromium(gateway)
            by = {"via": "recovery", "attempt": attempt}
            wait_until(lambda by=by: _entries(gateway, command="start_session", by=by), 30, what=f"restart {by}")
            gateway.wait_status("connected", timeout=60)
        _kill_chromium(gateway)
        status = gateway.wait_status(lambda s: "stopped trying" in (s["error"] or ""), timeout=30)
        assert status["state"] == "failed" and status["reason"] == "browser_crashed"
        assert gateway.stays(lambda s: s["state"] == "failed", 1.0)
        wait_until(lambda: receiver.bodies, 20, what="the give-up notification")
    assert "gave up restarting" in receiver.bodies[0]["title"]
    assert _metric(gateway, "wa_crash_restarts_total") == 5
    assert _metric(gateway, "wa_crash_restart_give_ups_total") == 1
    assert _metric(gateway, "wa_browser_crashes_total") == 6


def test_a_frozen_browser_is_restarted_too(gateway_factory, simulator):
    from wa_client.browser import procs

    gateway = gateway_factory(**FAST_RESTART)
    _link(gateway, simulator)
    wait_until(lambda: _login_on_disk(gateway.profile_dir), 30, what="Chromium to write the login to disk")
    tree = browser_tree(gateway)
    procs.signal_pids(gateway.browser_pids(), signal.SIGSTOP)
    try:
        wait_until(lambda: _entries(gateway, state="starting", reason="restart_after_crash"), 40, what="a restart")
        assert any("stopped answering" in (e["error"] or "") for e in _entries(gateway, state="failed"))
        gateway.wait_status("connected", timeout=60)
        wait_until(lambda: not still_alive(tree), 15, what="the frozen browser killed")
    finally:
        procs.signal_pids(still_alive(tree), signal.SIGCONT)
    assert len(gateway.browser_pids()) == 1
