"""WA_REMOTE_URL: the session's Chromium runs behind a chromedriver server instead of locally."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile

import pytest

from tests.helpers import nothing_left, phone_scans, wait_state, wait_until
from wa_client import Settings, WhatsAppClient
from wa_client.browser import procs, remote
from wa_client.browser.chromium import find_chromedriver

pytestmark = pytest.mark.browser

CHROMEDRIVER = find_chromedriver(Settings.from_env())  # found as the gateway finds it


@pytest.fixture
def remote_node():
    """A chromedriver server on loopback, as a Selenium node would offer one."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    node_tmp = tempfile.mkdtemp(prefix="wa-remote-node-tmp-")  # what a killed Chromium leaves is the node's
    server = subprocess.Popen([CHROMEDRIVER, f"--port={port}"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True,
                              env={**os.environ, "TMPDIR": node_tmp})
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: _answers(port), 10, what="the chromedriver server")
    yield url
    server.terminate()
    server.wait(10)
    procs.kill_tree(procs.group_members(server.pid), grace=0)
    shutil.rmtree(node_tmp, ignore_errors=True)
    assert nothing_left(os.devnull)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def remote_client(simulator, remote_node):
    root = tempfile.mkdtemp(prefix="wa-remote-test-")
    profile_dir = os.path.join(root, "profile")
    client = WhatsAppClient(Settings.from_mapping({"wa_url": simulator.url, "profile_dir": profile_dir,
                                                   "remote_url": remote_node}))
    yield client
    link = remote._read(profile_dir).get("profile_dir") or profile_dir
    client.force_reset()
    try:
        # the node's chromedriver server stays up until its own fixture ends; its browser must not
        wait_until(lambda: not procs.browsers_using(link), 10, what="the remote browser closed")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _browsers_below(profile_dir: str) -> set[int]:
    """Chromium main processes on the link's profile (WA_PROFILE_DIR/link-*, see wa_client/browser/remote.py)."""
    link = remote._read(profile_dir).get("profile_dir")
    return procs.browsers_using(link) if link else set()


def test_remote_browser_goes_from_qr_to_connected_and_resets(remote_client, simulator):
    remote_client.start_session()
    wait_state(remote_client, "qr")
    link = remote._read(remote_client.settings.profile_dir)["profile_dir"]
    assert len(procs.browsers_using(link)) == 1
    phone_scans(remote_client, simulator)
    wait_state(remote_client, "connected")
    assert remote_client.force_reset()["state"] == "idle"
    wait_until(lambda: not procs.browsers_using(link), 10, what="the remote Chromium quit by reset")
    assert not os.path.exists(remote_client.settings.profile_dir)


def test_remote_browser_that_dies_means_browser_crashed(remote_client):
    remote_client.start_session()
    wait_state(remote_client, "qr")
    (pid,) = _browsers_below(remote_client.settings.profile_dir)
    os.kill(pid, signal.SIGKILL)
    status = wait_state(remote_client, "failed", timeout=20)
    assert status["reason"] == "browser_crashed"


def test_unreachable_remote_node_fails_with_words(simulator):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = tempfile.mkdtemp(prefix="wa-remote-test-")
    client = WhatsAppClient(Settings.from_mapping({"wa_url": simulator.url, "profile_dir": root + "/profile",
                                                   "remote_url": f"http://127.0.0.1:{port}"}))
    try:
        client.start_session()
        status = wait_state(client, "failed", timeout=30)
        assert status["reason"] == "start_error"
        assert "browser could not be started" in status["error"]
    finally:
        client.force_reset()
        shutil.rmtree(root, ignore_errors=True)
