"""The outbox's SQLite file: messages to send and messages received, kept across restarts (mode 0600).

Every call is one short transaction under one lock (never held across a send), so it is safe from the
sender, the chat listener and the HTTP routes alike, threads or green threads.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

from wa_client.clock import iso
from wa_client.messaging.schedule import migrate_schedule
from wa_client.sqlite_file import SqliteFile, open_private

#: The order of an outgoing message's life: a status never moves back (failed ends it).
RANK = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "read": 4}
#: WhatsApp's ack (−1 error, 0 pending, 1 sent, 2 delivered, 3 read, 4 played) as our status.
ACK_STATUS = {1: "sent", 2: "delivered", 3: "read", 4: "read"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS outgoing (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    phone TEXT NOT NULL,
    text TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT, error TEXT,
    queued_at REAL NOT NULL, attempted_at REAL, settled_at REAL,
    sent_at REAL, delivered_at REAL, read_at REAL, failed_at REAL,
    idempotency_key TEXT UNIQUE, body_hash TEXT,
    wa_id TEXT, to_jid TEXT, via TEXT
);
CREATE INDEX IF NOT EXISTS outgoing_status ON outgoing (status, seq);
CREATE INDEX IF NOT EXISTS outgoing_wa_id ON outgoing (wa_id);
CREATE INDEX IF NOT EXISTS outgoing_attempted ON outgoing (attempted_at);
CREATE TABLE IF NOT EXISTS incoming (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    from_phone TEXT, from_jid TEXT, text TEXT, time REAL, kind TEXT,
    received_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""



def body_hash(phone_digits: str, text: str) -> str:
    """What an Idempotency-Key stands for: the number (as digits) and the text."""
    return hashlib.sha256(json.dumps([phone_digits, text]).encode("utf-8")).hexdigest()


def _iso(value: float | None) -> str | None:
    return iso(value) if value is not None else None


def message_view(row: dict) -> dict:
    """An outgoing message as the API shows it (`sending` is still `queued` to the CRM)."""
    return {"id": row["id"], "to": "+" + row["phone"], "status": "queued" if row["status"] == "sending" else
            row["status"], "reason": row["reason"], "error": row["error"], "queued_at": _iso(row["queued_at"]),
            "sent_at": _iso(row["sent_at"]), "delivered_at": _iso(row["delivered_at"]),
            "read_at": _iso(row["read_at"]), "failed_at": _iso(row["failed_at"]), "wa_id": row["wa_id"],
            "seq": row["seq"], "send_at": _iso(row.get("send_at")), "cancelled_at": _iso(row.get("cancelled_at")),
            "to_jid": row.get("to_jid")}


def received_view(row: dict) -> dict:
    """A patient's message as the API and the `message.received` event show it."""
    return {"id": row["id"], "seq": row["seq"], "from": row["from_phone"], "from_jid": row["from_jid"],
            "text": row["text"], "time": _iso(row["time"]), "kind": row["kind"],
            "received_at": _iso(row["received_at"]), "in_reply_to": row.get("in_reply_to"),
            "last_sent_id": row.get("last_sent_id")}


class IdempotencyConflict(ValueError):
    """The Idempotency-Key was used before for a different message."""


