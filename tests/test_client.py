"""The session client in real Chromium through real Selenium, against the simulator."""

from __future__ import annotations

import os
import random
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

import pytest

from tests.helpers import (
    connected_client,
    decode_png,
    holds_for,
    nothing_left,
    phone_scans,
    wait_state,
    wait_until,
)
from wa_client import StateError, procs, profile

pytestmark = pytest.mark.browser


def event_names(client) -> list[str]:
    return [name for name, _ in client.events]


def test_first_qr_is_the_live_code_on_screen(make_client, simulator):
    client = make_client()
    status, started = client.start_session()
    assert started and status["state"] == "starting"
    wait_state(client, "qr")
    payload, version = client.qr()
    assert payload in simulator.live_payloads()
    assert version == client.status()["qr_version"]
    assert decode_png(client.qr_png()[1]) == payload


def test_start_session_is_idempotent_while_running(make_client):
    client = make_client()
    client.start_session()
    for _ in range(3):
        status, started = client.start_session()
        assert not started and status["state"] in ("starting", "qr")
    wait_state(client, "qr")
    assert len(procs.browsers_using(client.settings.profile_dir)) == 1


def test_png_is_rendered_once_per_version(make_client):
    client = make_client()
    client.start_session()
    wait_state(client, "qr")
    first, second = client.qr_png(), client.qr_png()
    if first[0] == second[0]:
        assert first[1] is second[1]


def sim_events(simulator, name: str) -> list[dict]:
    return [e for e in simulator.state()["events"] if e["event"] == name]


def test_rotation_publishes_each_new_code(make_client, simulator):
    simulator.configure(first_ref_s=1, next_ref_s=1, refs_per_cycle=4)
    client = make_client()
    client.start_session()
    served = wait_until(lambda: len(s := [p["qr"] for name, p in client.events if name == "qr"]) >= 3 and s, 15,
                        what="three QR events")
    issued = [e["payload"] for e in sim_events(simulator, "ref_issued")]
    assert len(set(served)) == len(served) >= 3
    assert set(served) <= set(issued)
    assert [p for p in issued if p in served] == served  # in the order WhatsApp showed them
    status = client.status()
    assert status["qr_cycle"]["index"] >= 3 and status["qr_cycle"]["of"] == 6


def test_expired_qr_is_never_served_and_reload_brings_fresh_codes(make_client, simulator):
    simulator.configure(first_ref_s=1, next_ref_s=1, refs_per_cycle=2)
    client = make_client()
    client.start_session()
    wait_state(client, "qr")
    expiry = wait_until(lambda: sim_events(simulator, "qr_expired"), 10, what="the first cycle to expire")[0]
    first_cycle = {e["payload"] for e in sim_events(simulator, "ref_issued") if e["t"] <= expiry["t"]}
    # the gateway clicks reload; a code of a new cycle is served, and the faded one never is
    wait_until(lambda: (q := client.qr()) and q[0] not in first_cycle and q[0] in simulator.live_payloads(), 10,
               what="a fresh code after reload")
    assert any(e["index"] == 1 and e["t"] > expiry["t"] for e in sim_events(simulator, "ref_issued"))
    served_after = [p["qr"] for name, p in client.events if name == "qr"][len(first_cycle):]
    assert not set(served_after) & first_cycle
    assert client.status()["state"] == "qr"


def test_faded_qr_is_withdrawn_while_it_waits_for_reload(make_client, simulator, monkeypatch):
    # WhatsApp keeps the old data-ref under the faded canvas; with the reload click kept from
    # working, the gateway must withdraw that code and serve nothing rather than a dead QR.
    monkeypatch.setattr("wa_client.commands.PageActions.reload_qr", lambda self: None)
    simulator.configure(first_ref_s=1, next_ref_s=1, refs_per_cycle=2)
    client = make_client()
    client.start_session()
    wait_state(client, "qr")
    wait_until(lambda: sim_events(simulator, "qr_expired"), 10, what="the cycle to expire")
    wait_until(lambda: client.qr() is None, 3, what="the faded QR withdrawn")
    assert holds_for(lambda: client.qr() is None and client.qr_png() is None, 1.0)
    assert client.status()["state"] == "qr" and client.status()["qr_version"] is None


