"""Chromium or chromedriver dies, freezes, or the gateway is killed hard: the session says browser_crashed,
cleans up, and the next start reaps what was left (real processes, real HTTP)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.gateway import Gateway
from tests.helpers import (
    decode_qr,
    nothing_left,
    wait_state,
    wait_until,
)
from tests.processes import (
    BrowserSampler,
    assert_no_temp_leftovers,
    browser_tree,
    chromedriver_pids,
    generate_qr_works,
    still_alive,
)
from wa_client.browser import procs
from wa_client.browser.profile import LOCK_FILES, PID_FILE
from wa_client.browser.profile_lock import lock_path

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


@pytest.mark.parametrize("victim", ["chromium", "chromedriver"])
def test_killed_browser_process_means_browser_crashed(make_client, victim):
    client = make_client()
    client.start_session()
    wait_state(client, "qr")
    browser = client._runner.browser
    pid = browser.browser_pid if victim == "chromium" else browser.driver_pid
    os.kill(pid, signal.SIGKILL)
    status = wait_state(client, "failed", timeout=10)
    assert status["reason"] == "browser_crashed"
    assert victim in status["error"]
    wait_until(lambda: nothing_left(client.settings.profile_dir), 10, what="the rest of the tree cleaned up")
    client.start_session()
    wait_state(client, "qr")


ORPHAN_SCRIPT = """
import sys, time
from wa_client import Settings, WhatsAppClient
client = WhatsAppClient(Settings.from_mapping({"wa_url": sys.argv[1], "profile_dir": sys.argv[2]}))
client.start_session()
while client.status()["state"] != "qr":
    time.sleep(0.05)
print("qr", flush=True)
time.sleep(120)
"""


def test_browser_left_by_a_gateway_killed_hard_is_reaped_at_the_next_start(make_client, simulator):
    client = make_client()
    profile_dir = client.settings.profile_dir
    dying = subprocess.Popen([sys.executable, "-c", ORPHAN_SCRIPT, simulator.url, profile_dir],
                             stdout=subprocess.PIPE, text=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    try:
        assert dying.stdout.readline().strip() == "qr"
        orphans = procs.browsers_using(profile_dir)
        assert len(orphans) == 1
        dying.kill()  # SIGKILL: no atexit, no cleanup; its Chromium lives on
        dying.wait(10)
        assert procs.browsers_using(profile_dir) == orphans
        client.start_session()
        wait_state(client, "qr")
        assert not orphans & procs.browsers_using(profile_dir)
        assert len(procs.browsers_using(profile_dir)) == 1
    finally:
        dying.kill()
        dying.wait(10)
        dying.stdout.close()


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
    generate_qr_works(gateway)


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


@pytest.mark.browser
def test_after_a_sigkill_the_next_gateway_takes_the_profile_over_and_reaps_the_browser(gateway_factory, simulator,
                                                                                      private_tmp):
    killed = Gateway.start(simulator.url, name="profile-owner-killed", TMPDIR=str(private_tmp))
    orphans: dict[int, int] = {}
    try:
        assert killed.post("/start-session").status_code == 202
        killed.wait_status("qr", timeout=60)
        orphans = browser_tree(killed)
        killed.proc.kill()  # SIGKILL: the kernel drops its lock; its chromedriver and Chromium live on
        killed.proc.wait(10)
        assert still_alive(orphans), "the browser died with the service; nothing to reap"

        successor = gateway_factory(profile_dir=killed.profile_dir, TMPDIR=str(private_tmp))
        wait_until(lambda: not still_alive(orphans), 15, what="the new owner to reap the orphaned browser")
        assert lock_path(killed.profile_dir).read_text().strip() == str(successor.proc.pid)
        assert successor.status()["state"] == "idle", "reaping must not start a browser"
        assert_no_temp_leftovers(private_tmp)
        assert successor.post("/start-session").status_code == 202
        successor.wait_status("qr", timeout=60)
        assert len(successor.browser_pids()) == 1
        assert successor.stop(check=True) == 0  # before the profile (in the killed gateway's home) goes
    finally:
        procs.signal_pids(still_alive(orphans), signal.SIGKILL)
        killed.stop(check=False)
    assert not killed.profile_dir.exists()
