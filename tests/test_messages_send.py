"""Messages end to end: `python app.py`, real Chromium, the simulator's phone scanning the QR, a real webhook receiver.

The simulator's `/phone/messages` list (what the account really sent) is the proof of exactly-once.
"""

from __future__ import annotations

import json

import pytest

from tests.gateway import Gateway, SocketEvents
from tests.helpers import holds_for, wait_until
from tests.receivers import Hook
from wa_client.notify.webhooks import verify

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PATIENT = "+55 11 99999 0000"
PATIENT_DIGITS = "5511999990000"
NO_WHATSAPP = "+1 555 000 0000"  # in the simulator's not_on_whatsapp list
SECRET = "messages-e2e-secret"
NO_SAFEGUARDS = {"WA_SEND_GAP_S": "0", "WA_SEND_PER_MINUTE": "0", "WA_SEND_PER_DAY": "0"}


@pytest.fixture
def hook():
    made = Hook()
    yield made
    made.down()


def link(gateway: Gateway, simulator) -> None:
    """Generate QR and let the phone scan it: connected."""
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr", timeout=60)
    gateway.phone_scans(simulator)
    gateway.wait_status("connected", timeout=30)


def send(gateway: Gateway, text: str, phone: str = PATIENT, **headers: str) -> dict:
    response = gateway.post("/messages", json={"phone": phone, "text": text}, headers=headers)
    assert response.status_code in (200, 202), response.text
    return response.json()


def wait_message(gateway: Gateway, message_id: str, statuses: tuple[str, ...], timeout: float = 30.0) -> dict:
    def reached() -> dict | None:
        record = gateway.get(f"/messages/{message_id}").json()
        return record if record["status"] in statuses else None

    return wait_until(reached, timeout, interval=0.1, what=f"message {message_id} to be {statuses}")


def sent_texts(simulator, count: int = 0) -> list[str]:
    """The texts the phone's account sent; with `count`, once the phone has that many ("sent" comes with WhatsApp's
    "added", a moment before its server has the message)."""
    return [m["text"] for m in (simulator.sent_once_there_are(count) if count else simulator.sent_messages())]


@pytest.mark.parametrize("async_mode", ["eventlet", "threading"])
def test_a_reminder_goes_sent_delivered_read_on_http_webhooks_and_socketio(gateway_factory, simulator, hook,
                                                                          async_mode):
    hook.up()
    gateway = gateway_factory(WA_WEBHOOK_URL=hook.url, WA_WEBHOOK_SECRET=SECRET, WA_ASYNC_MODE=async_mode,
                              **NO_SAFEGUARDS)
    listener = SocketEvents(gateway.url)
    try:
        link(gateway, simulator)
        queued = send(gateway, "Lembrete: consulta amanhã às 9h")
        assert queued["status"] == "queued"
        record = wait_message(gateway, queued["id"], ("read",))
        assert record["sent_at"] and record["delivered_at"] and record["read_at"] and record["reason"] is None
        listener.wait_for("message.status", lambda m: m["id"] == queued["id"] and m["status"] == "read")
        pushed = [m["status"] for name, m in listener.events if name == "message.status" and m["id"] == queued["id"]]
    finally:
        listener.close()
    assert pushed == ["sent", "delivered", "read"]
    wait_until(lambda: "read" in [m["status"] for m in hook.events("message.status")], 20, what="the read webhook")
    assert [m["status"] for m in hook.events("message.status")] == ["sent", "delivered", "read"]
    for call in hook.calls:
        assert verify(SECRET, call["headers"]["X-Timestamp"], call["body"], call["headers"]["X-Signature"])
    assert [(m["to"], m["text"]) for m in simulator.sent_messages()] == [(PATIENT_DIGITS,
                                                                          "Lembrete: consulta amanhã às 9h")]


def test_a_read_receipt_without_its_event_is_still_seen(gateway_factory, simulator):
    simulator.configure(read_ack_event=False)  # as on the real site, sometimes
    gateway = gateway_factory(**NO_SAFEGUARDS)
    link(gateway, simulator)
    queued = send(gateway, "Sua consulta é amanhã")
    assert wait_message(gateway, queued["id"], ("read",))["read_at"]


def test_sends_are_never_closer_than_the_configured_gap(gateway_factory, simulator):
    gateway = gateway_factory(WA_SEND_GAP_S="1.5-2.5", WA_SEND_PER_MINUTE="0", WA_SEND_PER_DAY="0")
    link(gateway, simulator)
    ids = [send(gateway, f"lembrete {n}")["id"] for n in range(4)]
    for message_id in ids:
        wait_message(gateway, message_id, ("sent", "delivered", "read"), timeout=40)
    times = [m["time"] for m in simulator.sent_once_there_are(4)]
    assert sent_texts(simulator) == [f"lembrete {n}" for n in range(4)]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert all(gap >= 1.5 for gap in gaps), gaps  # the phone's own clock, not the test's


