"""The session's record: state, reason, QR, account, history, counters and the events that tell about them.

One writer: only the SessionRunner (runner.py) calls the methods under "the writer's side", and it
does so from the worker's apply/end path and the lifecycle commands it owns. Everyone else reads
views (status(), qr(), qr_png(), account(), history()...) or subscribes to the bus. `_lock` guards
every field here and is never held across a browser call, so status reads never wait on Chromium.
Illegal transitions (wa_client.states.TRANSITIONS) are refused here, the one place that moves state.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from wa_client.clock import fingerprint, now_iso
from wa_client.names import Event
from wa_client.page import account as accounts
from wa_client.page.qr import QrBoard
from wa_client.page.recognise import Sight
from wa_client.session.bus import EventBus, Listener
from wa_client.session.decide import Decision
from wa_client.states import RUNNING, Reason, State, is_allowed

logger = logging.getLogger(__name__)

HISTORY_SIZE = 50
#: States in which /me and /status name the linked account.
ACCOUNT_STATES = frozenset({State.AUTHENTICATING, State.CONNECTED})
#: Reasons that say who started the session: they stay until the state moves.
STARTERS = (Reason.AUTOSTART, Reason.RESTART_AFTER_CRASH)


class SessionRecord:
    """What the session is and was; changed only by its one writer, told through the event bus after it."""

    def __init__(self, qr_timeout_s: float) -> None:
        self.qr_timeout_s = qr_timeout_s
        self._lock = threading.RLock()
        self._bus = EventBus()
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

    # -- views (anyone) -------------------------------------------------------------------------
    @property
    def state(self) -> State:
        """The current session state (a field read: no lock)."""
        return self._state

    @property
    def since(self) -> str:
        """When the state last changed (ISO time)."""
        return self._since

    @property
    def unattended(self) -> bool:
        """True while the session was started by nobody at the page (autostart, recovery)."""
        return self._unattended

    def status(self) -> dict:
        """The /status picture: state, reason, error, qr_version, since, pairing_code, seen_by, qr_cycle, account,
        wa_version."""
        with self._lock:
            return {
                "state": self._state.value,
                "reason": self._reason.value if self._reason else None,
                "error": self._error,
                "qr_version": self._qr.version if self._qr.payload else None,
                "since": self._since,
                "pairing_code": self._pairing_code,
                "seen_by": list(self._seen_by),
                "qr_cycle": self._qr.cycle_facts((self._started_at_wall or time.time()) + self.qr_timeout_s),
                "account": self.account(),
                "wa_version": self._wa_version,
            }

    def account(self) -> dict | None:
        """The linked account (number, name, linked_since) while authenticating or connected, else None."""
        with self._lock:
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

    def needs_png(self, payload: str | None) -> bool:
        """True when `payload` is a code not rendered yet (the writer renders it outside the lock)."""
        return bool(payload) and payload != self._qr.payload

    def history(self) -> list[dict]:
        """The last transitions, oldest first, with times and reasons."""
        with self._lock:
            return list(self._history)

    def commands(self) -> list[dict]:
        """The last commands, oldest first: what, when, in which state, and who asked."""
        with self._lock:
            return list(self._commands)

    def kept_screenshot(self) -> bytes | None:
        """The picture kept of an unrecognised page (or None)."""
        with self._lock:
            return self._screenshot

    def started_at(self) -> float:
        """When the current session was started (time.monotonic)."""
        return self._started_at or time.monotonic()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(event, payload)` on every event; returns a function that unsubscribes."""
        return self._bus.subscribe(listener)

    def emit(self, event: str, payload: dict | None = None) -> None:
        """Publish an event to every listener, in order (never while the writer holds a lock)."""
        self._bus.queue(event, payload or {})
        self._bus.flush()

    def flush(self) -> None:
        """Deliver the events the last changes queued (never while holding a lock)."""
        self._bus.flush()

    # -- the writer's side (SessionRunner only) -------------------------------------------------
    def note_command(self, command: str, by: dict | None) -> None:
        """Who asked for what, in /history and the log (`by` holds no secret: a token's fingerprint at most)."""
        by = dict(by or {"via": "internal"})
        with self._lock:
            self._commands.append({"command": command, "at": now_iso(), "state": self._state.value, "by": by})
        logger.info("command %s by %s", command, " ".join(f"{k}={v}" for k, v in by.items() if v is not None))

    def begin(self, unattended: bool, account: accounts.Account | None, reason: Reason | None,
              expect_since: str | None) -> bool:
        """A new session starts (`starting`), unless one runs or the state changed since `expect_since`."""
        with self._lock:
            if not unattended:
                self._unattended = False  # a person asked: a QR is welcome now
            if self._state in RUNNING or (expect_since is not None and expect_since != self._since):
                return False
            self._unattended = unattended
            self._started_at, self._started_at_wall = time.monotonic(), time.time()
            self._qr.new_cycle()
            self._announced.clear()
            self._seen_by = ()
            self._account = account
            self.counters["starts"] += 1
            return self.transition(State.STARTING, reason, None)

    def transition(self, state: State, reason: Reason | None, error: str | None) -> bool:
        """Move to `state`; False (and a counted bug) when the transition table forbids it."""
        with self._lock:
            if not is_allowed(self._state, state):
                self.counters["illegal_transitions"] += 1
                logger.error("bug: illegal transition %s -> %s (%s); refused", self._state, state, reason)
                return False
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
            return True

    def apply(self, decision: Decision, sight: Sight, png: bytes | None) -> tuple[bool, accounts.Account | None]:
        """Record a decision that keeps the session going: (the account changed, the account)."""
        with self._lock:
            for channel in sight.seen_by:
                self.counters["seen_" + channel] += 1
            account_changed = self._note_account(sight, decision.state)
            if decision.state is not self._state:
                if not self.transition(decision.state, decision.reason, decision.error):
                    return False, None  # (decide asked for what the table forbids: nothing else applied)
            elif (decision.reason, decision.error) != (self._reason, self._error) and not (
                    decision.reason is None and self._reason in STARTERS):
                self._annotate(decision.reason, decision.error)  # (who started it stays until the state moves)
            if sight.seen_by:  # diagnostic: read by /status, carried by the next status event, never one of its own
                self._seen_by = sight.seen_by
            if sight.obs.modules and sight.obs.modules.version:  # the same: the build, for support
                self._wa_version = sight.obs.modules.version
            if decision.pairing_code != self._pairing_code:
                self._pairing_code = decision.pairing_code
                self._queue_status()
            payload = decision.qr_payload
            if self._state is not State.QR or not payload:
                self._set_qr(None, None)
            elif png is not None:
                self._set_qr(payload, png)
            return account_changed, self._account

    def forget_account(self) -> None:
        """The login is gone (a reset, a logout): no account any more."""
        with self._lock:
            self._account = None

    def explain(self, error: str, since: str) -> None:
        """New words for the current ending (e.g. a restart planned), unless the state changed since `since`."""
        with self._lock:
            if self._since == since and self._state not in RUNNING:
                self._annotate(self._reason, error)

    def new_qr_cycle(self) -> None:
        """WhatsApp starts a new rotation (after a reload): the next code is the cycle's first."""
        with self._lock:
            self._qr.new_cycle()

    def keep_screenshot(self, png: bytes) -> None:
        """Keep a picture of an unrecognised page, for /screenshot.png after the browser is gone."""
        with self._lock:
            self._screenshot = png

    def count(self, name: str) -> None:
        """Add one to a counter of /metrics."""
        with self._lock:
            self.counters[name] = self.counters.get(name, 0) + 1

    # -- internals (callers hold _lock) -------------------------------------------------------
    def _note_account(self, sight: Sight, state: State) -> bool:
        """Follow the linked account (a QR means none); True when it changed."""
        account = None if state is State.QR else accounts.update(self._account, sight.obs)
        if account == self._account:
            return False
        self._account = account
        if state is self._state and state in ACCOUNT_STATES:
            self._queue_status()
        return True

    def _set_qr(self, payload: str | None, png: bytes | None) -> None:
        if payload is None or png is None:
            if self._qr.withdraw():
                self._queue_status()
            return
        if not self._qr.show(payload, png):
            return
        self.counters["qr_versions"] += 1
        logger.info("new QR version %d (fingerprint %s)", self._qr.version, fingerprint(payload))
        self._bus.queue(Event.QR, {"version": self._qr.version, "qr": payload})
        self._queue_status()

    def _annotate(self, reason: Reason | None, error: str | None) -> None:
        """The same state, with a new reason (e.g. offline, and back)."""
        self._reason, self._error = reason, error
        self._history.append({"from": self._state.value, "state": self._state.value, "at": now_iso(),
                              "reason": reason.value if reason else None, "error": error})
        logger.info("session %s: %s", self._state, reason or "back to normal")
        self._queue_status()

    def _announce(self, state: State, reason: Reason | None) -> None:
        """The session's milestones, once per session: authenticated, ready; and every disconnect."""
        if state in (State.AUTHENTICATING, State.CONNECTED) and Event.AUTHENTICATED not in self._announced:
            self._announced.add(Event.AUTHENTICATED)
            self._bus.queue(Event.AUTHENTICATED, {})
        if state is State.CONNECTED and Event.READY not in self._announced:
            self._announced.add(Event.READY)
            self._bus.queue(Event.READY, {"account": self.account()})
        if state is State.DISCONNECTED:
            self._bus.queue(Event.DISCONNECTED, {"reason": reason.value if reason else None})

    def _queue_status(self) -> None:
        self._bus.queue(Event.STATUS, self.status())
