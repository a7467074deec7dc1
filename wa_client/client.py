"""The one session client: a thread-guarded Chromium that goes from Generate QR to connected.

The client is the session's record (state, QR, history, events) and its front door (commands);
the SessionWorker of the current generation alone drives the browser.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from . import account as accounts
from . import profile, remote, selectors
from .browser import Browser, BrowserCancelled, BrowserError, profile_path
from .chat import MAX_TEXT, ChatHub, ChatListener, SendError, Sent, submit_chat_command
from .commands import STEP_TIMEOUT_S, ActionError, Command, normalize_phone
from .config import Settings
from .decide import Decision
from .events import EventBus, Listener
from .notify import Notifier
from .page import Sight
from .profile_lock import ProfileLock
from .qr import QrBoard, fingerprint, iso, render_png
from .recovery import Recovery
from .session import SessionWorker
from .states import RUNNING, Reason, State, StateError, is_allowed
from .webhooks import WebhookSender

logger = logging.getLogger(__name__)

HISTORY_SIZE = 50
UNEXPECTED_START = ("the browser could not be started (an unexpected error; the gateway log has the details); "
                    "click Generate QR to try again")
#: States in which /me and /status name the linked account.
ACCOUNT_STATES = frozenset({State.AUTHENTICATING, State.CONNECTED})
CHANNELS = ("dom", "modules")


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


class WhatsAppClient:
    """ONE WhatsApp Web session in ONE Chromium; safe to call from many threads or greenlets.

    Two locks: `_lock` guards the fields below and is never held across a browser call, so
    status reads never wait on Chromium; `_lifecycle` lets one launch or teardown run at a time.
    Every start and reset bumps `_generation`; a worker whose generation is stale stops.
    """

    def __init__(self, settings: Settings, spawn: Callable[..., Any] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        _silence_wire_logs()
        self.settings = settings
        self.signs = selectors.load(settings.selectors_file)
        self.spawn = spawn or _spawn_thread
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
        self._since = _now_iso()
        self._qr = QrBoard()
        self._pairing_code: str | None = None
        self._account: accounts.Account | None = None
        self._seen_by: tuple[str, ...] = ()
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
        self.chat = ChatHub()  # messaging: watched ids, the listener (chat.py)
        self.recovery = Recovery(self)
        self.subscribe(self.recovery)
        self.notifier: Notifier | None = None
        if settings.notify_urls.strip():
            self.notifier = Notifier(settings.notify_urls, self.spawn, settings.restart_on_crash)
            self.subscribe(self.notifier)
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
        """The /status picture: state, reason, error, qr_version, since, pairing_code, seen_by."""
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

    # -- commands -----------------------------------------------------------------------------
    def start_session(self, by: dict | None = None, unattended: bool = False, reason: Reason | None = None,
                      expect_since: str | None = None) -> tuple[dict, bool]:
        """Start a browser unless one runs already; returns (status, started).

        `by` says who asked (for /history and the log); `unattended` starts never show a QR;
        `expect_since` starts only if the state has not changed since that stamp.
        """
        saved = accounts.load(self.profile_dir)  # a saved login's account, known before WhatsApp loads
        with self._lock:
            self._record_command("start_session", by)
            if not unattended:
                self._unattended = False  # a person asked: a QR is welcome now
            if self._state in RUNNING or (expect_since is not None and expect_since != self._since):
                return self._status_locked(), False
            self._unattended = unattended
            self._generation += 1
            generation = self._generation
            self._started_at = time.monotonic()
            self._started_at_wall = time.time()
            self._qr.new_cycle()
            self._announced.clear()
            self._seen_by = ()
            self._account = saved
            self.counters["starts"] += 1
            self._transition(State.STARTING, reason, None)
            status = self._status_locked()
        self._flush()
        self.spawn(self._run_session, generation)
        return status, True

    def force_reset(self, by: dict | None = None) -> dict:
        """Quit the browser, kill what it left, delete the profile and end in idle; from any state."""
        with self._lock:
            self._record_command("force_reset", by)
            self._generation += 1
            generation = self._generation
            browser, self._browser, self._worker = self._browser, None, None
            self._account = None
            self.counters["resets"] += 1
        cleared = browser is not None and browser.remote and remote.clear_live(browser, self.settings.wa_url)
        if browser is not None:
            browser.quit(graceful=False)  # also cancels a launch under way
        with self._lifecycle:  # wait until no launch or teardown is running
            left = profile.kill_recorded(self.profile_dir, self.sleep)  # left by a gateway killed hard
            on_node = remote.end_link(self.settings, self.profile_dir, cleared) if self.settings.remote_url else None
            deleted = not left and profile.delete(self.profile_dir, sleep=self.sleep)
            with self._lock:
                if generation == self._generation:
                    self._transition(State.IDLE, Reason.FORCE_RESET, on_node)
                status = self._status_locked()
        self._flush()
        if on_node:
            raise ResetError(on_node)
        if left:
            raise ResetError(f"browser processes {sorted(left)} would not stop; the profile was kept")
        if not deleted:
            raise ResetError(f"the profile directory {self.profile_dir} could not be deleted")
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
            if generation == self._generation and self._state is not State.IDLE:
                self._transition(State.IDLE, Reason.SHUTDOWN, None)
        self._flush()

    def request_pairing_code(self, phone: Any, timeout: float = 20.0, by: dict | None = None) -> str:
        """Drive 'Log in with phone number' and return the code as 'ABCD-EFGH'."""
        with self._lock:
            self._record_command("pairing_code", by)
        digits = normalize_phone(phone)
        with self._lock:
            if self._state is State.QR and self._pairing_code:
                raise StateError("a pairing code is already shown: enter it on the phone, or click Force Reset "
                                 "and Generate QR to start over")
        return self._command("pairing_code", {State.QR}, "a pairing code needs the QR page: click Generate QR first",
                             timeout, digits=digits)

    def logout(self, timeout: float = 20.0, by: dict | None = None) -> dict:
        """Unlink this device in WhatsApp itself, then end like a phone logout."""
        with self._lock:
            self._record_command("logout", by)
        return self._command("logout", {State.CONNECTED}, "logout needs a connected session", timeout)

    def take_over(self, timeout: float = 15.0, by: dict | None = None) -> dict:
        """Use WhatsApp here when it is open elsewhere, and wait to be connected again."""
        with self._lock:
            self._record_command("takeover", by)
        return self._command("takeover", {State.CONFLICT}, "takeover needs the 'open elsewhere' conflict", timeout)

    # -- messaging (the logic and the page scripts live in chat.py) ----------------------------------
    def send_message(self, phone_digits: str, text: str, timeout: float = 30.0, by: dict | None = None) -> Sent:
        """Send `text` to the number (digits, country code first); Sent once WhatsApp added it to the chat.

        Raises SendError: not_connected, not_on_whatsapp, rejected, restricted, unavailable.
        """
        # (not in /history's commands: a day of reminders would push out who linked or logged out)
        logger.debug("send_message by %s", " ".join(f"{k}={v}" for k, v in (by or {"via": "internal"}).items()))
        digits = normalize_phone(phone_digits)
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            raise ValueError(f"text must be 1 to {MAX_TEXT} characters")
        return submit_chat_command(self._chat_worker(), "send_message", timeout, digits=digits, text=text)

    def contact_exists(self, phone_digits: str, timeout: float = 20.0) -> bool:
        """Whether the number has WhatsApp (asked through WhatsApp's modules); SendError when it cannot say."""
        return submit_chat_command(self._chat_worker(), "contact_exists", timeout, digits=normalize_phone(phone_digits))

    def watch_messages(self, wa_ids: Iterable[str]) -> None:
        """The message ids whose ack every poll re-reads (replaces the previous set)."""
        self.chat.watch(wa_ids)

    def set_chat_listener(self, listener: ChatListener | None) -> None:
        """Call `listener(acks, incoming, restricted)` after a poll that saw something new (worker thread)."""
        self.chat.set_listener(listener)

    def _chat_worker(self) -> SessionWorker:
        with self._lock:
            if self._state is not State.CONNECTED or self._worker is None:
                raise SendError("not_connected", f"WhatsApp is not connected (the session is {self._state})")
            return self._worker

    def screenshot(self) -> bytes | None:
        """What the gateway's browser shows now; without a browser, the last one kept; None when neither."""
        with self._lock:
            worker, kept = self._worker, self._screenshot
        if worker is None:
            return kept
        try:
            return self._submit(worker, Command("screenshot", timeout_s=STEP_TIMEOUT_S))
        except (StateError, ActionError):
            return self._screenshot

    def _command(self, kind: str, states: set[State], refusal: str, timeout: float, **args: Any) -> Any:
        with self._lock:
            if self._state not in states or self._worker is None:
                raise StateError(f"{refusal} (the session is {self._state})")
            worker = self._worker
        return self._submit(worker, Command(kind, args, timeout_s=timeout))

    def _submit(self, worker: SessionWorker, command: Command) -> Any:
        """Queue `command` to the worker and wait for its answer (or its error)."""
        worker.submit(command)
        try:
            return command.future.result(command.timeout_s + 3 * STEP_TIMEOUT_S)
        except FutureTimeout:
            raise ActionError(f"WhatsApp did not complete {command.kind.replace('_', ' ')} in time") from None

    # -- the session worker's side ------------------------------------------------------------
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

    # -- internals (callers hold _lock) -------------------------------------------------------
    def _record_command(self, command: str, by: dict | None) -> None:
        """Who asked for what, in /history and the log (`by` holds no secret: a token's fingerprint at most)."""
        by = dict(by or {"via": "internal"})
        self._commands.append({"command": command, "at": _now_iso(), "state": self._state.value, "by": by})
        logger.info("command %s by %s", command, " ".join(f"{k}={v}" for k, v in by.items() if v is not None))

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
        self._since = _now_iso()
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
        self._history.append({"from": self._state.value, "state": self._state.value, "at": _now_iso(),
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
