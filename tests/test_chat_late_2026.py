"""Messaging on WhatsApp Web as it is in December 2026, in real Chromium on the simulator: keys without
`_serialized`, messaging modules that register after the chats, chat origins, the reach-out lock, quoted
replies from @lid senders and broken text. Each older behaviour is a simulator knob."""
from __future__ import annotations

import time

import pytest

from tests.helpers import connected_client, wait_until
from tests.test_send_page import Heard
from wa_client.chat.hub import SendError

PATIENT = "5511988880000"
NEWCOMER = "5511977770000"


@pytest.fixture
def connected(make_client, simulator):
    """A connected client (fast polls) with a Heard listener as `client.heard`, after the knobs given."""
    def build(**knobs):
        if knobs:
            simulator.configure(**knobs)
        client = connected_client(make_client, simulator, poll_interval_s=0.05)
        client.heard = Heard()
        client.set_chat_listener(client.heard)
        return client
    return build


@pytest.mark.parametrize("mid_2026_keys", [False, True])
def test_acks_are_matched_by_the_key_as_a_string_with_or_without_serialized(connected, simulator, mid_2026_keys):
    client = connected(msg_key_serialized=mid_2026_keys)
    sent = client.send_message(PATIENT, "Reminder: tomorrow 10:30")
    assert sent.via == "modules" and sent.wa_id == f"true_{PATIENT}@c.us_{sent.msg_id}"
    assert len(sent.msg_id) == (24 if mid_2026_keys else 36)  # late-2026 ids are longer
    client.watch_messages([sent.wa_id])
    assert [m["id"] for m in simulator.sent_once_there_are(1)] == [sent.wa_id]
    wait_until(lambda: client.heard.acks_of(sent.wa_id)[-1:] == [3], 10, what="the read ack")


def test_a_send_right_after_connecting_waits_for_the_late_messaging_modules(connected, simulator):
    client = connected(messaging_modules_delay_s=2.0)
    sent = client.send_message(PATIENT, "first thing in the morning")
    assert sent.via == "modules"  # not the page route: the modules came within the wait
    client.watch_messages([sent.wa_id])
    wait_until(lambda: 2 in client.heard.acks_of(sent.wa_id), 10, what="acks heard from the late Msg module")


def test_a_reply_that_arrives_before_the_messaging_modules_is_heard_once_they_register(connected, simulator):
    client = connected(messaging_modules_delay_s=2.0)
    assert simulator.send_from_patient("+" + PATIENT, "early").status_code == 200
    heard = wait_until(lambda: client.heard.incoming, 15, what="the early reply")
    assert [m.text for m in heard] == ["early"]


def test_an_lid_chat_is_created_with_the_origin_whatsapp_allows(connected, simulator):
    client = connected(lid_numbers=[PATIENT])
    sent = client.send_message(PATIENT, "through the lid")
    assert sent.to_jid.endswith("@lid")
    simulator.sent_once_there_are(1)
    assert simulator.state()["unexpected_lid_chats"] == 0


def test_the_reach_out_lock_is_said_and_refuses_first_messages_only(connected, simulator):
    client = connected(reachout_timelock_until_s=600)
    lock = wait_until(lambda: (t := client.reachout_timelock())["active"] and t, 10, what="the lock reported")
    assert lock["until"] == pytest.approx(time.time() + 600, abs=30)
    with pytest.raises(SendError) as caught:
        client.send_message(NEWCOMER, "Welcome to the clinic")
    assert caught.value.reason == "reachout_timelocked" and "time-locked" in str(caught.value)
    assert simulator.sent_messages() == []
    assert simulator.send_from_patient("+" + PATIENT, "Can I move my appointment?").status_code == 200
    wait_until(lambda: client.heard.incoming, 10, what="the patient's message")
    sent = client.send_message(PATIENT, "Yes: Thursday 10:30")  # a reply in an existing conversation goes
    assert [m["id"] for m in simulator.sent_once_there_are(1)] == [sent.wa_id]


def test_without_a_lock_the_page_says_so(connected, simulator):
    client = connected()
    client.send_message(PATIENT, "hello")  # the messaging modules have registered by now
    assert client.reachout_timelock() == {"active": False, "until": None}


def test_a_quoted_reply_from_an_lid_names_the_message_and_the_number(connected, simulator):
    client = connected(lid_numbers=[PATIENT])
    sent = client.send_message(PATIENT, "Reminder: tomorrow 10:30. Reply YES to confirm")
    simulator.sent_once_there_are(1)
    assert simulator.send_from_patient("+" + PATIENT, "YES", quoted=sent.msg_id).status_code == 200
    heard = wait_until(lambda: client.heard.incoming, 10, what="the reply")
    assert [(m.quoted_id, m.from_phone, m.from_jid.endswith("@lid")) for m in heard] == [
        (sent.msg_id, "+" + PATIENT, True)]


def test_a_reply_with_a_lone_surrogate_is_kept_with_a_replacement_and_costs_no_other(connected, simulator):
    client = connected()
    assert simulator.send_from_patient("+" + PATIENT, "broken \ud83d emoji").status_code == 200
    assert simulator.send_from_patient("+" + PATIENT, "fine \U0001f600").status_code == 200
    heard = wait_until(lambda: len(client.heard.incoming) >= 2 and client.heard.incoming, 10, what="both replies")
    assert [m.text for m in heard] == ["broken \ufffd emoji", "fine \U0001f600"]
    for message in heard:
        message.text.encode("utf-8")  # storable as it is


def test_through_the_page_alone_a_first_message_refused_by_the_lock_ends_in_an_error_tick(connected, simulator):
    client = connected(modules=False, reachout_timelock_until_s=600)
    sent = client.send_message(NEWCOMER, "Welcome to the clinic")  # the page cannot know the lock beforehand
    assert sent.via == "page"
    client.watch_messages([sent.wa_id])
    wait_until(lambda: client.heard.acks_of(sent.wa_id)[-1:] == [-1], 10, what="the error tick (nack 463)")
    assert simulator.sent_messages() == [] and "463" in simulator.messages()["rejected"][0]["error"]