class OutboxStore(SqliteFile):
    """The outbox's records in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        open_private(self.path)
        super().__init__(self.path)
        self._db.executescript(SCHEMA)
        migrate_schedule(self._db)

    # -- outgoing -------------------------------------------------------------------------------
    def add(self, phone: str, text: str, now: float, key: str | None = None,
            body_hash: str | None = None, send_at: float | None = None) -> tuple[dict, bool]:
        """Queue a message; (its record, True) — or, for a known Idempotency-Key and body, (that one, False)."""
        with self._tx() as db:
            if key is not None:
                row = db.execute("SELECT * FROM outgoing WHERE idempotency_key = ?", (key,)).fetchone()
                if row is not None:
                    if row["body_hash"] != body_hash:
                        raise IdempotencyConflict(key)
                    return dict(row), False
            message_id = uuid.uuid4().hex
            db.execute("INSERT INTO outgoing (id, phone, text, status, queued_at, idempotency_key, body_hash, send_at, "
                       "due_at) VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?)",
                       (message_id, phone, text, now, key, body_hash, send_at, now if send_at is None else send_at))
            return dict(db.execute("SELECT * FROM outgoing WHERE id = ?", (message_id,)).fetchone()), True

    def get(self, message_id: str) -> dict | None:
        """The outgoing message's record, or None."""
        with self._lock:
            row = self._db.execute("SELECT * FROM outgoing WHERE id = ?", (message_id,)).fetchone()
        return dict(row) if row else None

    def by_key(self, key: str) -> dict | None:
        """The message an Idempotency-Key made, or None."""
        with self._lock:
            row = self._db.execute("SELECT * FROM outgoing WHERE idempotency_key = ?", (key,)).fetchone()
        return dict(row) if row else None

    def next_queued(self) -> dict | None:
        """The oldest message waiting to be sent."""
        with self._lock:
            row = self._db.execute("SELECT * FROM outgoing WHERE status = 'queued' ORDER BY seq LIMIT 1").fetchone()
        return dict(row) if row else None

    def mark_sending(self, message_id: str, now: float) -> bool:
        """Record that the send starts (committed before it does); False unless it was queued."""
        with self._tx() as db:
            cursor = db.execute("UPDATE outgoing SET status = 'sending', attempted_at = ? "
                                "WHERE id = ? AND status = 'queued'", (now, message_id))
            return cursor.rowcount == 1

    def mark_sent(self, message_id: str, wa_id: str, to_jid: str, via: str, now: float) -> dict:
        """WhatsApp took the message: its id, and status sent (unless an ack already moved it further)."""
        with self._tx() as db:
            db.execute("UPDATE outgoing SET wa_id = ?, to_jid = ?, via = ?, settled_at = ?, sent_at = ?, "
                       "status = CASE WHEN status IN ('queued', 'sending') THEN 'sent' ELSE status END "
                       "WHERE id = ?", (wa_id, to_jid, via, now, now, message_id))
            return dict(db.execute("SELECT * FROM outgoing WHERE id = ?", (message_id,)).fetchone())

    def requeue(self, message_id: str, now: float) -> None:
        """Nothing was sent (the session was not connected): the message waits again."""
        with self._tx() as db:
            db.execute("UPDATE outgoing SET status = 'queued', settled_at = ? WHERE id = ? AND status = 'sending'",
                       (now, message_id))

    def fail(self, message_id: str, reason: str, error: str, now: float) -> dict | None:
        """End a message that is not yet read as failed, with its reason in words; None when it is settled."""
        with self._tx() as db:
            cursor = db.execute("UPDATE outgoing SET status = 'failed', reason = ?, error = ?, failed_at = ?, "
                                "settled_at = COALESCE(settled_at, ?) WHERE id = ? AND status IN "
                                "('queued', 'sending', 'sent')", (reason, error, now, now, message_id))
            if cursor.rowcount != 1:
                return None
            return dict(db.execute("SELECT * FROM outgoing WHERE id = ?", (message_id,)).fetchone())

    def fail_all(self, status: str, reason: str, error: str, now: float) -> list[dict]:
        """Fail every message in `status` (queued after a reset, sending after a restart)."""
        with self._tx() as db:
            ids = [r["id"] for r in db.execute("SELECT id FROM outgoing WHERE status = ? ORDER BY seq", (status,))]
            db.execute("UPDATE outgoing SET status = 'failed', reason = ?, error = ?, failed_at = ?, "
                       "settled_at = COALESCE(settled_at, ?) WHERE status = ?", (reason, error, now, now, status))
            return [dict(db.execute("SELECT * FROM outgoing WHERE id = ?", (i,)).fetchone()) for i in ids]

    def apply_ack(self, wa_id: str, ack: int, now: float) -> dict | None:
        """Move the message forward by WhatsApp's ack (never back); its record when it changed, else None."""
        with self._tx() as db:
            row = db.execute("SELECT * FROM outgoing WHERE wa_id = ?", (wa_id,)).fetchone()
            if row is None or row["status"] == "failed":
                return None
            if ack < 0:
                if RANK[row["status"]] > RANK["sent"]:
                    return None  # delivered already: a late error ack does not undo it
                db.execute("UPDATE outgoing SET status = 'failed', reason = 'rejected', error = ?, failed_at = ? "
                           "WHERE id = ?", (REJECTED, now, row["id"]))
            else:
                status = ACK_STATUS.get(ack)
                if status is None or RANK[status] <= RANK[row["status"]]:
                    return None
                stamps = {"sent": ["sent_at"], "delivered": ["sent_at", "delivered_at"],
                          "read": ["sent_at", "delivered_at", "read_at"]}[status]
                sets = ", ".join(f"{col} = COALESCE({col}, :now)" for col in stamps)
                db.execute(f"UPDATE outgoing SET status = :status, {sets} WHERE id = :id",  # noqa: S608 - fixed names
                           {"status": status, "now": now, "id": row["id"]})
            return dict(db.execute("SELECT * FROM outgoing WHERE id = ?", (row["id"],)).fetchone())

    def knows(self, wa_id: str) -> bool:
        """True when a message of ours has this WhatsApp id."""
        with self._lock:
            return self._db.execute("SELECT 1 FROM outgoing WHERE wa_id = ?", (wa_id,)).fetchone() is not None

    def attempts_since(self, since: float) -> list[float]:
        """When each send started at or after `since`, oldest first (the caps count these)."""
        with self._lock:
            rows = self._db.execute("SELECT attempted_at FROM outgoing WHERE attempted_at >= ? ORDER BY attempted_at",
                                    (since,)).fetchall()
        return [r[0] for r in rows]

    def last_settled(self) -> float | None:
        """When the last send ended (or started, if it never ended): the gap counts from there."""
        with self._lock:
            row = self._db.execute("SELECT MAX(COALESCE(settled_at, attempted_at)) FROM outgoing").fetchone()
        return row[0]

    def watched(self, since: float, limit: int = 500) -> list[str]:
        """WhatsApp ids of messages sent after `since` that are not read yet, newest first, at most `limit`."""
        with self._lock:
            rows = self._db.execute("SELECT wa_id FROM outgoing WHERE wa_id IS NOT NULL AND status IN ('sending', "
                                    "'sent', 'delivered') AND COALESCE(sent_at, attempted_at) >= ? "
                                    "ORDER BY seq DESC LIMIT ?",
                                    (since, limit)).fetchall()
        return [r[0] for r in rows]

    def counts(self) -> dict[str, int]:
        """How many outgoing messages are in each status."""
        with self._lock:
            rows = self._db.execute("SELECT status, COUNT(*) FROM outgoing GROUP BY status").fetchall()
        return {r[0]: r[1] for r in rows}

    # -- incoming -------------------------------------------------------------------------------
    def add_incoming(self, wa_id: str, from_phone: str | None, from_jid: str, text: str, at: float, kind: str,
                     now: float) -> dict | None:
        """Keep a patient's message; None when it was kept already (the same WhatsApp id)."""
        with self._tx() as db:
            cursor = db.execute("INSERT OR IGNORE INTO incoming (id, from_phone, from_jid, text, time, kind, "
                                "received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                (wa_id, from_phone, from_jid, text, at, kind, now))
            if cursor.rowcount != 1:
                return None
            return dict(db.execute("SELECT * FROM incoming WHERE id = ?", (wa_id,)).fetchone())

    def listing(self, direction: str, after: int, limit: int, status: str | None = None) -> list[dict]:
        """Messages of one direction ('in' or 'out', optionally of one status) with seq > `after`, oldest first."""
        table = "incoming" if direction == "in" else "outgoing"
        where, args = ("status = ? AND seq > ?", (status, after)) if status else ("seq > ?", (after,))
        with self._lock:
            rows = self._db.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY seq LIMIT ?",  # noqa: S608
                                    (*args, limit)).fetchall()
        return [dict(r) for r in rows]

    # -- the outbox's own state (paused or not) --------------------------------------------------
    def meta(self, key: str) -> str | None:
        """A stored value of the outbox's own state."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, **values: Any) -> None:
        """Store values (None deletes)."""
        with self._tx() as db:
            for key, value in values.items():
                if value is None:
                    db.execute("DELETE FROM meta WHERE key = ?", (key,))
                else:
                    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, str(value)))


REJECTED = "WhatsApp did not accept the message (error ack); it was not delivered"
