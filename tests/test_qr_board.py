"""The QR board (pure logic): versions, cycle position and the predicted next change."""

from datetime import datetime

from tests.helpers import decode_png
from wa_client.clock import fingerprint
from wa_client.page.qr import QrBoard, render_png
from wa_client.selectors import QR_FIRST_REF_S, QR_NEXT_REF_S


def at(iso_text: str) -> float:
    return datetime.fromisoformat(iso_text.replace("Z", "+00:00")).timestamp()


def test_versions_grow_and_repeats_are_not_new():
    board = QrBoard()
    assert board.show("a", b"A") and board.version == 1
    assert not board.show("a", b"A") and board.version == 1
    assert board.show("b", b"B") and board.version == 2


def test_withdrawn_code_keeps_its_version_number_retired():
    board = QrBoard()
    board.show("a", b"A")
    assert board.withdraw() and board.payload is None and board.png is None
    assert not board.withdraw()
    board.show("a", b"A")  # even the same payload comes back as a new version
    assert board.version == 2


def test_first_code_of_a_cycle_is_predicted_to_live_longest():
    board = QrBoard()
    board.show("a", b"A")
    facts = board.cycle_facts(timeout_at=board.shown_at + 300)
    assert facts["index"] == 1
    assert round(at(facts["next_change_at"]) - board.shown_at) == QR_FIRST_REF_S
    board.show("b", b"B")
    assert round(at(board.cycle_facts(0)["next_change_at"]) - board.shown_at) == QR_NEXT_REF_S


def test_observed_rotation_replaces_the_nominal_one():
    board = QrBoard()
    board.show("a", b"A")
    board.show("b", b"B")
    board.shown_at -= 1.5  # as if code b had been up for 1.5 s when c arrives
    board.show("c", b"C")
    facts = board.cycle_facts(0)
    assert facts["index"] == 3
    assert abs(at(facts["next_change_at"]) - board.shown_at - 1.5) < 0.1


def test_new_cycle_restarts_the_count():
    board = QrBoard()
    for code in "abc":
        board.show(code, code.encode())
    board.new_cycle()
    board.show("d", b"D")
    assert board.cycle_facts(0)["index"] == 1


def test_png_encodes_the_payload_exactly():
    payload = "2@" + "Q" * 88 + ",noiseKey=,identityKey=,advSecret=,1"
    assert decode_png(render_png(payload)) == payload


def test_fingerprint_is_short_and_does_not_reveal_the_payload():
    payload = "2@" + "Z" * 200
    assert len(fingerprint(payload)) == 10 and "Z" not in fingerprint(payload)
    assert fingerprint(None) == "-"