def test_a_number_without_whatsapp_fails_with_its_reason(gateway_factory, simulator):
    gateway = gateway_factory(**NO_SAFEGUARDS)
    link(gateway, simulator)
    assert gateway.get("/contacts/" + NO_WHATSAPP.replace(" ", "")).json() == {"phone": "+15550000000",
                                                                               "on_whatsapp": False}
    assert gateway.get("/contacts/5511999990000").json() == {"phone": "+5511999990000", "on_whatsapp": True}
    record = wait_message(gateway, send(gateway, "hi", phone=NO_WHATSAPP)["id"], ("failed",))
    assert record["reason"] == "not_on_whatsapp" and record["error"]
    assert sent_texts(simulator) == []


def test_an_idempotency_key_sends_once(gateway_factory, simulator):
    gateway = gateway_factory(**NO_SAFEGUARDS)
    link(gateway, simulator)
    first = send(gateway, "Confirme sua consulta", **{"Idempotency-Key": "crm-appt-9"})
    again = send(gateway, "Confirme sua consulta", **{"Idempotency-Key": "crm-appt-9"})
    assert again["id"] == first["id"]
    wait_message(gateway, first["id"], ("read",))
    assert sent_texts(simulator) == ["Confirme sua consulta"]


def test_a_restart_with_queued_messages_sends_each_exactly_once(gateway_factory, simulator, shared_home):
    first = gateway_factory(profile_dir=shared_home / "profile", WA_SEND_GAP_S="30", WA_SEND_PER_MINUTE="0")
    link(first, simulator)
    ids = [send(first, f"lembrete {n}")["id"] for n in range(3)]
    wait_message(first, ids[0], ("sent", "delivered", "read"))
    assert [first.get(f"/messages/{i}").json()["status"] for i in ids[1:]] == ["queued", "queued"]
    first.stop()  # SIGTERM while two messages wait out the gap; the saved login and the outbox stay
    second = gateway_factory(profile_dir=shared_home / "profile", WA_AUTOSTART="1", **NO_SAFEGUARDS)
    second.wait_status("connected", timeout=60)
    for message_id in ids:
        wait_message(second, message_id, ("sent", "delivered", "read"))
    assert sorted(sent_texts(simulator, 3)) == [f"lembrete {n}" for n in range(3)]
    assert holds_for(lambda: len(simulator.sent_messages()) == 3, 2.0)


def test_a_logout_keeps_messages_waiting_and_a_reset_fails_them_in_words(gateway_factory, simulator):
    gateway = gateway_factory(WA_SEND_GAP_S="300", WA_SEND_PER_MINUTE="0", WA_SEND_PER_DAY="0")
    listener = SocketEvents(gateway.url)
    try:
        link(gateway, simulator)
        first, waiting = send(gateway, "primeiro")["id"], send(gateway, "segundo")["id"]
        wait_message(gateway, first, ("sent", "delivered", "read"))
        assert simulator.logout().status_code == 200
        gateway.wait_status("disconnected", timeout=20)
        later = send(gateway, "terceiro")["id"]  # accepted while logged out: it waits too
        assert gateway.stays(lambda s: all(gateway.get(f"/messages/{i}").json()["status"] == "queued"
                                           for i in (waiting, later)), 2.0)
        assert gateway.post("/force-reset").status_code == 200
        for message_id in (waiting, later):
            record = gateway.get(f"/messages/{message_id}").json()
            assert (record["status"], record["reason"]) == ("failed", "not_connected")
            assert "reset" in record["error"] and "not sent" in record["error"]
            listener.wait_for("message.status", lambda m, i=message_id: m["id"] == i and m["status"] == "failed")
    finally:
        listener.close()
    assert sent_texts(simulator) == ["primeiro"]


def test_a_patient_reply_reaches_the_webhook_socketio_and_the_list(gateway_factory, simulator, hook):
    hook.up()
    gateway = gateway_factory(WA_WEBHOOK_URL=hook.url, WA_WEBHOOK_SECRET=SECRET)
    listener = SocketEvents(gateway.url)
    try:
        link(gateway, simulator)
        assert simulator.send_from_patient("+55 11 98888 0000", "Confirmo, obrigado").status_code == 200
        pushed = listener.wait_for("message.received", timeout=30)
    finally:
        listener.close()
    assert (pushed["from"], pushed["text"]) == ("+5511988880000", "Confirmo, obrigado") and pushed["time"]
    wait_until(lambda: hook.events("message.received"), 20, what="the message.received webhook")
    assert hook.events("message.received") == [pushed]
    listed = gateway.get("/messages?direction=in&after=0").json()
    assert listed["messages"] == [pushed] and listed["next_after"] == pushed["seq"]


