"""Faults over the real service (`python app.py`, real Chromium): crashes, dead pages, stale locks, hard stops."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.gateway import Gateway, free_port
from tests.helpers import decode_qr, wait_until
from tests.processes import BrowserSampler, assert_no_temp_leftovers, browser_tree, chromedriver_pids, still_alive
from wa_client import Settings, procs, profile
from wa_client.browser import chrome_options, find_chromium
from wa_client.profile import LOCK_FILES, PID_FILE

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

def _seconds_between(status_a: dict, status_b: dict) -> float:
    """Seconds between the `since` stamps of two /status answers."""
    def at(status: dict) -> datetime:
        return datetime.fromisoformat(status["since"].replace("Z", "+00:00"))

    return (at(status_b) - at(status_a)).total_seconds()


def _nothing_left(gateway: Gateway, tree: dict[int, int]) -> bool:
    """No process of `tree` or of the gateway's browser, no stale Chromium lock, no pid record."""
    leftovers = [n for n in (*LOCK_FILES, PID_FILE) if (gateway.profile_dir / n).is_symlink()
                 or (gateway.profile_dir / n).exists()]
    return not still_alive(tree) and not browser_tree(gateway) and not leftovers


def _kill_one(gateway: Gateway, which: str) -> int:
    """SIGKILL the Chromium main process or chromedriver of the running session; its pid."""
    victims = gateway.browser_pids() if which == "chromium" else chromedriver_pids(gateway)
    assert len(victims) == 1, f"expected one {which}, found {victims}"
    victim = victims.pop()
    os.kill(victim, signal.SIGKILL)
    return victim


def _generate_qr_works(gateway: Gateway) -> None:
    """Generate QR brings a readable code; Force Reset then leaves no browser."""
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr", timeout=60)
    wait_until(lambda: decode_qr(gateway.get("/qr.png").content), 15, what="a readable QR")
    assert gateway.post("/force-reset", timeout=30).json()["state"] == "idle"
    wait_until(lambda: not browser_tree(gateway), 15, what="no browser after the reset")


@pytest.mark.parametrize("which", ["chromium", "chromedriver"])
def test_a_killed_browser_process_means_browser_crashed_and_is_cleaned_up(gateway_factory, simulator,
                                                                          private_tmp, which):
    gateway = gateway_factory(TMPDIR=str(private_tmp))
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr", timeout=60)
    tree = browser_tree(gateway)
    killed_at = time.monotonic()
    _kill_one(gateway, which)

    status = gateway.wait_status("failed", timeout=30)
    noticed = time.monotonic() - killed_at
    wait_until(lambda: _nothing_left(gateway, tree), 15,
               what=f"the tree of {len(tree)} processes, the locks and the pid record to go")
    cleaned = time.monotonic() - killed_at
    print(f"\n{which} SIGKILL: failed after {noticed:.2f} s; {len(tree)} processes, locks and pid record gone "
          f"after {cleaned:.2f} s")

    assert status["reason"] == "browser_crashed"
    assert "stopped unexpectedly" in status["error"] and "Generate QR" in status["error"]
    assert (gateway.profile_dir / "Default").is_dir(), "a crash must not delete the saved login"
    assert gateway.stays("failed", seconds=1.0), "something restarted the browser by itself"
    _generate_qr_works(gateway)


@pytest.mark.parametrize("which", ["chromium", "chromedriver"])
def test_a_killed_browser_process_leaves_no_temp_directory(gateway_factory, simulator, private_tmp, which):
    gateway = gateway_factory(TMPDIR=str(private_tmp))
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr", timeout=60)
    tree = browser_tree(gateway)
    _kill_one(gateway, which)
    gateway.wait_status("failed", timeout=30)
    wait_until(lambda: _nothing_left(gateway, tree), 15, what="the browser's processes to go")
    assert os.listdir(private_tmp) == []


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


