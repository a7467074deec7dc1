"""WhatsApp Web as it is in December 2026 (docs/whatsapp-web.md, "Late 2026"): each change has a simulator
knob whose default is the late-2026 site; the gateway reads the page through each channel alone.

Driver tests run the gateway's own probe in real Chromium against the simulator; client tests run the
whole session (wa_client) against it.
"""

from __future__ import annotations

import pytest

from tests.gateway import connect_socket
from tests.helpers import connected_client, decode_png, nothing_left, phone_scans, wait_state, wait_until
from wa_client import selectors
from wa_client.page.probe import PROBE_SCRIPT, Observation, probe_args
from wa_client.page.recognise import Page, recognise

pytestmark = pytest.mark.browser

BUILD = "2.3000.1045818043"
SIGNS = probe_args(selectors.load(None))


def probe(driver) -> Observation:
    """What the gateway's probe reads from the page now (it also installs the gateway's listeners)."""
    return Observation.from_probe(driver.execute_script(PROBE_SCRIPT, SIGNS, {}))


def open_page(make_driver, simulator):
    driver = make_driver()
    driver.get(simulator.url)
    return driver


def require(driver, name: str) -> str:
    """'ok' when window.require(name) answers, else the error's message ('' without a loader)."""
    return driver.execute_script(
        "if (typeof window.require !== 'function') return '';"
        "try { window.require(arguments[0]); return 'ok'; } catch (e) { return String(e.message); }", name)


def link(driver, simulator) -> None:
    """The phone scans the QR the page shows; the chats load."""
    payload = wait_until(lambda: probe(driver).dom.qr_payload, 20, what="a QR on the page")
    assert simulator.scan(payload).status_code == 200
    wait_until(lambda: recognise(probe(driver)).page is Page.CHATS, 20, what="the chats")


# ---- window.Debug and the build --------------------------------------------------------------------

def test_window_debug_is_gone_and_the_build_is_in_updater_version(make_driver, simulator):
    driver = open_page(make_driver, simulator)
    wait_until(lambda: require(driver, "WAWebSocketModel") == "ok", 20, what="the modules")
    assert driver.execute_script("return typeof window.Debug;") == "undefined"
    assert probe(driver).modules.version == BUILD


def test_debug_global_restores_window_debug_version(make_driver, simulator):
    simulator.configure(debug_global=True)
    driver = open_page(make_driver, simulator)
    wait_until(lambda: require(driver, "WAWebSocketModel") == "ok", 20, what="the modules")
    assert driver.execute_script("return window.Debug.VERSION;") == "2.3000.1030000000"


@pytest.mark.parametrize("debug_global", [False, True])
def test_the_gateway_reads_the_modules_without_window_debug(make_client, simulator, debug_global):
    # DOM renamed: only the modules can recognise the page, and window.Debug is absent by default
    simulator.configure(dom_drift=True, debug_global=debug_global)
    client = connected_client(make_client, simulator)
    assert client.status()["seen_by"] == ["modules"]
    assert client.status()["wa_version"] == BUILD


def test_wa_version_is_null_without_the_modules(make_client, simulator):
    simulator.configure(modules=False)
    client = make_client()
    client.start_session()
    wait_state(client, "qr")
    assert client.status()["wa_version"] is None


# ---- modules on demand ---------------------------------------------------------------------------------

def test_late_modules_are_unknown_until_they_register(make_driver, simulator):
    simulator.configure(late_modules_s=2.0)
    driver = open_page(make_driver, simulator)
    wait_until(lambda: require(driver, "WAWebConnModel") == "ok", 20, what="the loader")
    assert require(driver, "WAWebCmd") == 'Requiring unknown module "WAWebCmd"'
    assert probe(driver).modules is None  # not yet: the channel is off until WAWebSocketModel is there
    wait_until(lambda: require(driver, "WAWebCmd") == "ok", 10, what="WAWebCmd to register")
    assert wait_until(lambda: probe(driver).modules, 5, what="the modules channel").state


