"""The outbox's own logic, without a browser: a fake session stands in for WhatsApp (pure logic only).

The end-to-end behaviour (real Chromium, the simulator, `python app.py`) is in tests/test_messages*.py.
"""

from __future__ import annotations

import os
import random
import stat
from dataclasses import dataclass

import pytest

from tests.reminder_fakes import hear, publish
from wa_client import ConfigError, Settings, State
from wa_client.config.values import parse_gap
from wa_client.messaging.contacts import ContactBook
from wa_client.messaging.outbox import IdempotencyConflict, Outbox


@dataclass(frozen=True)
class Sent:
    wa_id: str
    to_jid: str
    via: str
    ack: int = 1  # WhatsApp's server has it (the exactly-once tests in tests/test_settle.py vary this)


@dataclass(frozen=True)
class Found:
    message_id: str
    state: str
    wa_id: str | None = None
    ack: int | None = None
    to_jid: str | None = None


@dataclass(frozen=True)
class Ack:
    wa_id: str
    ack: int


@dataclass(frozen=True)
class Incoming:
    wa_id: str
    from_phone: str | None
    from_jid: str
    text: str
    time: float
    kind: str


class SendError(RuntimeError):
    def __init__(self, reason: str, words: str = "") -> None:
        super().__init__(words or reason)
        self.reason = reason


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class FakeSession:
    """What the outbox uses of WhatsAppClient: state, send_message, events, watch list."""

    def __init__(self, clock: Clock) -> None:
        self.state = State.CONNECTED
        self.clock = clock
        self.sends: list[tuple[str, str, float]] = []
        self.failures: list[Exception] = []
        self.events: list[tuple[str, dict]] = []
        self.listeners = []
        self.watched: list[str] = []
        self.chat_listener = None
        self.exists_calls = 0

    def send_message(self, phone: str, text: str, msg_id: str | None = None) -> Sent:
        if self.failures:
            raise self.failures.pop(0)
        self.sends.append((phone, text, self.clock()))
        return Sent(f"wa{len(self.sends)}", phone + "@c.us", "modules")

    def find_sent(self, lookups) -> list[Found]:  # the chat holds exactly what send_message recorded
        texts = [s[1] for s in self.sends]
        return [Found(lk.message_id, "found", f"wa{texts.index(lk.text) + 1}", 1) if lk.text in texts else
                Found(lk.message_id, "absent") for lk in lookups]

    def contact_exists(self, phone: str) -> bool:
        self.exists_calls += 1
        return phone != "15550000000"

    def subscribe(self, listener):
        self.listeners.append(listener)

    def set_chat_listener(self, fn) -> None:
        self.chat_listener = fn

    def watch_messages(self, ids) -> None:
        self.watched = list(ids)

    def emit(self, event: str, payload: dict) -> None:
        self.events.append((event, payload))

    def status_event(self, state: str, reason: str | None) -> None:
        for listener in self.listeners:
            listener("status", {"state": state, "reason": reason})

    def spawn(self, fn, *args) -> None:  # the tests step the outbox themselves
        pass

    def sleep(self, seconds: float) -> None:
        pass


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def session(clock) -> FakeSession:
    return FakeSession(clock)


@pytest.fixture
def make_outbox(tmp_path, session, clock):
    made = []

    def build(path=None, **settings) -> Outbox:
        config = Settings(profile_dir=str(tmp_path / "profile"), **{"send_gap_s": "0", "send_per_minute": 0,
                                                                     "send_per_day": 0, **settings})
        outbox = Outbox(session, config, path=path, rng=random.Random(7), clock=clock).open()
        made.append(outbox)
        return outbox

    yield build
    for outbox in made:
        outbox.store.close()


def statuses(session: FakeSession) -> list[tuple[str, str]]:
    return [(p["id"], p["status"]) for e, p in session.events if e == "message.status"]


@pytest.mark.parametrize(("raw", "expected"), [("15-45", (15.0, 45.0)), ("0", (0.0, 0.0)), ("20", (20.0, 20.0)),
                                                (" 1.5 - 2 ", (1.5, 2.0))])
def test_gap_setting_reads_a_number_or_a_range(raw, expected):
    assert parse_gap(raw) == expected


@pytest.mark.parametrize("raw", ["", "-5", "45-15", "fast", "1-2-3"])
def test_gap_setting_refuses_nonsense_in_words(raw):
    with pytest.raises(ConfigError, match="WA_SEND_GAP_S"):
        Settings(send_gap_s=raw).validate()


