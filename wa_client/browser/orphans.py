"""A Chromium left by a dead gateway on this gateway's own profile: ended gently before the next start.

Only processes whose command line names `--user-data-dir=<our profile>` are touched, and only by the holder
of the profile's lock (so no live gateway owns them). SIGTERM first: Chromium then writes what it holds of
the login (its IndexedDB, its cookies) to the disk; SIGKILL only for what ignores it.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable

from wa_client.browser import procs

logger = logging.getLogger(__name__)

#: How long an orphaned Chromium gets after SIGTERM to write its profile and exit.
GRACE_S = 8.0


def end_orphans(profile_dir: str | os.PathLike, grace: float = GRACE_S,
                sleep: Callable[[float], None] = time.sleep) -> set[int]:
    """End every Chromium started on `profile_dir` (and its children); the pids that would not die (empty: done)."""
    mains = procs.browsers_using(str(profile_dir))
    if not mains:
        return set()
    family = set(mains)
    for pid in mains:
        family |= procs.descendants(pid)
    logger.warning("a Chromium left by an earlier gateway run uses the profile (pid %s); stopping it gently so that "
                   "the saved login reaches the disk", ", ".join(map(str, sorted(mains))))
    procs.signal_pids(mains, signal.SIGTERM)
    left = procs.wait_gone(mains, grace, sleep)
    if left:
        logger.warning("the old Chromium did not stop within %.0f s; killing it", grace)
    return procs.kill_tree({p for p in family if procs.alive(p)}, grace=0, sleep=sleep)
