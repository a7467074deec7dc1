"""Exactly once, the pure logic: the id stored before the send, ack 0 is not `sent`, and settling by WhatsApp's record.

A fake session stands in for WhatsApp (as in tests/test_outbox.py); the end-to-end runs are in
tests/test_exactly_once.py and tests/test_stop_campaign.py.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from tests.reminder_fakes import hear, publish
from tests.test_outbox import Ack, Clock, FakeSession, Found, SendError
from wa_client import Settings, State
from wa_client.messaging.outbox import Outbox
from wa_client.messaging.settle import ACTIONS, HELD_AT_CLOCK_S, SETTLE_TRIES, action


@dataclass(frozen=True)
class Sent:
    wa_id: str
    to_jid: str
    via: str
    ack: int = 0
    msg_id: str = ""


class KeyedSession(FakeSession):
    """A session with WhatsApp's modules: ids chosen before the send, a chat that remembers them."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.ids = 0
        self.ack_at_send = 0
        self.chat: dict[str, int] = {}  # msg_id -> ack, what WhatsApp's record holds
        self.keyed: list[str | None] = []
        self.seen_at_send: list[dict] = []
        self.outbox: Outbox | None = None
        self.lookups: list = []
        self.unreadable = False
        self.find_errors: list[Exception] = []

    def new_message_id(self) -> str:
        self.ids += 1
        return f"3EB0{self.ids:04d}"

    def send_message(self, phone: str, text: str, msg_id: str | None = None) -> Sent:
        if self.outbox is not None:  # what the file says while the send runs
            self.seen_at_send.append(dict(self.outbox.store.listing("out", 0, 10)[-1]))
        if self.failures:
            raise self.failures.pop(0)
        self.sends.append((phone, text, self.clock()))
        self.keyed.append(msg_id)
        self.chat[msg_id] = self.ack_at_send
        return Sent(f"true_{phone}@c.us_{msg_id}", phone + "@c.us", "modules", self.ack_at_send, msg_id)

    def find_sent(self, lookups) -> list[Found]:
        self.lookups.append(list(lookups))
        if self.find_errors:
            raise self.find_errors.pop(0)
        out = []
        for lk in lookups:
            if self.unreadable:
                out.append(Found(lk.message_id, "unreadable"))
            elif lk.msg_id in self.chat:
                out.append(Found(lk.message_id, "found", f"true_{lk.phone_digits}@c.us_{lk.msg_id}",
                                 self.chat[lk.msg_id], lk.phone_digits + "@c.us"))
            else:
                out.append(Found(lk.message_id, "absent"))
        return out


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def session(clock) -> KeyedSession:
    return KeyedSession(clock)


@pytest.fixture
def make_outbox(tmp_path, session, clock):
    made = []

    def build() -> Outbox:
        config = Settings(profile_dir=str(tmp_path / "profile"), send_gap_s="0", send_per_minute=0, send_per_day=0)
        outbox = Outbox(session, config, rng=random.Random(7), clock=clock).open()
        session.outbox = outbox
        made.append(outbox)
        return outbox

    yield build
    for outbox in made:
        outbox.store.close()


def raw(outbox: Outbox, message_id: str) -> dict:
    return outbox.store.get(message_id)


def crash_mid_send(make_outbox, session, in_chat: bool, ack: int = 1) -> tuple[Outbox, str]:
    """Queue one message, mark it sending with a chosen id (as send() does), 'die', restart."""
    outbox = make_outbox()
    view, _ = outbox.submit("5511999990000", "Lembrete")
    outbox.record.begin(view["id"], "3EB0DEAD", outbox.clock())
    if in_chat:
        session.chat["3EB0DEAD"] = ack
    outbox.store.close()
    session.listeners.clear()  # the dead process hears nothing more
    return make_outbox(), view["id"]


def test_every_answer_has_an_action_and_only_an_unreadable_chat_fails():
    assert {a for (state, _), a in ACTIONS.items() if a == "fail"} == {"fail"}
    assert [k for k, a in ACTIONS.items() if a == "fail"] == [("unreadable", True), ("unreadable", False)]
    assert action(Found("m", "found", "w", 2)) == "sent" and action(Found("m", "found", "w", 0)) == "hold"
    assert action(Found("m", "absent")) == "resend" and action(Found("m", "nonsense")) == "fail"