def test_gap_is_drawn_reproducibly_within_the_range(make_outbox):
    outbox = make_outbox(send_gap_s="15-45")
    outbox.policy.rng = random.Random(7)
    draws = [outbox.policy.draw_gap() for _ in range(200)]
    assert all(15 <= d <= 45 for d in draws)
    outbox.policy.rng = random.Random(7)
    assert [outbox.policy.draw_gap() for _ in range(200)] == draws


def test_the_file_is_private_and_outside_the_profile(make_outbox, tmp_path):
    outbox = make_outbox()
    assert outbox.path == tmp_path / "outbox.sqlite3"
    assert stat.S_IMODE(os.stat(outbox.path).st_mode) == 0o600


def test_a_queued_message_is_sent_once_and_marked_sent(make_outbox, session):
    outbox = make_outbox()
    view, created = outbox.submit("5511999990000", "Lembrete: consulta amanhã 9h")
    assert created and view["status"] == "queued" and view["to"] == "+5511999990000"
    assert outbox.step() == 0.0
    assert outbox.step() > 0  # nothing left
    assert [s[:2] for s in session.sends] == [("5511999990000", "Lembrete: consulta amanhã 9h")]
    record = outbox.message(view["id"])
    assert record["status"] == "sent" and record["wa_id"] == "wa1" and record["sent_at"]
    assert session.watched == ["wa1"]


def test_nothing_is_sent_unless_connected(make_outbox, session):
    outbox = make_outbox()
    outbox.submit("5511999990000", "hi")
    for state in (State.IDLE, State.QR, State.DISCONNECTED, State.AUTHENTICATING):
        session.state = state
        outbox.step()
    assert session.sends == []
    session.state = State.CONNECTED
    outbox.step()
    assert len(session.sends) == 1


def test_sends_keep_the_gap_from_the_end_of_the_previous_send(make_outbox, session, clock):
    outbox = make_outbox(send_gap_s="10-20")
    for n in range(4):
        outbox.submit("5511999990000", f"m{n}")
    while len(session.sends) < 4:
        wait = outbox.step()
        clock.now += max(wait, 0.25) if wait else 0
    times = [s[2] for s in session.sends]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert all(g >= 10 for g in gaps), gaps
    assert len(set(gaps)) > 1  # drawn, not fixed


def test_the_per_minute_cap_holds_with_no_gap(make_outbox, session, clock):
    outbox = make_outbox(send_per_minute=3)
    for n in range(7):
        outbox.submit("5511999990000", f"m{n}")
    while len(session.sends) < 7:
        clock.now += outbox.step() or 0.1
    times = [s[2] for s in session.sends]
    for i, start in enumerate(times):
        assert sum(1 for t in times[i:] if t < start + 60) <= 3


def test_the_per_day_cap_holds(make_outbox, session, clock):
    outbox = make_outbox(send_per_day=2)
    for n in range(3):
        outbox.submit("5511999990000", f"m{n}")
    outbox.step(), outbox.step()
    assert outbox.step() > 0 and len(session.sends) == 2
    clock.now += 86400
    outbox.step()
    assert len(session.sends) == 3


def test_same_idempotency_key_and_body_is_the_same_message(make_outbox, session):
    outbox = make_outbox()
    first, created = outbox.submit("5511999990000", "hi", key="crm-42")
    again, created_again = outbox.submit("5511999990000", "hi", key="crm-42")
    assert created and not created_again and again["id"] == first["id"]
    outbox.step(), outbox.step()
    assert len(session.sends) == 1


def test_same_idempotency_key_with_another_body_is_refused(make_outbox):
    outbox = make_outbox()
    outbox.submit("5511999990000", "hi", key="crm-42")
    with pytest.raises(IdempotencyConflict):
        outbox.submit("5511999990000", "something else", key="crm-42")
    assert outbox.summary()["counts"] == {"queued": 1}


def test_a_message_being_sent_at_a_crash_is_settled_from_the_chat_not_failed(make_outbox, session, tmp_path):
    outbox = make_outbox()
    view, _ = outbox.submit("5511999990000", "hi")
    outbox.store.mark_sending(view["id"], 1.0)  # the process died here, mid-send, before WhatsApp had it
    outbox.store.close()
    restarted = make_outbox()
    assert restarted.message(view["id"])["status"] == "queued"  # (`sending` shows as queued) not failed
    restarted.step()  # settled: the chat does not have it -> queued again
    restarted.step()  # sent
    assert [s[1] for s in session.sends] == ["hi"] and restarted.message(view["id"])["status"] == "sent"


def test_a_restart_keeps_the_queue_and_the_gap(make_outbox, session, clock):
    outbox = make_outbox(send_gap_s="30")
    outbox.submit("5511999990000", "a")
    outbox.submit("5511999990000", "b")
    outbox.step()
    outbox.store.close()
    restarted = make_outbox(send_gap_s="30")
    assert restarted.step() > 0 and len(session.sends) == 1  # the gap counts across the restart
    clock.now += 30
    restarted.step()
    assert [s[1] for s in session.sends] == ["a", "b"]


