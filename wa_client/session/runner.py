"""The SessionRunner: owns each generation's browser and worker, and is the session record's one writer.

It changes the record only on the worker's apply/end path (the WorkerPort of ports.py) and in the
lifecycle it owns (start, Force Reset, shutdown). Every start and reset bumps `_generation`; a worker
whose generation is stale stops. Two locks: `_lock` guards the generation, the browser and the worker
and is taken before the record's own lock, never across a browser call; `_lifecycle` lets one launch
or teardown run at a time.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from wa_client.browser import profile
from wa_client.browser.driver import Browser, BrowserCancelled, BrowserError
from wa_client.browser.profile_lock import ProfileLock
from wa_client.chat.hub import ChatHub
from wa_client.config import Settings
from wa_client.jobs import ActionError, Command
from wa_client.names import Event
from wa_client.page import account as accounts
from wa_client.page.actions import STEP_TIMEOUT_S
from wa_client.page.qr import render_png
from wa_client.page.recognise import Sight
from wa_client.session import launch
from wa_client.session.commands import COMMANDS, check
from wa_client.session.decide import Decision
from wa_client.session.record import SessionRecord
from wa_client.session.worker import SessionWorker
from wa_client.states import Reason, State

logger = logging.getLogger(__name__)


def wait_for(worker: SessionWorker, command: Command) -> Any:
    """Queue `command` to the worker and wait for its answer (or its error)."""
    worker.submit(command)
    try:
        return command.future.result(command.timeout_s + 3 * STEP_TIMEOUT_S)
    except FutureTimeout:
        raise ActionError(f"WhatsApp did not complete {command.kind.replace('_', ' ')} in time") from None


class SessionRunner:
    """Starts, runs and ends the browser of each session generation; records what happens in the record."""

    def __init__(self, settings: Settings, record: SessionRecord, hub: ChatHub, signs: Any, profile_dir: Path,
                 profile_lock: ProfileLock, spawn: Callable[..., Any], sleep: Callable[[float], None]) -> None:
        self.settings = settings
        self.record = record
        self.hub = hub
        self.signs = signs
        self.profile_dir = profile_dir
        self.profile_lock = profile_lock
        self.spawn = spawn
        self.sleep = sleep
        self._lock = threading.RLock()
        self._lifecycle = threading.Lock()
        self._generation = 0
        self._browser: Browser | None = None
        self._worker: SessionWorker | None = None

    # -- reads (the SessionView of the worker and its queue) -------------------------------------
    @property
    def state(self) -> State:
        """The current session state."""
        return self.record.state

    def status(self) -> dict:
        """The /status picture."""
        return self.record.status()

    @property
    def unattended(self) -> bool:
        """True while the session was started by nobody at the page."""
        return self.record.unattended

    def started_at(self) -> float:
        """When the current session was started (time.monotonic)."""
        return self.record.started_at()

    @property
    def browser(self) -> Browser | None:
        """The current generation's browser (None between sessions)."""
        return self._browser

    @property
    def worker(self) -> SessionWorker | None:
        """The current generation's worker (None until its browser has launched)."""
        return self._worker

    def is_current(self, generation: int) -> bool:
        """True while `generation` still owns the session."""
        return generation == self._generation

    # -- the lifecycle ------------------------------------------------------------------------------
    def start_session(self, by: dict | None = None, unattended: bool = False, reason: Reason | None = None,
                      expect_since: str | None = None) -> tuple[dict, bool]:
        """Start a browser unless one runs already (or the state changed since `expect_since`); (status, started)."""
        saved = accounts.load(self.profile_dir)  # a saved login's account, known before WhatsApp loads
        with self._lock:
            self.record.note_command("start_session", by)
            started = self.record.begin(unattended, saved, reason, expect_since)
            if started:
                self._generation += 1
            generation = self._generation
            status = self.record.status()
        self.record.flush()
        if started:
            self.spawn(self._run, generation)
        return status, started

    def force_reset(self, by: dict | None = None) -> dict:
        """Quit the browser, kill what it left, delete the profile and end in idle; from any state."""
        with self._lock:
            self.record.note_command("force_reset", by)
            self._generation += 1
            generation = self._generation
            browser, self._browser, self._worker = self._browser, None, None
            self.record.forget_account()
            self.record.count("resets")
        cleared = launch.clear_live(browser, self.settings)
        if browser is not None:
            browser.quit(graceful=False)  # also cancels a launch under way
        with self._lifecycle:  # wait until no launch or teardown is running
            on_node, left, deleted = launch.clean_slate(self.settings, self.profile_dir, cleared, self.sleep)
            with self._lock:
                if generation == self._generation:
                    self.record.transition(State.IDLE, Reason.FORCE_RESET, on_node)
                status = self.record.status()
        self.record.flush()
        problem = launch.reset_problem(on_node, left, deleted, self.profile_dir)
        if problem:
            raise launch.ResetError(problem)
        logger.info("force reset done")
        return status

    def shutdown(self) -> None:
        """Quit the browser gracefully and keep the profile (the saved login survives)."""
        with self._lock:
            self._generation += 1
            generation = self._generation
            browser, self._browser, self._worker = self._browser, None, None
        if browser is not None:
            browser.quit(graceful=True)
        with self._lifecycle, self._lock:  # a launch under way has cleaned up after itself
            if generation == self._generation and self.record.state is not State.IDLE:
                self.record.transition(State.IDLE, Reason.SHUTDOWN, None)
        self.record.flush()

    def note_command(self, command: str, by: dict | None) -> None:
        """Who asked for what, in /history's commands and the log."""
        self.record.note_command(command, by)

    def worker_for(self, kind: str) -> SessionWorker:
        """The worker to run a command of `kind`; its COMMANDS refusal when the state (or no worker) says no."""
        with self._lock:
            state = self.record.state
            check(kind, state)
            if self._worker is None:
                raise COMMANDS[kind].refused(state)
            return self._worker

    def command(self, kind: str, timeout: float, **args: Any) -> Any:
        """Run a command of `kind` on the worker and wait for its answer."""
        return wait_for(self.worker_for(kind), Command(kind, args, timeout_s=timeout))

    # -- the worker's port: its decisions, applied here -------------------------------------------
    def apply(self, generation: int, decision: Decision, sight: Sight) -> bool:
        """Record a decision that keeps the session going; False when `generation` is stale."""
        png = render_png(decision.qr_payload) if self.record.needs_png(decision.qr_payload) else None
        with self._lock:
            if generation != self._generation:
                return False
            account_changed, account = self.record.apply(decision, sight, png)
        self.record.flush()
        if account_changed and account is not None:
            accounts.save(self.profile_dir, account)
        elif account_changed:
            accounts.forget(self.profile_dir)
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
                self.record.new_qr_cycle()

    def keep_screenshot(self, png: bytes) -> None:
        """Keep a picture of an unrecognised page, for /screenshot.png after the browser is gone."""
        self.record.keep_screenshot(png)

    def count(self, name: str) -> None:
        """Add one to a counter of /metrics."""
        self.record.count(name)

    # -- Recovery's port ------------------------------------------------------------------------
    def explain(self, error: str, since: str) -> None:
        """New words for the current ending (e.g. a restart planned), unless the state changed since `since`."""
        self.record.explain(error, since)
        self.record.flush()

    def emit(self, event: str, payload: dict | None = None) -> None:
        """Publish an event to every listener, in order."""
        self.record.emit(event, payload)

    # -- internals ------------------------------------------------------------------------------
    def _run(self, generation: int) -> None:
        """Launch the browser (one at a time), then let the worker run it until the session ends."""
        with self._lifecycle:
            with self._lock:
                if generation != self._generation:
                    return
                browser = Browser(self.settings, self.profile_dir, self.sleep)
                self._browser = browser
            try:
                seconds = launch.launch(browser, self.settings, self.profile_dir, self.profile_lock, self.sleep)
                self.count("browser_starts")
                self.emit(Event.BROWSER_STARTED, {"seconds": round(seconds, 3)})
            except BrowserCancelled:
                return
            except (BrowserError, profile.ProfileInUse, OSError) as exc:
                browser.quit(graceful=False)
                words = launch.start_error_words(exc, self.profile_dir)
                self._finish(generation, Decision(State.FAILED, Reason.START_ERROR, words), teardown=False)
                return
            except Exception:  # noqa: BLE001 - never stuck in `starting` with no worker to time it out
                logger.exception("bug: the browser start failed unexpectedly")
                browser.quit(graceful=False)
                error = launch.UNEXPECTED_START
                self._finish(generation, Decision(State.FAILED, Reason.START_ERROR, error), teardown=False)
                return
        worker = SessionWorker(self, browser, generation, self.settings, self.signs, self.hub, self.spawn, self.sleep)
        with self._lock:
            stale = generation != self._generation
            if not stale:
                self._worker = worker
        if stale:  # a reset took the session while the browser came up: it has quit it
            browser.quit(graceful=False)
            return
        worker.run()

    def _finish(self, generation: int, decision: Decision, teardown: bool = True,
                then: Callable[[], None] | None = None) -> bool:
        """Set the ending state, quit the browser, and delete the profile when the decision says so."""
        with self._lifecycle if teardown else contextlib.nullcontext():
            with self._lock:
                if generation != self._generation:
                    return False  # a reset or a new start owns the session now
                browser, self._browser, self._worker = self._browser, None, None
                self.record.transition(decision.state, decision.reason, decision.error)
                if decision.delete_profile:
                    self.record.forget_account()
            self.record.flush()
            if then is not None:
                then()
            self.sleep(0)  # the new state goes out (Socket.IO, waiting readers) before the teardown's /proc scans
            launch.tear_down(browser, self.settings, self.profile_dir, decision.delete_profile, self.sleep)
            return True
