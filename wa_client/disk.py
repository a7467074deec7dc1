"""The data folder and its disk: a folder that cannot be written stops the start; a full disk is said in words."""

from __future__ import annotations

import errno
import os
import sqlite3
import tempfile
from pathlib import Path

from wa_client.config import ConfigError, Settings

UNWRITABLE = ("the data folder {path} cannot be written ({why}); the gateway keeps its message outbox there. "
              "Give the user the gateway runs as write access to it (e.g. chown/chmod), free the disk if it is "
              "full or mounted read-only, or set WA_DATA_DIR to a folder it can write")
FULL = ("the disk that holds the gateway's data folder ({path}) is full; this message was not stored. Free space "
        "on that disk (or move WA_DATA_DIR to a larger one), then send it again. Messages accepted before are kept "
        "and are still sent")
#: SQLite's result codes that mean the disk (or the file's size limit) is full; sqlite3 names them from 3.11.
SQLITE_FULL_CODES = frozenset({13})  # SQLITE_FULL
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def check_writable(path: str | os.PathLike) -> None:
    """Create the folder and write a scratch file in it; ConfigError in words (which folder, what to do) if not."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".wa-write-check-") as scratch:
            scratch.write(b"x")
            scratch.flush()
            os.fsync(scratch.fileno())
    except OSError as exc:
        raise ConfigError(UNWRITABLE.format(path=folder, why=exc.strerror or type(exc).__name__)) from None


def is_disk_full(exc: BaseException) -> bool:
    """True when the error says the disk (or the database's size limit) is full."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return (code is not None and code & 0xFF in SQLITE_FULL_CODES) or "full" in str(exc).lower()
    return isinstance(exc, OSError) and exc.errno in FULL_ERRNOS


def data_dir(settings: Settings) -> Path:
    """WA_DATA_DIR, or the directory that holds the profile (the profile itself is deleted on a reset)."""
    if settings.data_dir:
        return Path(settings.data_dir).expanduser().resolve()
    return Path(settings.profile_dir).expanduser().resolve().parent
