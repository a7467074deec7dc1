"""The one session client: a thread-guarded Chromium that goes from Generate QR to connected."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from . import profile
from .actions import IntegratorActions
from .browser import Browser, BrowserCancelled, BrowserError, profile_path
from .config import Settings
from .events import EventBus, Listener
from .profile_lock import ProfileLock  # issue 11
from .qr import QrBoard, fingerprint, iso, render_png
from .states import RUNNING, Reason, State, StateError, is_allowed
from .watcher import Watcher
from .webhooks import WebhookSender

logger = logging.getLogger(__name__)

HISTORY_SIZE = 50


class ResetError(RuntimeError):
    """force_reset could not leave a clean slate (the message says what is left)."""


def _now_iso() -> str:
    return iso(time.time())


def _silence_wire_logs() -> None:
    """Selenium's and urllib3's DEBUG logs carry whole responses, QR payload included: never let them."""
    for name in ("selenium", "urllib3"):
        wire = logging.getLogger(name)
        if wire.getEffectiveLevel() < logging.INFO:
            wire.setLevel(logging.INFO)
    # "Connection pool is full" when a reset's quit overlaps a poll: harmless, and only noise
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)


def _spawn_thread(fn: Callable[..., Any], *args: Any) -> None:
    threading.Thread(target=fn, args=args, daemon=True, name="wa-session").start()


class WhatsAppClient(IntegratorActions):
    """ONE WhatsApp Web session in ONE Chromium; safe to call from many threads or greenlets.

    Two locks: `_lock` guards the fields below and is never held across a browser call, so
    status reads never wait on Chromium; `_lifecycle` lets one launch or teardown run at a time.
    Every start and reset bumps `_generation`; a worker whose generation is stale stops.
    """

    def __init__(self, settings: Settings, spawn: Callable[..., Any] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        _silence_wire_logs()
        self.settings = settings
        self.spawn = spawn or _spawn_thread
        self.sleep = sleep
        self.profile_dir = profile_path(settings)
        self.profile_lock = ProfileLock(self.profile_dir)  # issue 11: one gateway per profile (main() takes it)
        self._lock = threading.RLock()
        self._lifecycle = threading.Lock()
        self._bus = EventBus()
        self._generation = 0
        self._browser: Browser | None = None
        self._watcher: Watcher | None = None
        self._logout_requested: int | None = None
        self._state = State.IDLE
        self._reason: Reason | None = None
        self._error: str | None = None
        self._since = _now_iso()
        self._qr = QrBoard()
        self._pairing_code: str | None = None
        self._started_at: float | None = None
        self._started_at_wall: float | None = None
        self._history: deque[dict] = deque(maxlen=HISTORY_SIZE)
        self.counters = {"starts": 0, "resets": 0, "crashes": 0, "qr_versions": 0, "transitions": 0,
                         "browser_starts": 0}
        self.webhooks: WebhookSender | None = None
        if settings.webhook_url:
            self.webhooks = WebhookSender(settings.webhook_url, settings.webhook_secret, self.spawn, self.sleep)
            self.subscribe(self.webhooks)

    # -- what others read ---------------------------------------------------------------------
    @property
    def state(self) -> State:
        """The current session state."""
        return self._state

    def status(self) -> dict:
        """The /status picture: state, reason, error, qr_version, since, pairing_code."""
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
            "qr_cycle": self._qr.cycle_facts((self._started_at_wall or time.time()) + self.settings.qr_timeout_s),
        }

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

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(event, payload)` on every event; returns a function that unsubscribes."""
        return self._bus.subscribe(listener)

    # -- commands -----------------------------------------------------------------------------
    def start_session(self) -> tuple[dict, bool]:
        """Start a browser unless one runs already; returns (status, started)."""
        with self._lock:
            if self._state in RUNNING:
                return self._status_locked(), False
            self._generation += 1
            generation = self._generation
            self._started_at = time.monotonic()
            self._started_at_wall = time.time()
            self._qr.new_cycle()
            self.counters["starts"] += 1
            self._transition(State.STARTING, None, None)
            status = self._status_locked()
        self._flush()
        self.spawn(self._run_session, generation)
        return status, True

    def force_reset(self) -> dict:
        """Quit the browser, kill what it left, delete the profile and end in idle; from any state."""
        with self._lock:
            self._generation += 1
            generation = self._generation
            browser, self._browser, self._watcher = self._browser, None, None
            self.counters["resets"] += 1
        if browser is not None:
            browser.quit(graceful=False)  # also cancels a launch under way
        with self._lifecycle:  # wait until no launch or teardown is running
            deleted = profile.delete(self.profile_dir, sleep=self.sleep)
            with self._lock:
                if generation == self._generation:
                    self._transition(State.IDLE, Reason.FORCE_RESET, None)
                status = self._status_locked()
        self._flush()
        if not deleted:
            raise ResetError(f"the profile directory {self.profile_dir} could not be deleted")
        logger.info("force reset done")
        return status

    def shutdown(self) -> None:
        """Quit the browser gracefully and keep the profile (the saved login survives)."""
        with self._lock:
            self._generation += 1
            generation = self._generation
            browser, self._browser, self._watcher = self._browser, None, None
        if browser is not None:
            browser.quit(graceful=True)
        with self._lifecycle, self._lock:  # a launch under way has cleaned up after itself
            if generation == self._generation and self._state is not State.IDLE:
                self._transition(State.IDLE, Reason.SHUTDOWN, None)
        self._flush()

    # -- the session worker -------------------------------------------------------------------
    def _run_session(self, generation: int) -> None:
        """Launch the browser (one at a time), then watch it until the session ends."""
        with self._lifecycle:
            with self._lock:
                if generation != self._generation:
                    return
                browser = Browser(self.settings, self.profile_dir, self.sleep)
                self._browser = browser
            try:
                self.profile_lock.acquire()  # issue 11: ProfileBusy (a ProfileInUse) -> failed, in words
                profile.ensure(self.profile_dir)
                profile.kill_recorded(self.profile_dir, self.sleep)  # left by a gateway killed hard
                profile.clear_stale_locks(self.profile_dir)
                launched = time.monotonic()
                browser.launch(self.settings.wa_url)
                self._record_launch(time.monotonic() - launched)
            except BrowserCancelled:
                return
            except (BrowserError, profile.ProfileInUse, OSError) as exc:
                browser.quit(graceful=False)
                self._end(generation, State.FAILED, Reason.START_ERROR, str(exc), teardown=False)
                return
        watcher = Watcher(self, browser, generation)
        with self._lock:
            stale = generation != self._generation
            if not stale:
                self._watcher = watcher
        if stale:  # a reset took the session while the browser came up: it has quit it
            browser.quit(graceful=False)
            return
        watcher.run()

    def _record_launch(self, seconds: float) -> None:
        with self._lock:
            self.counters["browser_starts"] += 1
        self.emit("browser_started", {"seconds": round(seconds, 3)})

    def _end(self, generation: int, state: State, reason: Reason, error: str | None,
             delete_profile: bool = False, teardown: bool = True) -> bool:
        """End the session of `generation`: set the state, quit the browser, maybe delete the profile."""
        with self._lifecycle if teardown else contextlib.nullcontext():
            with self._lock:
                if generation != self._generation:
                    return False  # a reset or a new start owns the session now
                browser, self._browser, self._watcher = self._browser, None, None
                self._transition(state, reason, error)
            self._flush()
            if browser is not None:
                browser.quit(graceful=False)
            if delete_profile:
                profile.delete(self.profile_dir, sleep=self.sleep)
            else:
                try:
                    profile.clear_stale_locks(self.profile_dir)
                except profile.ProfileInUse as exc:
                    logger.error("after the session ended: %s", exc)
            return True

    # -- called by the watcher ----------------------------------------------------------------
    def is_current(self, generation: int) -> bool:
        """True while `generation` still owns the session."""
        return generation == self._generation

    def new_qr_cycle(self, generation: int) -> None:
        """WhatsApp starts a new rotation (after a reload click): the next code is the cycle's first."""
        with self._lock:
            if generation == self._generation:
                self._qr.new_cycle()

    def logout_reason(self, generation: int) -> Reason:
        """LOGOUT_REQUESTED when the CRM asked for this session's logout, else LOGOUT (the phone)."""
        return Reason.LOGOUT_REQUESTED if self._logout_requested == generation else Reason.LOGOUT

    def _mark_logout_requested(self, generation: int) -> None:
        with self._lock:
            self._logout_requested = generation

    def _watcher_in(self, states: set[State], refusal: str) -> Watcher:
        with self._lock:
            if self._state not in states or self._watcher is None:
                raise StateError(f"{refusal} (the session is {self._state})")
            return self._watcher

    def started_at(self) -> float:
        """When the current session was started (time.monotonic)."""
        return self._started_at or time.monotonic()

    def update(self, generation: int, state: State, qr_payload: str | None = None,
               clear_qr: bool = False, pairing_code: str | None = None) -> bool:
        """Record what the page shows: a new state and/or a new QR; False when `generation` is stale."""
        png = render_png(qr_payload) if qr_payload and qr_payload != self._qr.payload else None
        with self._lock:
            if generation != self._generation:
                return False
            if state is not self._state:
                if not is_allowed(self._state, state):
                    logger.error("bug: illegal transition %s -> %s ignored", self._state, state)
                    return True
                self._transition(state, None, None)
            if pairing_code != self._pairing_code:
                self._pairing_code = pairing_code
                self._queue_status()
            if clear_qr or state is not State.QR:
                self._set_qr(None, None)
            elif png is not None:
                self._set_qr(qr_payload, png)
        self._flush()
        return True

    def end(self, generation: int, state: State, reason: Reason, error: str | None = None,
            delete_profile: bool = False) -> bool:
        """End the session from the watcher (logout, failure, timeout)."""
        if reason is Reason.BROWSER_CRASHED:
            with self._lock:
                self.counters["crashes"] += 1
        return self._end(generation, state, reason, error, delete_profile=delete_profile)

    def emit(self, event: str, payload: dict | None = None) -> None:
        """Publish an event (authenticated, ready, ...) to every listener, in order."""
        self._bus.queue(event, payload or {})
        self._flush()

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
            logger.error("bug: illegal transition %s -> %s", self._state, state)
        old = self._state
        self._state, self._reason, self._error = state, reason, error
        self._since = _now_iso()
        self.counters["transitions"] += 1
        if state is not State.QR:
            self._qr.withdraw()
        if state not in RUNNING:
            self._pairing_code = None
        self._history.append({"from": old.value, "state": state.value, "at": self._since,
                              "reason": reason.value if reason else None, "error": error})
        log = logger.warning if state in (State.FAILED, State.DISCONNECTED) else logger.info
        log("session %s -> %s%s%s", old, state, f" ({reason})" if reason else "", f": {error}" if error else "")
        self._queue_status()
        if state is State.DISCONNECTED:
            self._bus.queue("disconnected", {"reason": reason.value if reason else None})

    def _queue_status(self) -> None:
        self._bus.queue("status", self._status_locked())

    def _flush(self) -> None:
        self._bus.flush()
