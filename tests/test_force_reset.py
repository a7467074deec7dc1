"""Force Reset: from any moment (even mid-start or after the service was killed hard) it ends in idle,
leaves no browser, answers the contract over HTTP and Socket.IO, and keeps /status answering."""

from __future__ import annotations

import random
import signal
import threading
import time
from pathlib import Path

import pytest
import requests

import app as app_module
from tests.gateway import Gateway
from tests.helpers import (
    holds_for,
    nothing_left,
    received,
    wait_until,
)
from tests.processes import (
    browser_tree,
    still_alive,
)
from wa_client import ResetError
from wa_client.browser import procs, profile
from wa_client.browser.profile import DELETING, PID_FILE


def test_force_reset_in_the_middle_of_a_start(make_client):
    client = make_client()
    client.start_session()
    time.sleep(random.uniform(0.05, 0.4))  # lands somewhere inside the launch, on purpose
    status = client.force_reset()
    assert status["state"] == "idle"
    wait_until(lambda: nothing_left(client.settings.profile_dir), 10, what="launch cancelled cleanly")
    assert holds_for(lambda: client.status()["state"] == "idle", 1.0)


@pytest.mark.browser
def test_force_reset_over_http_in_the_middle_of_a_start(gateway):
    assert gateway.post("/start-session").status_code == 202
    reset = gateway.post("/force-reset")
    assert reset.status_code == 200
    assert reset.json() == {"ok": True, "message": reset.json()["message"], "state": "idle"}
    wait_until(lambda: not gateway.browser_pids() and not gateway.driver_pids(), 10, what="no browser left")
    assert not gateway.profile_dir.exists()
    assert gateway.stays("idle", seconds=1.0)


def test_force_reset_from_idle_answers_the_contract(http):
    response = http.post("/force-reset", json={})
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] is True and body["state"] == "idle" and body["message"]


def test_force_reset_failure_is_500_with_ok_false(app, monkeypatch):
    def refuse(**_origin) -> dict:
        raise ResetError("the profile directory could not be deleted")

    monkeypatch.setattr(app.extensions["wa_client"], "force_reset", refuse)
    response = app.test_client().post("/force-reset")
    assert response.status_code == 500
    assert response.get_json() == {"ok": False, "error": "the profile directory could not be deleted"}


def test_socket_force_reset_answers_the_asker(app):
    sio = app_module.socketio.test_client(app)
    sio.get_received()
    sio.emit("force-reset", {"unexpected": "payload"})
    events = received(sio)
    assert events["force-reset-success"][0]["message"]
    assert events["status"][-1]["state"] == "idle"
    sio.disconnect()


def test_socket_force_reset_failure_answers_force_reset_error(app, monkeypatch):
    def refuse(**_origin) -> dict:
        raise ResetError("could not delete the profile")

    monkeypatch.setattr(app.extensions["wa_client"], "force_reset", refuse)
    sio = app_module.socketio.test_client(app)
    sio.emit("force-reset")
    assert received(sio)["force-reset-error"] == [{"error": "could not delete the profile"}]
    sio.disconnect()


@pytest.mark.browser
def test_force_reset_after_the_service_was_killed_hard_kills_what_it_left(gateway_factory, simulator, private_tmp):
    killed = Gateway.start(simulator.url, name="killed-before-reset", TMPDIR=str(private_tmp))
    successor = None
    try:
        killed.post("/start-session")
        killed.wait_status("qr", timeout=60)
        orphans = browser_tree(killed)
        killed.proc.kill()  # SIGKILL: chromedriver and Chromium live on
        killed.proc.wait(10)
        assert still_alive(orphans)
        successor = gateway_factory(profile_dir=killed.profile_dir, TMPDIR=str(private_tmp))
        answer = successor.post("/force-reset", timeout=30)
        assert answer.status_code == 200 and answer.json()["ok"] is True
        assert not still_alive(orphans), f"Force Reset answered ok while {still_alive(orphans)} lived"
        assert not (killed.profile_dir / PID_FILE).exists()
        successor.post("/start-session")  # and the next Generate QR works: nothing holds the profile
        successor.wait_status("qr", timeout=60)
    finally:
        if successor is not None:  # first: it works in the killed gateway's home, which stop() removes
            successor.stop()
        killed.stop(check=False)
        procs.signal_pids(still_alive(browser_tree(killed)), signal.SIGKILL)


BIG_PROFILE_FILES = 50_000


STATUS_TIMEOUT_S = 30.0  # generous: every /status must come back, however slowly


# -- a big profile is deleted off the event loop -------------------------------------------------------------------
def _big_profile(path: Path, files: int) -> None:
    """A profile made by the gateway, holding `files` small files in 100 directories."""
    profile.ensure(path)
    per_dir = files // 100
    for d in range(100):
        folder = path / "Default" / f"cache{d}"
        folder.mkdir(parents=True)
        for f in range(per_dir):
            (folder / f"entry{f}").write_bytes(b"x")


@pytest.mark.parametrize("async_mode", ["eventlet", "threading"])
def test_resetting_a_large_profile_keeps_status_answering(gateway_factory, tmp_path, async_mode):
    profile_dir = tmp_path / "profile"
    _big_profile(profile_dir, BIG_PROFILE_FILES)
    gateway = gateway_factory(profile_dir=profile_dir, WA_ASYNC_MODE=async_mode)
    answers: list[tuple[int, float]] = []
    polling = threading.Event()
    done = threading.Event()

    def poll_status() -> None:
        with requests.Session() as http:
            http.trust_env = False
            while not done.is_set():
                started = time.monotonic()
                answers.append((http.get(gateway.url + "/status", timeout=STATUS_TIMEOUT_S).status_code,
                                time.monotonic() - started))
                polling.set()
                done.wait(0.01)  # pace the poller: two shared cores must also run the deletion

    poller = threading.Thread(target=poll_status, daemon=True)
    poller.start()
    assert polling.wait(10), "the poller got no answer"
    started = time.monotonic()
    reset = gateway.post("/force-reset", timeout=120)
    took = time.monotonic() - started
    done.set()
    poller.join(STATUS_TIMEOUT_S + 5)
    slowest = max(seconds for _, seconds in answers)
    print(f"\n{async_mode}: reset of {BIG_PROFILE_FILES} files answered in {took:.2f} s; {len(answers)} /status "
          f"meanwhile, slowest {slowest * 1000:.0f} ms")

    assert reset.status_code == 200 and reset.json()["state"] == "idle"
    assert not poller.is_alive() and {code for code, _ in answers} == {200}
    assert not profile_dir.exists()
    assert not [p.name for p in tmp_path.iterdir() if DELETING in p.name], "a moved-aside profile was left"


@pytest.mark.browser
def test_a_command_after_the_session_ended_is_409_in_words(gateway, simulator):
    gateway.post("/start-session")
    gateway.wait_status("qr", timeout=60)
    assert gateway.post("/force-reset", timeout=30).status_code == 200
    for path, body in (("/pairing-code", {"phone": "+55 11 99999 0000"}), ("/logout", None), ("/takeover", None)):
        answer = gateway.post(path, json=body, timeout=10)
        assert answer.status_code == 409, (path, answer.text)
        assert "session is idle" in answer.json()["error"]
