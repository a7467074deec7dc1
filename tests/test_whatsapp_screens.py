"""Every screen of WhatsApp Web (docs/whatsapp-web.md), in real Chromium against the simulator,
through both channels and through each one alone: the DOM only (no modules) and the modules only
(DOM signs renamed). The simulator fixture fails any test in which a trap was clicked.
"""

from __future__ import annotations

import os

import pytest

from tests.fake_whatsapp.config import MID_2026
from tests.helpers import (
    connected_client,
    decode_png,
    holds_for,
    nothing_left,
    phone_scans,
    sim_events,
    wait_state,
    wait_until,
)
from wa_client.page import actions as commands

pytestmark = pytest.mark.browser

#: The simulator's knobs for each way of reading the page, and what /status must say saw it.
CHANNELS = {
    "both": ({}, ["dom", "modules"]),
    "dom_only": ({"modules": False}, ["dom"]),
    "modules_only": ({"dom_drift": True}, ["modules"]),
}
ONE_CHANNEL = ["dom_only", "modules_only"]
#: The site the simulator plays: December 2026 (its default) or every late-2026 change switched back.
SITES = {"dec_2026": {}, "mid_2026": MID_2026}




def live_qr(client, simulator, newer_than: int = 0):
    """The QR the client serves once it is live on the simulator's screen and newer than `newer_than`."""
    def check():
        current = client.qr()
        return current if current and current[1] > newer_than and current[0] in simulator.live_payloads() else None
    return wait_until(check, 20, what=f"a live QR newer than version {newer_than}")


@pytest.mark.parametrize("site", SITES)
@pytest.mark.parametrize("channel", CHANNELS)
def test_the_whole_story_through_each_channel(make_client, simulator, channel, site):
    knobs, seen_by = CHANNELS[channel]
    simulator.configure(**SITES[site], **knobs)
    client = make_client()
    client.start_session()
    live_qr(client, simulator)
    wait_until(lambda: client.status()["seen_by"] == seen_by, 10, what=f"seen_by {seen_by}")
    first = live_qr(client, simulator)  # (the code may have rotated meanwhile)
    assert decode_png(client.qr_png()[1]) == first[0]
    rotated = live_qr(client, simulator, first[1])  # WhatsApp rotates the code on the same node
    wait_until(lambda: sim_events(simulator, "qr_expired"), 20, what="the cycle to expire")
    live_qr(client, simulator, rotated[1])  # the gateway asked for fresh codes: a live one again
    phone_scans(client, simulator)
    wait_state(client, "connected")
    states = [h["state"] for h in client.history()]
    assert states.index("authenticating") < states.index("connected")
    wait_until(lambda: client.status()["seen_by"] == seen_by, 10, what=f"seen_by {seen_by} on the chats")
    simulator.logout()
    status = wait_state(client, "disconnected", timeout=20)
    assert status["reason"] == "logout"
    profile_dir = client.settings.profile_dir
    wait_until(lambda: nothing_left(profile_dir) and not os.path.exists(profile_dir), 15,
               what="browser quit and profile deleted")
    assert holds_for(lambda: client.state.value == "disconnected", 1.0)  # nothing restarted
    assert client.counters["illegal_transitions"] == 0


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("style", ["post_logout", "reload"])
def test_a_phone_logout_is_seen_whichever_way_whatsapp_reloads(make_client, simulator, channel, style):
    simulator.configure(**CHANNELS[channel][0], logout_style=style)
    client = connected_client(make_client, simulator)
    simulator.logout()
    assert wait_state(client, "disconnected", timeout=20)["reason"] == "logout"


@pytest.mark.parametrize("theme", ["classic", "stages"])
@pytest.mark.parametrize("channel", ONE_CHANNEL)
def test_every_loading_screen_is_authenticating_and_serves_no_qr(make_client, simulator, theme, channel):
    simulator.configure(**CHANNELS[channel][0], loading_theme=theme, loading_s=2.0)
    client = make_client()
    client.start_session()
    wait_state(client, "qr")
    phone_scans(client, simulator)
    wait_state(client, "authenticating")
    assert client.qr() is None and client.qr_png() is None
    wait_state(client, "connected")


