"""The session client sends, looks numbers up and hears acks and replies, in real Chromium on the simulator."""
from __future__ import annotations

import threading

import pytest

from tests.helpers import connected_client, wait_until
from wa_client.chat.hub import Ack, Incoming, SendError

PATIENT = "5511988880000"
NOBODY = "15550000000"  # in the simulator's default not_on_whatsapp list


class Heard:
    """A chat listener that keeps what the worker tells it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acks: list[Ack] = []
        self.incoming: list[Incoming] = []
        self.restricted: list[bool] = []

    def __call__(self, acks, incoming, restricted) -> None:
        with self.lock:
            self.acks += acks
            self.incoming += incoming
            self.restricted.append(restricted)

    def acks_of(self, wa_id: str) -> list[int]:
        with self.lock:
            return [a.ack for a in self.acks if a.wa_id == wa_id]


@pytest.fixture
def connected(make_client, simulator):
    """A connected client (fast polls) with a Heard listener as `client.heard`."""
    def build(**knobs):
        if knobs:
            simulator.configure(**knobs)
        client = connected_client(make_client, simulator, poll_interval_s=0.05)
        client.heard = Heard()
        client.set_chat_listener(client.heard)
        return client
    return build


def test_a_message_goes_out_once_through_the_modules_and_its_acks_reach_the_listener(connected, simulator):
    client = connected()
    sent = client.send_message(PATIENT, "Reminder: tomorrow 10:30")
    assert sent.via == "modules" and sent.to_jid == f"{PATIENT}@c.us"
    client.watch_messages([sent.wa_id])
    assert [(m["id"], m["to"], m["text"]) for m in simulator.sent_once_there_are(1)] == [
        (sent.wa_id, PATIENT, "Reminder: tomorrow 10:30")]
    wait_until(lambda: client.heard.acks_of(sent.wa_id)[-1:] == [3], 10, what="the read ack")
    assert client.heard.acks_of(sent.wa_id) == sorted(set(client.heard.acks_of(sent.wa_id)))  # each change once
    assert client.status()["state"] == "connected"


def test_the_read_ack_is_heard_when_whatsapp_sends_no_event(connected, simulator):
    client = connected(read_ack_event=False)
    sent = client.send_message(PATIENT, "hello")
    client.watch_messages([sent.wa_id])
    wait_until(lambda: 3 in client.heard.acks_of(sent.wa_id), 10, what="ack 3 read again without an event")


def test_a_number_without_whatsapp_fails_in_words_and_nothing_is_sent(connected, simulator):
    client = connected()
    with pytest.raises(SendError) as caught:
        client.send_message(NOBODY, "hello")
    assert caught.value.reason == "not_on_whatsapp" and "whatsapp" in str(caught.value).lower()
    assert simulator.sent_messages() == []


def test_with_the_dom_signs_renamed_the_modules_alone_send_and_hear_the_acks(connected, simulator):
    client = connected(dom_drift=True)  # every DOM sign renamed: the modules channel alone reads the page
    sent = client.send_message(PATIENT, "Reminder: tomorrow 10:30")
    assert sent.via == "modules"
    client.watch_messages([sent.wa_id])
    assert [m["id"] for m in simulator.sent_once_there_are(1)] == [sent.wa_id]
    wait_until(lambda: client.heard.acks_of(sent.wa_id)[-1:] == [3], 10, what="the read ack")


def test_a_number_known_by_its_lid_is_sent_to_the_lid(connected, simulator):
    client = connected(lid_numbers=[PATIENT])
    sent = client.send_message("+55 11 98888 0000", "hello")
    assert sent.to_jid.endswith("@lid")
    assert [m["to"] for m in simulator.sent_once_there_are(1)] == [PATIENT]


def test_contact_exists_asks_whatsapp(connected):
    client = connected()
    assert client.contact_exists(PATIENT) is True
    assert client.contact_exists(NOBODY) is False


def test_a_rejected_send_reaches_the_listener_as_ack_minus_one(connected, simulator):
    client = connected(send_fails=True)
    sent = client.send_message(PATIENT, "hello")
    client.watch_messages([sent.wa_id])
    wait_until(lambda: -1 in client.heard.acks_of(sent.wa_id), 10, what="ack -1")
    assert simulator.sent_messages() == []


def test_the_restriction_notice_pauses_sending_and_reaches_the_listener(connected, simulator):
    client = connected()
    simulator.configure(restricted=True)
    wait_until(lambda: client.heard.restricted[-1:] == [True], 10, what="restricted")
    with pytest.raises(SendError) as caught:
        client.send_message(PATIENT, "hello")
    assert caught.value.reason == "restricted"
    simulator.configure(restricted=False)
    wait_until(lambda: client.heard.restricted[-1:] == [False], 10, what="restriction gone")
    assert simulator.sent_messages() == []


def test_a_patients_reply_reaches_the_listener_with_the_number(connected, simulator):
    client = connected()
    assert simulator.send_from_patient("+55 11 98888 0000", "Yes, I'll come").status_code == 200
    heard = wait_until(lambda: client.heard.incoming, 10, what="the reply")
    assert [(m.from_phone, m.from_jid, m.text, m.kind) for m in heard] == [
        ("+" + PATIENT, f"{PATIENT}@c.us", "Yes, I'll come", "chat")]
    assert heard[0].wa_id == simulator.received_messages()[0]["id"]


def test_a_reply_from_a_lid_has_no_number_when_whatsapp_does_not_know_it(connected, simulator):
    client = connected(lid_numbers=[PATIENT], lid_phone_known=False)
    assert simulator.send_from_patient("+" + PATIENT, "ok").status_code == 200
    heard = wait_until(lambda: client.heard.incoming, 10, what="the reply")
    assert heard[0].from_phone is None and heard[0].from_jid.endswith("@lid")


# (dom_drift without modules leaves nothing to recognise the page by; the route's own signs under drift
# are checked in test_simulator_messaging.py)
def test_without_modules_the_page_route_sends_and_the_session_stays_connected(connected, simulator):
    client = connected(modules=False)
    history = len(client.history())
    sent = client.send_message(PATIENT, "See you at 10:30 & bring your card")
    assert sent.via == "page" and sent.wa_id.startswith(f"true_{PATIENT}@c.us_")
    assert [(m["id"], m["text"], m["via"]) for m in simulator.sent_once_there_are(1)] == [
        (sent.wa_id, "See you at 10:30 & bring your card", "page")]
    assert client.status()["state"] == "connected" and client.history()[history:] == []
    client.watch_messages([sent.wa_id])  # without modules, the acks come from the ticks in the open chat
    wait_until(lambda: 3 in client.heard.acks_of(sent.wa_id), 10, what="the read ticks")


def test_without_modules_an_invalid_number_fails_and_a_look_up_is_unavailable(connected, simulator):
    client = connected(modules=False)
    with pytest.raises(SendError) as caught:
        client.send_message(NOBODY, "hello")
    assert caught.value.reason == "not_on_whatsapp"
    with pytest.raises(SendError) as caught:
        client.contact_exists(PATIENT)
    assert caught.value.reason == "unavailable"
    assert client.status()["state"] == "connected" and simulator.sent_messages() == []


def test_replies_are_heard_again_after_the_page_reloads(connected, simulator):
    client = connected(modules=False)
    client.send_message(PATIENT, "hello")  # the page route loads a new page
    simulator.configure(modules=True)
    wait_until(lambda: simulator.send_from_patient("+" + PATIENT, "thanks").status_code == 200, 10)
    wait_until(lambda: client.heard.incoming, 10, what="the reply on the new page")


def test_sending_needs_a_connected_session(make_client):
    client = make_client()
    with pytest.raises(SendError) as caught:
        client.send_message(PATIENT, "hello")
    assert caught.value.reason == "not_connected"
    with pytest.raises(ValueError):
        client.send_message("12", "hello")


def test_a_send_waiting_when_the_session_ends_fails_as_not_connected(connected, simulator):
    client = connected(exists_delay_s=30)  # WhatsApp's server is slow to answer: the send waits in the page
    outcome: list = []
    thread = threading.Thread(target=lambda: outcome.append(_outcome(client)))
    thread.start()
    wait_until(lambda: client._runner.worker.chat._jobs, 10,  # (white-box: no other sign)
               what="the send waiting in the page")
    assert simulator.logout().status_code == 200
    thread.join(30)
    assert outcome == ["not_connected"]
    assert client.status()["state"] == "disconnected" and simulator.sent_messages() == []


def _outcome(client) -> str:
    try:
        client.send_message(PATIENT, "hello")
        return "sent"
    except SendError as exc:
        return exc.reason
