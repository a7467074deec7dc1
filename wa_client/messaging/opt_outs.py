"""A patient's STOP: the words that opt a patient out, and the record of who did (kept in the outbox's file).

The whole message must be one of the words, trimmed, with case and accents ignored: "Stop by at 3?" is a
question, and "CANCELAR" is a patient cancelling an appointment, not the reminders.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from wa_client.clock import iso
from wa_client.sqlite_file import SqliteFile

DEFAULT_WORDS = "STOP,UNSUBSCRIBE,PARAR,SAIR,BAJA"
SOURCES = ("patient", "crm")
#: Punctuation a patient may put around the word ("STOP!", "Stop.") without changing what it says.
TRIM = " \t\r\n\xa0.!¡?¿\"'“”‘’*_~-"

SCHEMA = """
CREATE TABLE IF NOT EXISTS opt_outs (
    phone TEXT PRIMARY KEY,
    since REAL NOT NULL,
    source TEXT NOT NULL
);
"""


def fold(text: str) -> str:
    """Text as compared: trimmed, upper case, accents removed."""
    decomposed = unicodedata.normalize("NFKD", text.strip(TRIM))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def parse_words(raw: str) -> frozenset[str]:
    """WA_OPT_OUT_WORDS (comma-separated) as the folded set of words."""
    return frozenset(fold(word) for word in raw.split(",") if fold(word))


def is_opt_out(text: str | None, words: frozenset[str]) -> bool:
    """True when the whole message is one of the opt-out words."""
    return bool(text) and fold(text) in words


def view(row: dict) -> dict:
    """An opt-out as the API shows it."""
    return {"phone": "+" + row["phone"], "since": iso(row["since"]), "source": row["source"]}


class OptOuts(SqliteFile):
    """Who opted out, in its own table of the outbox's SQLite file (its own connection)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._db.executescript(SCHEMA)

    def get(self, phone: str) -> dict | None:
        """The opt-out of this number (digits), or None."""
        with self._lock:
            row = self._db.execute("SELECT * FROM opt_outs WHERE phone = ?", (phone,)).fetchone()
        return dict(row) if row else None

    def add(self, phone: str, source: str, now: float) -> tuple[dict, bool]:
        """Record an opt-out; (its record, True when new). A second one keeps the first date."""
        with self._tx() as db:
            cursor = db.execute("INSERT OR IGNORE INTO opt_outs (phone, since, source) VALUES (?, ?, ?)",
                                (phone, now, source))
            row = db.execute("SELECT * FROM opt_outs WHERE phone = ?", (phone,)).fetchone()
        return dict(row), cursor.rowcount == 1

    def remove(self, phone: str) -> dict | None:
        """The patient opted in again: the removed record, or None when there was none."""
        with self._tx() as db:
            row = db.execute("SELECT * FROM opt_outs WHERE phone = ?", (phone,)).fetchone()
            db.execute("DELETE FROM opt_outs WHERE phone = ?", (phone,))
        return dict(row) if row else None

    def all(self) -> list[dict]:
        """Every opt-out, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM opt_outs ORDER BY since, phone").fetchall()
        return [dict(r) for r in rows]
