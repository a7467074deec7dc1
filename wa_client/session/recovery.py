"""Unattended operation: reconnect a saved login on boot, and start again after a browser crash.

Whether the profile holds a saved login is told by a marker file the gateway writes into the
profile when a session reaches `connected`; it goes with the profile (logout, Force Reset) and is
removed when an unattended start finds WhatsApp asking for a QR. Unattended starts never show a
QR: only Generate QR (`start-session`) does.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from wa_client.clock import iso
from wa_client.config import Settings
from wa_client.names import Event
from wa_client.session.ports import RecoveryPort
from wa_client.states import Reason, State

logger = logging.getLogger(__name__)

LINKED_MARKER = "wa-gateway-linked"
MAX_BACKOFF_S = 300.0
MAX_TRIES = 5
TRIES_WINDOW_S = 3600.0

RESTARTING_WORDS = ("The browser stopped unexpectedly; the gateway starts it again in {delay:g} s "
                    "(try {attempt} of {tries} this hour).")
GAVE_UP_WORDS = ("The browser crashed again after {tries} restarts within an hour, so the gateway stopped trying. "
                 "Look at the service log, then click Generate QR.")



def is_linked(profile_dir: str | os.PathLike) -> bool:
    """True when the profile holds a login that reached `connected` and was not deleted since."""
    return (Path(profile_dir) / LINKED_MARKER).is_file()


def mark_linked(profile_dir: str | os.PathLike) -> None:
    """Note in the profile that it holds a working login (0600; the time only, no secret)."""
    marker = Path(profile_dir) / LINKED_MARKER
    try:
        marker.write_text(iso(time.time()) + "\n")
        os.chmod(marker, 0o600)
    except OSError as exc:  # the profile may be gone already (a reset raced the ready event)
        logger.debug("could not write the linked marker: %s", exc)


def forget_linked(profile_dir: str | os.PathLike) -> None:
    """The profile's login is not valid any more."""
    (Path(profile_dir) / LINKED_MARKER).unlink(missing_ok=True)


class RestartPolicy:
    """Capped exponential backoff (base, doubling, at most 5 min) and at most 5 tries an hour."""

    def __init__(self, base_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.base_s = base_s
        self.clock = clock
        self.tries: deque[float] = deque()

    def next_delay(self) -> float | None:
        """The wait before the next try, or None when the tries of the last hour are used up."""
        now = self.clock()
        while self.tries and now - self.tries[0] >= TRIES_WINDOW_S:
            self.tries.popleft()
        if len(self.tries) >= MAX_TRIES:
            return None
        return min(self.base_s * 2 ** len(self.tries), MAX_BACKOFF_S)

    def record_try(self) -> int:
        """Count a try now; its number within the hour."""
        self.tries.append(self.clock())
        return len(self.tries)


class Recovery:
    """A session listener: keeps the linked marker, restarts after crashes, and starts on boot."""

    def __init__(self, session: RecoveryPort, settings: Settings, profile_dir: str | os.PathLike) -> None:
        self.session = session
        self.settings = settings
        self.profile_dir = profile_dir
        self.policy = RestartPolicy(settings.restart_backoff_s)
        self._lock = threading.Lock()
        self._handled: tuple | None = None  # the last ending looked at (since, state, reason)

    def __call__(self, event: str, payload: dict) -> None:
        """React to the session's events (outside the session's locks)."""
        if event == Event.READY:
            mark_linked(self.profile_dir)
        if event != Event.STATUS:
            return
        with self._lock:
            ending = (payload["since"], payload["state"], payload["reason"])
            if ending == self._handled:
                return  # the same ending again (new words for it): already handled
            self._handled = ending
        if payload["state"] == State.IDLE and payload["reason"] == Reason.NOT_LINKED:
            forget_linked(self.profile_dir)
            logger.warning("unattended start: WhatsApp asks for a QR, so the saved login is gone; waiting for "
                           "Generate QR")
        elif (payload["state"] == State.FAILED and payload["reason"] == Reason.BROWSER_CRASHED
              and self.settings.restart_on_crash):
            self.session.spawn(self._schedule, payload["since"])  # listeners must not publish events themselves

    def autostart(self) -> bool:
        """WA_AUTOSTART: start the saved login now; never when the profile holds none."""
        if not self.settings.autostart:
            return False
        if not is_linked(self.profile_dir):
            logger.info("WA_AUTOSTART: the profile holds no saved login; waiting for Generate QR")
            return False
        logger.info("WA_AUTOSTART: reconnecting the saved login")
        _, started = self.session.start_session(by={"via": "autostart"}, unattended=True, reason=Reason.AUTOSTART)
        if started:
            self.session.count("autostarts")
        return started

    def _schedule(self, since: str) -> None:
        with self._lock:
            delay = self.policy.next_delay()
            attempt = len(self.policy.tries) + 1
        if delay is None:
            self.session.count("restart_give_ups")
            self.session.explain(GAVE_UP_WORDS.format(tries=MAX_TRIES), since)
            logger.error("gave up restarting the browser: %d restarts within an hour", MAX_TRIES)
            self.session.emit(Event.RECOVERY_GAVE_UP, {"tries": MAX_TRIES})
            return
        self.session.explain(RESTARTING_WORDS.format(delay=delay, attempt=attempt, tries=MAX_TRIES), since)
        logger.warning("the browser crashed; restarting it in %g s (try %d of %d this hour)", delay, attempt,
                       MAX_TRIES)
        self.session.spawn(self._restart_later, since, delay)

    def _restart_later(self, since: str, delay: float) -> None:
        self.session.sleep(delay)
        with self._lock:
            attempt = self.policy.record_try()
        _, started = self.session.start_session(by={"via": "recovery", "attempt": attempt}, unattended=True,
                                               reason=Reason.RESTART_AFTER_CRASH, expect_since=since)
        if started:
            self.session.count("crash_restarts")
        else:
            with self._lock:
                self.policy.tries.pop()  # someone else acted meanwhile (Generate QR, Force Reset, shutdown)
            logger.info("restart after the crash not needed: the session changed meanwhile")