@pytest.mark.parametrize("channel", CHANNELS)
def test_offline_on_the_qr_page_serves_no_qr_clicks_nothing_and_recovers(make_client, simulator, channel,
                                                                         monkeypatch):
    reloads = []
    real_reload = commands.PageActions.reload_qr
    monkeypatch.setattr(commands.PageActions, "reload_qr", lambda self: reloads.append(1) or real_reload(self))
    simulator.configure(**CHANNELS[channel][0])
    client = make_client()
    client.start_session()
    first = live_qr(client, simulator)
    simulator.configure(screen="offline")
    status = wait_until(lambda: (s := client.status())["reason"] == "offline" and s, 10, what="offline reported")
    assert status["state"] == "qr" and "no connection to WhatsApp" in status["error"]
    before = len(reloads)
    assert holds_for(lambda: client.qr() is None and client.status()["reason"] == "offline", 2.0)
    assert len(reloads) == before
    simulator.configure(screen="")
    live_qr(client, simulator, first[1])
    assert client.status()["reason"] is None


@pytest.mark.parametrize("channel", CHANNELS)
def test_offline_while_starting_says_so_and_recovers(make_client, simulator, channel):
    simulator.configure(**CHANNELS[channel][0], screen="offline")
    client = make_client(start_timeout_s=60)
    client.start_session()
    # with the dialog renamed, WhatsApp's modules only say OPENING: that reads as offline after a while
    status = wait_until(lambda: (s := client.status())["reason"] == "offline" and s, 30, what="offline reported")
    assert status["state"] == "starting"
    simulator.configure(screen="")
    live_qr(client, simulator)


@pytest.mark.parametrize("block", ["tos_block", "smb_tos_block", "proxyblock", "deprecated_version"])
@pytest.mark.parametrize("channel", ONE_CHANNEL)
def test_a_blocked_account_or_network_fails_naming_the_block(make_client, simulator, block, channel):
    simulator.configure(**CHANNELS[channel][0], screen=block)
    client = make_client()
    client.start_session()
    status = wait_state(client, "failed", timeout=20)
    assert status["reason"] == block and "Generate QR" in status["error"]
    profile_dir = client.settings.profile_dir
    wait_until(lambda: nothing_left(profile_dir), 10, what="the browser quit")


def test_an_unrecognised_page_is_reported_with_a_screenshot_then_fails_in_words(make_client, simulator, caplog):
    simulator.configure(screen="unknown")
    client = make_client(start_timeout_s=8)
    client.start_session()
    status = wait_state(client, "failed", timeout=30)
    assert status["reason"] == "page_not_recognised"
    assert "not recognised" in status["error"] and "internet" not in status["error"]
    assert any("does not recognise" in r.getMessage() for r in caplog.records)
    assert client.screenshot().startswith(b"\x89PNG")  # kept after the browser quit


def test_a_second_whatsapp_tab_is_a_conflict(make_client, simulator):
    simulator.configure(screen="other_tab")
    client = make_client()
    client.start_session()
    wait_state(client, "conflict", timeout=20)


@pytest.mark.parametrize("variant", ["computer", "window"])
@pytest.mark.parametrize("channel", CHANNELS)
def test_conflict_is_taken_over_and_no_trap_is_ever_clicked(make_client, simulator, variant, channel):
    simulator.configure(**CHANNELS[channel][0])
    client = connected_client(make_client, simulator)
    assert simulator.conflict(variant).status_code == 200
    wait_until(lambda: sim_events(simulator, "takeover"), 15, what="the takeover")
    wait_state(client, "connected")
    assert simulator.traps() == []


