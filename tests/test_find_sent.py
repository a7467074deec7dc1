"""find_sent: a message looked up in WhatsApp's own record of its chat (found, surely absent, or unreadable),
through the modules and through the page alone, also after the page loaded again (history), in real Chromium."""
from __future__ import annotations

import time

import pytest

from tests.helpers import connected_client, wait_state, wait_until
from tests.test_send_page import Heard
from wa_client.chat.hub import ABSENT, FOUND, Lookup

PATIENT = "5511988880000"
STRANGER = "5511966660000"  # nobody the account ever wrote to
NOBODY = "15550000000"  # no WhatsApp


def lookup(message_id: str, phone: str, text: str, since: float, msg_id: str | None = None,
           to_jid: str | None = None) -> Lookup:
    return Lookup(message_id=message_id, phone_digits=phone, msg_id=msg_id, to_jid=to_jid, text=text, since=since)


def restarted(make_client, client):
    """The same login in a new client and a new page (as after a gateway restart); connected."""
    client.shutdown()
    again = make_client(poll_interval_s=0.05)
    again.start_session()
    wait_state(again, "connected")
    return again


def test_a_sent_message_is_found_by_its_id_and_one_never_sent_is_absent(make_client, simulator):
    client = connected_client(make_client, simulator, poll_interval_s=0.05)
    since = time.time()
    chosen = client.new_message_id()
    sent = client.send_message(PATIENT, "Reminder: tomorrow 10:30", msg_id=chosen)
    simulator.sent_once_there_are(1)
    never = client.new_message_id()  # chosen, stored as sending, and then the gateway stopped
    found = client.find_sent([lookup("m1", PATIENT, "Reminder: tomorrow 10:30", since, chosen),
                              lookup("m2", PATIENT, "Reminder: Friday", since, never),
                              lookup("m3", STRANGER, "Welcome", since, client.new_message_id()),
                              lookup("m4", NOBODY, "Welcome", since, None)])
    assert [(f.message_id, f.state) for f in found] == [("m1", FOUND), ("m2", ABSENT), ("m3", ABSENT), ("m4", ABSENT)]
    assert (found[0].wa_id, found[0].to_jid) == (sent.wa_id, f"{PATIENT}@c.us") and found[0].ack >= 0


@pytest.mark.parametrize("shape", ["object", "positional"])
def test_after_a_restart_the_chat_is_read_back_with_load_earlier_before_the_history_comes(make_client, simulator,
                                                                                          shape):
    simulator.configure(fn_shapes=shape, history_delay_s=60.0)  # only loadEarlierMsgs can bring the chat back
    client = connected_client(make_client, simulator, poll_interval_s=0.05)
    since = time.time()
    sent = client.send_message(PATIENT, "Reminder: tomorrow 10:30", msg_id=client.new_message_id())
    simulator.sent_once_there_are(1)
    client = restarted(make_client, client)
    found = client.find_sent([lookup("by-text", PATIENT, "Reminder: tomorrow 10:30", since),
                              lookup("other", PATIENT, "Reminder: Friday", since),
                              lookup("by-id", PATIENT, "", since, sent.msg_id)])
    assert [(f.state, f.wa_id) for f in found] == [(FOUND, sent.wa_id), (ABSENT, None), (FOUND, sent.wa_id)]


def test_when_neither_shape_fits_the_page_route_reads_the_chat(make_client, simulator):
    simulator.configure(fn_shapes="rest", history_delay_s=60.0)
    client = connected_client(make_client, simulator, poll_interval_s=0.05)
    since = time.time()
    sent = client.send_message(PATIENT, "Reminder: tomorrow 10:30")
    simulator.sent_once_there_are(1)
    client = restarted(make_client, client)
    found = client.find_sent([lookup("a", PATIENT, "Reminder: tomorrow 10:30", since),
                              lookup("b", PATIENT, "Reminder: Friday", since)])
    assert [(f.state, f.wa_id) for f in found] == [(FOUND, sent.wa_id), (ABSENT, None)]
    assert simulator.state()["traps"] == []


def test_through_the_page_alone_the_chat_rows_say_what_was_sent(make_client, simulator):
    simulator.configure(modules=False)
    client = connected_client(make_client, simulator, poll_interval_s=0.05)
    since = time.time()
    sent = client.send_message(PATIENT, "Reminder: tomorrow 10:30")
    assert sent.via == "page"
    simulator.sent_once_there_are(1)
    client = restarted(make_client, client)
    found = client.find_sent([lookup("a", PATIENT, "Reminder: tomorrow 10:30", since),
                              lookup("b", PATIENT, "Reminder: Friday", since),
                              lookup("c", STRANGER, "Welcome", since),
                              lookup("d", NOBODY, "Welcome", since)])
    assert [(f.message_id, f.state) for f in found] == [("a", FOUND), ("b", ABSENT), ("c", ABSENT), ("d", ABSENT)]
    assert found[0].wa_id == sent.wa_id and found[0].to_jid == f"{PATIENT}@c.us"
    assert client.status()["state"] == "connected"


def test_a_message_to_an_lid_chat_is_found_by_its_id_without_knowing_the_chat(make_client, simulator):
    simulator.configure(lid_numbers=[PATIENT], history_delay_s=60.0)
    client = connected_client(make_client, simulator, poll_interval_s=0.05)
    since = time.time()
    sent = client.send_message(PATIENT, "Reminder", msg_id=client.new_message_id())
    assert sent.to_jid.endswith("@lid")
    simulator.sent_once_there_are(1)
    client = restarted(make_client, client)
    found = client.find_sent([lookup("a", PATIENT, "Reminder", since, sent.msg_id)])  # to_jid not stored yet
    assert [(f.state, f.wa_id, f.to_jid) for f in found] == [(FOUND, sent.wa_id, sent.to_jid)]


def test_after_a_restart_the_ticks_of_a_message_the_page_has_not_loaded_come_from_its_store(make_client, simulator):
    simulator.configure(history_delay_s=60.0)  # the history stays out of Msg for the whole test
    client = connected_client(make_client, simulator, poll_interval_s=0.05)
    sent = client.send_message(PATIENT, "Reminder")
    simulator.sent_once_there_are(1)
    client = restarted(make_client, client)
    heard = Heard()
    client.set_chat_listener(heard)
    client.watch_messages([sent.wa_id])
    wait_until(lambda: heard.acks_of(sent.wa_id), 20, what="the ack read from the page's store")
