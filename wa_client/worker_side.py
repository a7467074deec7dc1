"""The session worker's side of the client: the launch, and the decisions the SessionWorker hands back."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

from . import account as accounts
from . import profile, remote
from .browser import Browser, BrowserCancelled, BrowserError
from .decide import Decision
from .page import Sight
from .qr import render_png
from .record import ACCOUNT_STATES, SessionRecord
from .session import SessionWorker
from .states import RUNNING, Reason, State, is_allowed

logger = logging.getLogger(__name__)

UNEXPECTED_START = ("the browser could not be started (an unexpected error; the gateway log has the details); "
                    "click Generate QR to try again")


class WorkerSide(SessionRecord):
    """Launches the browser for a generation and records what its SessionWorker decides."""

    def _run_session(self, generation: int) -> None:
        """Launch the browser (one at a time), then let the worker run it until the session ends."""
        with self._lifecycle:
            with self._lock:
                if generation != self._generation:
                    return
                browser = Browser(self.settings, self.profile_dir, self.sleep)
                self._browser = browser
            try:
                self.profile_lock.acquire()  # one gateway per profile: ProfileBusy (a ProfileInUse) -> failed, in words
                profile.ensure(self.profile_dir)  # before anything is written into it (its marker first)
                node_dir = remote.node_profile(self.profile_dir) if browser.remote else self.profile_dir
                browser.profile_dir = str(node_dir)
                profile.kill_recorded(self.profile_dir, self.sleep)  # left by a gateway killed hard
                profile.clear_stale_locks(self.profile_dir)
                launched = time.monotonic()
                browser.launch(self.settings.wa_url)
                if browser.remote:
                    remote.mark_used(self.profile_dir, node_dir)
                self._record_launch(time.monotonic() - launched)
            except BrowserCancelled:
                return
            except (BrowserError, profile.ProfileInUse, OSError) as exc:
                browser.quit(graceful=False)
                words = str(exc) if not isinstance(exc, OSError) else (
                    f"the profile directory {self.profile_dir} cannot be used ({(exc.strerror or 'error').lower()}); "
                    "check WA_PROFILE_DIR, then click Generate QR")
                self._finish(generation, Decision(State.FAILED, Reason.START_ERROR, words), teardown=False)
                return
            except Exception:  # noqa: BLE001 - never stuck in `starting` with no worker to time it out
                logger.exception("bug: the browser start failed unexpectedly")
                browser.quit(graceful=False)
                self._finish(generation, Decision(State.FAILED, Reason.START_ERROR, UNEXPECTED_START), teardown=False)
                return
        worker = SessionWorker(self, browser, generation)
        with self._lock:
            stale = generation != self._generation
            if not stale:
                self._worker = worker
        if stale:  # a reset took the session while the browser came up: it has quit it
            browser.quit(graceful=False)
            return
        worker.run()

    def _record_launch(self, seconds: float) -> None:
        self.count("browser_starts")
        self.emit("browser_started", {"seconds": round(seconds, 3)})

    def is_current(self, generation: int) -> bool:
        """True while `generation` still owns the session."""
        return generation == self._generation

    def apply(self, generation: int, decision: Decision, sight: Sight) -> bool:
        """Record a decision that keeps the session going; False when `generation` is stale."""
        payload = decision.qr_payload
        png = render_png(payload) if payload and payload != self._qr.payload else None
        with self._lock:
            if generation != self._generation:
                return False
            for channel in sight.seen_by:
                self.counters["seen_" + channel] += 1
            account_changed = self._note_account(sight, decision.state)
            if decision.state is not self._state:
                if not is_allowed(self._state, decision.state):
                    self.counters["illegal_transitions"] += 1
                    logger.error("bug: decide asked for %s -> %s on %s; not applied", self._state, decision.state,
                                 sight.page)
                    return True
                self._transition(decision.state, decision.reason, decision.error)
            elif (decision.reason, decision.error) != (self._reason, self._error) and not (
                    decision.reason is None and self._reason in (Reason.AUTOSTART, Reason.RESTART_AFTER_CRASH)):
                self._annotate(decision.reason, decision.error)  # (who started it stays until the state moves)
            if sight.seen_by:  # diagnostic: read by /status, carried by the next status event, never one of its own
                self._seen_by = sight.seen_by
            if sight.obs.modules and sight.obs.modules.version:  # the same: the build, for support
                self._wa_version = sight.obs.modules.version
            if decision.pairing_code != self._pairing_code:
                self._pairing_code = decision.pairing_code
                self._queue_status()
            if self._state is not State.QR or not payload:
                self._set_qr(None, None)
            elif png is not None:
                self._set_qr(payload, png)
            account = self._account
        self._flush()
        if account_changed and account is not None:
            accounts.save(self.profile_dir, account)
        elif account_changed:
            accounts.forget(self.profile_dir)
        return True

    def _note_account(self, sight: Sight, state: State) -> bool:
        """Follow the linked account (a QR means none); True when it changed. Callers hold _lock."""
        account = None if state is State.QR else accounts.update(self._account, sight.obs)
        if account == self._account:
            return False
        self._account = account
        if state is self._state and state in ACCOUNT_STATES:
            self._queue_status()
        return True

    def end(self, generation: int, decision: Decision, then: Callable[[], None] | None = None) -> bool:
        """End the session of `generation` as `decision` says (logout, failure, timeout).

        `then` runs once the new state is published, before the browser is torn down.
        """
        return self._finish(generation, decision, then=then)

    def new_qr_cycle(self, generation: int) -> None:
        """WhatsApp starts a new rotation (after a reload): the next code is the cycle's first."""
        with self._lock:
            if generation == self._generation:
                self._qr.new_cycle()

    def explain(self, error: str, since: str) -> None:
        """New words for the current ending (e.g. a restart planned), unless the state changed since `since`."""
        with self._lock:
            if self._since == since and self._state not in RUNNING:
                self._annotate(self._reason, error)
        self._flush()

    def keep_screenshot(self, png: bytes) -> None:
        """Keep a picture of an unrecognised page, for /screenshot.png after the browser is gone."""
        with self._lock:
            self._screenshot = png

    def count(self, name: str) -> None:
        """Add one to a counter of /metrics."""
        with self._lock:
            self.counters[name] = self.counters.get(name, 0) + 1

    def emit(self, event: str, payload: dict | None = None) -> None:
        """Publish an event to every listener, in order."""
        self._bus.queue(event, payload or {})
        self._flush()

    def _finish(self, generation: int, decision: Decision, teardown: bool = True,
                then: Callable[[], None] | None = None) -> bool:
        """Set the ending state, quit the browser, and delete the profile when the decision says so."""
        with self._lifecycle if teardown else contextlib.nullcontext():
            with self._lock:
                if generation != self._generation:
                    return False  # a reset or a new start owns the session now
                browser, self._browser, self._worker = self._browser, None, None
                self._transition(decision.state, decision.reason, decision.error)
                if decision.delete_profile:
                    self._account = None
            self._flush()
            if then is not None:
                then()
            self.sleep(0)  # the new state goes out (Socket.IO, waiting readers) before the teardown's /proc scans
            cleared = bool(decision.delete_profile and browser is not None and browser.remote
                           and remote.clear_live(browser, self.settings.wa_url))
            if browser is not None:
                browser.quit(graceful=False)
            if decision.delete_profile:
                if self.settings.remote_url:  # the login is on the node: clear it there, and use a new path
                    remote.end_link(self.settings, self.profile_dir, cleared)
                profile.delete(self.profile_dir, sleep=self.sleep)
            else:
                try:
                    profile.clear_stale_locks(self.profile_dir)
                except profile.ProfileInUse as exc:
                    logger.error("after the session ended: %s", exc)
            return True

