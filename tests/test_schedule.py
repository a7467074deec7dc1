"""Scheduled and cancelled: `send_at`, DELETE /messages/{id}, the queued listing, bounded integers."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.helpers import wait_until
from tests.receivers import Hook
from tests.reminder_fakes import START, drain, make_outbox
from wa_client.clock import iso
from wa_client.messaging.policy import MAX_AHEAD_S, parse_send_at
from wa_client.messaging.store import SCHEMA, OutboxStore

NOW = datetime.fromtimestamp(START, UTC)


@pytest.mark.parametrize(("raw", "expected"), [
    (None, None),
    ((NOW + timedelta(hours=1)).isoformat(), START + 3600),
    ((NOW + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"), START + 3600),
    ((NOW + timedelta(days=1)).astimezone(timezone(timedelta(hours=-3))).isoformat(), START + 86400),
    ((NOW - timedelta(seconds=30)).isoformat(), START - 30),  # a few seconds late is now
])
def test_send_at_reads_iso_8601_with_an_offset(raw, expected):
    assert parse_send_at(raw, START) == expected


@pytest.mark.parametrize(("raw", "words"), [
    ("tomorrow at nine", "not an ISO-8601"),
    ("2027-01-16T09:00:00", "has no offset"),
    ((NOW - timedelta(minutes=2)).isoformat(), "more than a minute in the past"),
    ((NOW + timedelta(seconds=MAX_AHEAD_S + 1)).isoformat(), "more than 30 days ahead"),
    ("9999-12-31T23:59:59+00:00", "more than 30 days ahead"),
    (1800000000, "ISO-8601"),
    ("", "not an ISO-8601"),
])
def test_send_at_refuses_in_words(raw, words):
    with pytest.raises(ValueError, match=words):
        parse_send_at(raw, START)


def test_a_scheduled_message_waits_until_its_time_and_others_go_meanwhile(tmp_path, session, clock):
    outbox = make_outbox(tmp_path, session, clock)
    later, _ = outbox.submit("5511999990000", "amanhã 9h", send_at=START + 600)
    now, _ = outbox.submit("5511999990001", "agora")
    drain(outbox)
    assert [s[1] for s in session.sends] == ["agora"]
    assert outbox.message(later["id"])["status"] == "queued"
    assert outbox.message(later["id"])["send_at"] == iso(START + 600)
    clock.now = START + 599
    drain(outbox)
    assert len(session.sends) == 1
    clock.now = START + 600
    drain(outbox)
    assert [(s[1], s[2]) for s in session.sends] == [("agora", START), ("amanhã 9h", START + 600)]
    assert outbox.message(now["id"])["to_jid"] == "5511999990001@c.us"


def test_a_due_scheduled_message_goes_before_a_younger_plain_one(tmp_path, session, clock):
    outbox = make_outbox(tmp_path, session, clock)
    outbox.submit("5511999990000", "scheduled", send_at=START + 10)
    clock.now = START + 20
    outbox.submit("5511999990001", "plain")
    drain(outbox)
    assert [s[1] for s in session.sends] == ["scheduled", "plain"]


def test_cancel_while_waiting_then_too_late_then_unknown(tmp_path, session, clock):
    outbox = make_outbox(tmp_path, session, clock)
    waiting, _ = outbox.submit("5511999990000", "later", send_at=START + 600)
    sent, _ = outbox.submit("5511999990001", "now")
    drain(outbox)
    outcome, view = outbox.cancel(waiting["id"])
    assert (outcome, view["status"], view["reason"]) == ("cancelled", "cancelled", None)
    assert view["cancelled_at"] and view["error"]
    assert [p["id"] for p in session.named("message.cancelled")] == [waiting["id"]]
    assert outbox.cancel(waiting["id"])[0] == "too_late"
    assert outbox.cancel(sent["id"])[0] == "too_late"
    assert outbox.cancel("nope") == ("unknown", None)
    clock.now = START + 700
    drain(outbox)
    assert [s[1] for s in session.sends] == ["now"]


def test_the_queued_listing_is_oldest_first_and_paged(tmp_path, session, clock):
    outbox = make_outbox(tmp_path, session, clock)
    ids = [outbox.submit("5511999990000", f"m{n}", send_at=START + 600)[0]["id"] for n in range(5)]
    outbox.cancel(ids[1])
    page = outbox.listing("out", 0, 2, "queued")
    assert [m["id"] for m in page] == [ids[0], ids[2]]
    rest = outbox.listing("out", page[-1]["seq"], 10, "queued")
    assert [m["id"] for m in rest] == [ids[3], ids[4]]


def test_an_old_outbox_file_opens_and_gains_the_new_columns(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    db.execute("INSERT INTO outgoing (id, phone, text, status, queued_at) VALUES ('old', '5511999990000', 'hi', "
               "'queued', 5.0)")
    db.commit()
    db.close()
    store = OutboxStore(path)
    try:
        assert store.get("old")["due_at"] == 5.0
        OutboxStore(path).close()  # a second open changes nothing
    finally:
        store.close()


# -- end to end: python app.py, real Chromium, the simulator's phone -------------------------------------------

PATIENT = "+55 11 99999 0000"
NO_SAFEGUARDS = {"WA_SEND_GAP_S": "0", "WA_SEND_PER_MINUTE": "0", "WA_SEND_PER_DAY": "0"}


def link(gateway, simulator) -> None:
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr", timeout=60)
    gateway.phone_scans(simulator)
    gateway.wait_status("connected", timeout=30)


def call(gateway, method: str, path: str):
    return gateway.http.request(method, gateway.url + path, timeout=10)


@pytest.mark.e2e
@pytest.mark.browser
def test_scheduled_reminders_go_on_time_and_a_cancelled_one_never(gateway_factory, simulator):
    hook = Hook().up()
    try:
        gateway = gateway_factory(WA_WEBHOOK_URL=hook.url, **NO_SAFEGUARDS)
        link(gateway, simulator)
        at = datetime.fromtimestamp(int(time.time()) + 4, timezone(timedelta(hours=-3)))
        soon = gateway.post("/messages", json={"phone": PATIENT, "text": "em 4 s", "send_at": at.isoformat()})
        far = gateway.post("/messages", json={"phone": PATIENT, "text": "nunca",
                                              "send_at": (at + timedelta(days=2)).isoformat()})
        assert soon.status_code == far.status_code == 202, (soon.text, far.text)
        waiting = gateway.get("/messages?direction=out&status=queued").json()["messages"]
        assert [m["id"] for m in waiting] == [soon.json()["id"], far.json()["id"]]
        assert waiting[0]["send_at"] and waiting[0]["to_jid"] is None
        cancelled = call(gateway, "DELETE", f"/messages/{far.json()['id']}")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        sent = simulator.sent_once_there_are(1, timeout=30)
        assert [m["text"] for m in sent] == ["em 4 s"] and sent[0]["time"] >= at.timestamp()
        done = wait_until(lambda: (r := gateway.get(f"/messages/{soon.json()['id']}").json())["status"] != "queued"
                          and r, 20, what="the scheduled message to be sent")
        assert done["to_jid"] and done["status"] in ("sent", "delivered", "read")
        assert call(gateway, "DELETE", f"/messages/{soon.json()['id']}").status_code == 409
        assert call(gateway, "DELETE", "/messages/no-such-id").status_code == 404
        wait_until(lambda: hook.events("message.cancelled"), 20, what="the message.cancelled webhook")
        assert [m["id"] for m in hook.events("message.cancelled")] == [far.json()["id"]]
        assert [m["text"] for m in simulator.sent_messages()] == ["em 4 s"]
    finally:
        hook.down()


@pytest.mark.e2e
def test_bad_send_at_and_huge_integers_get_400_in_words(gateway_factory):
    gateway = gateway_factory()
    for send_at in ("soon", "2026-12-04T09:00:00", "2001-01-01T00:00:00Z", "2099-01-01T00:00:00Z"):
        answer = gateway.post("/messages", json={"phone": PATIENT, "text": "x", "send_at": send_at})
        assert answer.status_code == 400 and "send_at" in answer.json()["error"], answer.text
    for query in ("direction=in&after=190769293341347446784", "direction=out&after=-1", "limit=501",
                  "limit=0", "after=1e3", "direction=out&status=lost"):
        answer = gateway.get(f"/messages?{query}")
        assert answer.status_code == 400 and answer.json()["error"], query
    assert gateway.get("/messages?direction=out").json()["messages"] == []
    assert gateway.get("/messages?status=queued").json()["messages"] == []  # status alone: the CRM's own
    assert gateway.get("/messages?direction=in&status=queued").json()["messages"] == []  # received have no status
