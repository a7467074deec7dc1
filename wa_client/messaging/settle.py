"""Exactly once: each send keyed before it starts, and every unsure `sending` settled from WhatsApp's own record.

The outbox chooses the message's WhatsApp id (`WAWebMsgKey.newId()`) and commits it with `sending` before the
send; on the page route, where no id can be chosen, the moment the send began is committed instead. A message
stays `sending` until WhatsApp's server has it (ack >= 1). Whatever is left `sending` and is not in flight
(after a restart, a send with no clear answer, or a clock held past HELD_AT_CLOCK_S) is looked up in the chat:
found -> its ack decides; surely absent -> queued again with the same id; the chat unreadable -> failed
`unconfirmed`, the only case a person has to look.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from wa_client.messaging.ports import Session

#: A message WhatsApp shows with a clock (ack 0) this long while connected is settled like after a restart.
HELD_AT_CLOCK_S = 60.0
#: Look-ups that could not answer at all (an error, not "unreadable") before the message is failed unconfirmed.
SETTLE_TRIES = 3
#: The wait before looking up again a chat that could not be read (times the tries so far).
RETRY_S = 5.0
#: At most this many messages are looked up in one go.
SETTLE_BATCH = 20

UNREADABLE = ("the gateway stopped (or WhatsApp did not answer) while this message was being sent, and the chat "
              "could not be read afterwards to see whether it went out; it was not sent again: look at the chat "
              "on the clinic phone before sending it again")

#: What a look-up's answer does to a message left `sending`: (state, ack at least 1) -> action.
ACTIONS = {
    ("found", True): "sent",       # WhatsApp's server has it: sent, and its ticks follow
    ("found", False): "hold",      # WhatsApp holds it at the clock and sends it itself: wait for its ticks
    ("absent", True): "resend",    # (ack is meaningless when absent)
    ("absent", False): "resend",   # the chat was read back to before the send and it is not there: send it
    ("unreadable", True): "fail",
    ("unreadable", False): "fail",
}

COLUMNS = (("msg_id", "TEXT"), ("settle_due", "REAL"))


def migrate_exactly_once(db: sqlite3.Connection) -> None:
    """Add the columns exactly-once needs (idempotent: an old outbox.sqlite3 opens as it is)."""
    have = {row[1] for row in db.execute("PRAGMA table_info(outgoing)")}
    for name, kind in COLUMNS:
        if name not in have:
            db.execute(f"ALTER TABLE outgoing ADD COLUMN {name} {kind}")  # noqa: S608 - fixed names
    db.execute("CREATE INDEX IF NOT EXISTS outgoing_msg_id ON outgoing (msg_id)")


def choose_id(client: Session) -> str | None:
    """WhatsApp's id for the next message (WAWebMsgKey.newId()); None on the page route (no modules)."""
    new_id = getattr(client, "new_message_id", None)
    if new_id is None:
        return None
    try:
        return new_id()
    except Exception as exc:
        if getattr(exc, "reason", None) == "unavailable":
            return None
        raise


def action(found: Any) -> str:
    """What to do with a message left `sending`, from the look-up's answer (a Found)."""
    return ACTIONS.get((found.state, (found.ack or 0) >= 1), "fail")


@dataclass(frozen=True)
class LookupRow:
    """The Lookup the page side takes (wa_client.chat.hub.Lookup), built without importing the page side."""

    message_id: str
    phone_digits: str
    msg_id: str | None
    to_jid: str | None
    text: str
    since: float


def lookups(rows: Iterable[dict], make: Any = LookupRow) -> list:
    """The look-ups for rows left `sending` (`make` is chat.Lookup when it exists)."""
    return [make(message_id=r["id"], phone_digits=r["phone"], msg_id=r["msg_id"], to_jid=r["to_jid"],
                 text=r["text"], since=float(r["attempted_at"] or 0.0)) for r in rows]


