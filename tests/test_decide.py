"""decide(): the Page x State reaction table and its clocks, driven without a browser."""

import itertools

import pytest

from wa_client.page.probe import DomSigns, ModuleSigns, Observation
from wa_client.page.recognise import Page, recognise
from wa_client.session.decide import LINKED, TABLE, Decision, Effect, Facts, decide
from wa_client.states import RUNNING, Reason, State, is_allowed

QR = "2@" + "b" * 88 + ",noise,identity,secret,1"

#: An observation that shows each page through the DOM.
SHOWS = {
    Page.LOGGED_OUT: Observation(post_logout=True),
    Page.BROWSER_ERROR: Observation(error_page=True),
    Page.BLOCKED: Observation(dom=DomSigns(blocked="tos_block")),
    Page.UNSUPPORTED: Observation(dom=DomSigns(unsupported=True)),
    Page.CONFLICT: Observation(dom=DomSigns(conflict=True)),
    Page.OTHER_TAB: Observation(dom=DomSigns(other_tab=True)),
    Page.CHATS: Observation(dom=DomSigns(chats=True)),
    Page.PASSKEY: Observation(dom=DomSigns(passkey=True)),
    Page.LOADING: Observation(dom=DomSigns(loading=True)),
    Page.OFFLINE: Observation(dom=DomSigns(offline=True)),
    Page.PAIRING_CODE: Observation(dom=DomSigns(pairing_code="A,B,C,D,E,F,G,H")),
    Page.QR_EXPIRED: Observation(dom=DomSigns(qr_expired=True, qr_payload=QR)),
    Page.QR: Observation(dom=DomSigns(qr_payload=QR, stay_logged_in=True)),
    Page.STARTUP: Observation(dom=DomSigns(startup=True)),
    Page.LANDING: Observation(dom=DomSigns(landing=True)),
    Page.UNKNOWN: Observation(),
}


def run(state: State, page: Page, **facts) -> Decision:
    sight = recognise(SHOWS[page])
    assert sight.page is page
    return decide(state, sight, Facts(**facts))


def test_the_table_has_a_cell_for_every_page_in_every_running_state():
    assert set(TABLE) == set(itertools.product(Page, RUNNING))


@pytest.mark.parametrize(("page", "state"), sorted(TABLE, key=str))
def test_every_decision_is_a_transition_the_state_table_allows(page, state):
    for facts in (Facts(), Facts(elapsed_s=10_000, unknown_for_s=10_000, opening_for_s=10_000)):
        decision = decide(state, recognise(SHOWS[page]), facts)
        assert is_allowed(state, decision.state), (page, state, decision)
        assert decision.qr_payload is None or decision.state is State.QR


@pytest.mark.parametrize(("page", "state", "expected"), [
    (Page.QR, State.STARTING, State.QR),
    (Page.QR, State.QR, State.QR),
    (Page.LOADING, State.QR, State.AUTHENTICATING),
    (Page.CHATS, State.AUTHENTICATING, State.CONNECTED),
    (Page.CHATS, State.STARTING, State.CONNECTED),
    (Page.CONFLICT, State.CONNECTED, State.CONFLICT),
    (Page.CHATS, State.CONFLICT, State.CONNECTED),
    (Page.OTHER_TAB, State.CONNECTED, State.CONFLICT),
    (Page.LANDING, State.STARTING, State.STARTING),  # "qr" means a code is ready to scan
    (Page.STARTUP, State.QR, State.QR),
    (Page.UNKNOWN, State.CONNECTED, State.CONNECTED),
])
def test_the_story_moves_as_the_page_does(page, state, expected):
    decision = run(state, page)
    assert decision.state is expected and not decision.end


def test_the_qr_is_served_only_in_qr_and_only_the_live_payload():
    assert run(State.STARTING, Page.QR).qr_payload == QR
    assert run(State.QR, Page.QR_EXPIRED).qr_payload is None
    assert run(State.QR, Page.OFFLINE).qr_payload is None


def test_a_qr_is_not_served_before_stay_logged_in_is_ticked():
    sight = recognise(Observation(dom=DomSigns(qr_payload=QR, stay_logged_in=False)))
    decision = decide(State.STARTING, sight, Facts())
    # "qr" is announced only with a code in hand: the state waits for the box to be ticked
    assert decision.state is State.STARTING and decision.qr_payload is None
    assert Effect.TICK_STAY_LOGGED_IN in decision.effects


@pytest.mark.parametrize("page", [Page.LOGGED_OUT])
@pytest.mark.parametrize("state", sorted(RUNNING))
def test_a_logout_sign_ends_in_disconnected_and_deletes_the_profile(page, state):
    decision = run(state, page)
    assert (decision.state, decision.reason, decision.end, decision.delete_profile) == (
        State.DISCONNECTED, Reason.LOGOUT, True, True)


@pytest.mark.parametrize("page", [Page.QR, Page.QR_EXPIRED, Page.LANDING, Page.PAIRING_CODE])
@pytest.mark.parametrize("state", sorted(LINKED))
def test_a_login_page_after_the_link_is_a_logout(page, state):
    decision = run(state, page)
    assert (decision.state, decision.reason, decision.delete_profile) == (State.DISCONNECTED, Reason.LOGOUT, True)


def test_a_logout_the_crm_asked_for_is_named_so():
    assert run(State.CONNECTED, Page.LOGGED_OUT, logout_requested=True).reason is Reason.LOGOUT_REQUESTED


