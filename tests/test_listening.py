"""Listen, don't poll: in a steady state the worker waits for the page's wakes, and still sees every change
at once; the slow safety-net probe is set to 30 s here, so whatever is seen within seconds came by a wake."""

from __future__ import annotations

import threading

import pytest

from tests.helpers import connected_client, holds_for, phone_scans, wait_state, wait_until
from wa_client.page.watch import Listener
from wa_client.page.watch_scripts import COUNTS_SCRIPT

pytestmark = pytest.mark.browser

SLOW_PROBE = {"probe_interval_s": 30.0}
DEADLINE_S = 5.0  # far below the slow probe's 30 s


@pytest.fixture(params=["pushed", "async_wait"])
def channel(request, monkeypatch):
    """Each test through both ways a wake comes back: pushed (over Chrome DevTools on a local browser; a Grid's
    BiDi in tests/test_grid.py), or a short async wait."""
    if request.param == "async_wait":
        monkeypatch.setattr(Listener, "start", lambda self, context: False)  # as on a driver with no push channel
    return request.param


def _listener(client) -> Listener:
    return client._runner.worker.listener  # noqa: SLF001 - the test looks at which channel the worker listens on


def _qr_version(client) -> int | None:
    shown = client.qr_png()
    return shown[0] if shown else None


def test_a_qr_rotation_is_served_without_the_slow_probe(make_client, simulator, channel):
    client = make_client(**SLOW_PROBE)
    client.start_session()
    wait_state(client, "qr")
    first = wait_until(lambda: _qr_version(client) is not None, 30, what="a first QR") and _qr_version(client)
    before = client.counters["page_probes"]
    wait_until(lambda: _qr_version(client) not in (None, first), DEADLINE_S, what="the rotated QR")
    assert client.counters["page_wakes"] >= 1
    assert client.counters["page_probes"] - before <= 10  # a few wakes, not a poll every 0.2 s


def test_a_phone_logout_is_noticed_without_the_slow_probe(make_client, simulator, channel):
    client = connected_client(make_client, simulator, **SLOW_PROBE)
    assert simulator.logout().status_code == 200
    status = wait_state(client, "disconnected", timeout=DEADLINE_S)
    assert status["reason"] == "logout"


def test_a_conflict_is_noticed_without_the_slow_probe(make_client, simulator, channel):
    client = connected_client(make_client, simulator, takeover_on_conflict=False, **SLOW_PROBE)
    assert simulator.conflict().status_code == 200
    wait_state(client, "conflict", timeout=DEADLINE_S)


def test_a_command_is_answered_promptly_while_listening(make_client, simulator, channel):
    client = connected_client(make_client, simulator, **SLOW_PROBE)
    wait_until(lambda: _quiet(client), 10, what="a quiet page")
    answers: list = []
    asking = threading.Thread(target=lambda: answers.append(client.screenshot()))  # through the worker's queue
    asking.start()
    wait_until(lambda: answers, DEADLINE_S, what="the command's answer (not behind the 30-s slow probe)")
    asking.join()
    assert answers[0] and answers[0].startswith(b"\x89PNG")


def test_an_idle_page_is_read_only_by_the_slow_probe(make_client, simulator, channel):
    client = connected_client(make_client, simulator, probe_interval_s=1.0)
    wait_until(lambda: _quiet(client), 10, what="a quiet page")
    before = client.counters["page_probes"]
    assert holds_for(lambda: client.counters["page_probes"] - before <= 4, seconds=3.0)  # polling: ~15


def test_the_watcher_is_back_after_a_reload(make_client, simulator):
    client = connected_client(make_client, simulator, **SLOW_PROBE)
    driver = client._runner.browser.driver  # noqa: SLF001 - the test looks into the page the worker watches
    wait_until(lambda: driver.execute_script(COUNTS_SCRIPT)["watching"], 10, what="the watcher")
    # The phone links again after a reload of the page: the reload itself is a wake.
    driver.execute_script("location.reload()")
    wait_until(lambda: client.state == "connected" and driver.execute_script(COUNTS_SCRIPT)["watching"], DEADLINE_S,
               what="the watcher on the new page")


def _quiet(client) -> bool:
    """No wake in the last half second (the page has settled)."""
    before = client.counters["page_probes"]
    return holds_for(lambda: client.counters["page_probes"] == before, seconds=0.5)