@pytest.mark.parametrize("channel", ONE_CHANNEL)
def test_takeover_on_demand_uses_here_never_close(make_client, simulator, channel):
    simulator.configure(**CHANNELS[channel][0])
    client = connected_client(make_client, simulator, takeover_on_conflict=False)
    simulator.conflict("window")
    wait_state(client, "conflict")
    assert client.take_over()["state"] == "connected"
    assert simulator.traps() == []


@pytest.mark.parametrize("channel", ONE_CHANNEL)
def test_stay_logged_in_is_ticked_before_a_qr_is_served_so_the_login_survives(make_client, simulator, channel):
    simulator.configure(**CHANNELS[channel][0], stay_logged_in_default=False)
    first = make_client()
    first.start_session()
    live_qr(first, simulator)
    # the checkbox is a DOM control (its id is kept when other signs drift): ticked before the QR was served
    toggles = wait_until(lambda: [e["value"] for e in sim_events(simulator, "auto_logout_toggle")], 10,
                         what="the checkbox change reported by the page")
    assert toggles == [True]
    phone_scans(first, simulator)
    wait_state(first, "connected")
    first.shutdown()
    second = make_client()
    second.start_session()
    wait_state(second, "connected")  # no scan


@pytest.mark.parametrize("variant", ["six", "wa_me", "four"])
@pytest.mark.parametrize("channel", ONE_CHANNEL)
def test_every_payload_variant_is_served_exactly(make_client, simulator, variant, channel):
    simulator.configure(**CHANNELS[channel][0], payload_variant=variant)
    client = make_client()
    client.start_session()
    payload, version = live_qr(client, simulator)
    assert decode_png(client.qr_png()[1]) == payload
    phone_scans(client, simulator)
    wait_state(client, "connected")


@pytest.mark.parametrize("channel", ONE_CHANNEL)
def test_the_crm_logout_closes_a_covering_dialog_first(make_client, simulator, channel):
    simulator.configure(**CHANNELS[channel][0], whats_new=True)
    client = connected_client(make_client, simulator)
    status = client.logout()
    assert status["state"] == "disconnected" and status["reason"] == "logout_requested"
    if channel == "dom_only":  # the menu was behind the dialog
        assert sim_events(simulator, "whats_new_closed") and sim_events(simulator, "web_logout")
    else:
        assert sim_events(simulator, "module_logout")


def test_the_screenshot_shows_the_browser_now(make_client, simulator):
    client = make_client()
    assert client.screenshot() is None
    client.start_session()
    live_qr(client, simulator)
    assert client.screenshot().startswith(b"\x89PNG")


#: What an operator writes the day WhatsApp renames its signs (here: the simulator's drifted names).
DRIFT_OVERRIDES = {
    "STARTUP": "#wa_web_startup_v2",
    "QR_CANVAS": "[data-qr-payload] canvas",
    "QR_REF_HOLDER": "[data-qr-payload]",
    "QR_REF_ATTRIBUTE": "data-qr-payload",
    "CHAT_LIST": "#chat-pane",
    "PROGRESS": "[role='progressbar']",
    "LOADING_TEXTS": ["preparing your conversations", "reaching the servers", "fetching history", "sorting history"],
}


def test_an_operator_can_follow_a_renamed_page_with_a_selectors_file(make_client, simulator, tmp_path):
    import json

    simulator.configure(dom_drift=True, modules=False)  # nothing the built-in signs know
    blind = make_client()
    blind.start_session()
    assert holds_for(lambda: blind.state.value == "starting" and blind.qr() is None, 3.0)
    blind.force_reset()
    overrides = tmp_path / "selectors.json"
    overrides.write_text(json.dumps(DRIFT_OVERRIDES))
    client = make_client(selectors_file=str(overrides))
    client.start_session()
    live_qr(client, simulator)
    phone_scans(client, simulator)
    wait_state(client, "connected")
    assert client.status()["seen_by"] == ["dom"]
