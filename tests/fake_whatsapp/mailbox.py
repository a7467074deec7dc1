"""The account's messages: what it sent (with acks that advance over time) and what patients wrote."""
from __future__ import annotations

import itertools
import logging
import secrets
from dataclasses import dataclass

logger = logging.getLogger(__name__)

ACKS_PER_POLL = 200  # a page hears the acks of the account's latest messages only


def lid_of(digits: str) -> str:
    """The @lid user id WhatsApp gives a number of `lid_numbers` (made up, stable)."""
    return "9" + digits[::-1]


@dataclass
class SentMessage:
    """A message the account really sent (the server accepted it)."""

    id: str  # Msg.id._serialized
    to: str  # the number, digits
    jid: str  # what it was sent to (…@c.us or …@lid)
    text: str
    time: float
    via: str  # "modules" or "page"
    read_now: float | None = None  # /phone/messages/read

    def ack(self, now: float, delivered_after: float, read_after: float | None) -> int:
        """1 sent, 2 delivered, 3 read, as time goes by."""
        delivered = now >= self.time + delivered_after
        read = self.read_now is not None or (read_after is not None and now >= self.time + max(read_after,
                                                                                                 delivered_after))
        return 3 if delivered and read else 2 if delivered else 1

    def public(self, ack: int) -> dict[str, object]:
        """As /phone/messages shows it."""
        return {"id": self.id, "to": self.to, "jid": self.jid, "text": self.text, "ack": ack, "time": self.time,
                "via": self.via}


class Mailbox:
    """Sent, rejected and received messages of the account (Account holds the lock)."""

    def __init__(self) -> None:
        self.sent: list[SentMessage] = []
        self.rejected: list[dict[str, object]] = []
        self.received: list[dict[str, object]] = []
        self._ids = itertools.count(1)

    def jid_for(self, digits: str, not_on_whatsapp: tuple[str, ...], lid_numbers: tuple[str, ...]) -> str | None:
        """What queryWidExists answers for a number: None without WhatsApp, an @lid or an @c.us id."""
        if digits in not_on_whatsapp:
            return None
        return f"{lid_of(digits)}@lid" if digits in lid_numbers else f"{digits}@c.us"

    def number_of(self, jid: str, lid_numbers: tuple[str, ...]) -> str:
        """The digits behind a …@c.us or …@lid id."""
        user, _, server = jid.partition("@")
        if server == "lid":
            return next((d for d in lid_numbers if lid_of(d) == user), user)
        return user

    def record_sent(self, message: SentMessage) -> None:
        """The server accepted a message."""
        self.sent.append(message)

    def record_rejected(self, msg_id: str, to: str, text: str, now: float, error: str) -> None:
        """The server refused a message (never delivered)."""
        self.rejected.append({"id": msg_id, "to": to, "text": text, "time": now, "error": error})

    def receive(self, digits: str, jid: str, text: str, now: float, quoted: str | None = None) -> dict[str, object]:
        """A patient writes to the account (`quoted`: the bare id of the message they reply to)."""
        message = {"id": f"false_{jid}_3A{next(self._ids):06d}{secrets.token_hex(4).upper()}", "from": digits,
                   "jid": jid, "text": text, "time": now, "quoted": quoted}
        self.received.append(message)
        return message

    def talked_with(self, digits: str) -> bool:
        """Whether the account has a conversation with the number (a message either way)."""
        return any(m.to == digits for m in self.sent) or any(m["from"] == digits for m in self.received)

    def history(self, now: float, delivered_after: float, read_after: float | None,
                received_before: int) -> list[dict[str, object]]:
        """The account's recent messages as a page's own store holds them: {id, jid, text, time, ack, quoted}."""
        sent = [{"id": m.id, "jid": m.jid, "text": m.text, "time": m.time, "ack": m.ack(now, delivered_after,
                                                                                     read_after)}
                for m in self.sent[-ACKS_PER_POLL:]]
        received = [{"id": m["id"], "jid": m["jid"], "text": m["text"], "time": m["time"], "ack": 1,
                     "quoted": m.get("quoted")} for m in self.received[:received_before][-ACKS_PER_POLL:]]
        return sent + received

    def acks(self, now: float, delivered_after: float, read_after: float | None) -> dict[str, int]:
        """The current ack of the latest sent messages, by id."""
        return {m.id: m.ack(now, delivered_after, read_after) for m in self.sent[-ACKS_PER_POLL:]}

    def read_all(self, now: float) -> int:
        """The patients open their chats: every message sent so far is read once delivered."""
        for message in self.sent:
            message.read_now = message.read_now or now
        return len(self.sent)
