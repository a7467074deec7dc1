"""Webhook events kept on disk until their receiver has them: SQLite in the data directory (mode 0600).

Every event is written here before its first delivery attempt and removed once the receiver answered
`2xx`, or once it is dropped (too old, refused, or pushed out by the bound). Rows are kept per receiver
in the order they were written, so a restart delivers what waited, in order.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from wa_client.sqlite_file import open_private

logger = logging.getLogger(__name__)

FILE_NAME = "webhooks.sqlite3"
#: At most this many events wait per receiver; past it the oldest is dropped (and counted, and told).
MAX_WAITING = 10_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    receiver TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event TEXT NOT NULL,
    body BLOB NOT NULL,
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_attempt REAL
);
CREATE INDEX IF NOT EXISTS webhook_events_receiver ON webhook_events (receiver, seq);
"""


@dataclass(frozen=True)
class Entry:
    """One kept event: its place in the order, the signed body's bytes, when it was written."""

    seq: int
    event_id: str
    event: str
    body: bytes
    created: float
    attempts: int


class EventJournal:
    """The webhook events that wait for a receiver (one short locked statement per call: thread-safe)."""

    def __init__(self, path: Path | None = None, max_waiting: int = MAX_WAITING) -> None:
        self.path = Path(path) if path is not None else None
        self.max_waiting = max_waiting
        if self.path is not None:
            open_private(self.path)
        self._db = sqlite3.connect(str(self.path) if self.path else ":memory:", check_same_thread=False,
                                   isolation_level=None, timeout=5.0)
        self._lock = threading.Lock()
        # WAL without an fsync per event: a write costs ~0.05 ms instead of ~12 ms (the listener runs on the
        # session's path) and survives the process being killed; only a power cut may lose the last moments.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    @classmethod
    def open(cls, path: Path | None, max_waiting: int = MAX_WAITING) -> EventJournal:
        """The journal in `path`; kept in memory (and said in the log) when the file cannot be opened."""
        try:
            return cls(path, max_waiting)
        except (OSError, sqlite3.Error) as exc:
            logger.error("webhook events cannot be kept on disk (%s: %s); they are kept in memory only, "
                         "so a restart loses those not yet delivered: make the data folder writable",
                         type(exc).__name__, exc)
            return cls(None, max_waiting)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    def add(self, receiver: str, event_id: str, event: str, body: bytes, now: float) -> int:
        """Keep one event for `receiver`; returns how many of its oldest were dropped to stay in the bound."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("INSERT INTO webhook_events (receiver, event_id, event, body, created) "
                                 "VALUES (?, ?, ?, ?, ?)", (receiver, event_id, event, body, now))
                over = self._count(receiver) - self.max_waiting
                if over > 0:
                    self._db.execute("DELETE FROM webhook_events WHERE seq IN (SELECT seq FROM webhook_events "
                                     "WHERE receiver = ? ORDER BY seq LIMIT ?)", (receiver, over))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return max(0, over)

    def head(self, receiver: str) -> Entry | None:
        """The oldest event still waiting for `receiver`, or None."""
        with self._lock:
            row = self._db.execute("SELECT seq, event_id, event, body, created, attempts FROM webhook_events "
                                   "WHERE receiver = ? ORDER BY seq LIMIT 1", (receiver,)).fetchone()
        return Entry(row[0], row[1], row[2], bytes(row[3]), row[4], row[5]) if row else None

    def attempted(self, seq: int, now: float) -> None:
        """Count one failed attempt at an event."""
        with self._lock:
            self._db.execute("UPDATE webhook_events SET attempts = attempts + 1, last_attempt = ? WHERE seq = ?",
                             (now, seq))

    def remove(self, seq: int) -> None:
        """Forget an event (delivered, or dropped)."""
        with self._lock:
            self._db.execute("DELETE FROM webhook_events WHERE seq = ?", (seq,))

    def expire(self, receiver: str, before: float) -> int:
        """Forget every event for `receiver` written before `before`; how many there were."""
        with self._lock:
            return self._db.execute("DELETE FROM webhook_events WHERE receiver = ? AND created < ?",
                                    (receiver, before)).rowcount

    def waiting(self, receiver: str) -> int:
        """How many events wait for `receiver`."""
        with self._lock:
            return self._count(receiver)

    def oldest(self, receiver: str) -> float | None:
        """When the oldest event waiting for `receiver` was written (epoch seconds), or None."""
        with self._lock:
            row = self._db.execute("SELECT MIN(created) FROM webhook_events WHERE receiver = ?",
                                   (receiver,)).fetchone()
        return row[0]

    def _count(self, receiver: str) -> int:
        return self._db.execute("SELECT COUNT(*) FROM webhook_events WHERE receiver = ?", (receiver,)).fetchone()[0]
