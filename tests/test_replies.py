"""Replies matched: `in_reply_to` (the message a patient quoted), `last_sent_id`, and `from` for an @lid chat."""

from __future__ import annotations

import pytest

from tests.gateway import SocketEvents
from tests.helpers import wait_until
from tests.reminder_fakes import START, Incoming, Session, drain, hear, make_outbox


def received(session: Session) -> list[dict]:
    return session.named("message.received")


def test_a_quoted_reminder_is_named_and_the_last_one_too(tmp_path, session, clock):
    outbox = make_outbox(tmp_path, session, clock)
    first, _ = outbox.submit("5511999990000", "consulta terça")
    second, _ = outbox.submit("5511999990000", "consulta quarta")
    drain(outbox)
    first_key = outbox.message(first["id"])["wa_id"]
    quoted = first_key.rsplit("_", 1)[-1]
    hear(outbox, (), (Incoming("in1", "+5511999990000", "5511999990000@c.us", "confirmo", START, quoted_id=quoted),
                        Incoming("in2", "+5511999990000", "5511999990000@c.us", "obrigado", START)), False)
    assert [(m["in_reply_to"], m["last_sent_id"]) for m in received(session)] == [
        (first["id"], second["id"]), (None, second["id"])]
    assert [m["in_reply_to"] for m in outbox.listing("in")] == [first["id"], None]


def test_an_unknown_quote_and_a_stranger_match_nothing(tmp_path, session, clock):
    outbox = make_outbox(tmp_path, session, clock)
    hear(outbox, (), (Incoming("in1", "+5511977770000", "5511977770000@c.us", "oi", START, quoted_id="3EB0FFFF"),),
                   False)
    assert [(m["in_reply_to"], m["last_sent_id"]) for m in received(session)] == [(None, None)]


def test_a_reply_from_an_lid_chat_gets_the_number_the_gateway_sent_to(tmp_path, session, clock):
    outbox = make_outbox(tmp_path, session, clock)
    session.send_message = lambda phone, text, *a, **k: type(
        "Sent", (), {"wa_id": "true_98765@lid_3EB0AAAA", "to_jid": "98765@lid", "via": "modules"})()
    sent, _ = outbox.submit("5511999990000", "lembrete")
    drain(outbox)
    hear(outbox, (), (Incoming("in1", None, "98765@lid", "ok", START, quoted_id="3EB0AAAA"),
                        Incoming("in2", None, "11111@lid", "quem?", START)), False)
    assert [(m["from"], m["from_jid"], m["in_reply_to"], m["last_sent_id"]) for m in received(session)] == [
        ("+5511999990000", "98765@lid", sent["id"], sent["id"]), (None, "11111@lid", None, None)]


# -- end to end ---------------------------------------------------------------------------------------------

PATIENT, PATIENT_DIGITS = "+55 11 99999 0000", "5511999990000"
NO_SAFEGUARDS = {"WA_SEND_GAP_S": "0", "WA_SEND_PER_MINUTE": "0", "WA_SEND_PER_DAY": "0"}


@pytest.mark.e2e
@pytest.mark.browser
@pytest.mark.parametrize("whatsapp_knows", [True, False], ids=["whatsapps-mapping", "learnt-from-our-send"])
def test_a_reply_from_an_lid_chat_names_the_patient_and_our_last_message(gateway_factory, simulator, whatsapp_knows):
    simulator.configure(lid_numbers=[PATIENT_DIGITS], lid_phone_known=whatsapp_knows)
    gateway = gateway_factory(**NO_SAFEGUARDS)
    listener = SocketEvents(gateway.url)
    try:
        assert gateway.post("/start-session").status_code == 202
        gateway.wait_status("qr", timeout=60)
        gateway.phone_scans(simulator)
        gateway.wait_status("connected", timeout=30)
        queued = gateway.post("/messages", json={"phone": PATIENT, "text": "lembrete"}).json()
        simulator.sent_once_there_are(1, timeout=30)
        sent = wait_until(lambda: (r := gateway.get(f"/messages/{queued['id']}").json())["to_jid"] and r, 20,
                          what="the message to be sent")
        assert sent["to_jid"].endswith("@lid")
        assert simulator.send_from_patient(PATIENT, "confirmo").status_code == 200
        reply = listener.wait_for("message.received", lambda m: m["text"] == "confirmo", timeout=30)
    finally:
        listener.close()
    assert reply["from_jid"].endswith("@lid")
    assert (reply["from"], reply["last_sent_id"], reply["in_reply_to"]) == ("+" + PATIENT_DIGITS, queued["id"], None)


@pytest.mark.e2e
@pytest.mark.browser
def test_a_patient_quoting_a_reminder_is_matched_to_it(gateway_factory, simulator):
    gateway = gateway_factory(**NO_SAFEGUARDS)
    listener = SocketEvents(gateway.url)
    try:
        assert gateway.post("/start-session").status_code == 202
        gateway.wait_status("qr", timeout=60)
        gateway.phone_scans(simulator)
        gateway.wait_status("connected", timeout=30)
        first = gateway.post("/messages", json={"phone": PATIENT, "text": "terça 9h"}).json()
        second = gateway.post("/messages", json={"phone": PATIENT, "text": "quarta 10h"}).json()
        sent = simulator.sent_once_there_are(2, timeout=30)
        wait_until(lambda: gateway.get(f"/messages/{second['id']}").json()["wa_id"], 20, what="the second's id")
        assert simulator.send_from_patient(PATIENT, "confirmo terça", quoted=sent[0]["id"]).status_code == 200
        reply = listener.wait_for("message.received", lambda m: m["text"] == "confirmo terça", timeout=30)
    finally:
        listener.close()
    assert (reply["in_reply_to"], reply["last_sent_id"], reply["from"]) == (first["id"], second["id"],
                                                                              "+" + PATIENT_DIGITS)