def test_a_scan_links_without_the_slow_probe(make_client, simulator):
    client = make_client(**SLOW_PROBE)
    client.start_session()
    wait_state(client, "qr")
    phone_scans(client, simulator)
    wait_state(client, "connected", timeout=DEADLINE_S + 5)


def test_presence_churn_on_a_heavy_page_does_not_wake_the_worker(make_client, simulator, channel):
    simulator.configure(heavy=True)
    client = connected_client(make_client, simulator, **SLOW_PROBE)
    driver = client._runner.browser.driver  # noqa: SLF001 - the test looks into the page the worker watches
    rows = "return document.querySelectorAll('.heavy-row').length"
    wait_until(lambda: driver.execute_script(rows) >= 290, 10, what="the heavy page's 300 chats")
    wait_until(lambda: _quiet(client), 10, what="a quiet page")
    wakes, probes = client.counters["page_wakes"], client.counters["page_probes"]
    checks = driver.execute_script(COUNTS_SCRIPT)["checks"]
    assert holds_for(lambda: client.counters["page_probes"] == probes, seconds=3.0)
    assert client.counters["page_wakes"] == wakes
    assert driver.execute_script(COUNTS_SCRIPT)["checks"] > checks  # the watcher saw the churn, and kept quiet
    # ...and a change that matters on the same heavy page still wakes it at once.
    assert simulator.logout().status_code == 200
    wait_state(client, "disconnected", timeout=DEADLINE_S)


def test_the_wakes_are_pushed_through_devtools_on_a_local_browser_which_is_not_asked_for_bidi(make_client, simulator,
                                                                                              channel):
    client = connected_client(make_client, simulator, **SLOW_PROBE)
    listener = _listener(client)
    assert listener.pushed is (channel == "pushed")
    assert (listener.channel is not None and listener.channel.open) is (channel == "pushed")
    # WebDriver BiDi costs ~0.2 s at every start, before the first QR: a local session does not ask for it.
    assert not client._runner.browser.driver.caps.get("webSocketUrl")  # noqa: SLF001


def test_the_devtools_channel_ends_with_its_session(make_client, simulator):
    client = connected_client(make_client, simulator, **SLOW_PROBE)
    devtools = wait_until(lambda: _listener(client).channel, DEADLINE_S, what="the DevTools channel")
    client.force_reset()
    wait_until(lambda: not devtools.open, DEADLINE_S, what="the DevTools reader to end")
    assert not [t for t in threading.enumerate() if t.name == "devtools-reader" and t.is_alive()]


def test_a_lost_devtools_channel_falls_back_to_waits_that_still_hear_a_logout(make_client, simulator):
    client = connected_client(make_client, simulator, **SLOW_PROBE)
    devtools = wait_until(lambda: _listener(client).channel, DEADLINE_S, what="the DevTools channel")
    devtools.close()  # as if its socket died: the session goes on
    wait_until(lambda: not _listener(client).pushed, DEADLINE_S, what="the fall back to short waits")
    assert simulator.logout().status_code == 200
    assert wait_state(client, "disconnected", timeout=DEADLINE_S)["reason"] == "logout"  # not the 30-s probe


def _metric(gateway, name: str) -> float:
    line = next(x for x in gateway.get("/metrics").text.splitlines() if x.startswith(name + " "))
    return float(line.split()[1])


@pytest.mark.e2e
def test_the_service_listens_on_eventlet_and_counts_its_wakes_and_reads(gateway_factory, simulator):
    # `python app.py` as users start it (eventlet monkey-patched): the DevTools socket's reader thread and all
    gateway = gateway_factory(WA_PROBE_INTERVAL_S="30")
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr")
    gateway.phone_scans(simulator)
    gateway.wait_status("connected")
    wait_until(lambda: "listening to the page through Chrome DevTools" in gateway.log_text(), DEADLINE_S,
               what=f"the push channel in the log:\n{gateway.log_text()[-3000:]}")
    wakes = _metric(gateway, "wa_page_wakes_total")
    assert wakes >= 2 and _metric(gateway, "wa_page_probes_total") >= wakes
    assert simulator.logout().status_code == 200
    assert gateway.wait_status("disconnected", timeout=DEADLINE_S)["reason"] == "logout"
