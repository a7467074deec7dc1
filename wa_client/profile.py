"""The Chromium profile directory: the saved WhatsApp login, kept private and removable."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from . import procs

logger = logging.getLogger(__name__)

LOCK_FILES = ("SingletonLock", "SingletonSocket", "SingletonCookie")


class ProfileInUse(RuntimeError):
    """Another live Chromium holds the profile directory."""


def ensure(path: str | os.PathLike) -> Path:
    """Create the profile directory (and its parents) with mode 0700, and tighten an existing one."""
    profile = Path(path).resolve()
    profile.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(profile, 0o700)
    return profile


def lock_owner(profile: Path) -> int | None:
    """The pid named by SingletonLock ('host-pid'), or None when there is no readable lock."""
    lock = profile / "SingletonLock"
    try:
        target = os.readlink(lock)
    except OSError:
        return None
    try:
        return int(target.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return None


def clear_stale_locks(path: str | os.PathLike) -> bool:
    """Remove Singleton* files left by a dead Chromium; raise ProfileInUse if a live one owns them."""
    profile = Path(path)
    users = procs.browsers_using(str(profile))
    if users:
        raise ProfileInUse(
            f"another Chromium (pid {min(users)}) is using the profile {profile}; "
            "stop it or set WA_PROFILE_DIR to another directory"
        )
    removed = False
    for name in LOCK_FILES:
        target = profile / name
        if target.is_symlink() or target.exists():
            try:
                target.unlink()
                removed = True
            except FileNotFoundError:
                pass
    if removed:
        logger.warning("removed a stale Chromium lock from %s (its browser had died)", profile)
    return removed


def delete(path: str | os.PathLike, attempts: int = 5, sleep: Callable[[float], None] = time.sleep) -> bool:
    """Delete the profile directory, retrying while a dying Chromium still writes into it."""
    gone = remove_tree(path, attempts, sleep)
    if not gone:
        logger.error("could not delete the profile directory %s", path)
    return gone


PID_FILE = "wa-gateway-pids.json"
TMP_PREFIX = "wa-gateway-browser-"


def record_pids(path: str | os.PathLike, pids: set[int], tmp_dir: str | None = None) -> None:
    """Write down the browser processes (and temp dir) this gateway started, for a later run to reap."""
    record = {"pids": {str(p): info.started for p in pids if (info := procs.info(p)) is not None},
              "tmp_dir": tmp_dir}
    target = Path(path) / PID_FILE
    try:
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        os.chmod(tmp, 0o600)
        tmp.replace(target)
    except OSError as exc:
        logger.warning("could not record the browser's pids: %s", exc)


def kill_recorded(path: str | os.PathLike, sleep: Callable[[float], None] = time.sleep) -> set[int]:
    """Kill what a previous gateway run recorded and left alive (same pid, same start time).

    Returns the recorded processes that would not die (the record is kept for them); empty when done.
    """
    target = Path(path) / PID_FILE
    try:
        record = json.loads(target.read_text())
        table, tmp_dir = dict(record["pids"]), record.get("tmp_dir")
    except (OSError, ValueError, KeyError, TypeError):
        return set()
    alive = {int(pid) for pid, started in table.items()
             if (info := procs.info(int(pid))) is not None and info.started == started and procs.alive(int(pid))}
    left: set[int] = set()
    if alive:
        logger.warning("a previous run left %d browser process(es) on the profile; stopping them", len(alive))
        left = procs.kill_tree(alive, grace=0, sleep=sleep)
    if left:
        logger.error("recorded browser processes would not die: %s", sorted(left))
        return left
    if isinstance(tmp_dir, str) and os.path.basename(tmp_dir).startswith(TMP_PREFIX):
        remove_tree(tmp_dir, sleep=sleep)
    target.unlink(missing_ok=True)
    return set()


def forget_pids(path: str | os.PathLike) -> None:
    """The recorded processes are gone: drop the record."""
    (Path(path) / PID_FILE).unlink(missing_ok=True)


def remove_tree(path: str | os.PathLike, attempts: int = 5, sleep: Callable[[float], None] = time.sleep) -> bool:
    """Delete a directory tree, retrying while a dying process still writes into it."""
    target = Path(path)
    for attempt in range(1, attempts + 1):
        if not target.exists() and not target.is_symlink():
            return True
        try:
            shutil.rmtree(target)
        except FileNotFoundError:
            return True
        except OSError as exc:
            logger.warning("delete of %s, attempt %d/%d, failed: %s", target, attempt, attempts, exc)
            sleep(0.2 * attempt)
    return not target.exists()
