"""The passkey check after linking (late 2026): "Quick security check with Passkey" -> "Continue", which a
server's browser cannot answer. The gateway recognises it by its texts and by its modules, never presses
"Continue", keeps a screenshot and fails with reason passkey_required in words; people are told.
"""

from __future__ import annotations

import time

import pytest

from tests.helpers import phone_scans, sim_events, wait_state, wait_until
from tests.receivers import JsonReceiver
from wa_client import selectors
from wa_client.page import actions as commands
from wa_client.page.probe import PROBE_SCRIPT, Observation, probe_args
from wa_client.page.recognise import Page, recognise
from wa_client.session.decide import WORDS
from wa_client.states import Reason

pytestmark = pytest.mark.browser

SIGNS = probe_args(selectors.load(None))
#: The simulator's knobs for each way of reading the page, and the channels that must see the check.
CHANNELS = {
    "both": ({}, ("dom", "modules")),
    "dom_only": ({"modules": False}, ("dom",)),
    "modules_only": ({"dom_drift": True}, ("modules",)),
}


def probe(driver) -> Observation:
    return Observation.from_probe(driver.execute_script(PROBE_SCRIPT, SIGNS, {}))


def passkey_screen(make_driver, simulator, **knobs):
    """A page on the simulator's passkey screen, right after the phone scanned its QR."""
    simulator.configure(passkey_check=True, **knobs)
    driver = make_driver()
    driver.get(simulator.url)
    payload = wait_until(lambda: (o := probe(driver)).dom.qr_payload or (o.modules and o.modules.qr_payload), 20,
                         what="a QR on the page")
    assert simulator.scan(payload).status_code == 200
    wait_until(lambda: "passkey" in [c["view"] for c in simulator.state()["connections"]], 20, what="the check")
    return driver


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_passkey_screen_is_recognised_through_each_channel(make_driver, simulator, channel):
    knobs, channels = CHANNELS[channel]
    driver = passkey_screen(make_driver, simulator, **knobs)
    # (its modules register as the screen mounts: both channels agree a moment after the DOM shows it)
    sight = wait_until(lambda: (s := recognise(probe(driver))).page is Page.PASSKEY and s.seen_by == channels and s,
                       10, what=f"the check, seen by {channels}")
    assert sight.page is Page.PASSKEY


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_passkey_check_fails_in_words_with_a_screenshot_and_nothing_pressed(make_client, simulator, channel):
    simulator.configure(**CHANNELS[channel][0], passkey_check=True)
    client = make_client()
    client.start_session()
    wait_state(client, "qr")
    phone_scans(client, simulator)
    shown = wait_until(lambda: sim_events(simulator, "passkey_shown"), 20,
                       what="the simulator's passkey screen") and time.monotonic()
    status = wait_state(client, "failed", timeout=20)
    assert time.monotonic() - shown < 10, "not within 10 s of the screen"
    assert status["reason"] == "passkey_required"
    assert "passkey" in status["error"] and "cannot answer" in status["error"] and "Generate QR" in status["error"]
    assert client.screenshot().startswith(b"\x89PNG")  # kept after the browser quit
    assert simulator.traps() == []  # "Continue" was never pressed


@pytest.mark.clicks_traps
def test_the_simulator_records_a_press_of_continue(make_driver, simulator):
    # what the test above relies on: a press would be seen
    driver = passkey_screen(make_driver, simulator)
    driver.execute_script("document.querySelector('.passkey-continue').click();")
    wait_until(lambda: simulator.traps(), 5, what="the trap to be recorded")
    assert [t["trap"] for t in simulator.traps()] == ["passkey_continue"]


def test_the_gateway_never_presses_anything_on_the_passkey_screen(make_driver, simulator):
    driver = passkey_screen(make_driver, simulator)
    for script, args in ((commands.CLICK_TEXT_SCRIPT, {"scope": "button", "texts": ["continue"]}),
                         (commands.CLOSE_COVERING_DIALOGS_SCRIPT, {})):
        assert not driver.execute_script(script, SIGNS, args)
    assert simulator.traps() == []


@pytest.mark.parametrize("knobs", [{"modules": False}, {"dom_drift": True}])
def test_each_channel_alone_carries_one_sign(make_driver, simulator, knobs):
    driver = passkey_screen(make_driver, simulator, **knobs)
    obs = wait_until(lambda: (o := probe(driver)).dom.passkey or (o.modules and o.modules.passkey) and o, 10,
                     what="a passkey sign")
    obs = probe(driver)
    if knobs.get("modules") is False:  # modules=false: no modules at all
        assert obs.dom.passkey and obs.modules is None
    else:  # dom_drift renames the DOM signs: the modules are the only sign
        assert not obs.dom.passkey and obs.modules.passkey


def test_the_words_say_what_happened_why_and_what_to_try():
    text = WORDS[Reason.PASSKEY_REQUIRED]
    assert "Quick security check with Passkey" in text  # what the screen said
    assert "cannot answer" in text  # why the gateway cannot
    assert "Generate QR" in text and "pairing code" in text  # what to try, and what will not help
    assert "/screenshot.png" in text


@pytest.mark.e2e
def test_people_are_told_by_notification_and_webhook(gateway_factory, simulator):
    simulator.configure(passkey_check=True)
    with JsonReceiver() as notified, JsonReceiver() as webhook:
        gateway = gateway_factory(WA_NOTIFY_URLS=notified.url(), WA_WEBHOOK_URL=webhook.url().replace("json://", "http://"))
        assert gateway.post("/start-session").status_code == 202
        gateway.wait_status("qr", timeout=60)
        gateway.phone_scans(simulator)
        status = gateway.wait_status("failed", timeout=30)
        assert status["reason"] == "passkey_required" and "passkey" in status["error"]
        wait_until(lambda: notified.bodies, 20, what="the notification")
        wait_until(lambda: any(b.get("event") == "status" and b["data"]["reason"] == "passkey_required"
                               for b in webhook.bodies), 20, what="the webhook's status event")
        png = gateway.get("/screenshot.png")
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert notified.bodies[0]["title"] == "Clinic WhatsApp gateway: WhatsApp asks for a passkey check"
    assert "cannot answer" in notified.bodies[0]["message"]
    assert simulator.traps() == []
