"""A patient's STOP: the words, kept on disk, 409 for new messages, what waits cancelled, GET/PUT/DELETE /opt-outs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.gateway import SocketEvents
from tests.helpers import wait_until
from tests.receivers import Hook
from tests.reminder_fakes import START, Incoming, Session, drain, hear, make_outbox
from wa_client.messaging.opt_outs import DEFAULT_WORDS, is_opt_out, parse_words

WORDS = parse_words(DEFAULT_WORDS)


@pytest.mark.parametrize("text", ["STOP", "stop", " Stop! ", "unsubscribe", "Parar", "SAIR.", "baja", "Bája",
                                  "ＳＴＯＰ"])
def test_a_whole_message_of_one_word_opts_out(text):
    assert is_opt_out(text, WORDS)


@pytest.mark.parametrize("text", ["Stop by at 3?", "CANCELAR", "please stop", "stopp", "", None, "STOP STOP",
                                  "sair amanhã"])
def test_anything_else_is_not_an_opt_out(text):
    assert not is_opt_out(text, WORDS)


def test_the_words_are_a_setting():
    assert is_opt_out("Não quero", parse_words("nao quero, BASTA"))
    assert not is_opt_out("STOP", parse_words("BASTA"))


def test_a_patients_stop_cancels_what_waits_and_is_kept_on_disk(tmp_path, session, clock):
    outbox = make_outbox(tmp_path, session, clock)
    waiting, _ = outbox.submit("5511999990000", "amanhã", send_at=START + 3600)
    other, _ = outbox.submit("5511999990001", "outro", send_at=START + 3600)
    hear(outbox, (), (Incoming("in1", "+5511999990000", "5511999990000@c.us", "Stop", START),), False)
    view = outbox.message(waiting["id"])
    assert (view["status"], view["reason"]) == ("cancelled", "opted_out")
    assert outbox.message(other["id"])["status"] == "queued"
    assert session.named("contact.opted_out") == [{"phone": "+5511999990000", "since": view["cancelled_at"],
                                                   "source": "patient"}]
    assert [p["id"] for p in session.named("message.cancelled")] == [waiting["id"]]
    outbox.store.close()
    later_session = Session(clock)
    again = make_outbox(tmp_path, later_session, clock)
    assert [o["phone"] for o in again.reminders.listing()] == ["+5511999990000"]
    clock.now = START + 3600
    drain(again)
    assert [s[1] for s in later_session.sends] == ["outro"]


def test_cancelar_is_an_appointment_not_an_opt_out(tmp_path, session, clock):
    outbox = make_outbox(tmp_path, session, clock)
    hear(outbox, (), (Incoming("in1", "+5511999990000", "5511999990000@c.us", "CANCELAR", START),), False)
    assert outbox.reminders.listing() == [] and session.named("contact.opted_out") == []


# -- end to end ---------------------------------------------------------------------------------------------

PATIENT = "+55 11 99999 0000"
NO_SAFEGUARDS = {"WA_SEND_GAP_S": "0", "WA_SEND_PER_MINUTE": "0", "WA_SEND_PER_DAY": "0"}


def call(gateway, method: str, path: str):
    return gateway.http.request(method, gateway.url + path, timeout=10)


@pytest.mark.e2e
@pytest.mark.browser
def test_a_patient_writes_stop_and_gets_nothing_more(gateway_factory, simulator):
    hook = Hook().up()
    try:
        gateway = gateway_factory(WA_WEBHOOK_URL=hook.url, **NO_SAFEGUARDS)
        listener = SocketEvents(gateway.url)
        try:
            assert gateway.post("/start-session").status_code == 202
            gateway.wait_status("qr", timeout=60)
            gateway.phone_scans(simulator)
            gateway.wait_status("connected", timeout=30)
            waiting = gateway.post("/messages", json={"phone": PATIENT, "text": "amanhã", "send_at":
                                                      "2099-01-01T00:00:00Z"})
            assert waiting.status_code == 400  # (too far: nothing stored)
            later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
            waiting = gateway.post("/messages", json={"phone": PATIENT, "text": "amanhã", "send_at": later}).json()
            assert simulator.send_from_patient(PATIENT, "  stop ").status_code == 200
            listener.wait_for("contact.opted_out", lambda p: p["phone"] == "+5511999990000", timeout=30)
        finally:
            listener.close()
        assert gateway.get(f"/messages/{waiting['id']}").json()["reason"] == "opted_out"
        listed = gateway.get("/opt-outs").json()["opt_outs"]
        assert [(o["phone"], o["source"]) for o in listed] == [("+5511999990000", "patient")]
        refused = gateway.post("/messages", json={"phone": PATIENT, "text": "de novo"})
        assert refused.status_code == 409 and "opted out" in refused.json()["error"]
        assert len(gateway.get("/messages?direction=out").json()["messages"]) == 1  # nothing stored
        wait_until(lambda: hook.events("contact.opted_out"), 20, what="the contact.opted_out webhook")
        assert call(gateway, "DELETE", "/opt-outs/+5511999990000").status_code == 200
        assert call(gateway, "DELETE", "/opt-outs/+5511999990000").status_code == 404
        again = gateway.post("/messages", json={"phone": PATIENT, "text": "bem-vindo de volta"})
        assert again.status_code == 202
        assert [m["text"] for m in simulator.sent_once_there_are(1, timeout=30)] == ["bem-vindo de volta"]
        assert call(gateway, "PUT", "/opt-outs/+5511988880000").status_code == 201
        assert call(gateway, "PUT", "/opt-outs/5511988880000").status_code == 200
        assert call(gateway, "PUT", "/opt-outs/not-a-phone").status_code == 400
        assert [o["source"] for o in gateway.get("/opt-outs").json()["opt_outs"]] == ["crm"]
    finally:
        hook.down()