def test_acks_move_forward_only_and_each_change_is_an_event(make_outbox, session):
    outbox = make_outbox()
    view, _ = outbox.submit("5511999990000", "hi")
    outbox.step()
    session.events.clear()
    hear(outbox, (Ack("wa1", 2),), (), False)
    hear(outbox, (Ack("wa1", 3),), (), False)
    hear(outbox, (Ack("wa1", 2), Ack("wa1", 1), Ack("wa1", -1)), (), False)
    assert statuses(session) == [(view["id"], "delivered"), (view["id"], "read")]
    record = outbox.message(view["id"])
    assert record["status"] == "read" and record["delivered_at"] and record["read_at"]
    assert session.watched == []  # read: no need to re-read its ack


def test_a_read_ack_without_delivered_fills_both_times(make_outbox, session):
    outbox = make_outbox()
    view, _ = outbox.submit("5511999990000", "hi")
    outbox.step()
    hear(outbox, (Ack("wa1", 3),), (), False)
    record = outbox.message(view["id"])
    assert record["status"] == "read" and record["delivered_at"] == record["read_at"]


def test_an_error_ack_fails_the_message_as_rejected(make_outbox, session):
    outbox = make_outbox()
    view, _ = outbox.submit("5511999990000", "hi")
    outbox.step()
    hear(outbox, (Ack("wa1", -1),), (), False)
    record = outbox.message(view["id"])
    assert (record["status"], record["reason"]) == ("failed", "rejected")


def test_not_on_whatsapp_fails_with_its_reason_and_does_not_count_toward_the_pause(make_outbox, session):
    outbox = make_outbox(send_pause_after_failures=2)
    ids = [outbox.submit("15550000000", f"m{n}")[0]["id"] for n in range(3)]
    session.failures = [SendError("not_on_whatsapp", "the number has no WhatsApp")] * 3
    for _ in ids:
        outbox.step()
    assert {outbox.message(i)["reason"] for i in ids} == {"not_on_whatsapp"}
    assert not outbox.paused


def test_failures_in_a_row_pause_sending_and_tell_without_phone_or_text(make_outbox, session):
    outbox = make_outbox(send_pause_after_failures=3)
    for n in range(5):
        outbox.submit("5511999990000", f"secret text {n}")
    session.failures = [SendError("rejected", "WhatsApp refused it")] * 3
    for _ in range(5):
        outbox.step()
    assert outbox.paused and len(session.sends) == 0
    notices = [p for e, p in session.events if e == "outbox.paused"]
    assert len(notices) == 1 and notices[0]["reason"] == "failures"
    assert "5511999990000" not in str(notices) and "secret" not in str(notices)
    outbox.resume()
    outbox.step()
    assert len(session.sends) == 1


def test_a_success_between_failures_starts_the_count_again(make_outbox, session):
    outbox = make_outbox(send_pause_after_failures=2)
    for n in range(4):
        outbox.submit("5511999990000", f"m{n}")
    session.failures = [SendError("rejected")]
    outbox.step(), outbox.step()
    hear(outbox, (Ack("wa1", 1),), (), False)  # the server took it
    session.failures = [SendError("rejected")]
    outbox.step(), outbox.step()
    assert not outbox.paused and len(session.sends) == 2


def test_a_send_that_the_server_refuses_later_is_a_failure_in_the_row(make_outbox, session):
    outbox = make_outbox(send_pause_after_failures=2)
    for n in range(3):
        outbox.submit("5511999990000", f"m{n}")
    outbox.step()
    hear(outbox, (Ack("wa1", -1),), (), False)
    outbox.step()  # added to the chat: not yet a success
    hear(outbox, (Ack("wa2", -1),), (), False)
    assert outbox.paused and len(session.sends) == 2


def test_the_restriction_notice_pauses_at_once(make_outbox, session):
    outbox = make_outbox()
    outbox.submit("5511999990000", "hi")
    hear(outbox, (), (), True)
    outbox.step()
    assert outbox.paused and outbox.summary()["pause_reason"] == "restricted" and session.sends == []


def test_a_pause_outlives_a_restart(make_outbox):
    outbox = make_outbox()
    outbox.pause("failures", "words")
    outbox.store.close()
    assert make_outbox().paused


def test_not_connected_at_send_time_puts_the_message_back_in_the_queue(make_outbox, session):
    outbox = make_outbox()
    view, _ = outbox.submit("5511999990000", "hi")
    session.failures = [SendError("not_connected")]
    outbox.step()
    assert outbox.message(view["id"])["status"] == "queued"
    outbox.step(), outbox.step()  # settled from the chat (absent), then sent
    assert outbox.message(view["id"])["status"] == "sent" and len(session.sends) == 1


