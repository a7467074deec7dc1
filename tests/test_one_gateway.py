"""One gateway per port and per profile (issue 11), with real processes started as users do (`python app.py`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from urllib.parse import urlparse

import pytest
import requests

from tests.gateway import REPO_ROOT, SocketEvents, free_port
from tests.helpers import wait_until
from tests.processes import browser_tree, still_alive
from wa_client.browser.profile_lock import lock_path

pytestmark = pytest.mark.e2e

FIRST_TOKEN = "first-gateway-token-1b7e"
SECOND_TOKEN = "second-gateway-token-93fd"
REFUSAL_DEADLINE_S = 30.0  # a refused gateway exits long before; the deadline only bounds a failing test


def _launch(**env: str) -> subprocess.Popen:
    """`python app.py` with `env` over ours, its stdout and stderr captured."""
    full_env = {k: v for k, v in os.environ.items() if k != "WA_API_TOKEN"}
    full_env.update({"HOST": "127.0.0.1", "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1", **env})
    return subprocess.Popen([sys.executable, "app.py"], cwd=REPO_ROOT, env=full_env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _refusal(proc: subprocess.Popen) -> tuple[int, str]:
    """Wait (with a deadline) for a gateway that must refuse to start: its exit code and its stderr."""
    try:
        _, err = proc.communicate(timeout=REFUSAL_DEADLINE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"the second gateway did not refuse to start:\n{err[-2000:]}")
    return proc.returncode, err


def _status_on_a_new_connection(url: str, token: str) -> int:
    """GET /status on a connection of its own: the kernel picks the listener per connection, not per request."""
    with requests.Session() as http:
        http.trust_env = False
        return http.get(url + "/status", headers={"Authorization": f"Bearer {token}", "Connection": "close"},
                        timeout=10).status_code


@pytest.mark.parametrize("async_mode", ["eventlet", "threading"])
def test_a_second_gateway_on_the_same_port_exits_2_and_the_first_answers_everything(gateway_factory, tmp_path,
                                                                                    async_mode):
    first = gateway_factory(token=FIRST_TOKEN, WA_ASYNC_MODE=async_mode)
    port = urlparse(first.url).port
    second_profile = tmp_path / "second" / "profile"
    second = _launch(WA_URL="http://127.0.0.1:9/", PORT=str(port), WA_PROFILE_DIR=str(second_profile),
                     WA_API_TOKEN=SECOND_TOKEN, WA_ASYNC_MODE=async_mode)
    answers = []
    deadline = time.monotonic() + REFUSAL_DEADLINE_S
    while second.poll() is None and time.monotonic() < deadline:  # the second gateway's whole life
        answers.append(_status_on_a_new_connection(first.url, FIRST_TOKEN))
    code, err = _refusal(second)
    answers += [_status_on_a_new_connection(first.url, FIRST_TOKEN) for _ in range(20)]
    print(f"\n{async_mode}: {len(answers)} requests while and after the second gateway started; it said: {err}")

    assert code == 2
    said = [line for line in err.splitlines() if "in use" in line]
    assert len(said) == 1 and f"port {port}" in said[0] and f"pid {first.proc.pid}" in said[0], err
    assert set(answers) == {200}, "a request reached the second gateway (it does not know the first's token)"
    assert not second_profile.parent.exists(), "the refused gateway touched its profile"
    events = SocketEvents(first.url, FIRST_TOKEN)  # the first's own socket serves Socket.IO, websocket too
    try:
        assert events.wait_for("status")["state"] == "idle"
        wait_until(lambda: events.sio.transport() == "websocket", 10, what="the upgrade to a websocket")
    finally:
        events.close()


@pytest.mark.browser
def test_a_second_gateway_on_the_same_profile_is_refused_and_the_first_stays_connected(gateway_factory, simulator):
    first = gateway_factory()
    assert first.post("/start-session").status_code == 202
    first.wait_status("qr", timeout=60)
    first.phone_scans(simulator)
    first.wait_status("connected", timeout=30)
    tree = browser_tree(first)
    browsers = first.browser_pids()

    second = _launch(WA_URL=simulator.url, PORT=str(free_port()), WA_PROFILE_DIR=str(first.profile_dir))
    code, err = _refusal(second)
    print(f"\nthe second gateway said: {err.strip()}")

    assert code == 2
    assert "belongs to another gateway" in err and f"pid {first.proc.pid}" in err, err
    assert first.stays("connected", seconds=1.0)
    assert still_alive(tree) == sorted(tree), "the refused gateway touched the first one's browser"
    assert first.browser_pids() == browsers
    assert lock_path(first.profile_dir).read_text().strip() == str(first.proc.pid)


