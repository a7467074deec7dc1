"""The outbox's plans: which waiting message is due, cancelling, and what the gateway learnt from its sends.

Its columns and tables live in the outbox's SQLite file (`migrate_schedule` adds them, idempotently, to an old
file); this class reads and writes them through its own connection, each call one short transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from wa_client.sqlite_file import SqliteFile

#: Columns this part adds to `outgoing` (an old outbox.sqlite3 gains them on open).
COLUMNS = {"send_at": "REAL", "due_at": "REAL", "cancelled_at": "REAL"}
INDEXES = """
CREATE INDEX IF NOT EXISTS outgoing_due ON outgoing (status, due_at, seq);
CREATE INDEX IF NOT EXISTS outgoing_phone_sent ON outgoing (phone, sent_at);
CREATE INDEX IF NOT EXISTS outgoing_to_jid ON outgoing (to_jid);
CREATE INDEX IF NOT EXISTS incoming_from_phone ON incoming (from_phone);
CREATE TABLE IF NOT EXISTS sent_ids (msg_id TEXT PRIMARY KEY, message_id TEXT NOT NULL);
"""
INCOMING_COLUMNS = {"in_reply_to": "TEXT", "last_sent_id": "TEXT"}
#: How many due messages the sender looks through for one it may send now (the reach-out lock skips some).
PICK_WINDOW = 50
CANCELLED_BY_CRM = "cancelled by the CRM (DELETE /messages/{id}) before it was sent; it will not be sent"
CANCELLED_OPT_OUT = "the patient opted out (wrote STOP or was recorded by the CRM); it was not sent"


def _add_columns(db: sqlite3.Connection, table: str, columns: dict[str, str]) -> None:
    have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    for name, kind in columns.items():
        if name not in have:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


def migrate_schedule(db: sqlite3.Connection) -> None:
    """Add send_at/due_at/cancelled_at, the reply columns, the sent-id table and the indexes (idempotent)."""
    _add_columns(db, "outgoing", COLUMNS)
    _add_columns(db, "incoming", INCOMING_COLUMNS)
    db.executescript(INDEXES)
    db.execute("UPDATE outgoing SET due_at = COALESCE(send_at, queued_at) WHERE due_at IS NULL")


def msg_id_of(wa_id: str | None) -> str | None:
    """The bare WhatsApp message id in a serialized key 'true_<jid>_<ID>'."""
    return wa_id.rsplit("_", 1)[-1] if wa_id else None


class Schedule(SqliteFile):
    """Due messages, cancels and the gateway's memory of whom it wrote to, in the outbox's file."""

    # -- the sender's pick ----------------------------------------------------------------------
    def next_due(self, now: float, may_send: Callable[[dict], bool] = lambda row: True) -> dict | None:
        """The waiting message due first (its time come, oldest due first) that `may_send` allows, or None."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM outgoing WHERE status = 'queued' AND due_at <= ? "
                                    "ORDER BY due_at, seq LIMIT ?", (now, PICK_WINDOW)).fetchall()
            if not rows:  # a row written by code that did not set due_at
                rows = self._db.execute("SELECT * FROM outgoing WHERE status = 'queued' AND due_at IS NULL "
                                        "AND COALESCE(send_at, 0) <= ? ORDER BY seq LIMIT 1", (now,)).fetchall()
        return next((dict(r) for r in rows if may_send(dict(r))), None)

    # -- cancels ---------------------------------------------------------------------------------
    def cancel(self, message_id: str, now: float, reason: str | None = None,
               words: str = CANCELLED_BY_CRM) -> tuple[str, dict | None]:
        """Cancel a waiting message: ('cancelled', row), ('too_late', row) once it is being sent, ('unknown', None)."""
        with self._tx() as db:
            cursor = db.execute("UPDATE outgoing SET status = 'cancelled', reason = ?, error = ?, cancelled_at = ?, "
                                "settled_at = COALESCE(settled_at, ?) WHERE id = ? AND status = 'queued'",
                                (reason, words, now, now, message_id))
            row = db.execute("SELECT * FROM outgoing WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            return "unknown", None
        return ("cancelled" if cursor.rowcount == 1 else "too_late"), dict(row)

    def cancel_waiting_for(self, phone: str, now: float) -> list[dict]:
        """Cancel (reason opted_out) every message still waiting for this number; the rows cancelled."""
        with self._tx() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM outgoing WHERE phone = ? AND status = 'queued' "
                                            "ORDER BY seq", (phone,))]
            db.execute("UPDATE outgoing SET status = 'cancelled', reason = 'opted_out', error = ?, cancelled_at = ?, "
                       "settled_at = COALESCE(settled_at, ?) WHERE phone = ? AND status = 'queued'",
                       (CANCELLED_OPT_OUT, now, now, phone))
            return [dict(db.execute("SELECT * FROM outgoing WHERE id = ?", (i,)).fetchone()) for i in ids]

    # -- what the sends taught -----------------------------------------------------------------
    def remember_sent(self, row: dict) -> None:
        """Keep the WhatsApp id of one of our messages (a patient who quotes it names this id)."""
        msg_id = msg_id_of(row.get("wa_id"))
        if msg_id:
            with self._tx() as db:
                db.execute("INSERT OR IGNORE INTO sent_ids (msg_id, message_id) VALUES (?, ?)", (msg_id, row["id"]))

    def quoted(self, msg_id: str | None) -> str | None:
        """Our message's id for the WhatsApp id a patient quoted, or None."""
        if not msg_id:
            return None
        row = self._one("SELECT message_id FROM sent_ids WHERE msg_id = ?", (msg_id,))
        return row["message_id"] if row else None

    def phone_for_jid(self, jid: str | None) -> str | None:
        """The number (digits) the gateway sent to when WhatsApp named the chat `jid` (e.g. an @lid), or None."""
        if not jid:
            return None
        row = self._one("SELECT phone FROM outgoing WHERE to_jid = ? ORDER BY seq DESC LIMIT 1", (jid,))
        return row["phone"] if row else None

    def last_sent_id(self, phone: str | None, jid: str | None) -> str | None:
        """Our last message that reached WhatsApp for this number (or chat id), or None.

        "Reached" is WhatsApp's id in hand: a message still at the clock (ack 0) that the patient answers counts.
        """
        row = None
        if phone:
            row = self._one("SELECT id FROM outgoing WHERE phone = ? AND (sent_at IS NOT NULL OR wa_id IS NOT NULL) "
                            "ORDER BY COALESCE(sent_at, attempted_at) DESC, seq DESC LIMIT 1", (phone,))
        if row is None and jid:
            row = self._one("SELECT id FROM outgoing WHERE to_jid = ? AND (sent_at IS NOT NULL OR wa_id IS NOT NULL) "
                            "ORDER BY COALESCE(sent_at, attempted_at) DESC, seq DESC LIMIT 1", (jid,))
        return row["id"] if row else None

    def annotate_incoming(self, incoming_id: str, in_reply_to: str | None, last_sent_id: str | None) -> dict | None:
        """Store what a patient's message answers; its record."""
        with self._tx() as db:
            db.execute("UPDATE incoming SET in_reply_to = ?, last_sent_id = ? WHERE id = ?",
                       (in_reply_to, last_sent_id, incoming_id))
            row = db.execute("SELECT * FROM incoming WHERE id = ?", (incoming_id,)).fetchone()
        return dict(row) if row else None

    def has_conversation(self, phone: str) -> bool:
        """True when this number wrote to the clinic or got a message from it (a chat exists)."""
        with self._lock:
            wrote = self._db.execute("SELECT 1 FROM incoming WHERE from_phone = ? LIMIT 1", ("+" + phone,)).fetchone()
            got = wrote or self._db.execute("SELECT 1 FROM outgoing WHERE phone = ? AND sent_at IS NOT NULL LIMIT 1",
                                            (phone,)).fetchone()
        return got is not None
