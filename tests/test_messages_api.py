"""POST /messages and friends through `python app.py`, before any WhatsApp is linked: what is refused, what waits.

Sending to the simulated WhatsApp (real Chromium, a phone scanning the QR) is in tests/test_messages_send.py.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path

import pytest

from tests.gateway import SocketEvents
from tests.helpers import wait_until
from tests.receivers import Hook
from wa_client.notify.webhooks import verify

PATIENT = "+55 11 99999 0000"
SECRET = "messages-webhook-secret"

BAD_BODIES = [
    ({"phone": "12", "text": "hi"}, "8 to 15 digits"),
    ({"phone": "+55 11 abc", "text": "hi"}, "only digits"),
    ({"phone": 5511999990000, "text": "hi"}, "must be a string"),
    ({"text": "hi"}, "must be a string"),
    ({"phone": PATIENT}, '"text" must be a non-empty string'),
    ({"phone": PATIENT, "text": ""}, '"text" must be a non-empty string'),
    ({"phone": PATIENT, "text": " \n\t "}, '"text" must be a non-empty string'),
    ({"phone": PATIENT, "text": 42}, '"text" must be a non-empty string'),
    ({"phone": PATIENT, "text": "x" * 4097}, "at most 4096"),
    ({"phone": PATIENT, "text": "hi", "priority": "high"}, "unknown field(s) 'priority'"),
    ({"phone": PATIENT, "text": "hi", "wait": "no"}, '"wait" must be true or false'),
]


def queued_out(gateway) -> list[dict]:
    response = gateway.get("/messages?direction=out")
    assert response.status_code == 200
    return response.json()["messages"]


def test_bad_messages_are_refused_in_words_and_nothing_is_stored(gateway):
    for body, words in BAD_BODIES:
        response = gateway.post("/messages", json=body)
        assert response.status_code == 400, (body, response.text)
        assert words in response.json()["error"], (body, response.json())
    assert gateway.post("/messages", data="[1]", headers={"Content-Type": "application/json"}).status_code == 400
    assert queued_out(gateway) == []


def test_a_message_waits_in_the_queue_while_whatsapp_is_not_linked(gateway):
    response = gateway.post("/messages", json={"phone": PATIENT, "text": "Lembrete: consulta amanhã às 9h"})
    assert response.status_code == 202
    created = response.json()
    assert created["status"] == "queued" and created["to"] == "+5511999990000"
    assert response.headers["Location"] == f"/messages/{created['id']}"
    record = gateway.get(f"/messages/{created['id']}").json()
    assert record["status"] == "queued" and record["reason"] is None and record["queued_at"]
    assert record["sent_at"] is None and record["failed_at"] is None
    assert gateway.get("/messages/no-such-id").status_code == 404
    assert [m["id"] for m in queued_out(gateway)] == [created["id"]]


def test_wait_false_while_not_connected_is_409_and_stores_nothing(gateway):
    response = gateway.post("/messages", json={"phone": PATIENT, "text": "hi", "wait": False})
    assert response.status_code == 409
    assert "not connected" in response.json()["error"] and "idle" in response.json()["error"]
    assert queued_out(gateway) == []


def test_the_same_idempotency_key_gives_the_same_message_and_another_body_is_refused(gateway):
    body = {"phone": PATIENT, "text": "Sua consulta é amanhã"}
    first = gateway.post("/messages", json=body, headers={"Idempotency-Key": "crm-appointment-17"})
    again = gateway.post("/messages", json={**body, "phone": "5511999990000"},  # the same number, written otherwise
                         headers={"Idempotency-Key": "crm-appointment-17"})
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    retry = gateway.post("/messages", json={**body, "wait": False}, headers={"Idempotency-Key": "crm-appointment-17"})
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]  # stored already: not a 409
    other = gateway.post("/messages", json={**body, "text": "Outra coisa"},
                         headers={"Idempotency-Key": "crm-appointment-17"})
    assert other.status_code == 409 and "different message" in other.json()["error"]
    assert len(queued_out(gateway)) == 1


def test_contacts_need_a_connected_session_and_a_phone(gateway):
    response = gateway.get("/contacts/5511999990000")
    assert response.status_code == 409 and "not connected" in response.json()["error"]
    assert gateway.get("/contacts/12").status_code == 400


def test_the_outbox_is_a_private_file_that_outlives_the_gateway(gateway_factory):
    data_dir = Path(tempfile.mkdtemp(prefix="wa-outbox-test-"))
    first = gateway_factory(WA_DATA_DIR=str(data_dir))
    queued = first.post("/messages", json={"phone": PATIENT, "text": "hi"}).json()
    database = data_dir / "outbox.sqlite3"
    assert stat.S_IMODE(os.stat(database).st_mode) == 0o600
    first.stop()
    second = gateway_factory(WA_DATA_DIR=str(data_dir))
    assert second.get(f"/messages/{queued['id']}").json()["status"] == "queued"
    second.stop()
    for leftover in data_dir.iterdir():
        leftover.unlink()
    data_dir.rmdir()


def test_a_reset_fails_waiting_messages_in_words_on_http_socketio_and_webhooks(gateway_factory):
    hook = Hook().up()
    try:
        gateway = gateway_factory(WA_WEBHOOK_URL=hook.url, WA_WEBHOOK_SECRET=SECRET)
        listener = SocketEvents(gateway.url)
        try:
            queued = gateway.post("/messages", json={"phone": PATIENT, "text": "hi"}).json()
            assert gateway.post("/force-reset").status_code == 200
            failed = listener.wait_for("message.status", lambda m: m["id"] == queued["id"])
        finally:
            listener.close()
        record = gateway.get(f"/messages/{queued['id']}").json()
        assert failed == record
        assert (record["status"], record["reason"]) == ("failed", "not_connected")
        assert "reset" in record["error"] and "not sent" in record["error"]
        wait_until(lambda: any(json.loads(c["body"])["event"] == "message.status" for c in hook.calls), 20,
                   what="the message.status webhook")
        call = next(c for c in hook.calls if json.loads(c["body"])["event"] == "message.status")
        assert verify(SECRET, call["headers"]["X-Timestamp"], call["body"], call["headers"]["X-Signature"])
        assert json.loads(call["body"])["data"]["id"] == queued["id"]
    finally:
        hook.down()


def test_sending_can_be_resumed_and_the_outbox_says_whether_it_is_paused(gateway):
    summary = gateway.get("/outbox").json()
    assert summary["paused"] is False and summary["counts"] == {}
    assert gateway.post("/outbox/resume").json()["paused"] is False


@pytest.mark.parametrize("path", ["/messages", "/outbox", "/messages/x", "/contacts/5511999990000"])
def test_message_routes_need_the_token(gateway_factory, path):
    gateway = gateway_factory(token="messages-token")
    response = gateway.http.get(gateway.url + path, timeout=10)
    assert response.status_code == 401
