"""Recognising WhatsApp Web's page from an Observation, through each channel alone and both (no browser)."""

import pytest

from wa_client.page.probe import DomSigns, ModuleSigns, Observation
from wa_client.page.recognise import DOM_RECOGNITION, ORDER, SOCKET_STATES, Page, recognise

QR = "2@" + "a" * 88 + ",noise,identity,secret,1"

#: One DOM picture per page state of the spec's table (rows 1-13), as the DOM channel alone shows it.
DOM_ROWS = [
    (Observation(post_logout=True, dom=DomSigns(qr_payload=QR)), Page.LOGGED_OUT),
    (Observation(url="chrome-error://chromewebdata/", error_page=True), Page.BROWSER_ERROR),
    (Observation(dom=DomSigns(blocked="tos_block")), Page.BLOCKED),
    (Observation(dom=DomSigns(unsupported=True, qr_payload=QR)), Page.UNSUPPORTED),
    (Observation(dom=DomSigns(conflict=True, chats=True)), Page.CONFLICT),
    (Observation(dom=DomSigns(other_tab=True)), Page.OTHER_TAB),
    (Observation(dom=DomSigns(chats=True, loading=True)), Page.CHATS),
    (Observation(dom=DomSigns(loading=True, startup=True)), Page.LOADING),
    (Observation(dom=DomSigns(offline=True, qr_expired=True, qr_payload=QR)), Page.OFFLINE),
    (Observation(dom=DomSigns(pairing_code="A,B,C,D,E,F,G,H", landing=True)), Page.PAIRING_CODE),
    (Observation(dom=DomSigns(qr_expired=True, qr_payload=QR)), Page.QR_EXPIRED),
    (Observation(dom=DomSigns(code_expired=True)), Page.QR_EXPIRED),
    (Observation(dom=DomSigns(qr_payload=QR, landing=True)), Page.QR),
    (Observation(dom=DomSigns(startup=True)), Page.STARTUP),
    (Observation(dom=DomSigns(landing=True)), Page.LANDING),
    (Observation(), Page.UNKNOWN),
]

#: The same rows as WhatsApp's modules alone tell them (the DOM shows nothing the gateway knows).
MODULE_ROWS = [
    (ModuleSigns(state="UNPAIRED"), True, Page.LOGGED_OUT),  # the Cmd 'logout' marker
    (ModuleSigns(state="TOS_BLOCK"), False, Page.BLOCKED),
    (ModuleSigns(state="SMB_TOS_BLOCK"), False, Page.BLOCKED),
    (ModuleSigns(state="PROXYBLOCK"), False, Page.BLOCKED),
    (ModuleSigns(state="DEPRECATED_VERSION"), False, Page.BLOCKED),
    (ModuleSigns(state="CONFLICT"), False, Page.CONFLICT),
    (ModuleSigns(state="CONNECTED", has_synced=True, stream="CONNECTED"), False, Page.CHATS),
    (ModuleSigns(state="CONNECTED", has_synced=False, stream="SYNCING"), False, Page.LOADING),
    (ModuleSigns(state="PAIRING"), False, Page.LOADING),
    (ModuleSigns(state="TIMEOUT"), False, Page.OFFLINE),
    (ModuleSigns(state="UNPAIRED_IDLE"), False, Page.QR_EXPIRED),
    (ModuleSigns(state="UNPAIRED", ref=True, qr_payload=QR), False, Page.QR),
    (ModuleSigns(state="OPENING"), False, Page.STARTUP),
    (ModuleSigns(state="UNLAUNCHED"), False, Page.STARTUP),
    (ModuleSigns(state="UNPAIRED"), False, Page.LANDING),
    (ModuleSigns(state="SOMETHING_NEW"), False, Page.UNKNOWN),
]


@pytest.mark.parametrize(("obs", "page"), DOM_ROWS)
def test_the_dom_alone_recognises_every_row(obs, page):
    sight = recognise(obs)  # no modules: window.require is missing
    assert sight.page is page
    assert sight.seen_by == (() if page is Page.UNKNOWN else ("dom",))


@pytest.mark.parametrize(("mods", "logout_seen", "page"), MODULE_ROWS)
def test_the_modules_alone_recognise_every_row(mods, logout_seen, page):
    sight = recognise(Observation(logout_seen=logout_seen, modules=mods))  # DOM signs renamed: nothing known
    assert sight.page is page
    assert sight.dom is Page.UNKNOWN
    assert sight.seen_by == (() if page is Page.UNKNOWN else ("modules",))


def test_both_channels_agreeing_are_both_named():
    obs = Observation(dom=DomSigns(qr_payload=QR), modules=ModuleSigns(state="UNPAIRED", ref=True, qr_payload=QR))
    sight = recognise(obs)
    assert (sight.page, sight.seen_by, sight.qr_payload) == (Page.QR, ("dom", "modules"), QR)
    assert sight.disagreement is None


def test_a_disagreement_goes_by_the_earlier_row_and_says_so():
    # the faded QR still shows in the DOM while the modules already say it expired: never serve it
    obs = Observation(dom=DomSigns(qr_payload=QR), modules=ModuleSigns(state="UNPAIRED_IDLE"))
    sight = recognise(obs)
    assert (sight.page, sight.seen_by, sight.qr_payload) == (Page.QR_EXPIRED, ("modules",), None)
    assert sight.disagreement == (Page.QR, Page.QR_EXPIRED)


def test_the_modules_payload_is_served_when_the_dom_is_renamed():
    variant = "https://wa.me/settings/linked_devices#" + QR
    sight = recognise(Observation(modules=ModuleSigns(state="UNPAIRED", ref=True, qr_payload=variant)))
    assert sight.qr_payload == variant  # opaque: exactly what the page holds


def test_the_block_is_named_from_either_channel():
    assert recognise(Observation(dom=DomSigns(blocked="proxyblock"))).block == "proxyblock"
    assert recognise(Observation(modules=ModuleSigns(state="SMB_TOS_BLOCK"))).block == "smb_tos_block"


def test_an_expired_qr_is_never_a_qr():
    # The faded canvas keeps its old data-ref: it must not be taken for a live code.
    assert recognise(Observation(dom=DomSigns(qr_payload=QR, qr_expired=True))).qr_payload is None


def test_probe_output_is_read_leniently():
    obs = Observation.from_probe({"post_logout": True, "dom": {"qr_payload": QR, "new_sign": 1}, "modules": None,
                                  "something_new": 1})
    assert obs.post_logout and obs.dom.qr_payload == QR and obs.modules is None
    assert recognise(Observation.from_probe(None)).page is Page.UNKNOWN
    assert "qr_payload" not in str(Observation(dom=DomSigns(qr_payload=QR)).summary())


def test_the_tables_name_every_page_state():
    assert sorted(page for page, _ in DOM_RECOGNITION) == sorted(set(Page) - {Page.UNKNOWN})
    assert set(ORDER) == set(Page)
    assert set(SOCKET_STATES.values()) <= set(Page)


