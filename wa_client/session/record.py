"""The session's record: state, reason, QR, account, history and the events that tell about them.

Two locks: `_lock` guards the fields and is never held across a browser call, so status reads
never wait on Chromium; `_lifecycle` lets one launch or teardown run at a time. Every start and
reset bumps `_generation`; a worker whose generation is stale stops.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from wa_client import selectors
from wa_client.browser.driver import Browser, profile_path
from wa_client.browser.profile_lock import ProfileLock
from wa_client.clock import fingerprint, now_iso
from wa_client.config import Settings
from wa_client.page.qr import QrBoard
from wa_client.session import account as accounts
from wa_client.session.bus import EventBus, Listener
from wa_client.states import RUNNING, Reason, State, is_allowed

if TYPE_CHECKING:
    from wa_client.session.worker import SessionWorker

logger = logging.getLogger(__name__)

HISTORY_SIZE = 50
#: States in which /me and /status name the linked account.
ACCOUNT_STATES = frozenset({State.AUTHENTICATING, State.CONNECTED})


def spawn_thread(fn: Callable[..., Any], *args: Any) -> None:
    """Run `fn(*args)` in a daemon thread (the default when no Socket.IO server spawns tasks)."""
    threading.Thread(target=fn, args=args, daemon=True, name="wa-session").start()


class SessionRecord:
    """What the session is and was; changed only under `_lock`, told through the event bus after it."""

    def __init__(self, settings: Settings, spawn: Callable[..., Any] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.signs = selectors.load(settings.selectors_file)
        self.spawn = spawn or spawn_thread
        self.sleep = sleep
        self.profile_dir = profile_path(settings)
        self.profile_lock = ProfileLock(self.profile_dir)  # one gateway per profile (main() takes it)
        self._lock = threading.RLock()
        self._lifecycle = threading.Lock()
        self._bus = EventBus()
        self._generation = 0
        self._browser: Browser | None = None
        self._worker: SessionWorker | None = None
        self._state = State.IDLE
        self._reason: Reason | None = None
        self._error: str | None = None
        self._since = now_iso()
        self._qr = QrBoard()
        self._pairing_code: str | None = None
        self._account: accounts.Account | None = None
        self._seen_by: tuple[str, ...] = ()
        self._wa_version: str | None = None  # the WhatsApp Web build the page runs (WAWebUpdaterVersion), last seen
        self._announced: set[str] = set()
        self._screenshot: bytes | None = None
        self._started_at: float | None = None
        self._started_at_wall: float | None = None
        self._history: deque[dict] = deque(maxlen=HISTORY_SIZE)
        self._commands: deque[dict] = deque(maxlen=HISTORY_SIZE)  # who asked for what
        self.counters = {"starts": 0, "resets": 0, "crashes": 0, "qr_versions": 0, "transitions": 0,
                         "browser_starts": 0, "seen_dom": 0, "seen_modules": 0, "channel_disagreements": 0,
                         "illegal_transitions": 0}
        self._unattended = False  # started by autostart or recovery: a QR page ends it (not_linked)

    # -- what others read ---------------------------------------------------------------------
    @property
    def state(self) -> State:
        """The current session state."""
        return self._state

    def status(self) -> dict:
        """The /status picture: state, reason, error, qr_version, since, pairing_code, seen_by, qr_cycle, account,
        wa_version."""
        with self._lock:
            return self._status_locked()

    def _status_locked(self) -> dict:
        return {
            "state": self._state.value,
            "reason": self._reason.value if self._reason else None,
            "error": self._error,
            "qr_version": self._qr.version if self._qr.payload else None,
            "since": self._since,
            "pairing_code": self._pairing_code,
            "seen_by": list(self._seen_by),
            "qr_cycle": self._qr.cycle_facts((self._started_at_wall or time.time()) + self.settings.qr_timeout_s),
            "account": self._account_locked(),
            "wa_version": self._wa_version,
        }

    def account(self) -> dict | None:
        """The linked account (number, name, linked_since) while authenticating or connected, else None."""
        with self._lock:
            return self._account_locked()

    def _account_locked(self) -> dict | None:
        return self._account.as_dict() if self._account and self._state in ACCOUNT_STATES else None

    def qr(self) -> tuple[str, int] | None:
        """The QR payload on screen now and its version, or None when there is no valid QR."""
        with self._lock:
            if self._state is State.QR and self._qr.payload:
                return self._qr.payload, self._qr.version
            return None

    def qr_png(self) -> tuple[int, bytes] | None:
        """The PNG of the current QR (rendered once per version) and its version, or None."""
        with self._lock:
            if self._state is State.QR and self._qr.png:
                return self._qr.version, self._qr.png
            return None

    def history(self) -> list[dict]:
        """The last transitions, oldest first, with times and reasons."""
        with self._lock:
            return list(self._history)

    def commands(self) -> list[dict]:
        """The last commands, oldest first: what, when, in which state, and who asked."""
        with self._lock:
            return list(self._commands)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(event, payload)` on every event; returns a function that unsubscribes."""
        return self._bus.subscribe(listener)

    @property
    def unattended(self) -> bool:
        """True while the session was started by nobody at the page (autostart, recovery)."""
        return self._unattended

    def browser_pids(self) -> set[int]:
        """The live processes of the gateway's Chromium tree (empty without a browser)."""
        browser = self._browser
        return browser.owned_pids() if browser is not None else set()

    def started_at(self) -> float:
        """When the current session was started (time.monotonic)."""
        return self._started_at or time.monotonic()

    # -- internals (callers hold _lock) -------------------------------------------------------
    def _set_qr(self, payload: str | None, png: bytes | None) -> None:
        if payload is None:
            if self._qr.withdraw():
                self._queue_status()
            return
        if not self._qr.show(payload, png):
            return
        self.counters["qr_versions"] += 1
        logger.info("new QR version %d (fingerprint %s)", self._qr.version, fingerprint(payload))
        self._bus.queue("qr", {"version": self._qr.version, "qr": payload})
        self._queue_status()

    def _transition(self, state: State, reason: Reason | None, error: str | None) -> None:
        if not is_allowed(self._state, state):
            self.counters["illegal_transitions"] += 1
            logger.error("bug: illegal transition %s -> %s", self._state, state)
        old = self._state
        self._state, self._reason, self._error = state, reason, error
        self._since = now_iso()
        self.counters["transitions"] += 1
        if state is not State.QR:
            self._qr.withdraw()
        if state not in RUNNING:
            self._pairing_code = None
            self._seen_by = ()
        self._history.append({"from": old.value, "state": state.value, "at": self._since,
                              "reason": reason.value if reason else None, "error": error})
        log = logger.warning if state in (State.FAILED, State.DISCONNECTED) else logger.info
        log("session %s -> %s%s%s", old, state, f" ({reason})" if reason else "", f": {error}" if error else "")
        self._queue_status()
        self._announce(state, reason)

    def _annotate(self, reason: Reason | None, error: str | None) -> None:
        """The same state, with a new reason (e.g. offline, and back)."""
        self._reason, self._error = reason, error
        self._history.append({"from": self._state.value, "state": self._state.value, "at": now_iso(),
                              "reason": reason.value if reason else None, "error": error})
        logger.info("session %s: %s", self._state, reason or "back to normal")
        self._queue_status()

    def _announce(self, state: State, reason: Reason | None) -> None:
        """The session's milestones, once per session: authenticated, ready; and every disconnect."""
        if state in (State.AUTHENTICATING, State.CONNECTED) and "authenticated" not in self._announced:
            self._announced.add("authenticated")
            self._bus.queue("authenticated", {})
        if state is State.CONNECTED and "ready" not in self._announced:
            self._announced.add("ready")
            self._bus.queue("ready", {"account": self._account_locked()})
        if state is State.DISCONNECTED:
            self._bus.queue("disconnected", {"reason": reason.value if reason else None})

    def _queue_status(self) -> None:
        self._bus.queue("status", self._status_locked())

    def _flush(self) -> None:
        self._bus.flush()
