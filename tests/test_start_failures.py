"""A start that cannot succeed fails in words and leaves nothing: an unreachable WA_URL, a page that never
shows a QR, the QR timeout, a headless User-Agent (the session client and the real service)."""

from __future__ import annotations

import socket
from datetime import datetime

import pytest

from tests.gateway import free_port
from tests.helpers import (
    nothing_left,
    wait_state,
    wait_until,
)
from tests.processes import browser_tree


def _seconds_between(status_a: dict, status_b: dict) -> float:
    """Seconds between the `since` stamps of two /status answers."""
    def at(status: dict) -> datetime:
        return datetime.fromisoformat(status["since"].replace("Z", "+00:00"))

    return (at(status_b) - at(status_a)).total_seconds()


@pytest.mark.browser
def test_an_unreachable_wa_url_fails_in_words_and_leaves_nothing(gateway_factory, private_tmp):
    gateway = gateway_factory(WA_URL=f"http://127.0.0.1:{free_port()}/", WA_START_TIMEOUT_S="15",
                              TMPDIR=str(private_tmp))
    started = gateway.post("/start-session").json()
    failed = gateway.wait_status("failed", timeout=15 + 30)  # the start timeout, plus Chromium's launch on 2 cores
    wait_until(lambda: not browser_tree(gateway), 15, what="no browser after the failure")
    print(f"\nunreachable WA_URL: failed {_seconds_between(started, failed):.2f} s after Generate QR")

    assert failed["reason"] == "unreachable"
    assert "cannot be reached" in failed["error"] and "Generate QR" in failed["error"]
    assert gateway.stays("failed", seconds=1.0)


@pytest.mark.browser
def test_a_page_that_never_shows_a_qr_fails_after_the_start_timeout(gateway_factory, simulator, private_tmp):
    simulator.configure(never_show_qr=True)
    gateway = gateway_factory(WA_START_TIMEOUT_S="3", TMPDIR=str(private_tmp))
    started = gateway.post("/start-session").json()
    failed = gateway.wait_status("failed", timeout=3 + 30)
    wait_until(lambda: not browser_tree(gateway), 15, what="no browser after the failure")
    elapsed = _seconds_between(started, failed)
    print(f"\nnever a QR: failed {elapsed:.2f} s after Generate QR (WA_START_TIMEOUT_S=3)")

    assert failed["reason"] == "start_timeout"
    assert "did not finish loading within 3 s" in failed["error"]
    assert elapsed >= 3, "it gave up before the start timeout"
    assert gateway.stays("failed", seconds=1.0)


def test_headless_user_agent_gets_unsupported_browser(make_client):
    client = make_client(user_agent="Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/156.0.0.0 Safari/537.36")
    client.start_session()
    status = wait_state(client, "failed")
    assert status["reason"] == "unsupported_browser"
    assert "User-Agent" in status["error"]
    wait_until(lambda: nothing_left(client.settings.profile_dir), 10, what="browser gone")


def test_unreachable_url_fails_at_once(make_client):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    client = make_client(wa_url=f"http://127.0.0.1:{port}/", start_timeout_s=60)
    client.start_session()
    status = wait_state(client, "failed", timeout=15)
    assert status["reason"] == "unreachable"
    assert "cannot be reached" in status["error"]
    wait_until(lambda: nothing_left(client.settings.profile_dir), 10, what="browser gone")


def test_page_that_never_shows_a_qr_times_out(make_client, simulator):
    simulator.configure(never_show_qr=True)
    client = make_client(start_timeout_s=3)
    client.start_session()
    status = wait_state(client, "failed", timeout=15)
    assert status["reason"] == "start_timeout"
    wait_until(lambda: nothing_left(client.settings.profile_dir), 10, what="browser gone")


def test_qr_timeout_closes_the_browser_and_goes_idle(make_client):
    client = make_client(qr_timeout_s=3)
    client.start_session()
    status = wait_state(client, "idle")
    assert status["reason"] == "qr_timeout"
    assert "qr" in [h["state"] for h in client.history()]
    wait_until(lambda: nothing_left(client.settings.profile_dir), 10, what="browser gone")


def _driver_script(path, body: str) -> str:
    """An executable that stands where chromedriver should be (a broken install)."""
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o700)
    return str(path)


def test_a_chromedriver_that_exits_at_once_fails_in_words_and_leaves_nothing(make_client, tmp_path):
    client = make_client(chromedriver=_driver_script(tmp_path / "chromedriver", "exit 3"))
    client.start_session()
    status = wait_state(client, "failed", timeout=15)
    assert status["reason"] == "start_error", status
    assert "could not be started" in status["error"] and "Status code was: 3" in status["error"], status
    wait_until(lambda: nothing_left(client.settings.profile_dir), 10, what="browser gone")


def test_a_chromedriver_that_never_listens_is_given_up_in_words_and_killed(make_client, tmp_path, monkeypatch):
    from wa_client.browser import chromium
    from wa_client.browser.procs import alive

    monkeypatch.setattr(chromium, "SERVICE_START_S", 1.0)
    pid_file = tmp_path / "pid"
    silent = _driver_script(tmp_path / "chromedriver", f"echo $$ > {pid_file}; exec sleep 600")  # never listens
    client = make_client(chromedriver=silent)
    client.start_session()
    status = wait_state(client, "failed", timeout=15)
    assert "did not answer in time" in status["error"], status
    pid = int(pid_file.read_text())
    wait_until(lambda: not alive(pid), 10, what="the silent chromedriver killed")