def test_a_receiver_that_is_down_then_up_loses_nothing(gateway_factory, simulator, hook):
    gateway = gateway_factory(WA_WEBHOOK_URL=hook.url, WA_WEBHOOK_SECRET=SECRET)  # nobody listens yet
    link(gateway, simulator)
    for text in ("Sim", "Posso às 10h?"):
        assert simulator.send_from_patient("+55 11 98888 0000", text).status_code == 200
    listed = wait_until(lambda: [m["text"] for m in gateway.get("/messages?direction=in").json()["messages"]]
                        if len(gateway.get("/messages?direction=in").json()["messages"]) == 2 else None,
                        30, what="both replies stored")
    assert listed == ["Sim", "Posso às 10h?"]
    hook.up()  # the CRM comes back: the webhook's retries reach it, and the list has kept everything
    wait_until(lambda: len(hook.events("message.received")) == 2, 30, what="both webhooks after the receiver is up")
    assert [m["text"] for m in hook.events("message.received")] == ["Sim", "Posso às 10h?"]


def test_the_restriction_notice_pauses_sending_until_resumed(gateway_factory, simulator):
    gateway = gateway_factory(**NO_SAFEGUARDS)
    listener = SocketEvents(gateway.url)
    try:
        link(gateway, simulator)
        simulator.configure(restricted=True)
        notice = listener.wait_for("outbox.paused", timeout=30)
        assert notice["reason"] == "restricted" and PATIENT_DIGITS not in json.dumps(notice)
        waiting = send(gateway, "lembrete")["id"]
        assert gateway.get("/outbox").json()["paused"] is True
        assert gateway.stays(lambda s: gateway.get(f"/messages/{waiting}").json()["status"] == "queued", 1.5)
        simulator.configure(restricted=False)
        # resume once WhatsApp has lifted its notice (a listening gateway answers a resume before the page moves)
        wait_until(lambda: "no longer warns of a restriction" in gateway.log_text(), 10, what="the notice gone")
        assert gateway.post("/outbox/resume").json()["paused"] is False
        wait_message(gateway, waiting, ("sent", "delivered", "read"))
    finally:
        listener.close()
    assert sent_texts(simulator, 1) == ["lembrete"]


def test_failures_in_a_row_pause_sending(gateway_factory, simulator):
    simulator.configure(send_fails=True)
    gateway = gateway_factory(WA_SEND_PAUSE_AFTER_FAILURES="2", **NO_SAFEGUARDS)
    link(gateway, simulator)
    for n in range(2):
        send(gateway, f"m{n}")
    wait_until(lambda: gateway.get("/outbox").json()["paused"], 40, what="sending paused")
    assert gateway.get("/outbox").json()["pause_reason"] == "failures"
    waiting = send(gateway, "after the pause")["id"]
    assert gateway.stays(lambda s: gateway.get(f"/messages/{waiting}").json()["status"] == "queued", 1.5)
    assert "after the pause" not in [m["text"] for m in simulator.messages().get("rejected", [])]


def test_without_whatsapps_modules_a_reminder_goes_out_through_the_page(gateway_factory, simulator):
    simulator.configure(modules=False)
    gateway = gateway_factory(**NO_SAFEGUARDS)
    link(gateway, simulator)
    record = wait_message(gateway, send(gateway, "Lembrete pela página")["id"], ("sent", "delivered", "read"))
    assert record["sent_at"]
    assert [(m["text"], m["via"]) for m in simulator.sent_once_there_are(1)] == [("Lembrete pela página", "page")]
    lookup = gateway.get("/contacts/5511999990000")
    assert lookup.status_code == 503 and lookup.json()["error"]
    assert gateway.status()["state"] == "connected"  # the page route navigated; the session stayed


def test_a_number_known_only_by_its_lid_gets_its_message(gateway_factory, simulator):
    simulator.configure(lid_numbers=[PATIENT_DIGITS])
    gateway = gateway_factory(**NO_SAFEGUARDS)
    link(gateway, simulator)
    wait_message(gateway, send(gateway, "Olá")["id"], ("read",))
    assert [m["jid"].endswith("@lid") for m in simulator.sent_messages()] == [True]
