"""Classifying page snapshots into the spec's page states (pure logic, no browser)."""

import pytest

from wa_client.page import Page, Snapshot, classify, format_pairing_code

QR = "2@" + "a" * 88 + ",noise,identity,secret,1"


@pytest.mark.parametrize(
    ("snapshot", "page"),
    [
        (Snapshot(url="https://web.whatsapp.com/?post_logout=1&logout_reason=0", qr_ref=QR), Page.LOGGED_OUT),
        (Snapshot(url="chrome-error://chromewebdata/", error_page=True), Page.BROWSER_ERROR),
        (Snapshot(unsupported=True, qr_ref=QR), Page.UNSUPPORTED),
        (Snapshot(conflict="WhatsApp is open on another computer. Use here", chats=True), Page.CONFLICT),
        (Snapshot(chats=True, loading=True), Page.CHATS),
        (Snapshot(loading=True, startup=True), Page.LOADING),
        (Snapshot(pairing_code="A,B,C,D,E,F,G,H", landing=True), Page.PAIRING_CODE),
        (Snapshot(qr_expired=True, qr_ref=QR), Page.QR_EXPIRED),
        (Snapshot(qr_ref=QR, landing=True), Page.QR),
        (Snapshot(startup=True), Page.STARTUP),
        (Snapshot(landing=True), Page.LANDING),
        (Snapshot(), Page.UNKNOWN),
    ],
)
def test_classify_follows_the_spec_order(snapshot, page):
    assert classify(snapshot) is page


def test_an_expired_qr_is_never_a_qr():
    # The faded canvas keeps its old data-ref: it must not be taken for a live code.
    assert classify(Snapshot(qr_ref=QR, qr_expired=True)) is Page.QR_EXPIRED


def test_snapshot_ignores_unknown_probe_keys():
    snap = Snapshot.from_probe({"qr_ref": QR, "something_new": 1})
    assert snap.qr_ref == QR


def test_snapshot_of_garbage_is_unknown():
    assert classify(Snapshot.from_probe(None)) is Page.UNKNOWN


@pytest.mark.parametrize(
    ("raw", "shown"),
    [("A,B,C,D,E,F,G,H", "ABCD-EFGH"), ("k7m2,x9q4", "K7M2-X9Q4"), ("ABC", None), (None, None), ("", None)],
)
def test_pairing_code_is_shown_as_two_groups(raw, shown):
    assert format_pairing_code(raw) == shown


def test_the_recognition_table_names_every_page_state_once():
    from wa_client.page import RECOGNITION_ORDER

    pages = [page for page, _ in RECOGNITION_ORDER]
    assert sorted(pages) == sorted(set(Page) - {Page.UNKNOWN})
