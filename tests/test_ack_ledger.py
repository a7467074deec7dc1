"""The ack ledger, fed by the session's bus events (never a callback), applied in the sender's turn (pure logic).

A fake session with the real EventBus stands in for WhatsAppClient; the end-to-end runs (acks and replies from the
simulator through `python app.py`) are in tests/test_messages_send.py, test_replies.py and test_webhook_delivery.py.
"""

from __future__ import annotations

import threading

import pytest

from tests.reminder_fakes import Clock, Sent, Session
from wa_client import Settings
from wa_client.chat.hub import Ack, Incoming, publisher
from wa_client.messaging.outbox import Outbox
from wa_client.names import PUBLIC_EVENTS, Event
from wa_client.session.bus import EventBus

PHONE = "5511999990000"


class BusSession(Session):
    """The fake session with the session's real bus: subscribe, emit (queue + flush), as WhatsAppClient does."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.bus = EventBus()
        self.ids = 0
        self.keyed = True  # the modules route: ids are chosen before the send

    def subscribe(self, listener):
        return self.bus.subscribe(listener)

    def emit(self, event: str, payload: dict | None = None) -> None:
        super().emit(event, payload or {})
        self.bus.queue(event, payload or {})
        self.bus.flush()

    def new_message_id(self) -> str:
        if not self.keyed:
            raise type("SendError", (RuntimeError,), {"reason": "unavailable"})("no modules")
        self.ids += 1
        return f"3EB0{self.ids:04d}"

    def send_message(self, phone: str, text: str, *args, msg_id: str | None = None, **kwargs) -> Sent:
        self.sends.append((phone, text, self.clock()))
        return Sent(f"true_{phone}@c.us_{msg_id or f'PAGE{len(self.sends)}'}", phone + "@c.us", "modules")


@pytest.fixture
def bus_session(clock) -> BusSession:
    return BusSession(clock)


@pytest.fixture
def outbox(tmp_path, bus_session, clock):
    settings = Settings(profile_dir=str(tmp_path / "profile"), send_gap_s="0", send_per_minute=0, send_per_day=0,
                        timezone="UTC")
    made = Outbox(bus_session, settings, clock=clock).open()
    yield made
    made.store.close()


def statuses(session: Session) -> list[str]:
    return [p["status"] for p in session.named(Event.MESSAGE_STATUS)]


def test_the_publisher_puts_what_a_poll_heard_on_the_bus_as_internal_events():
    heard: list[tuple[str, dict]] = []
    publish = publisher(lambda event, payload: heard.append((event, payload)))
    publish((Ack("w1", 2),), (Incoming("in1", None, "1@lid", "oi", 1.0, "chat"),), True)
    publish((), (), False)
    assert [e for e, _ in heard] == [Event.CHAT_ACKS, Event.CHAT_INCOMING, Event.CHAT_RESTRICTED,
                                     Event.CHAT_RESTRICTED]
    assert heard[0][1] == {"acks": (Ack("w1", 2),)} and heard[2][1] == {"restricted": True}
    assert not {e for e, _ in heard} & set(PUBLIC_EVENTS)  # internal: never pushed, never POSTed


def test_acks_and_replies_reach_the_outbox_through_the_bus_and_are_written_in_the_senders_turn(outbox, bus_session):
    view, _ = outbox.submit(PHONE, "Lembrete")
    outbox.step()
    wa_id = outbox.store.get(view["id"])["wa_id"]
    publish = publisher(bus_session.emit)  # what the client wires: the session's polls onto its bus
    publish((Ack(wa_id, 2),), (Incoming("in1", "+" + PHONE, PHONE + "@c.us", "confirmo", 1.0, "chat"),), False)
    assert outbox.ledger.waiting() == 3  # queued on the session's thread: nothing written there
    assert outbox.message(view["id"])["status"] == "queued" and outbox.listing("in") == []
    outbox.step()  # the sender's turn
    assert outbox.ledger.waiting() == 0
    assert outbox.message(view["id"])["status"] == "delivered" and statuses(bus_session)[-1] == "delivered"
    assert [m["id"] for m in outbox.listing("in")] == ["in1"]
    assert [p["id"] for p in bus_session.named(Event.MESSAGE_RECEIVED)] == ["in1"]


@pytest.mark.parametrize("keyed", [True, False], ids=["modules route", "page route"])
def test_an_ack_heard_before_the_send_is_recorded_waits_for_its_id_and_is_never_lost(outbox, bus_session, keyed):
    """The race `_early_acks` once covered: the poll that answers the send also reports its ack, on the
    session's thread, before the sender has stored the WhatsApp id. The ledger only queues it; the sender
    applies it after storing the id, on its own thread: so no buffer of early acks is needed."""
    bus_session.keyed = keyed
    view, _ = outbox.submit(PHONE, "Lembrete")
    plain_send = bus_session.send_message
    known_at_ack: list[bool] = []

    def send_and_ack_in_the_same_poll(phone, text, *args, **kwargs):
        sent = plain_send(phone, text, *args, **kwargs)

        def worker_poll() -> None:  # the session worker's thread
            known_at_ack.append(outbox.store.knows(sent.wa_id))
            publisher(bus_session.emit)((Ack(sent.wa_id, 2),), (), False)

        poll = threading.Thread(target=worker_poll)
        poll.start()
        poll.join()
        return sent

    bus_session.send_message = send_and_ack_in_the_same_poll
    outbox.step()
    assert known_at_ack == [False]  # the ack really came before the id was stored
    record = outbox.store.get(view["id"])
    assert record["status"] == "delivered" and record["delivered_at"]
    assert statuses(bus_session) == ["delivered"]
    assert not hasattr(outbox, "_early_acks") and not hasattr(outbox.sender, "_early_acks")


def test_an_ack_for_a_message_that_is_not_ours_changes_nothing_and_is_not_kept(outbox, bus_session):
    publisher(bus_session.emit)((Ack("true_1@c.us_NOTOURS", 3),), (), False)
    outbox.step()
    assert outbox.ledger.waiting() == 0 and bus_session.named(Event.MESSAGE_STATUS) == []


def test_a_drain_applies_what_was_heard_after_the_senders_loop_stopped(outbox, bus_session):
    view, _ = outbox.submit(PHONE, "Lembrete")
    outbox.step()  # at the clock (ack 0): a graceful stop waits for the server's ack
    wa_id = outbox.store.get(view["id"])["wa_id"]
    bus_session.sleep = lambda s: publisher(bus_session.emit)((Ack(wa_id, 1),), (), False)
    assert outbox.drain(timeout=5) is True and outbox.message(view["id"])["status"] == "sent"


def test_the_session_client_offers_everything_the_messaging_port_names(tmp_path):
    """ports.Session is what messaging may use of the session: WhatsAppClient must offer each of its members."""
    from wa_client import WhatsAppClient
    from wa_client.messaging.ports import Session as Port

    named = {n for n in vars(Port) if not n.startswith("_")}
    assert {"send_message", "new_message_id", "find_sent", "subscribe", "emit", "state"} <= named
    client = WhatsAppClient(Settings(profile_dir=str(tmp_path / "profile")))
    assert [n for n in sorted(named) if not callable(getattr(client, n, None)) and n != "state"] == []
    assert client.state.value == "idle"