def test_the_id_is_stored_with_sending_before_the_send_starts(make_outbox, session):
    outbox = make_outbox()
    view, _ = outbox.submit("5511999990000", "hi")
    session.ack_at_send = 1
    outbox.step()
    at_send = session.seen_at_send[0]
    assert (at_send["status"], at_send["msg_id"]) == ("sending", "3EB00001")
    assert session.keyed == ["3EB00001"]
    assert outbox.message(view["id"])["status"] == "sent"


def test_a_message_at_the_clock_stays_sending_until_the_server_ack(make_outbox, session):
    outbox = make_outbox()
    view, _ = outbox.submit("5511999990000", "hi")
    outbox.step()
    record = raw(outbox, view["id"])
    assert record["status"] == "sending" and record["wa_id"] and record["sent_at"] is None
    assert outbox.message(view["id"])["status"] == "queued"  # never an internal status in the API
    assert record["wa_id"] in session.watched  # its ticks are followed already
    hear(outbox, (Ack(record["wa_id"], 1),), (), False)
    assert outbox.message(view["id"])["status"] == "sent"


def test_a_clock_held_past_the_bound_is_settled_from_the_chat(make_outbox, session, clock):
    outbox = make_outbox()
    view, _ = outbox.submit("5511999990000", "hi")
    outbox.step()
    outbox.step()
    assert session.lookups == []  # not yet: the bound has not passed
    clock.now += HELD_AT_CLOCK_S + 1
    session.chat["3EB00001"] = 1  # the server got it; the ack event was missed
    outbox.step()
    assert len(session.lookups) == 1 and outbox.message(view["id"])["status"] == "sent"
    assert len(session.sends) == 1


def test_after_a_restart_a_message_found_in_the_chat_is_sent_and_not_sent_again(make_outbox, session):
    outbox, message_id = crash_mid_send(make_outbox, session, in_chat=True)
    outbox.step(), outbox.step()
    assert outbox.message(message_id)["status"] == "sent" and session.sends == []
    assert raw(outbox, message_id)["wa_id"] in session.watched


def test_after_a_restart_a_message_found_at_the_clock_waits_for_its_ticks(make_outbox, session, clock):
    outbox, message_id = crash_mid_send(make_outbox, session, in_chat=True, ack=0)
    outbox.step(), outbox.step()
    assert raw(outbox, message_id)["status"] == "sending" and session.sends == []
    assert raw(outbox, message_id)["wa_id"] in session.watched


def test_after_a_restart_a_message_surely_absent_is_sent_with_the_same_id(make_outbox, session):
    outbox, message_id = crash_mid_send(make_outbox, session, in_chat=False)
    session.ack_at_send = 1
    outbox.step(), outbox.step(), outbox.step()
    assert session.keyed == ["3EB0DEAD"] and outbox.message(message_id)["status"] == "sent"


def test_only_a_chat_that_stays_unreadable_fails_a_message_as_unconfirmed(make_outbox, session, clock):
    outbox, message_id = crash_mid_send(make_outbox, session, in_chat=True)
    session.unreadable = True
    for _ in range(SETTLE_TRIES):
        assert outbox.message(message_id)["status"] == "queued"  # (`sending`) not failed yet: tried again later
        outbox.step()
        clock.now += 60
    record = outbox.message(message_id)
    assert (record["status"], record["reason"]) == ("failed", "unconfirmed") and "look at the chat" in record["error"]
    assert session.sends == []


def test_a_look_up_that_errors_is_tried_again_before_a_person_is_asked(make_outbox, session, clock):
    outbox, message_id = crash_mid_send(make_outbox, session, in_chat=False)
    session.find_errors = [SendError("unavailable")] * SETTLE_TRIES
    for _ in range(SETTLE_TRIES):
        outbox.step()
        assert outbox.message(message_id)["status"] in ("queued", "failed")
        clock.now += 60
    assert outbox.message(message_id)["reason"] == "unconfirmed" and len(session.lookups) == SETTLE_TRIES


