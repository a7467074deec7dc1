"""The session when things go wrong under it: a frozen browser, commands racing the session's end,
and a reset after the service was killed hard (real processes, real HTTP)."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from tests.gateway import Gateway
from tests.helpers import connected_client, wait_state, wait_until
from tests.processes import browser_tree, chromedriver_pids, still_alive
from wa_client import StateError, procs
from wa_client.profile import PID_FILE

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("which", ["chromium", "chromedriver"])
def test_a_frozen_browser_is_noticed_within_seconds_and_cleaned_up(gateway_factory, simulator, private_tmp, which):
    gateway = gateway_factory(TMPDIR=str(private_tmp))
    gateway.post("/start-session")
    gateway.wait_status("qr", timeout=60)
    victims = gateway.browser_pids() if which == "chromium" else chromedriver_pids(gateway)
    tree = browser_tree(gateway)
    stopped_at = time.monotonic()
    procs.signal_pids(victims, signal.SIGSTOP)
    try:
        # two 30-s command timeouts used to pass before anything was noticed; now the probe's own
        # short timeout and a 7-s window end it (the deadline here is generous, not a measurement)
        failed = gateway.wait_status("failed", timeout=25)
        print(f"\nfrozen {which}: failed {time.monotonic() - stopped_at:.1f} s after SIGSTOP")
        assert failed["reason"] == "browser_crashed" and "stopped answering" in failed["error"]
        wait_until(lambda: not still_alive(tree), 15, what="the frozen browser killed")
    finally:
        procs.signal_pids(still_alive(tree), signal.SIGCONT)
    assert gateway.get("/healthz?linked=1").status_code == 503


def test_a_pairing_code_racing_a_force_reset_is_answered_at_once_in_words(make_client, simulator):
    client = make_client()
    client.start_session()
    wait_state(client, "qr")
    answers: list[BaseException | str] = []

    def ask() -> None:
        try:
            answers.append(client.request_pairing_code("+55 11 99999 0000", timeout=20))
        except Exception as exc:  # noqa: BLE001 - the answer under test
            answers.append(exc)

    asker = threading.Thread(target=ask)
    asker.start()
    client.force_reset()
    asker.join(30)
    assert not asker.is_alive(), "the command still waits after the session was reset"
    assert len(answers) == 1
    if isinstance(answers[0], BaseException):  # the reset may also come after the code: both are fine
        assert isinstance(answers[0], StateError) and "session ended" in str(answers[0])


def test_a_command_after_the_session_ended_is_409_in_words(gateway, simulator):
    gateway.post("/start-session")
    gateway.wait_status("qr", timeout=60)
    assert gateway.post("/force-reset", timeout=30).status_code == 200
    for path, body in (("/pairing-code", {"phone": "+55 11 99999 0000"}), ("/logout", None), ("/takeover", None)):
        answer = gateway.post(path, json=body, timeout=10)
        assert answer.status_code == 409, (path, answer.text)
        assert "session is idle" in answer.json()["error"]


def test_a_crm_logout_racing_a_phone_logout_keeps_the_phones_reason(make_client, simulator):
    client = connected_client(make_client, simulator)
    simulator.logout()  # the phone first
    try:
        status = client.logout(timeout=10)  # the CRM a moment later
    except StateError as exc:
        assert "session ended" in str(exc) or "connected session" in str(exc)
        status = wait_state(client, "disconnected", timeout=15)
    assert status["state"] == "disconnected" and status["reason"] == "logout"


def test_force_reset_after_the_service_was_killed_hard_kills_what_it_left(gateway_factory, simulator, private_tmp):
    killed = Gateway.start(simulator.url, name="killed-before-reset", TMPDIR=str(private_tmp))
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
        killed.stop(check=False)
        procs.signal_pids(still_alive(browser_tree(killed)), signal.SIGKILL)
