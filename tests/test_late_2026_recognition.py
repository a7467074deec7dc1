"""Recognising the late-2026 site's module signs without a browser: Stream.mode, the bus's blocks, the
passkey check's modules, and "qr" only with a code in hand (docs/whatsapp-web.md, "Late 2026")."""

import pytest

from wa_client.page.probe import DomSigns, ModuleSigns, Observation
from wa_client.page.recognise import Page, recognise
from wa_client.session.decide import Effect, Facts, decide
from wa_client.states import Reason, State

QR = "2@" + "c" * 88 + ",noise,identity,secret,1"


@pytest.mark.parametrize(("mode", "page"), [
    ("QR", Page.LANDING), ("MAIN", Page.CHATS), ("SYNCING", Page.LOADING), ("OFFLINE", Page.OFFLINE),
    ("CONFLICT", Page.CONFLICT), ("TOS_BLOCK", Page.BLOCKED), ("SMB_TOS_BLOCK", Page.BLOCKED),
    ("PROXYBLOCK", Page.BLOCKED), ("DEPRECATED_VERSION", Page.BLOCKED),
])
def test_stream_mode_alone_recognises_the_page(mode, page):
    obs = Observation(modules=ModuleSigns(stream_mode=mode, has_synced=True))
    sight = recognise(obs)
    assert sight.page is page
    if page is Page.BLOCKED:
        assert sight.block == mode.lower()


def test_a_stream_offline_while_the_socket_opens_is_not_offline_yet():
    assert recognise(Observation(modules=ModuleSigns(state="OPENING", stream_mode="OFFLINE"))).page is Page.STARTUP


@pytest.mark.parametrize(("bus_block", "reason"), [("smb_tos_block", "smb_tos_block"),
                                                   ("service_unavailable", "service_unavailable")])
def test_a_block_the_bus_announced_is_a_block(bus_block, reason):
    sight = recognise(Observation(modules=ModuleSigns(state="OPENING", bus_block=bus_block)))
    assert (sight.page, sight.block) == (Page.BLOCKED, reason)


@pytest.mark.parametrize("obs", [
    Observation(dom=DomSigns(passkey=True)),  # its texts alone
    Observation(modules=ModuleSigns(state="PAIRING", passkey=True)),  # its modules alone
])
def test_the_passkey_check_is_recognised_through_each_channel_and_fails_at_once(obs):
    sight = recognise(obs)
    assert sight.page is Page.PASSKEY
    for state in (State.STARTING, State.QR, State.AUTHENTICATING):
        decision = decide(state, sight, Facts())
        assert (decision.state, decision.reason, decision.end) == (State.FAILED, Reason.PASSKEY_REQUIRED, True)
        assert Effect.KEEP_SCREENSHOT in decision.effects and "passkey" in decision.error


def test_the_chat_list_wins_over_passkey_modules_left_registered():
    obs = Observation(modules=ModuleSigns(state="CONNECTED", has_synced=True, passkey=True))
    assert recognise(obs).page is Page.CHATS


def test_qr_waits_for_the_stay_logged_in_box_then_comes_with_its_code():
    unticked = recognise(Observation(dom=DomSigns(qr_payload=QR, stay_logged_in=False)))
    ticked = recognise(Observation(dom=DomSigns(qr_payload=QR, stay_logged_in=True)))
    assert decide(State.STARTING, unticked, Facts()).state is State.STARTING
    decision = decide(State.STARTING, ticked, Facts())
    assert (decision.state, decision.qr_payload) == (State.QR, QR)


def test_an_unknown_page_over_opening_modules_is_unrecognised_not_offline():
    obs = Observation(title="WhatsApp", text_size=40, modules=ModuleSigns(state="OPENING"))
    sight = recognise(obs)
    assert sight.page is Page.STARTUP and sight.unrecognised
    assert Effect.REPORT_UNRECOGNISED in decide(State.STARTING, sight, Facts(unknown_for_s=6)).effects
    decision = decide(State.STARTING, sight, Facts(elapsed_s=61, start_timeout_s=60, opening_for_s=61))
    assert (decision.state, decision.reason) == (State.FAILED, Reason.PAGE_NOT_RECOGNISED)
    assert "does not know" in decision.error and "/screenshot.png" in decision.error
    assert "internet" not in decision.error
    assert Effect.REPORT_UNRECOGNISED in decision.effects  # logged and kept before the browser goes


def test_the_startup_screen_over_opening_modules_is_still_offline_after_a_while():
    sight = recognise(Observation(dom=DomSigns(startup=True), text_size=30, modules=ModuleSigns(state="OPENING")))
    assert not sight.unrecognised
    decision = decide(State.STARTING, sight, Facts(elapsed_s=61, start_timeout_s=60, opening_for_s=61))
    assert decision.reason is Reason.OFFLINE
