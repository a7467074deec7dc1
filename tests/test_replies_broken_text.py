"""End to end (`python app.py`, real HTTP): a patient's text that is not valid Unicode is stored with U+FFFD in
its place, and the good replies read in the same moment are stored too."""
from __future__ import annotations

from tests.helpers import wait_until
from tests.test_messages_send import NO_SAFEGUARDS, link

PATIENT = "+55 11 98888 0000"


def test_a_reply_with_a_lone_surrogate_is_stored_with_a_replacement_and_costs_no_other(gateway_factory, simulator):
    gateway = gateway_factory(**NO_SAFEGUARDS)
    link(gateway, simulator)
    for text in ("before", "broken \ud83d emoji", "after \U0001f600"):
        assert simulator.send_from_patient(PATIENT, text).status_code == 200

    def stored() -> list[str] | None:
        texts = [m["text"] for m in gateway.get("/messages?direction=in").json()["messages"]]
        return texts if len(texts) >= 3 else None

    assert wait_until(stored, 20, what="the three replies stored") == ["before", "broken \ufffd emoji",
                                                                       "after \U0001f600"]
