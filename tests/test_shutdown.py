"""Stopping the real service (`python app.py`): SIGTERM/SIGHUP quit the browser and keep the login, other signals
are ignored, half-open requests and abandoned sessions do not hold up the exit."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from urllib.parse import urlparse

import pytest

from tests.gateway import Gateway
from tests.helpers import wait_until
from tests.processes import assert_no_temp_leftovers, browser_tree, chromedriver_pids, still_alive
from wa_client.browser import procs
from wa_client.browser.profile import LOCK_FILES, MARKER, PID_FILE

pytestmark = pytest.mark.e2e

EXIT_DEADLINE_S = 25.0  # the gateway's own watchdog fires at 30 s with exit code 1


def _exit_code_after(gateway: Gateway, sig: int) -> int | None:
    """Send `sig` to the gateway and wait (with a deadline) for it to exit; its exit code (None: it did not)."""
    gateway.note_processes()
    gateway.proc.send_signal(sig)
    try:
        return gateway.proc.wait(EXIT_DEADLINE_S)
    except subprocess.TimeoutExpired:
        return None


# -- stop signals --------------------------------------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.parametrize("async_mode", ["eventlet", "threading"])
def test_sighup_stops_the_gateway_like_sigterm_and_leaves_no_browser(gateway_factory, simulator, private_tmp,
                                                                     async_mode):
    gateway = gateway_factory(WA_ASYNC_MODE=async_mode, TMPDIR=str(private_tmp))
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr", timeout=60)
    tree = browser_tree(gateway)
    assert tree

    assert _exit_code_after(gateway, signal.SIGHUP) == 0, gateway.log_tail()  # closing the terminal of `make run`
    wait_until(lambda: not still_alive(tree), 10, what="the browser to be gone with the gateway")
    assert not gateway.browser_pids()
    assert "SIGHUP received" in gateway.log_text()
    assert (gateway.profile_dir / MARKER).exists(), "a stop keeps the profile"
    assert not (gateway.profile_dir / PID_FILE).exists()
    assert_no_temp_leftovers(private_tmp)


@pytest.mark.parametrize("async_mode", ["eventlet", "threading"])
def test_sigusr1_and_sigusr2_are_logged_and_ignored(gateway_factory, async_mode):
    gateway = gateway_factory(WA_ASYNC_MODE=async_mode)
    before = gateway.status()
    for sig in (signal.SIGUSR1, signal.SIGUSR2):
        gateway.proc.send_signal(sig)
        wait_until(lambda s=sig: f"{s.name} received and ignored" in gateway.log_text(), 10, what=f"{sig.name} logged")
    assert gateway.proc.poll() is None, "a user signal killed the gateway"
    assert gateway.status() == before
    # the fixture then stops it with SIGTERM and checks exit code 0


# -- shutdown closes what clients left open -------------------------------------------------------------------------
@pytest.mark.parametrize("async_mode", ["eventlet", "threading"])
def test_half_open_requests_do_not_hold_up_sigterm(gateway_factory, async_mode):
    gateway = gateway_factory(WA_ASYNC_MODE=async_mode)
    port = urlparse(gateway.url).port
    half_headers = socket.create_connection(("127.0.0.1", port))
    half_headers.sendall(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and then nothing
    half_body = socket.create_connection(("127.0.0.1", port))
    half_body.sendall(b"POST /start-session HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 100\r\n\r\n{")
    idle = socket.create_connection(("127.0.0.1", port))
    idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert idle.recv(4096).startswith(b"HTTP/1.1 200")  # a keep-alive connection, idle from now on
    assert gateway.status()["state"] == "idle"  # the server got the half requests and goes on
    try:
        assert _exit_code_after(gateway, signal.SIGTERM) == 0, gateway.log_tail()
    finally:
        for connection in (half_headers, half_body, idle):
            connection.close()
    assert "took longer than" not in gateway.log_text()


@pytest.mark.browser
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


@pytest.mark.browser
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


@pytest.mark.browser
def test_sigterm_with_an_abandoned_long_polling_session_exits_cleanly():
    gateway = Gateway.start("http://127.0.0.1:9/", name="abandoned-session")  # no browser needed
    try:
        opened = gateway.http.get(gateway.url + "/socket.io/?EIO=4&transport=polling", timeout=10)
        assert opened.status_code == 200  # then the client goes away: a closed tab, a laptop lid, lost Wi-Fi
    finally:
        exit_code = gateway.stop(check=False)
    assert exit_code == 0


@pytest.mark.browser
@pytest.mark.parametrize("async_mode", ["eventlet", "threading"])
def test_sigterm_quits_the_browser_and_keeps_the_login(gateway_factory, simulator, async_mode):
    first = gateway_factory(WA_ASYNC_MODE=async_mode)
    assert first.post("/start-session").status_code == 202
    first.wait_status("qr")
    first.phone_scans(simulator)
    first.wait_status("connected")
    assert first.browser_pids()

    assert first.stop(check=True, keep_home=True) == 0  # exit 0, no Chromium or chromedriver left
    assert (first.profile_dir / "Default").is_dir()

    # The next start on the same profile links without a new scan.
    second = gateway_factory(profile_dir=first.profile_dir, WA_ASYNC_MODE=async_mode)
    assert second.post("/start-session").status_code == 202
    second.wait_status("connected")
    assert "qr" not in [change["state"] for change in second.get("/history").json()["history"]]
    assert second.stop(check=True) == 0


# -- the client without Flask -----------------------------------------------------------------------------------------
LIBRARY_USE = r"""
import sys, time
from wa_client import Settings, WhatsAppClient
client = WhatsAppClient(Settings.from_mapping({"wa_url": sys.argv[1], "profile_dir": sys.argv[2]}))
client.start_session()
deadline = time.monotonic() + 60
while client.state.value != "qr" and time.monotonic() < deadline:
    time.sleep(0.1)
print(client.state.value, *sorted(client.browser_pids()), flush=True)
sys.exit(0)  # no shutdown(), no force_reset(): the browser's own atexit stop must end it
"""


@pytest.mark.browser
def test_a_script_that_exits_without_shutdown_leaves_no_browser(simulator, private_tmp):
    profile_dir = private_tmp / "profile"
    done = subprocess.run([os.sys.executable, "-c", LIBRARY_USE, simulator.url, str(profile_dir)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "TMPDIR": str(private_tmp)})
    assert done.returncode == 0, done.stderr[-2000:]
    state, *pids = done.stdout.split()
    assert state == "qr", done.stderr[-2000:]
    assert pids, "the script saw no browser"
    def running(pid: int) -> bool:  # the script printed them a moment ago: a reused pid is not a worry here
        info = procs.info(pid)
        return info is not None and info.state not in ("Z", "X")

    wait_until(lambda: not any(running(int(pid)) for pid in pids), 10, what="the browser to be gone with the script")
