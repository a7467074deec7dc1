"""WA_REMOTE_URL against a real Selenium Grid (hub and node on loopback): a reset there means what it means here.

The node's profiles sit on a tmpfs that only the node's mount namespace sees (tests/grid.py), so the
gateway cannot delete them: whatever makes a reset work here works through the Grid alone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from tests.gateway import OUTPUT_DIR, REPO_ROOT
from tests.grid import NODE_NAME, Grid, GridUnavailable, ensure_jar
from tests.helpers import phone_scans, wait_state, wait_until
from wa_client import Settings, WhatsAppClient
from wa_client.browser import profile, remote

pytestmark = [pytest.mark.browser, pytest.mark.grid]

PINNED = json.dumps({"clinic:node": NODE_NAME})


@pytest.fixture(scope="session")
def grid():
    """One hub and one node for the whole run; at the end both stop and nothing of theirs is left."""
    try:
        jar = ensure_jar()
    except (GridUnavailable, OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"no Selenium Grid: neither Java nor the Grid's jar could be installed ({exc})")
    running = Grid(jar).start()
    yield running
    left = running.stop()
    assert not left, f"Grid processes outlived the Grid: {left}"


@pytest.fixture
def no_session_left(grid):
    """No test may leave a session open on the Grid (its /status is asked), nor a Chromium on the node."""
    yield grid
    grid.wait_no_sessions()
    wait_until(lambda: not grid.browser_tree(), 15, what="no Chromium left on the node")


@pytest.fixture
def profile_dir(no_session_left, request):
    """WA_PROFILE_DIR under the node's hidden root: the gateway's own copy of that path is another directory."""
    path = no_session_left.profile_root / request.node.name.replace("[", "-").replace("]", "")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def grid_client(simulator, grid, profile_dir):
    """A session client in this process whose browser runs on the Grid, pinned to the node."""
    made = []

    def build(**overrides) -> WhatsAppClient:
        client = WhatsAppClient(Settings.from_mapping({
            "wa_url": simulator.url, "profile_dir": str(profile_dir), "remote_url": grid.url,
            "remote_capabilities": PINNED, "qr_timeout_s": 120, "start_timeout_s": 30, **overrides}))
        made.append(client)
        return client

    yield build
    for client in reversed(made):  # the newest holds the browser; an older one would reset the link again
        client.force_reset()


def link_of(profile_dir) -> str | None:
    """The node-side profile path the gateway remembers for the current link."""
    state = remote._read(profile_dir)
    return state.get("profile_dir")


def test_force_reset_and_logout_on_a_grid_node_show_a_new_qr(profile_dir, gateway_factory, simulator,  # noqa: F811
                                                           grid):
    gw = gateway_factory(WA_REMOTE_URL=grid.url, WA_REMOTE_CAPABILITIES=PINNED, profile_dir=profile_dir)
    assert gw.post("/start-session").status_code == 202
    gw.wait_status("qr")
    first = link_of(profile_dir)
    assert grid.node_path(first).is_dir()
    if grid.hidden:  # the gateway cannot reach the node's profile: only the Grid can clear it
        assert not os.path.exists(first)
    gw.phone_scans(simulator)
    gw.wait_status("connected")

    reset = gw.post("/force-reset")
    assert reset.status_code == 200, reset.text
    assert reset.json()["state"] == "idle"
    grid.wait_no_sessions()
    gw.post("/start-session")
    gw.wait_status(lambda s: s["state"] in ("qr", "authenticating", "connected"))
    assert gw.stays("qr", 2), "the old login came back after Force Reset"
    second = link_of(profile_dir)
    assert second != first

    gw.phone_scans(simulator)
    gw.wait_status("connected")
    assert simulator.logout().status_code == 200
    status = gw.wait_status("disconnected")
    assert status["reason"] == "logout"
    grid.wait_no_sessions()
    gw.post("/start-session")
    gw.wait_status(lambda s: s["state"] in ("qr", "authenticating", "connected"))
    assert gw.stays("qr", 2), "the login came back after the phone logged out"
    assert link_of(profile_dir) not in (first, second)
    assert gw.post("/force-reset").status_code == 200


def test_the_cleared_node_profile_holds_no_login_even_when_reused(grid_client, simulator, grid, profile_dir):
    # The per-link path alone would hide a surviving login; open the old path again to prove it is empty.
    client = grid_client()
    client.start_session()
    wait_state(client, "qr")
    phone_scans(client, simulator)
    wait_state(client, "connected")
    old = remote._read(profile_dir)
    assert client.force_reset()["state"] == "idle"
    grid.wait_no_sessions()
    assert grid.node_path(old["profile_dir"]).is_dir(), "the test needs the old profile still on the node"
    profile.ensure(profile_dir)  # the reset deleted the local profile: the gateway's own again, then
    remote._write(profile_dir, old)  # as if the gateway had kept using the old node path
    client.start_session()
    wait_until(lambda: client.status()["state"] in ("qr", "authenticating", "connected"), 60, what="a page")
    assert client.status()["state"] == "qr"


def test_a_reset_after_a_restart_clears_the_node_profile_without_a_live_browser(grid_client, simulator, grid,
                                                                                 profile_dir):
    client = grid_client()
    client.start_session()
    wait_state(client, "qr")
    phone_scans(client, simulator)
    wait_state(client, "connected")
    client.shutdown()  # the login is kept on the node, as by a service restart
    grid.wait_no_sessions()
    old = remote._read(profile_dir)
    restarted = grid_client()
    assert restarted.force_reset()["state"] == "idle"  # opens the old path once on the node to clear it
    grid.wait_no_sessions()
    profile.ensure(profile_dir)
    remote._write(profile_dir, old)
    restarted.start_session()
    wait_until(lambda: restarted.status()["state"] in ("qr", "authenticating", "connected"), 60, what="a page")
    assert restarted.status()["state"] == "qr"


def test_a_browser_killed_on_the_node_is_noticed_and_its_slot_freed(grid_client, grid):
    client = grid_client()
    client.start_session()
    wait_state(client, "qr")
    assert len(grid.sessions()) == 1
    (pid,) = grid.browsers()
    os.kill(pid, signal.SIGKILL)
    status = wait_state(client, "failed", timeout=30)
    assert status["reason"] == "browser_crashed"
    grid.wait_no_sessions()


def test_two_gateways_with_two_numbers_share_one_grid(profile_dir, gateway_factory, simulator, grid):  # noqa: F811
    # The simulator has one account: both gateways reach their own QR at once, and one of them links.
    front = gateway_factory(WA_REMOTE_URL=grid.url, profile_dir=profile_dir / "front-desk")
    back = gateway_factory(WA_REMOTE_URL=grid.url, profile_dir=profile_dir / "back-office")
    front.post("/start-session")
    back.post("/start-session")
    front.wait_status("qr")
    back.wait_status("qr")
    assert len(grid.sessions()) == 2
    assert link_of(profile_dir / "front-desk") != link_of(profile_dir / "back-office")
    front.phone_scans(simulator)
    front.wait_status("connected")
    assert back.status()["state"] == "qr"
    assert front.post("/force-reset").status_code == 200
    assert back.post("/force-reset").status_code == 200


def test_a_restarted_gateway_pinned_to_its_node_reconnects_without_a_scan(profile_dir, gateway_factory,  # noqa: F811
                                                                       simulator, grid):
    env = {"WA_REMOTE_URL": grid.url, "WA_REMOTE_CAPABILITIES": PINNED, "profile_dir": profile_dir}
    first = gateway_factory(**env)
    first.post("/start-session")
    first.wait_status("qr")
    first.phone_scans(simulator)
    first.wait_status("connected")
    assert grid.sessions()[0]["capabilities"]["clinic:node"] == NODE_NAME
    _record_memory(grid)
    scans = len(simulator.state()["devices"])
    assert first.stop() == 0
    grid.wait_no_sessions()  # the service's stop quit the node's browser, and kept the login there

    second = gateway_factory(**env)
    second.post("/start-session")
    second.wait_status("connected", timeout=60)
    assert len(simulator.state()["devices"]) == scans, "the phone had to scan again"
    assert second.post("/force-reset").status_code == 200


def test_pinning_to_a_node_the_grid_does_not_have_fails_with_words(grid_client):
    client = grid_client(remote_capabilities=json.dumps({"clinic:node": "no-such-node"}))
    client.start_session()
    status = wait_state(client, "failed", timeout=60)
    assert status["reason"] == "start_error"
    assert "no Selenium Grid node that matches WA_REMOTE_CAPABILITIES" in status["error"]


def test_listening_through_the_grid_sees_a_rotation_and_a_logout_without_the_slow_probe(grid_client, simulator):
    # issue 21: the page's wakes come back through the Grid too (the slow safety-net probe is 30 s away)
    client = grid_client(probe_interval_s=30.0)
    client.start_session()
    wait_state(client, "qr")
    first = client.qr_png()[0]
    wait_until(lambda: (shown := client.qr_png()) and shown[0] != first, 5, what="the rotated QR through the Grid")
    phone_scans(client, simulator)
    wait_state(client, "connected", timeout=30)
    assert client.counters["page_wakes"] >= 2
    listener = client._runner.worker.listener  # noqa: SLF001 - on a Grid the push channel is WebDriver BiDi
    assert listener.pushed and listener.channel is None
    assert simulator.logout().status_code == 200
    assert wait_state(client, "disconnected", timeout=5)["reason"] == "logout"


@pytest.mark.parametrize("value", ["{not json", "[1, 2]", "{}", '{"goog:chromeOptions": {}}'])
def test_bad_remote_capabilities_stop_the_service_with_words(value):
    done = subprocess.run([sys.executable, "app.py", "--wa-remote-capabilities", value], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "WA_REMOTE_CAPABILITIES" in done.stderr


def _record_memory(grid: Grid) -> None:
    """Write down what one connected session costs on the node (docs/operations.md, the scale-out guide)."""
    pss, rss = grid.memory_kib()
    OUTPUT_DIR.mkdir(exist_ok=True)
    line = f"one connected session on the node: PSS {pss / 1024:.0f} MiB, RSS {rss / 1024:.0f} MiB, " \
           f"{len(grid.browser_tree())} processes\n"
    with open(OUTPUT_DIR / "grid-memory.txt", "a") as out:
        out.write(line)