def _crash_a_chromium_on(profile_dir: Path, tmp: Path) -> None:
    """Run a real Chromium on `profile_dir` and SIGKILL it: it leaves SingletonLock/Socket/Cookie behind."""
    profile.ensure(profile_dir)  # the gateway's own profile, where a Chromium crashed
    settings = Settings.from_env()
    flags = chrome_options(settings, str(profile_dir), None).arguments  # the gateway's own flags
    browser = subprocess.Popen(
        [find_chromium(settings) or "chromium", *flags, "about:blank"],
        env={**os.environ, "TMPDIR": str(tmp)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        wait_until(lambda: (profile_dir / "SingletonLock").is_symlink(), 30, what="Chromium to lock its profile")
    finally:
        os.killpg(browser.pid, signal.SIGKILL)
        browser.wait(10)
    wait_until(lambda: not procs.browsers_using(str(profile_dir)), 10, what="the crashed Chromium to be gone")


def _lock_from_another_machine(profile_dir: Path, tmp: Path) -> None:
    """Locks as a Chromium on another host (a profile copied over, or a shared disk) leaves them."""
    profile.ensure(profile_dir)  # the gateway's profile, copied from another machine with its locks
    os.symlink("clinic-old-pc-4242", profile_dir / "SingletonLock")
    os.symlink(str(tmp / "org.chromium.Chromium.gone" / "SingletonSocket"), profile_dir / "SingletonSocket")
    os.symlink("1234567890", profile_dir / "SingletonCookie")


@pytest.mark.parametrize("leave_locks", [_crash_a_chromium_on, _lock_from_another_machine],
                         ids=["crashed-chromium", "another-machine"])
def test_a_stale_profile_lock_does_not_block_the_start(gateway_factory, simulator, tmp_path, private_tmp,
                                                       leave_locks):
    profile_dir = tmp_path / "profile"
    leave_locks(profile_dir, private_tmp)
    assert (profile_dir / "SingletonLock").is_symlink()
    gateway = gateway_factory(profile_dir=profile_dir, TMPDIR=str(private_tmp))
    _generate_qr_works(gateway)


def test_sigterm_during_a_start_leaves_no_process_behind(gateway_factory, private_tmp):
    gateway = gateway_factory(TMPDIR=str(private_tmp))
    assert gateway.post("/start-session").status_code == 202
    wait_until(lambda: chromedriver_pids(gateway), 30, what="chromedriver to be started")
    gateway.note_processes()
    seen = dict(gateway.seen)
    assert gateway.stop(check=True, keep_home=True) == 0  # exit 0; no seen or profile browser survives
    assert not still_alive(seen)
    assert not procs.browsers_using(str(gateway.profile_dir))
    assert_no_temp_leftovers(private_tmp)


def test_sigterm_while_connected_leaves_nothing_and_the_login_survives(gateway_factory, simulator, private_tmp):
    first = gateway_factory(TMPDIR=str(private_tmp))
    assert first.post("/start-session").status_code == 202
    first.wait_status("qr", timeout=60)
    first.phone_scans(simulator)
    first.wait_status("connected", timeout=30)
    tree = browser_tree(first)

    assert first.stop(check=True, keep_home=True) == 0
    assert not still_alive(tree)
    assert not [n for n in LOCK_FILES if (first.profile_dir / n).is_symlink()]
    assert not (first.profile_dir / PID_FILE).exists()
    assert os.listdir(private_tmp) == [], "a temp directory outlived the service"

    second = gateway_factory(profile_dir=first.profile_dir, TMPDIR=str(private_tmp))
    assert second.post("/start-session").status_code == 202
    second.wait_status("connected", timeout=60)
    assert "qr" not in [change["state"] for change in second.get("/history").json()["history"]]
    assert second.stop(check=True) == 0  # before `first` is checked at teardown: they share the profile



def test_sigterm_with_an_abandoned_long_polling_session_exits_cleanly():
    gateway = Gateway.start("http://127.0.0.1:9/", name="abandoned-session")  # no browser needed
    try:
        opened = gateway.http.get(gateway.url + "/socket.io/?EIO=4&transport=polling", timeout=10)
        assert opened.status_code == 200  # then the client goes away: a closed tab, a laptop lid, lost Wi-Fi
    finally:
        exit_code = gateway.stop(check=False)
    assert exit_code == 0


def test_a_service_killed_hard_is_cleaned_up_by_the_next_start(gateway_factory, simulator, private_tmp):
    killed = Gateway.start(simulator.url, name="killed-hard", TMPDIR=str(private_tmp))
    try:
        assert killed.post("/start-session").status_code == 202
        killed.wait_status("qr", timeout=60)
        orphans = browser_tree(killed)
        assert (killed.profile_dir / PID_FILE).exists()
        killed.proc.kill()  # SIGKILL: no handler, no atexit; chromedriver and Chromium live on
        killed.proc.wait(10)
        assert still_alive(orphans), "the browser died with the service; nothing to reap"

        successor = gateway_factory(profile_dir=killed.profile_dir, TMPDIR=str(private_tmp))
        with BrowserSampler(successor) as sampler:
            assert successor.post("/start-session").status_code == 202
            successor.wait_status("qr", timeout=60)
        print(f"\nreaped {len(orphans)} orphaned processes; during the new start: {sampler.line()}")
        assert not still_alive(orphans), f"orphans survived the next start: {still_alive(orphans)}"
        assert sampler.max_browsers <= 1
        assert len(successor.browser_pids()) == 1
        wait_until(lambda: decode_qr(successor.get("/qr.png").content), 15, what="a readable QR")
        assert successor.post("/force-reset", timeout=30).json()["state"] == "idle"
    finally:
        killed.stop(check=False)
        procs.signal_pids(still_alive(browser_tree(killed)), signal.SIGKILL)