def test_without_modules_on_demand_every_module_comes_with_the_loader(make_driver, simulator):
    simulator.configure(modules_on_demand=False, late_modules_s=5.0)
    driver = open_page(make_driver, simulator)
    wait_until(lambda: require(driver, "WAWebConnModel") == "ok", 20, what="the loader")
    assert [require(driver, name) for name in ("WAWebSocketModel", "WAWebCmd", "WAWebStreamModel")] == ["ok"] * 3


# ---- logout events: Cmd and WAWebBackendEventBus ---------------------------------------------------------

@pytest.mark.parametrize(("logout_event", "bus", "heard"), [
    ("logout_from_bridge", False, True),  # December 2026: Cmd's new event alone
    ("logout", False, True),  # mid-2026: Cmd's old event alone
    ("none", True, True),  # WAWebBackendEventBus alone
    ("none", False, False),  # no module sign at all: the probe must not invent one
])
def test_a_logout_is_heard_through_each_module_sign(make_driver, simulator, logout_event, bus, heard):
    simulator.configure(logout_event=logout_event, backend_event_bus=bus)
    driver = open_page(make_driver, simulator)
    link(driver, simulator)
    probe(driver)  # the listeners are in
    assert not probe(driver).logout_seen
    simulator.logout()
    wait_until(lambda: recognise(probe(driver)).page in (Page.LOGGED_OUT, Page.QR, Page.LANDING), 20,
               what="the page after the logout")
    wait_until(lambda: probe(driver).dom.qr_payload, 20, what="the QR after the reload")
    assert probe(driver).logout_seen is heard


def test_every_bus_event_the_gateway_knows_is_recorded_and_wakes_the_worker(make_driver, simulator):
    driver = open_page(make_driver, simulator)
    wait_until(lambda: probe(driver).modules, 20, what="the modules")  # the listeners are in
    driver.execute_script("window.__waGateway = {woken: [], wake: (name) => window.__waGateway.woken.push(name)};")
    expected = {"logout": (True, None), "starting_logout": (True, None), "unexpected_logout_modal": (True, None),
                "account_temporarily_banned": (False, "smb_tos_block"),
                "service_unavailable_503": (False, "service_unavailable"), "refresh_qr": (False, None)}
    for event, (logout_seen, bus_block) in expected.items():
        driver.execute_script("sessionStorage.clear();"
                              "require('WAWebBackendEventBus').BackendEventBus.trigger(arguments[0]);", event)
        obs = probe(driver)
        assert (obs.logout_seen, obs.modules.bus_block) == (logout_seen, bus_block), event
    assert driver.execute_script("return window.__waGateway.woken;") == list(expected)[:5]
    probe(driver)  # once per module object: a second probe adds no second listener
    driver.execute_script("require('WAWebBackendEventBus').BackendEventBus.trigger('logout');")
    assert driver.execute_script("return window.__waGateway.woken;")[5:] == ["logout"]


@pytest.mark.parametrize("channel", [{"dom_drift": True}, {"modules": False}])
@pytest.mark.parametrize("logout_event", ["logout_from_bridge", "logout"])
def test_a_logout_from_the_phone_ends_in_disconnected(make_client, simulator, channel, logout_event):
    simulator.configure(**channel, logout_event=logout_event)
    client = connected_client(make_client, simulator)
    profile_dir = client.settings.profile_dir
    simulator.logout()
    status = wait_state(client, "disconnected", timeout=20)
    assert status["reason"] == "logout"
    wait_until(lambda: nothing_left(profile_dir), 15, what="the browser quit and the profile deleted")


# ---- blocks the bus announces ------------------------------------------------------------------------------

@pytest.mark.parametrize("channel", [{"dom_drift": True}, {"modules": False}])
def test_service_unavailable_fails_naming_it_through_each_channel(make_client, simulator, channel):
    simulator.configure(**channel, screen="service_unavailable")
    client = make_client(start_timeout_s=20)
    client.start_session()
    status = wait_state(client, "failed", timeout=30)
    assert status["reason"] == "service_unavailable" and "unavailable" in status["error"]


