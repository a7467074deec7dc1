"""The pure logic around find_sent and the late-2026 probe: chat rows matched, job answers read, the
reach-out lock noted, patients' messages read (quoted ids, @lid numbers, broken text)."""
from __future__ import annotations

import pytest

from wa_client.chat.hub import ABSENT, FOUND, UNREADABLE, ChatHub, Found, Incoming, well_formed
from wa_client.chat.page_route import match_rows
from wa_client.chat.worker import found_list

SINCE = 1_796_000_000.0
LOOKUP = {"message_id": "m1", "phone_digits": "5511988880000", "msg_id": None, "to_jid": None,
          "text": "Reminder: tomorrow 10:30", "since": SINCE}
OURS = {"id": "true_5511988880000@c.us_3EB0AA", "out": True, "text": "Reminder: tomorrow 10:30", "time": SINCE + 60,
        "ack": 2}


@pytest.mark.parametrize(("rows", "state"), [
    ({"rows": [OURS], "start": False}, FOUND),
    ({"rows": [{**OURS, "time": SINCE - 30}], "start": False}, FOUND),  # the same minute: rows show minutes only
    ({"rows": [{**OURS, "time": SINCE - 3600}], "start": False}, ABSENT),  # an older copy, and the chat goes back
    ({"rows": [{**OURS, "text": "Other", "time": SINCE + 5}], "start": True}, ABSENT),
    ({"rows": [{**OURS, "text": "Other", "time": SINCE + 5}], "start": False}, UNREADABLE),  # not read back far
    ({"rows": [{**OURS, "out": False}], "start": True}, ABSENT),  # the patient's words, not ours
    ({"rows": [], "start": True}, ABSENT),
])
def test_a_chats_rows_say_found_absent_or_unreadable(rows, state):
    assert match_rows(LOOKUP, rows).state == state


def test_a_row_found_gives_the_key_its_chat_and_its_ack():
    assert match_rows(LOOKUP, {"rows": [OURS]}) == Found("m1", FOUND, OURS["id"], 2, "5511988880000@c.us")


def test_a_row_is_found_by_its_id_whatever_its_text():
    lookup = {**LOOKUP, "msg_id": "3EB0AA", "text": "edited"}
    assert match_rows(lookup, {"rows": [{**OURS, "time": None}]}).state == FOUND


def test_job_answers_are_read_in_the_lookups_order_and_a_missing_one_is_unreadable():
    lookups = [{"message_id": "a"}, {"message_id": "b"}, {"message_id": "c"}]
    answers = [{"message_id": "b", "state": "absent"}, {"message_id": "a", "state": "found", "wa_id": "true_x_1",
                                                        "ack": 1, "to_jid": "x"}, {"message_id": "c", "state": "?"}]
    assert found_list(lookups, answers) == [Found("a", FOUND, "true_x_1", 1, "x"), Found("b", ABSENT),
                                            Found("c", UNREADABLE)]
    assert found_list(lookups, None) == [Found(i, UNREADABLE) for i in "abc"]


@pytest.mark.parametrize(("seen", "lock"), [
    ({"active": True, "until": 1_796_000_000}, {"active": True, "until": 1_796_000_000.0}),
    ({"active": True, "until": 1_796_000_000_000}, {"active": True, "until": 1_796_000_000.0}),  # milliseconds
    ({"active": False, "until": None}, {"active": False, "until": None}),
])
def test_the_reach_out_lock_is_kept_as_the_page_said_it(seen, lock):
    hub = ChatHub()
    hub.note({"timelock": seen})
    hub.note({})  # a poll that does not say keeps what was said
    assert hub.timelock() == lock


def test_a_patients_message_keeps_its_quoted_id_and_the_number_behind_its_lid():
    hub, calls = ChatHub(), []
    hub.set_listener(lambda acks, incoming, restricted: calls.append(incoming))
    hub.note({"incoming": [{"id": "false_91234@lid_CD", "from": "91234@lid", "phone": "5511988880000@c.us",
                            "text": "YES", "time": 1, "kind": "chat", "quoted": "3EB0AA"}]})
    assert calls == [(Incoming("false_91234@lid_CD", "+5511988880000", "91234@lid", "YES", 1.0, "chat", "3EB0AA"),)]


def test_a_message_that_cannot_be_read_costs_no_other():
    hub, calls = ChatHub(), []
    hub.set_listener(lambda acks, incoming, restricted: calls.append(incoming))
    hub.note({"incoming": [{"id": "1", "from": "5511@c.us", "time": "not a time"},
                           {"id": "2", "from": "5511@c.us", "text": "bad \ud83d", "time": 2}]})
    assert [(m.wa_id, m.text) for m in calls[0]] == [("2", "bad \ufffd")]


@pytest.mark.parametrize(("text", "clean"), [("ok", "ok"), ("\ud83d", "\ufffd"), ("a\udc00b", "a\ufffdb"),
                                             ("\U0001f600", "\U0001f600"), ("\ud83d\ude00", "\U0001f600")])
def test_lone_surrogates_become_replacement_characters(text, clean):
    assert well_formed(text) == clean
    well_formed(text).encode("utf-8")


def test_a_row_with_another_id_but_the_same_text_since_the_send_is_found():
    # the id was chosen, but the send took the page route, which keys the message with an id of its own
    assert match_rows({**LOOKUP, "msg_id": "3EB0CHOSEN"}, {"rows": [OURS]}).state == FOUND