def test_scan_leads_to_connected_with_events(make_client, simulator):
    client = connected_client(make_client, simulator)
    # events are delivered just after the state they belong to is published: wait for them
    names = wait_until(lambda: "ready" in (seen := event_names(client)) and seen, 10, what="the ready event")
    assert names.index("authenticated") < names.index("ready")
    assert client.qr() is None and client.status()["qr_version"] is None
    states = [h["state"] for h in client.history()]
    assert states[:2] == ["starting", "qr"] and states[-1] == "connected"


def test_logout_from_phone_ends_in_disconnected_and_deletes_profile(make_client, simulator):
    client = connected_client(make_client, simulator)
    profile_dir = client.settings.profile_dir
    simulator.logout()
    status = wait_state(client, "disconnected", timeout=10)
    assert status["reason"] == "logout"
    wait_until(lambda: nothing_left(profile_dir) and not os.path.exists(profile_dir), 10,
               what="browser quit and profile deleted")
    assert ("disconnected", {"reason": "logout"}) in client.events
    # nothing starts again by itself
    assert holds_for(lambda: client.status()["state"] == "disconnected" and nothing_left(profile_dir), 1.5)
    # and a new start gives a fresh QR that scans
    client.start_session()
    wait_state(client, "qr")
    phone_scans(client, simulator)
    wait_state(client, "connected")


def test_saved_login_survives_a_client_restart(make_client, simulator):
    first = make_client()
    first.start_session()
    wait_state(first, "qr")
    phone_scans(first, simulator)
    wait_state(first, "connected")
    first.shutdown()
    assert nothing_left(first.settings.profile_dir)
    second = make_client()
    second.start_session()
    wait_state(second, "connected")
    wait_until(lambda: "authenticated" in event_names(second), 10, what="the authenticated event")
    assert "qr" not in event_names(second)


def test_conflict_is_taken_over_by_default(make_client, simulator):
    client = connected_client(make_client, simulator)
    simulator.conflict()
    wait_until(lambda: any(h["state"] == "conflict" for h in client.history()), 10, what="conflict seen")
    wait_state(client, "connected")
    assert sim_events(simulator, "takeover")


def test_conflict_stays_when_takeover_is_off(make_client, simulator):
    client = connected_client(make_client, simulator, takeover_on_conflict=False)
    simulator.conflict()
    wait_state(client, "conflict")
    assert holds_for(lambda: client.status()["state"] == "conflict", 1.0)


def test_headless_user_agent_gets_unsupported_browser(make_client):
    client = make_client(user_agent="Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/156.0.0.0 Safari/537.36")
    client.start_session()
    status = wait_state(client, "failed")
    assert status["reason"] == "unsupported_browser"
    assert "User-Agent" in status["error"]
    wait_until(lambda: nothing_left(client.settings.profile_dir), 10, what="browser gone")


@pytest.mark.parametrize("victim", ["chromium", "chromedriver"])
def test_killed_browser_process_means_browser_crashed(make_client, victim):
    client = make_client()
    client.start_session()
    wait_state(client, "qr")
    browser = client._browser
    pid = browser.browser_pid if victim == "chromium" else browser.driver_pid
    os.kill(pid, signal.SIGKILL)
    status = wait_state(client, "failed", timeout=10)
    assert status["reason"] == "browser_crashed"
    assert victim in status["error"]
    wait_until(lambda: nothing_left(client.settings.profile_dir), 10, what="the rest of the tree cleaned up")
    client.start_session()
    wait_state(client, "qr")


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


def test_stale_lock_from_a_crashed_chromium_does_not_block_the_start(make_client):
    client = make_client()
    profile_dir = client.settings.profile_dir
    profile.ensure(profile_dir)  # a profile this gateway made, where a Chromium then crashed
    dead = subprocess.Popen(["true"])
    dead.wait()
    os.symlink(f"{socket.gethostname()}-{dead.pid}", os.path.join(profile_dir, "SingletonLock"))
    os.symlink("/tmp/gone-socket-dir/SingletonSocket", os.path.join(profile_dir, "SingletonSocket"))
    client.start_session()
    wait_state(client, "qr")