def test_the_bus_is_the_only_sign_of_service_unavailable_on_a_renamed_page(make_driver, simulator):
    simulator.configure(dom_drift=True, screen="service_unavailable")
    driver = open_page(make_driver, simulator)
    sight = wait_until(lambda: (s := recognise(probe(driver))).page is Page.BLOCKED and s, 20, what="a block")
    assert (sight.dom, sight.block) == (Page.UNKNOWN, "service_unavailable")
    simulator.configure(backend_event_bus=False)
    driver.execute_script("sessionStorage.clear(); location.reload();")  # what the listener recorded goes too
    wait_until(lambda: probe(driver).modules, 20, what="the modules")
    assert recognise(probe(driver)).page is not Page.BLOCKED


# ---- Stream.mode ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("stream_model", "modes"), [(True, ("QR", "MAIN")), (False, ("", ""))])
def test_stream_mode_follows_the_page(make_driver, simulator, stream_model, modes):
    simulator.configure(stream_model=stream_model)
    driver = open_page(make_driver, simulator)
    wait_until(lambda: probe(driver).dom.qr_payload and probe(driver).modules, 20, what="the QR")
    assert probe(driver).modules.stream_mode == modes[0]
    link(driver, simulator)
    wait_until(lambda: probe(driver).modules.has_synced, 10, what="the chats synced")
    assert probe(driver).modules.stream_mode == modes[1]


# ---- an unknown page while the modules say OPENING -----------------------------------------------------------

def test_an_unknown_page_over_opening_modules_says_so_and_points_to_the_screenshot(make_client, simulator):
    simulator.configure(screen="unknown_opening")
    client = make_client(start_timeout_s=8)
    client.start_session()
    status = wait_state(client, "failed", timeout=40)
    assert status["reason"] == "page_not_recognised"
    assert "does not know" in status["error"] and "/screenshot.png" in status["error"]
    assert "internet" not in status["error"]
    assert client.screenshot().startswith(b"\x89PNG")  # kept after the browser quit


# ---- "qr" only with a code in hand ---------------------------------------------------------------------------

def test_qr_is_announced_only_with_a_png_to_serve_when_stay_logged_in_starts_unticked(make_client, simulator):
    simulator.configure(stay_logged_in_default=False)
    client = make_client()
    misses: list[str] = []

    def at_once(event: str, payload: dict) -> None:  # runs as the event is published: the strictest race
        if event == "status" and payload["state"] == "qr" and client.qr_png() is None:
            misses.append(payload["since"])

    client.subscribe(at_once)
    for _ in range(4):
        client.start_session()
        wait_state(client, "qr")
        assert client.qr_png() is not None
        decode_png(client.qr_png()[1])
        client.force_reset()
    assert misses == []


def test_the_stay_logged_in_box_is_ticked_before_the_link(make_client, simulator):
    simulator.configure(stay_logged_in_default=False)
    client = make_client()
    client.start_session()
    wait_state(client, "qr")
    phone_scans(client, simulator)
    wait_state(client, "connected")
    assert simulator.state()["devices"][0]["stay_logged_in"] is True


@pytest.mark.e2e
def test_a_crm_that_fetches_the_png_on_every_qr_status_never_gets_a_404(gateway_factory, simulator):
    # `python app.py`, stay-logged-in unticked at first: the moment a status event (Socket.IO) or a /status
    # poll says `qr`, /qr.png is fetched; over several Generate QR / Force Reset cycles every answer is 200
    simulator.configure(stay_logged_in_default=False)
    gateway = gateway_factory()
    answers: list[tuple[str, int]] = []

    def fetch_png(via: str) -> None:
        answers.append((via, gateway.get("/qr.png").status_code))

    sio = connect_socket(gateway, {"token": gateway.token} if gateway.token else None)
    sio.on("status", lambda status: status["state"] == "qr" and fetch_png("socket.io"))
    try:
        for _ in range(3):
            assert gateway.post("/start-session").status_code == 202
            wait_until(lambda: gateway.status()["state"] == "qr" and (fetch_png("/status") or True), 60,
                       interval=0.01, what="the qr state")
            wait_until(lambda: any(via == "socket.io" for via, _ in answers), 10, what="the status event")
            assert gateway.post("/force-reset").status_code == 200
            gateway.wait_status("idle", timeout=30)
    finally:
        sio.disconnect()
    assert answers and {code for _, code in answers} == {200}, answers
