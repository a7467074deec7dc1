"""Fakes for the reminders' unit tests (pure logic): a session that records sends and events, a clock, an outbox."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from wa_client import Settings, State
from wa_client.chat.hub import publisher
from wa_client.messaging.outbox import Outbox

START = 1_800_000_000.0  # 2027-01-15 08:00 UTC, a Friday


@dataclass(frozen=True)
class Sent:
    wa_id: str
    to_jid: str
    via: str


@dataclass(frozen=True)
class Incoming:
    wa_id: str
    from_phone: str | None
    from_jid: str
    text: str
    time: float
    kind: str = "chat"
    quoted_id: str | None = None


class Refused(RuntimeError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Session:
    """What the outbox uses of WhatsAppClient, with a reach-out lock the test sets."""

    def __init__(self, clock: Clock) -> None:
        self.state = State.CONNECTED
        self.clock = clock
        self.sends: list[tuple[str, str, float]] = []
        self.refuse: dict[str, str] = {}  # phone -> SendError reason
        self.events: list[tuple[str, dict]] = []
        self.lock = {"active": False, "until": None}

    def send_message(self, phone: str, text: str, *args, **kwargs) -> Sent:
        if phone in self.refuse:
            raise Refused(self.refuse[phone])
        self.sends.append((phone, text, self.clock()))
        return Sent(f"true_{phone}@c.us_3EB0{len(self.sends):04d}", phone + "@c.us", "modules")

    def reachout_timelock(self) -> dict:
        return dict(self.lock)

    def subscribe(self, listener) -> None:
        pass

    def set_chat_listener(self, fn) -> None:
        pass

    def watch_messages(self, ids) -> None:
        pass

    def emit(self, event: str, payload: dict) -> None:
        self.events.append((event, payload))

    def named(self, event: str) -> list[dict]:
        return [payload for name, payload in self.events if name == event]

    def spawn(self, fn, *args) -> None:
        pass

    def sleep(self, seconds: float) -> None:
        pass


def make_outbox(tmp_path: Path, session: Session, clock: Clock, **settings) -> Outbox:
    config = Settings(profile_dir=str(tmp_path / "profile"),
                      **{"send_gap_s": "0", "send_per_minute": 0, "send_per_day": 0, "timezone": "UTC", **settings})
    return Outbox(session, config, rng=random.Random(7), clock=clock).open()


def drain(outbox: Outbox, steps: int = 20) -> None:
    """Step the sender until it has nothing to send now."""
    for _ in range(steps):
        if outbox.step() != 0.0:
            return


def publish(outbox: Outbox, acks=(), incoming=(), restricted: bool = False) -> None:
    """What one chat poll puts on the session's bus (wa_client.chat.hub.publisher), as the outbox's ledger hears it.

    Only queued, as on the session's thread: the sender applies it in its next turn.
    """
    publisher(outbox.ledger)(tuple(acks), tuple(incoming), restricted)


def hear(outbox: Outbox, acks=(), incoming=(), restricted: bool = False) -> None:
    """A chat poll's events, then the sender's turn that applies them (what on_chat did at once before)."""
    publish(outbox, acks, incoming, restricted)
    outbox.hear()