class SendingRecord:
    """The outbox file's part for exactly-once (its own transactions, on the OutboxStore's connection)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        with store._tx() as db:  # noqa: SLF001 - the same file, one lock
            migrate_exactly_once(db)

    def _row(self, db: sqlite3.Connection, message_id: str) -> dict:
        return dict(db.execute("SELECT * FROM outgoing WHERE id = ?", (message_id,)).fetchone())

    def begin(self, message_id: str, msg_id: str | None, now: float) -> bool:
        """`sending`, its WhatsApp id (None on the page route) and the start time in ONE commit; False unless queued."""
        with self.store._tx() as db:  # noqa: SLF001
            cursor = db.execute("UPDATE outgoing SET status = 'sending', attempted_at = ?, settle_due = NULL, "
                                "msg_id = COALESCE(?, msg_id) WHERE id = ? AND status = 'queued'",
                                (now, msg_id, message_id))
            return cursor.rowcount == 1

    def added(self, message_id: str, wa_id: str, to_jid: str, via: str, ack: int, now: float) -> dict:
        """WhatsApp added the message: its id; `sent` only when its server has it (ack >= 1), else held to settle."""
        with self.store._tx() as db:  # noqa: SLF001
            if ack >= 1:
                db.execute("UPDATE outgoing SET wa_id = ?, to_jid = ?, via = ?, settled_at = ?, settle_due = NULL, "
                           "sent_at = COALESCE(sent_at, ?), status = CASE WHEN status IN ('queued', 'sending') "
                           "THEN 'sent' ELSE status END WHERE id = ?", (wa_id or None, to_jid, via, now, now,
                                                                        message_id))
            else:
                db.execute("UPDATE outgoing SET wa_id = ?, to_jid = ?, via = ?, settled_at = ?, settle_due = ? "
                           "WHERE id = ?", (wa_id or None, to_jid, via, now, now + HELD_AT_CLOCK_S, message_id))
            return self._row(db, message_id)

    def unsure(self, message_id: str, now: float, due: float | None = None) -> None:
        """The send ended without a clear answer: settle it from the chat at `due` (default: once connected)."""
        with self.store._tx() as db:  # noqa: SLF001
            db.execute("UPDATE outgoing SET settle_due = ?, settled_at = ? WHERE id = ? AND status = 'sending'",
                       (now if due is None else due, now, message_id))

    def due(self, now: float, in_flight: str | None, limit: int = SETTLE_BATCH) -> list[dict]:
        """Messages left `sending` whose settling is due (NULL: left by an earlier run), oldest first."""
        with self.store._lock:  # noqa: SLF001
            rows = self.store._db.execute(  # noqa: SLF001
                "SELECT * FROM outgoing WHERE status = 'sending' AND (settle_due IS NULL OR settle_due <= ?) "
                "AND id IS NOT ? ORDER BY seq LIMIT ?", (now, in_flight, limit)).fetchall()
        return [dict(r) for r in rows]

    def apply(self, found: Any, now: float) -> tuple[str, dict | None]:
        """Settle one message by its look-up; (the action taken, its record when its status changed)."""
        todo = action(found)
        with self.store._tx() as db:  # noqa: SLF001
            row = db.execute("SELECT * FROM outgoing WHERE id = ? AND status = 'sending'",
                             (found.message_id,)).fetchone()
            if row is None:
                return "gone", None  # an ack settled it meanwhile
            wa_id, to_jid = found.wa_id or row["wa_id"], found.to_jid or row["to_jid"]
            if todo == "sent":
                db.execute("UPDATE outgoing SET status = 'sent', wa_id = ?, to_jid = ?, sent_at = ?, settled_at = ?, "
                           "settle_due = NULL WHERE id = ?", (wa_id, to_jid, now, now, row["id"]))
            elif todo == "hold":
                db.execute("UPDATE outgoing SET wa_id = ?, to_jid = ?, settle_due = ? WHERE id = ?",
                           (wa_id, to_jid, now + HELD_AT_CLOCK_S, row["id"]))
                return todo, None
            elif todo == "resend":  # the same msg_id is kept: send() uses it again
                db.execute("UPDATE outgoing SET status = 'queued', settle_due = NULL, settled_at = ? WHERE id = ?",
                           (now, row["id"]))
            else:
                db.execute("UPDATE outgoing SET status = 'failed', reason = 'unconfirmed', error = ?, failed_at = ?, "
                           "settled_at = ?, settle_due = NULL WHERE id = ?", (UNREADABLE, now, now, row["id"]))
            return todo, self._row(db, row["id"])

    def fail_left(self, words: str, now: float, in_flight: str | None) -> list[dict]:
        """Fail as `unconfirmed` every message left `sending` but the one in flight (its chat can no longer be read)."""
        with self.store._tx() as db:  # noqa: SLF001
            ids = [r[0] for r in db.execute("SELECT id FROM outgoing WHERE status = 'sending' AND id IS NOT ? "
                                            "ORDER BY seq", (in_flight,))]
            for message_id in ids:
                db.execute("UPDATE outgoing SET status = 'failed', reason = 'unconfirmed', error = ?, failed_at = ?, "
                           "settled_at = ?, settle_due = NULL WHERE id = ?", (words, now, now, message_id))
            return [self._row(db, i) for i in ids]

    def give_up(self, message_id: str, now: float) -> dict | None:
        """The chat could not be read at all, SETTLE_TRIES times: failed `unconfirmed`, for a person to look."""
        with self.store._tx() as db:  # noqa: SLF001
            cursor = db.execute("UPDATE outgoing SET status = 'failed', reason = 'unconfirmed', error = ?, "
                                "failed_at = ?, settled_at = ?, settle_due = NULL WHERE id = ? AND status = 'sending'",
                                (UNREADABLE, now, now, message_id))
            return self._row(db, message_id) if cursor.rowcount == 1 else None


class Settler:
    """Looks up what is left `sending` through client.find_sent and applies the answers; the outbox calls it."""

    def __init__(self, client: Session, record: SendingRecord, emit: Any, make_lookup: Any = LookupRow,
                 log: Any = None) -> None:
        self.client, self.record, self.emit, self.make_lookup = client, record, emit, make_lookup
        self.log = log
        self.tries: dict[str, int] = {}

    def settle(self, now: float, in_flight: str | None) -> list[tuple[str, str]]:
        """Settle the due messages once; [(message id, action)] (empty when nothing was due)."""
        rows = self.record.due(now, in_flight)
        if not rows:
            return []
        try:
            answers = list(self.client.find_sent(lookups(rows, self.make_lookup)))
        except Exception as exc:  # noqa: BLE001 - not connected, no answer: try again, then tell a person
            return self._could_not_read(rows, now, exc)
        done = []
        for found in answers:
            if action(found) == "fail" and self._try_later(found.message_id, now):
                continue  # an unreadable chat may read the next time (a page still loading, a slow machine)
            taken, changed = self.record.apply(found, now)
            self.tries.pop(found.message_id, None)
            done.append((found.message_id, taken))
            if self.log:
                self.log("message %s settled from WhatsApp's record: %s", found.message_id, taken)
            if changed is not None:
                self.emit(changed)
        return done

    def _could_not_read(self, rows: list[dict], now: float, exc: Exception) -> list[tuple[str, str]]:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        done = []
        for row in rows:
            if reason == "not_connected" or self._try_later(row["id"], now):
                continue  # (a look-up that never ran says nothing about the chat: the next connect tries again)
            changed = self.record.give_up(row["id"], now)
            done.append((row["id"], "fail"))
            if changed is not None:
                self.emit(changed)
        return done

    def _try_later(self, message_id: str, now: float) -> bool:
        """Count a look-up that could not read the chat; True (and due again later) until SETTLE_TRIES."""
        tries = self.tries[message_id] = self.tries.get(message_id, 0) + 1
        if tries < SETTLE_TRIES:
            self.record.unsure(message_id, now, due=now + RETRY_S * tries)
            return True
        self.tries.pop(message_id, None)
        return False