def test_an_unknown_outcome_is_settled_from_the_chat_and_sent_once(make_outbox, session):
    outbox = make_outbox()
    view, _ = outbox.submit("5511999990000", "hi")
    session.failures = [TimeoutError("WhatsApp did not answer")]
    outbox.step(), outbox.step(), outbox.step()
    record = outbox.message(view["id"])
    assert record["status"] == "sent" and len(session.sends) == 1


def test_a_logout_keeps_messages_waiting_and_a_reset_fails_them_in_words(make_outbox, session):
    outbox = make_outbox()
    view, _ = outbox.submit("5511999990000", "hi")
    session.state = State.DISCONNECTED
    session.status_event("disconnected", "logout")
    outbox.step()
    assert outbox.message(view["id"])["status"] == "queued"
    session.state = State.IDLE
    session.status_event("idle", "force_reset")
    record = outbox.message(view["id"])
    assert (record["status"], record["reason"]) == ("failed", "not_connected")
    assert "reset" in record["error"] and "not sent" in record["error"]
    assert statuses(session)[-1] == (view["id"], "failed")


def test_a_message_after_the_reset_waits_for_the_next_link(make_outbox, session):
    outbox = make_outbox()
    session.state = State.IDLE
    session.status_event("idle", "force_reset")
    view, _ = outbox.submit("5511999990000", "hi")
    assert outbox.message(view["id"])["status"] == "queued"


def test_incoming_messages_are_kept_once_and_listed_after_a_cursor(make_outbox, session):
    outbox = make_outbox()
    one = Incoming("in1", "+5511988880000", "5511988880000@c.us", "Confirmo", 1_800_000_000.0, "chat")
    two = Incoming("in2", None, "12345@lid", "Sim", 1_800_000_001.0, "chat")
    hear(outbox, (), (one, two), False)
    hear(outbox, (), (one,), False)  # drained twice: kept once
    received = [p for e, p in session.events if e == "message.received"]
    assert [(p["id"], p["from"], p["text"]) for p in received] == [("in1", "+5511988880000", "Confirmo"),
                                                                     ("in2", None, "Sim")]
    listed = outbox.listing("in")
    assert [m["id"] for m in listed] == ["in1", "in2"]
    assert [m["id"] for m in outbox.listing("in", after=listed[0]["seq"])] == ["in2"]


def test_contacts_are_remembered_for_the_ttl(session):
    now = [0.0]
    book = ContactBook(session, ttl_s=60, clock=lambda: now[0])
    assert book.on_whatsapp("5511999990000") and not book.on_whatsapp("15550000000")
    book.on_whatsapp("5511999990000")
    assert session.exists_calls == 2
    now[0] = 61
    book.on_whatsapp("5511999990000")
    assert session.exists_calls == 3


def test_a_listener_that_emits_does_not_deadlock_and_keeps_the_order():
    from wa_client.session.bus import EventBus

    bus, seen = EventBus(), []

    def outbox_like(event, payload):
        seen.append(("first", event))
        if event == "status":
            bus.queue("message.status", {})
            bus.flush()  # as client.emit does

    bus.subscribe(outbox_like)
    bus.subscribe(lambda event, payload: seen.append(("second", event)))
    bus.queue("status", {})
    bus.flush()
    assert seen == [("first", "status"), ("second", "status"), ("first", "message.status"),
                    ("second", "message.status")]


def test_an_ack_that_comes_before_the_send_returns_is_not_lost(make_outbox, session):
    outbox = make_outbox()
    view, _ = outbox.submit("5511999990000", "hi")
    real_send = session.send_message

    def send_and_ack_at_once(phone, text):
        sent = real_send(phone, text)
        publish(outbox, (Ack(sent.wa_id, -1),))  # the same poll, on the session's thread, before send() stores the id
        return sent

    session.send_message = send_and_ack_at_once
    outbox.step()
    record = outbox.message(view["id"])
    assert (record["status"], record["reason"]) == ("failed", "rejected")
    assert statuses(session)[-2:] == [(view["id"], "sent"), (view["id"], "failed")]


def test_the_pause_notice_for_a_person_is_fixed_words():
    from wa_client.messaging.outbox import PAUSED_FAILURES
    from wa_client.notify import alerts as notify

    title, body = notify.words("sending_paused", {"error": PAUSED_FAILURES.format(n=3)})
    assert "sending paused" in title and "resume" in body
    assert not any(ch.isdigit() for ch in body.replace("3 sends", ""))  # no phone number can be in it
