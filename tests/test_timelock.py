"""The reach-out lock: /outbox.timelock, a person told, first messages wait (or fail after its end), replies go."""

from __future__ import annotations

import pytest

from tests.helpers import wait_until
from tests.receivers import JsonReceiver
from tests.reminder_fakes import START, Incoming, drain, hear, make_outbox
from wa_client.clock import iso
from wa_client.messaging.policy import Timelock, after_timelock_refusal, may_send_to
from wa_client.notify.alerts import Notifier

NEW, KNOWN = "5511977770000", "5511999990000"


@pytest.mark.parametrize(("lock", "has_conversation", "now", "may"), [
    (Timelock(False, None), False, START, True),
    (Timelock(True, START + 60), True, START, True),        # a reply inside a conversation always goes
    (Timelock(True, START + 60), False, START, False),      # a first message waits
    (Timelock(True, None), False, START, False),            # until an end nobody said
    (Timelock(True, START + 60), False, START + 60, True),  # the end has passed: try again
])
def test_who_may_be_written_to_under_the_lock(lock, has_conversation, now, may):
    assert may_send_to(lock, has_conversation, now) is may


@pytest.mark.parametrize(("lock", "now", "action"), [
    (Timelock(True, START + 60), START, "wait"), (Timelock(True, START + 60), START + 61, "fail"),
    (Timelock(False, None), START, "fail"), (Timelock(True, None), START, "wait")])
def test_a_refusal_waits_while_the_lock_holds_and_fails_after(lock, now, action):
    assert after_timelock_refusal(lock, now) == action


def test_under_the_lock_first_messages_wait_and_replies_go(tmp_path, session, clock):
    outbox = make_outbox(tmp_path, session, clock)
    hear(outbox, (), (Incoming("in1", "+" + KNOWN, KNOWN + "@c.us", "olá", START),), False)
    session.lock = {"active": True, "until": START + 600}
    first, _ = outbox.submit(NEW, "primeira mensagem")
    reply, _ = outbox.submit(KNOWN, "resposta")
    drain(outbox)
    assert [s[0] for s in session.sends] == [KNOWN]
    assert outbox.message(first["id"])["status"] == "queued"
    assert outbox.summary()["timelock"] == {"active": True, "until": iso(START + 600)}
    assert session.named("outbox.timelocked") == [{"active": True, "until": iso(START + 600)}]
    session.lock = {"active": False, "until": None}
    clock.now = START + 601
    drain(outbox)
    assert [s[0] for s in session.sends] == [KNOWN, NEW]
    assert reply["id"] != first["id"]


def test_a_refusal_waits_during_the_lock_and_fails_in_words_after_its_end(tmp_path, session, clock):
    outbox = make_outbox(tmp_path, session, clock)
    session.refuse[NEW] = "reachout_timelocked"
    queued, _ = outbox.submit(NEW, "primeira")
    said = iter([{"active": False, "until": None}])  # the pick reads no lock; then WhatsApp refuses and says it
    session.reachout_timelock = lambda: next(said, {"active": True, "until": START + 60})
    outbox.step()  # the send is refused by the lock: nothing went out, and the message waits again
    assert outbox.message(queued["id"])["status"] == "queued" and session.sends == []
    drain(outbox)
    assert outbox.message(queued["id"])["status"] == "queued"  # it waits (the pick skips it while the lock holds)
    clock.now = START + 61
    drain(outbox)
    failed = outbox.message(queued["id"])
    assert (failed["status"], failed["reason"]) == ("failed", "reachout_timelocked")
    assert "time lock" in failed["error"] and NEW not in failed["error"]
    assert not outbox.paused  # the lock is no reason to pause the whole outbox


def test_the_lock_is_told_to_a_person_without_numbers():
    told = []
    notifier = Notifier.__new__(Notifier)
    notifier.tell = lambda kind, status: told.append((kind, status)) or True
    notifier(event="outbox.timelocked", payload={"active": True, "until": "2027-01-15T08:10:00.000Z"})
    assert told == [("reachout_timelocked", {"error": "The lock ends 2027-01-15T08:10:00.000Z."})]


# -- end to end ---------------------------------------------------------------------------------------------

NO_SAFEGUARDS = {"WA_SEND_GAP_S": "0", "WA_SEND_PER_MINUTE": "0", "WA_SEND_PER_DAY": "0"}


@pytest.mark.e2e
@pytest.mark.browser
def test_the_lock_is_said_told_and_holds_only_first_messages(gateway_factory, simulator):
    with JsonReceiver() as receiver:
        gateway = gateway_factory(WA_NOTIFY_URLS=receiver.url(), **NO_SAFEGUARDS)
        assert gateway.post("/start-session").status_code == 202
        gateway.wait_status("qr", timeout=60)
        gateway.phone_scans(simulator)
        gateway.wait_status("connected", timeout=30)
        assert gateway.get("/outbox").json()["timelock"] == {"active": False, "until": None}
        assert simulator.send_from_patient("+" + KNOWN, "olá").status_code == 200
        wait_until(lambda: gateway.get("/messages?direction=in").json()["messages"], 30, what="the patient's message")
        simulator.configure(reachout_timelock_until_s=8)
        lock = wait_until(lambda: (t := gateway.get("/outbox").json()["timelock"])["active"] and t, 20,
                          what="/outbox to say the lock")
        assert lock["until"]
        first = gateway.post("/messages", json={"phone": "+" + NEW, "text": "primeira"}).json()
        reply = gateway.post("/messages", json={"phone": "+" + KNOWN, "text": "resposta"}).json()
        assert [m["text"] for m in simulator.sent_once_there_are(1, timeout=30)] == ["resposta"]
        assert gateway.get(f"/messages/{first['id']}").json()["status"] == "queued"
        wait_until(lambda: receiver.bodies, 30, what="the notification")
        assert "reach-out time lock" in receiver.bodies[0]["message"] and NEW not in str(receiver.bodies)
        sent = simulator.sent_once_there_are(2, timeout=60)  # the lock ends: the first message goes
        assert [m["text"] for m in sent] == ["resposta", "primeira"]
        assert reply["id"] != first["id"]
        wait_until(lambda: not gateway.get("/outbox").json()["timelock"]["active"], 20, what="the lock to end")
