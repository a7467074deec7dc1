"""The messaging record's pure logic: which acks are news, how patients' messages are read, who is told."""
from __future__ import annotations

import pytest

from wa_client.chat.hub import Ack, ChatHub, Incoming, SendError, phone_from_jid


def hub_with_listener() -> tuple[ChatHub, list]:
    hub, calls = ChatHub(), []
    hub.set_listener(lambda acks, incoming, restricted: calls.append((acks, incoming, restricted)))
    return hub, calls


def test_each_ack_change_of_a_watched_message_is_told_once():
    hub, calls = hub_with_listener()
    hub.watch(["a"])
    hub.note({"acks": [["a", 1], ["a", 1], ["b", 2]]})
    hub.note({"acks": [["a", 1]]})
    hub.note({"acks": [["a", 3]]})
    assert [c[0] for c in calls] == [(Ack("a", 1),), (Ack("a", 3),)]


def test_messages_sent_here_are_followed_before_the_crm_watches_them():
    hub, calls = hub_with_listener()
    hub.sent("x")
    assert hub.probe_args() == {"watch": ["x"]}
    hub.note({"acks": [["x", 2]]})
    assert calls == [((Ack("x", 2),), (), False)]


def test_a_patients_message_is_read_with_its_number_and_an_lid_without():
    hub, calls = hub_with_listener()
    hub.note({"incoming": [
        {"id": "false_5511988880000@c.us_AB", "from": "5511988880000@c.us", "text": "ok", "time": 1700000000,
         "kind": "chat"},
        {"id": "false_91234@lid_CD", "from": "91234@lid", "text": "hi", "time": 1700000001, "kind": "chat"},
        {"text": "no id"}]})
    assert calls[0][1] == (Incoming("false_5511988880000@c.us_AB", "+5511988880000", "5511988880000@c.us", "ok",
                                    1700000000.0, "chat"),
                           Incoming("false_91234@lid_CD", None, "91234@lid", "hi", 1700000001.0, "chat"))


def test_the_restriction_is_told_when_it_changes_only():
    hub, calls = hub_with_listener()
    for seen in (False, True, True, False):
        hub.note({"restricted": seen})
    assert [c[2] for c in calls] == [True, False]


def test_a_failing_listener_does_not_stop_the_worker():
    hub = ChatHub()
    hub.set_listener(lambda *args: 1 / 0)
    hub.watch(["a"])
    hub.note({"acks": [["a", 1]]})  # logged, not raised


@pytest.mark.parametrize(("jid", "phone"), [("5511988880000@c.us", "+5511988880000"), ("5511:12@c.us", "+5511"),
                                            ("91234@lid", None), ("123-456@g.us", None)])
def test_phone_from_jid(jid, phone):
    assert phone_from_jid(jid) == phone


def test_send_errors_carry_a_known_reason():
    assert SendError("not_on_whatsapp").reason == "not_on_whatsapp"
    with pytest.raises(ValueError):
        SendError("because")
