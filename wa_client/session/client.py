"""The one session client: a thread-guarded Chromium that goes from Generate QR to connected.

The client is the session's front door (the commands, here) over its record (`record.py`) and the
worker's side (`worker_side.py`: the launch, and the decisions of the SessionWorker, which alone
drives the browser).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict
from typing import Any

from wa_client.browser import profile, remote
from wa_client.chat.hub import MAX_TEXT, ChatHub, ChatListener, Found, Lookup, SendError, Sent, submit_chat_command
from wa_client.clock import now_iso
from wa_client.config import Settings
from wa_client.disk import data_dir
from wa_client.jobs import ActionError, Command, normalize_phone
from wa_client.notify.alerts import Notifier
from wa_client.notify.journal import FILE_NAME as JOURNAL_FILE
from wa_client.notify.journal import EventJournal
from wa_client.notify.webhooks import WebhookSender
from wa_client.page.actions import STEP_TIMEOUT_S
from wa_client.session import account as accounts
from wa_client.session.recovery import Recovery
from wa_client.session.worker import SessionWorker
from wa_client.session.worker_side import WorkerSide
from wa_client.states import RUNNING, Reason, State, StateError

logger = logging.getLogger(__name__)


class ResetError(RuntimeError):
    """force_reset could not leave a clean slate (the message says what is left)."""


class WhatsAppClient(WorkerSide):
    """ONE WhatsApp Web session in ONE Chromium; safe to call from many threads or greenlets."""

    def __init__(self, settings: Settings, spawn: Callable[..., Any] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(settings, spawn, sleep)
        self.chat = ChatHub()  # messaging: watched ids, the listener (chat.py)
        self.recovery = Recovery(self)
        self.subscribe(self.recovery)
        self.notifier: Notifier | None = None
        if settings.notify_urls.strip():
            self.notifier = Notifier(settings.notify_urls, self.spawn, settings.restart_on_crash)
            self.subscribe(self.notifier)
        self.webhooks: WebhookSender | None = None
        if settings.webhook_url:
            self.webhooks = WebhookSender(settings.webhook_url, settings.webhook_secret, self.spawn, self.sleep,
                                          on_drop=self._webhook_dropped)  # in memory until keep_webhook_events()
            self.subscribe(self.webhooks)

    def keep_webhook_events(self) -> None:
        """Once this gateway owns its port and profile: keep webhook events on disk and deliver what waited."""
        if self.webhooks is not None:
            self.webhooks.keep_in(EventJournal.open(data_dir(self.settings) / JOURNAL_FILE))

    def _webhook_dropped(self, reason: str, count: int) -> None:
        """Tell the listeners (the notifier) that webhook events were dropped: the reason and a count only."""
        self.emit("webhook.dropped", {"reason": reason, "count": count})

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
    def send_message(self, phone_digits: str, text: str, timeout: float = 30.0, by: dict | None = None,
                     msg_id: str | None = None) -> Sent:
        """Send `text` to the number (digits, country code first); Sent once WhatsApp added it to the chat.

        With `msg_id` (from new_message_id) the message is keyed with that id (the modules route; the page
        route cannot choose one). Sent.ack may still be 0: WhatsApp's server has it only at ack >= 1.
        Raises SendError: not_connected, not_on_whatsapp, rejected, restricted, unavailable, reachout_timelocked.
        """
        # (not in /history's commands: a day of reminders would push out who linked or logged out)
        logger.debug("send_message by %s", " ".join(f"{k}={v}" for k, v in (by or {"via": "internal"}).items()))
        digits = normalize_phone(phone_digits)
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            raise ValueError(f"text must be 1 to {MAX_TEXT} characters")
        if msg_id is not None and not (isinstance(msg_id, str) and msg_id.isalnum() and 8 <= len(msg_id) <= 128):
            raise ValueError("msg_id must be a WhatsApp message id (letters and digits) from new_message_id()")
        return submit_chat_command(self._chat_worker(), "send_message", timeout, digits=digits, text=text,
                                   msg_id=msg_id)

    def new_message_id(self, timeout: float = 10.0) -> str:
        """A fresh WhatsApp message id (WAWebMsgKey.newId()); SendError("unavailable") without the modules."""
        return submit_chat_command(self._chat_worker(), "new_message_id", timeout)

    def find_sent(self, lookups: list[Lookup], timeout: float = 60.0) -> list[Found]:
        """Look each message up in WhatsApp's own record of its chat: found, surely absent, or unreadable."""
        if not lookups:
            return []
        return submit_chat_command(self._chat_worker(), "find_sent", timeout,
                                   lookups=[asdict(lookup) for lookup in lookups])

    def reachout_timelock(self) -> dict:
        """{"active": bool, "until": epoch seconds | None}: WhatsApp's reach-out time lock as the page last said."""
        return self.chat.timelock()

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

    # -- who asked (callers hold _lock) -------------------------------------------------------
    def _record_command(self, command: str, by: dict | None) -> None:
        """Who asked for what, in /history and the log (`by` holds no secret: a token's fingerprint at most)."""
        by = dict(by or {"via": "internal"})
        self._commands.append({"command": command, "at": now_iso(), "state": self._state.value, "by": by})
        logger.info("command %s by %s", command, " ".join(f"{k}={v}" for k, v in by.items() if v is not None))
