"""Hardening II (issue 17), real service (`python app.py`): stop signals, profile paths, big resets, shutdown."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from tests.gateway import REPO_ROOT, Gateway, free_port
from tests.helpers import wait_until
from tests.processes import assert_no_temp_leftovers, browser_tree, still_alive
from wa_client import profile
from wa_client.profile import DELETING, MARKER, PID_FILE

pytestmark = pytest.mark.e2e

EXIT_DEADLINE_S = 25.0  # the gateway's own watchdog fires at 30 s with exit code 1
BIG_PROFILE_FILES = 50_000
STATUS_TIMEOUT_S = 30.0  # generous: every /status must come back, however slowly


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


# -- what WA_PROFILE_DIR may name -------------------------------------------------------------------------------------
def _refused_profile(value: str, tmp_path: Path) -> tuple[int, str]:
    """Start `python app.py` with WA_PROFILE_DIR=`value`; its exit code and stderr (it must not start)."""
    env = {k: v for k, v in os.environ.items() if k != "WA_API_TOKEN"}
    env.update({"WA_URL": "http://127.0.0.1:9/", "HOST": "127.0.0.1", "PORT": str(free_port()),
                "WA_PROFILE_DIR": value, "HOME": os.environ.get("HOME", "/root")})
    done = subprocess.run([sys.executable, "app.py"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    return done.returncode, done.stderr


def _symlink_to_a_directory(tmp_path: Path) -> str:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    return str(tmp_path / "link")


def _regular_file(tmp_path: Path) -> str:
    (tmp_path / "profile").write_text("not a directory")
    return str(tmp_path / "profile")


def _someone_elses_files(tmp_path: Path) -> str:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "x-ray.png").write_bytes(b"\x89PNG")
    return str(tmp_path / "photos")


@pytest.mark.parametrize(("make_value", "words"), [
    (lambda _: "/", "system directory"),
    (lambda _: "~", "home directory"),
    (lambda _: "/tmp", "system directory"),
    (lambda _: "/etc", "system directory"),
    (lambda _: "/var", "system directory"),
    (lambda _: ".", "project directory"),
    (lambda _: str(REPO_ROOT), "project directory"),
    # a clone in /tmp has a system directory for a parent: then that is what the refusal names
    (lambda _: str(REPO_ROOT.parent),
     "system directory" if REPO_ROOT.parent in profile.SYSTEM_DIRS else "parent of the project directory"),
    (_symlink_to_a_directory, "symbolic link"),
    (_regular_file, "is a file"),
    (_someone_elses_files, "did not create"),
], ids=["root", "home", "tmp", "etc", "var", "dot", "project", "project-parent", "symlink", "file", "foreign"])
def test_a_profile_path_that_reset_must_not_delete_is_refused_at_startup(tmp_path, make_value, words):
    value = make_value(tmp_path)
    before = sorted(os.listdir(tmp_path))
    code, err = _refused_profile(value, tmp_path)
    assert code == 2, err
    assert words in err and "WA_PROFILE_DIR" in err, err
    assert sorted(os.listdir(tmp_path)) == before, "a refused start changed something"
    if make_value is _symlink_to_a_directory:
        assert os.listdir(tmp_path / "real") == []


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