@pytest.mark.parametrize(("shows", "reason"), [
    (Observation(dom=DomSigns(blocked="tos_block")), Reason.TOS_BLOCK),
    (Observation(dom=DomSigns(blocked="smb_tos_block")), Reason.SMB_TOS_BLOCK),
    (Observation(modules=ModuleSigns(state="PROXYBLOCK")), Reason.PROXYBLOCK),
    (Observation(modules=ModuleSigns(state="DEPRECATED_VERSION")), Reason.DEPRECATED_VERSION),
    (Observation(dom=DomSigns(unsupported=True)), Reason.UNSUPPORTED_BROWSER),
    (Observation(error_page=True), Reason.UNREACHABLE),
])
def test_blocks_fail_at_once_naming_the_block_in_words(shows, reason):
    decision = decide(State.STARTING, recognise(shows), Facts())
    assert (decision.state, decision.reason, decision.end) == (State.FAILED, reason, True)
    assert decision.error and "Generate QR" in decision.error


@pytest.mark.parametrize("state", [State.STARTING, State.QR, State.CONNECTED])
def test_offline_keeps_the_state_serves_nothing_and_says_why(state):
    decision = run(state, Page.OFFLINE)
    assert (decision.state, decision.reason, decision.qr_payload, decision.effects) == (state, Reason.OFFLINE, None, ())
    assert "no connection to WhatsApp" in decision.error
    assert run(state, Page.QR if state is not State.CONNECTED else Page.CHATS).reason is None  # back by itself


def test_opening_for_long_is_offline():
    sight = recognise(Observation(modules=ModuleSigns(state="OPENING")))
    assert decide(State.STARTING, sight, Facts(opening_for_s=1)).reason is None
    assert decide(State.STARTING, sight, Facts(opening_for_s=30)).reason is Reason.OFFLINE


def test_an_expired_qr_asks_for_fresh_codes_at_most_once_a_second():
    assert Effect.RELOAD_QR in run(State.QR, Page.QR_EXPIRED, since_reload_s=5).effects
    assert Effect.RELOAD_QR not in run(State.QR, Page.QR_EXPIRED, since_reload_s=0.2).effects


def test_conflict_takes_over_only_when_allowed_and_not_too_often():
    assert Effect.TAKE_OVER in run(State.CONNECTED, Page.CONFLICT).effects
    assert Effect.TAKE_OVER not in run(State.CONNECTED, Page.CONFLICT, takeover_on_conflict=False).effects
    assert Effect.TAKE_OVER not in run(State.CONFLICT, Page.CONFLICT, since_takeover_s=0.5).effects


def test_qr_timeout_ends_in_idle():
    decision = run(State.QR, Page.QR, elapsed_s=301, qr_timeout_s=300)
    assert (decision.state, decision.reason, decision.end) == (State.IDLE, Reason.QR_TIMEOUT, True)


@pytest.mark.parametrize(("shows", "reason"), [
    (Observation(dom=DomSigns(startup=True)), Reason.START_TIMEOUT),
    (Observation(), Reason.START_TIMEOUT),  # an empty page: nothing loaded
    (Observation(title="Something", text_size=40), Reason.PAGE_NOT_RECOGNISED),
    (Observation(dom=DomSigns(offline=True)), Reason.OFFLINE),
])
def test_the_start_timeout_says_what_was_wrong(shows, reason):
    decision = decide(State.STARTING, recognise(shows), Facts(elapsed_s=61, start_timeout_s=60))
    assert (decision.state, decision.reason, decision.end) == (State.FAILED, reason, True)
    assert "internet" not in decision.error or reason is not Reason.PAGE_NOT_RECOGNISED


def test_an_unrecognised_page_is_reported_once_then_fails_with_words():
    assert Effect.REPORT_UNRECOGNISED not in run(State.STARTING, Page.UNKNOWN, unknown_for_s=1).effects
    assert Effect.REPORT_UNRECOGNISED in run(State.STARTING, Page.UNKNOWN, unknown_for_s=6).effects
    assert Effect.REPORT_UNRECOGNISED not in run(State.STARTING, Page.UNKNOWN, unknown_for_s=6,
                                                 unknown_reported=True).effects
    decision = run(State.CONNECTED, Page.UNKNOWN, unknown_for_s=61, start_timeout_s=60)
    assert (decision.state, decision.reason) == (State.FAILED, Reason.PAGE_NOT_RECOGNISED)
    assert "not recognised" in decision.error


def test_a_saved_login_restoring_is_authenticating():
    sight = recognise(Observation(linked=True, dom=DomSigns(startup=True)))
    assert decide(State.STARTING, sight, Facts()).state is State.AUTHENTICATING
    assert run(State.STARTING, Page.STARTUP).state is State.STARTING


def test_decide_is_pure():
    sight = recognise(SHOWS[Page.QR_EXPIRED])
    assert decide(State.QR, sight, Facts(since_reload_s=3)) == decide(State.QR, sight, Facts(since_reload_s=3))


@pytest.mark.parametrize("page", [Page.QR, Page.QR_EXPIRED, Page.PAIRING_CODE])
def test_an_unattended_start_never_shows_a_qr(page):
    decision = run(State.STARTING, page, unattended=True)
    assert (decision.state, decision.reason, decision.end) == (State.IDLE, Reason.NOT_LINKED, True)
    assert "Generate QR" in decision.error
    assert run(State.STARTING, Page.CHATS, unattended=True).state is State.CONNECTED