def test_a_chat_unreadable_once_is_read_the_next_time(make_outbox, session, clock):
    outbox, message_id = crash_mid_send(make_outbox, session, in_chat=True)
    session.unreadable = True
    outbox.step()
    session.unreadable = False
    outbox.step()
    assert session.lookups[1:] == []  # not before its time
    clock.now += 60
    outbox.step()
    assert outbox.message(message_id)["status"] == "sent" and session.sends == []


def test_a_look_up_while_not_connected_does_not_count(make_outbox, session, clock):
    outbox, message_id = crash_mid_send(make_outbox, session, in_chat=False)
    session.find_errors = [SendError("not_connected")] * (SETTLE_TRIES + 1)
    for _ in range(SETTLE_TRIES + 1):
        outbox.step()
    assert raw(outbox, message_id)["status"] == "sending"


def test_nothing_is_settled_or_sent_while_not_connected(make_outbox, session):
    outbox, message_id = crash_mid_send(make_outbox, session, in_chat=False)
    session.state = State.DISCONNECTED
    outbox.step()
    assert session.lookups == [] and raw(outbox, message_id)["status"] == "sending"


def test_a_send_without_a_clear_answer_is_settled_not_failed(make_outbox, session):
    outbox = make_outbox()
    view, _ = outbox.submit("5511999990000", "hi")
    session.failures = [SendError("unavailable")]  # e.g. the page reloaded before WhatsApp confirmed it
    outbox.step()
    assert raw(outbox, view["id"])["status"] == "sending"
    session.ack_at_send = 1
    outbox.step(), outbox.step()  # absent -> queued -> sent with the same id
    assert outbox.message(view["id"])["status"] == "sent" and session.keyed == ["3EB00001"]


def test_a_graceful_stop_starts_no_new_send_and_requeues_nothing(make_outbox, session):
    outbox = make_outbox()
    outbox.submit("5511999990000", "a")
    outbox.submit("5511999990000", "b")
    session.ack_at_send = 1
    outbox.step()
    assert outbox.drain(timeout=0.5) is True
    outbox.step()
    assert [s[1] for s in session.sends] == ["a"] and outbox.store.counts() == {"sent": 1, "queued": 1}


def test_a_graceful_stop_waits_for_the_server_ack_of_the_last_send(make_outbox, session):
    outbox = make_outbox()
    view, _ = outbox.submit("5511999990000", "a")
    outbox.step()  # at the clock
    wa_id = raw(outbox, view["id"])["wa_id"]
    session.sleep = lambda s: publish(outbox, (Ack(wa_id, 1),))  # the ack comes (on the bus) while it waits
    assert outbox.drain(timeout=5) is True and outbox.message(view["id"])["status"] == "sent"


def test_a_graceful_stop_gives_up_waiting_at_its_bound(make_outbox, session):
    outbox = make_outbox()
    view, _ = outbox.submit("5511999990000", "a")
    outbox.step()
    assert outbox.drain(timeout=0.2) is False and raw(outbox, view["id"])["status"] == "sending"


def test_a_reset_fails_what_was_left_sending_as_unconfirmed(make_outbox, session):
    outbox, message_id = crash_mid_send(make_outbox, session, in_chat=True)
    session.state = State.IDLE
    session.status_event("idle", "force_reset")
    record = outbox.message(message_id)
    assert (record["status"], record["reason"]) == ("failed", "unconfirmed") and "reset" in record["error"]


def test_the_watch_list_holds_only_what_can_still_change_and_is_capped(make_outbox, session, clock):
    outbox = make_outbox()
    session.ack_at_send = 1
    for i in range(3):
        outbox.submit("5511999990000", f"m{i}")
        outbox.step()
    rows = outbox.store.listing("out", 0, 10)
    hear(outbox, (Ack(rows[0]["wa_id"], 3),), (), False)  # read: nothing left to change
    assert sorted(session.watched) == sorted(r["wa_id"] for r in rows[1:])
    clock.now += 8 * 86400  # older than 7 days
    hear(outbox, (Ack(rows[1]["wa_id"], 2),), (), False)
    assert session.watched == []
    assert len(outbox.store.watched(0, limit=1)) == 1
