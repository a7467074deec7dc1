"""The sender chooses a message's WhatsApp id before it sends (exactly once), in real Chromium on the simulator."""
from __future__ import annotations

import pytest

from tests.helpers import connected_client
from wa_client.chat.hub import SendError

PATIENT = "5511988880000"


@pytest.fixture
def connected(make_client, simulator):
    """A connected client (fast polls), after the knobs given."""
    def build(**knobs):
        if knobs:
            simulator.configure(**knobs)
        return connected_client(make_client, simulator, poll_interval_s=0.05)
    return build


def test_a_message_sent_with_a_chosen_id_carries_it_to_whatsapp(connected, simulator):
    client = connected()
    msg_id = client.new_message_id()
    assert msg_id.isalnum() and msg_id != client.new_message_id()
    sent = client.send_message(PATIENT, "Reminder: tomorrow 10:30", msg_id=msg_id)
    assert (sent.msg_id, sent.via, sent.wa_id) == (msg_id, "modules", f"true_{PATIENT}@c.us_{msg_id}")
    assert sent.ack in (0, 1)  # added: the clock, or already at WhatsApp's server
    assert [m["id"] for m in simulator.sent_once_there_are(1)] == [sent.wa_id]


@pytest.mark.parametrize("mid_2026_keys", [False, True])
def test_without_the_modules_no_id_can_be_chosen_and_the_page_route_still_sends(connected, simulator, mid_2026_keys):
    client = connected(modules=False, msg_key_serialized=mid_2026_keys)
    with pytest.raises(SendError) as caught:
        client.new_message_id()
    assert caught.value.reason == "unavailable"
    sent = client.send_message(PATIENT, "hello")
    assert sent.via == "page" and sent.msg_id and sent.wa_id == f"true_{PATIENT}@c.us_{sent.msg_id}"
    assert [m["id"] for m in simulator.sent_once_there_are(1)] == [sent.wa_id]
