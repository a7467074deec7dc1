"""One SQLite connection that threads share: short transactions under a lock (the outbox's file and its parts)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path


class SqliteFile:
    """A connection in autocommit mode, a lock around every use, and `synchronous=FULL` (a commit is on disk)."""

    def __init__(self, path: Path | str) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=5.0)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._db.execute("PRAGMA synchronous=FULL")

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, rolled back when its body raises."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:  # SQLite rolls back by itself after some errors (SQLITE_FULL)
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _one(self, sql: str, args: tuple) -> dict | None:
        """The first row of a query, as a dict, or None."""
        with self._lock:
            row = self._db.execute(sql, args).fetchone()
        return dict(row) if row else None


def open_private(path: Path) -> None:
    """Create the file (and its directory) readable by this user only, before SQLite opens it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)