def test_profile_directory_is_private(make_client):
    client = make_client()
    client.start_session()
    wait_state(client, "qr")
    assert stat.S_IMODE(os.stat(client.settings.profile_dir).st_mode) == 0o700


def test_force_reset_in_the_middle_of_a_start(make_client):
    client = make_client()
    client.start_session()
    time.sleep(random.uniform(0.05, 0.4))  # lands somewhere inside the launch, on purpose
    status = client.force_reset()
    assert status["state"] == "idle"
    wait_until(lambda: nothing_left(client.settings.profile_dir), 10, what="launch cancelled cleanly")
    assert holds_for(lambda: client.status()["state"] == "idle", 1.0)


def test_logs_never_carry_the_whole_payload(make_client, caplog):
    caplog.set_level("DEBUG")
    client = make_client()
    client.start_session()
    wait_state(client, "qr")
    payload = client.qr()[0]
    assert payload not in caplog.text
    assert payload.split(",")[0] not in caplog.text


def test_many_threads_never_make_two_browsers(make_client):
    client = make_client()
    profile_dir = client.settings.profile_dir
    stop = threading.Event()
    most = [0]
    errors: list[BaseException] = []

    def sample() -> None:
        while not stop.is_set():
            most[0] = max(most[0], len(procs.browsers_using(profile_dir)))
            time.sleep(0.02)

    def hammer(seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            try:
                client.start_session() if rng.random() < 0.6 else client.force_reset()
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
            time.sleep(rng.uniform(0, 0.3))

    threads = [threading.Thread(target=sample)] + [threading.Thread(target=hammer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    time.sleep(8)  # the duration of the storm, not a wait for a condition
    stop.set()
    for t in threads:
        t.join(30)
    assert not errors
    assert most[0] <= 1
    client.force_reset()
    assert nothing_left(profile_dir)
    client.start_session()
    wait_state(client, "qr")


def test_pairing_code_links_without_a_scan(make_client, simulator):
    client = make_client()
    client.start_session()
    wait_state(client, "qr")
    code = client.request_pairing_code("+55 11 99999-0000")
    assert len(code) == 9 and code[4] == "-"
    assert client.status()["pairing_code"] == code
    assert client.qr() is None  # the QR is off screen while the code is shown
    assert simulator.confirm_pairing_code(code).status_code == 200
    wait_state(client, "connected")
    assert client.status()["pairing_code"] is None


@pytest.mark.parametrize("phone", ["", "12", "abc", "+55 11 9999x0000", "0011999990000", 5511999990000])
def test_bad_phone_numbers_are_refused_before_touching_the_page(make_client, phone):
    client = make_client()
    with pytest.raises(ValueError):
        client.request_pairing_code(phone)
    assert client.status()["state"] == "idle"


def test_commands_refuse_the_wrong_state(make_client):
    client = make_client()
    for command in (client.logout, client.take_over, lambda: client.request_pairing_code("+5511999990000")):
        with pytest.raises(StateError):
            command()
    assert client.status()["state"] == "idle"


def test_logout_from_the_crm_unlinks_the_device(make_client, simulator):
    client = connected_client(make_client, simulator)
    profile_dir = client.settings.profile_dir
    status = client.logout()
    assert status["state"] == "disconnected" and status["reason"] == "logout_requested"
    assert sim_events(simulator, "web_logout") or sim_events(simulator, "module_logout")
    assert simulator.state()["linked_devices"] == 0
    wait_until(lambda: nothing_left(profile_dir) and not os.path.exists(profile_dir), 10, what="clean logout")


def test_takeover_on_demand_when_automatic_takeover_is_off(make_client, simulator):
    client = connected_client(make_client, simulator, takeover_on_conflict=False)
    simulator.conflict()
    wait_state(client, "conflict")
    assert client.take_over()["state"] == "connected"
    assert sim_events(simulator, "takeover")


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


def test_a_second_pairing_request_is_refused_at_once(make_client):
    client = make_client()
    client.start_session()
    wait_state(client, "qr")
    code = client.request_pairing_code("+55 11 99999-0000")
    with pytest.raises(StateError, match="already shown"):
        client.request_pairing_code("+55 11 98888-0000")
    assert client.status()["pairing_code"] == code
