"""The one session client: a thread-guarded Chromium that goes from Generate QR to connected.

A thin front, composed of its parts: the record (record.py, what the session is and was), the
runner (runner.py: the browser of each generation and the record's one writer), the chat hub,
and Recovery. Here are only the CRM's commands and the views; the worker's callbacks live on the
runner, and the notifications (alerts, webhooks) are built by the composition root (app.py) and
subscribe to the bus.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from typing import Any

from wa_client import selectors
from wa_client.browser.profile import profile_path
from wa_client.browser.profile_lock import ProfileLock
from wa_client.chat.hub import MAX_TEXT, ChatHub, ChatListener, Found, Lookup, Sent, publisher, submit_chat_command
from wa_client.config import Settings
from wa_client.jobs import ActionError, Command, normalize_phone
from wa_client.page.actions import STEP_TIMEOUT_S
from wa_client.session.bus import Listener
from wa_client.session.commands import LOGOUT, PAIRING_CODE, SCREENSHOT, TAKEOVER
from wa_client.session.launch import ResetError
from wa_client.session.record import SessionRecord
from wa_client.session.recovery import Recovery
from wa_client.session.runner import SessionRunner, wait_for
from wa_client.states import Reason, State, StateError

__all__ = ["ResetError", "WhatsAppClient"]

logger = logging.getLogger(__name__)


def spawn_thread(fn: Callable[..., Any], *args: Any) -> None:
    """Run `fn(*args)` in a daemon thread (the default when no Socket.IO server spawns tasks)."""
    threading.Thread(target=fn, args=args, daemon=True, name="wa-session").start()


class WhatsAppClient:
    """ONE WhatsApp Web session in ONE Chromium; safe to call from many threads or greenlets."""

    def __init__(self, settings: Settings, spawn: Callable[..., Any] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.sleep = sleep
        self.signs = selectors.load(settings.selectors_file)
        self.profile_dir = profile_path(settings)
        self.profile_lock = ProfileLock(self.profile_dir)  # one gateway per profile (main() takes it)
        self.chat = ChatHub()  # messaging: watched ids, the listener (chat/hub.py)
        self._record = SessionRecord(settings.qr_timeout_s)
        self._runner = SessionRunner(settings, self._record, self.chat, self.signs, self.profile_dir,
                                     self.profile_lock, spawn or spawn_thread, sleep)
        self.recovery = Recovery(self._runner, settings, self.profile_dir)
        self.subscribe(self.recovery)
        self.chat.set_listener(publisher(self.emit))  # acks and patients' messages go out as bus events

    @property
    def spawn(self) -> Callable[..., Any]:
        """How the session starts background work (Socket.IO's task, or a daemon thread)."""
        return self._runner.spawn

    @spawn.setter
    def spawn(self, spawn: Callable[..., Any]) -> None:
        self._runner.spawn = spawn

    # -- views ----------------------------------------------------------------------------------
    @property
    def state(self) -> State:
        """The current session state."""
        return self._record.state

    @property
    def counters(self) -> dict:
        """The session's counters (read by /metrics)."""
        return self._record.counters

    @property
    def unattended(self) -> bool:
        """True while the session was started by nobody at the page (autostart, recovery)."""
        return self._record.unattended

    def status(self) -> dict:
        """The /status picture: state, reason, error, qr_version, since, pairing_code, seen_by, qr_cycle, account,
        wa_version."""
        return self._record.status()

    def account(self) -> dict | None:
        """The linked account (number, name, linked_since) while authenticating or connected, else None."""
        return self._record.account()

    def qr(self) -> tuple[str, int] | None:
        """The QR payload on screen now and its version, or None when there is no valid QR."""
        return self._record.qr()

    def qr_png(self) -> tuple[int, bytes] | None:
        """The PNG of the current QR (rendered once per version) and its version, or None."""
        return self._record.qr_png()

    def history(self) -> list[dict]:
        """The last transitions, oldest first, with times and reasons."""
        return self._record.history()

    def commands(self) -> list[dict]:
        """The last commands, oldest first: what, when, in which state, and who asked."""
        return self._record.commands()

    def started_at(self) -> float:
        """When the current session was started (time.monotonic)."""
        return self._record.started_at()

    def browser_pids(self) -> set[int]:
        """The live processes of the gateway's Chromium tree (empty without a browser)."""
        browser = self._runner.browser
        return browser.owned_pids() if browser is not None else set()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(event, payload)` on every event, in order; returns a function that unsubscribes."""
        return self._record.subscribe(listener)

    def emit(self, event: str, payload: dict | None = None) -> None:
        """Publish an event of the parts built beside the session (the outbox) to every listener, in order."""
        self._record.emit(event, payload)

    # -- commands -----------------------------------------------------------------------------
    def start_session(self, by: dict | None = None, unattended: bool = False, reason: Reason | None = None,
                      expect_since: str | None = None) -> tuple[dict, bool]:
        """Start a browser unless one runs already; returns (status, started).

        `by` says who asked (for /history and the log); `unattended` starts never show a QR;
        `expect_since` starts only if the state has not changed since that stamp.
        """
        return self._runner.start_session(by, unattended, reason, expect_since)

    def force_reset(self, by: dict | None = None) -> dict:
        """Quit the browser, kill what it left, delete the profile and end in idle; from any state."""
        return self._runner.force_reset(by)

    def shutdown(self) -> None:
        """Quit the browser gracefully and keep the profile (the saved login survives)."""
        self._runner.shutdown()

    def request_pairing_code(self, phone: Any, timeout: float = 20.0, by: dict | None = None) -> str:
        """Drive 'Log in with phone number' and return the code as 'ABCD-EFGH'."""
        self._runner.note_command(PAIRING_CODE, by)
        digits = normalize_phone(phone)
        status = self._record.status()
        if status["state"] == State.QR and status["pairing_code"]:
            raise StateError("a pairing code is already shown: enter it on the phone, or click Force Reset "
                             "and Generate QR to start over")
        return self._runner.command(PAIRING_CODE, timeout, digits=digits)

    def logout(self, timeout: float = 20.0, by: dict | None = None) -> dict:
        """Unlink this device in WhatsApp itself, then end like a phone logout."""
        self._runner.note_command(LOGOUT, by)
        return self._runner.command(LOGOUT, timeout)

    def take_over(self, timeout: float = 15.0, by: dict | None = None) -> dict:
        """Use WhatsApp here when it is open elsewhere, and wait to be connected again."""
        self._runner.note_command(TAKEOVER, by)
        return self._runner.command(TAKEOVER, timeout)

    def screenshot(self) -> bytes | None:
        """What the gateway's browser shows now; without a browser, the last one kept; None when neither."""
        worker = self._runner.worker
        if worker is None:
            return self._record.kept_screenshot()
        try:
            return wait_for(worker, Command(SCREENSHOT, timeout_s=STEP_TIMEOUT_S))
        except (StateError, ActionError):
            return self._record.kept_screenshot()

    # -- messaging (the logic and the page scripts live in wa_client/chat/) -------------------------
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
        return self._chat("send_message", timeout, digits=digits, text=text, msg_id=msg_id)

    def new_message_id(self, timeout: float = 10.0) -> str:
        """A fresh WhatsApp message id (WAWebMsgKey.newId()); SendError("unavailable") without the modules."""
        return self._chat("new_message_id", timeout)

    def find_sent(self, lookups: list[Lookup], timeout: float = 60.0) -> list[Found]:
        """Look each message up in WhatsApp's own record of its chat: found, surely absent, or unreadable."""
        if not lookups:
            return []
        return self._chat("find_sent", timeout, lookups=[asdict(lookup) for lookup in lookups])

    def reachout_timelock(self) -> dict:
        """{"active": bool, "until": epoch seconds | None}: WhatsApp's reach-out time lock as the page last said."""
        return self.chat.timelock()

    def contact_exists(self, phone_digits: str, timeout: float = 20.0) -> bool:
        """Whether the number has WhatsApp (asked through WhatsApp's modules); SendError when it cannot say."""
        return self._chat("contact_exists", timeout, digits=normalize_phone(phone_digits))

    def watch_messages(self, wa_ids: Iterable[str]) -> None:
        """The message ids whose ack every poll re-reads (replaces the previous set)."""
        self.chat.watch(wa_ids)

    def set_chat_listener(self, listener: ChatListener | None) -> None:
        """Hear polls as `listener(acks, incoming, restricted)` instead of the bus (worker thread; for tests)."""
        self.chat.set_listener(listener)

    def _chat(self, kind: str, timeout: float, **args: Any) -> Any:
        """A messaging command: refused by its COMMANDS row unless connected, else run by the chat worker."""
        return submit_chat_command(self._runner.worker_for(kind), kind, timeout, **args)
