"""The durable outbox: the CRM's side of messaging, composed of a store, a send policy, a sender and an ack ledger.

A message is stored (SQLite, in the data directory) before the CRM gets its id, marked `sending` with its
WhatsApp id before the send starts, `sent` once WhatsApp's server has it (ack >= 1), and settled from
WhatsApp's own record when a send was left unsure (settle.py: exactly once through any stop). Sends
happen only while the session is `connected`, never closer than the gap
(`WA_SEND_GAP_S`, counted from the end of the previous send), never over the per-minute and per-day
caps, and stop (paused, a person told) after several failures in a row or when WhatsApp shows its
restriction notice, until `resume()`. Built in app.py's create_app beside the session it takes (ports.Session).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

from wa_client.chat.hub import Lookup
from wa_client.clock import fingerprint
from wa_client.config import Settings
from wa_client.disk import data_dir
from wa_client.messaging.ledger import AckLedger
from wa_client.messaging.policy import DAY_S, SendPolicy
from wa_client.messaging.ports import Session
from wa_client.messaging.reminders import Reminders
from wa_client.messaging.sender import DRAIN_S, PAUSED_FAILURES, PAUSED_RESTRICTED, RESET, Sender
from wa_client.messaging.settle import SendingRecord, Settler
from wa_client.messaging.store import IdempotencyConflict, OutboxStore, body_hash, message_view, received_view
from wa_client.names import Event
from wa_client.states import Reason, State

logger = logging.getLogger(__name__)

__all__ = ["Outbox", "IdempotencyConflict", "body_hash", "message_view", "PAUSED_FAILURES", "PAUSED_RESTRICTED"]

UNCONFIRMED_RESET = ("the WhatsApp session was reset (Force Reset) while this message was being sent, so its chat "
                     "can no longer be read to see whether it went out; it was not sent again: look at the chat on "
                     "the clinic phone before sending it again")


class Outbox:
    """Stores, sends one at a time, follows acks and keeps what patients write; see the module's words."""

    def __init__(self, session: Session, settings: Settings, path: Path | None = None,
                 rng: random.Random | None = None, clock: Callable[[], float] = time.time) -> None:
        self.session, self.settings, self.clock = session, settings, clock
        self.path = Path(path) if path else data_dir(settings) / "outbox.sqlite3"
        self.policy = SendPolicy.from_settings(settings, rng)
        self.reminders = Reminders(session, settings, clock)  # send_at, quiet hours, STOP, replies, reach-out lock
        self.ledger = AckLedger(self.reminders, session.emit, self._emit_status)
        self.sender = Sender(session, self.policy, self.reminders, self.ledger, clock, self._emit_status)
        self.ledger.wake = self.sender.wake
        self.store: OutboxStore | None = None
        self.record: SendingRecord | None = None
        self.settler: Settler | None = None
        self._open_lock = threading.Lock()
        self._running = False
        session.subscribe(self.ledger)  # acks, patients' messages, the notice: applied in the sender's turn
        session.subscribe(self._on_session_event)  # a reset or a connect opens the outbox when it matters

    # -- life -----------------------------------------------------------------------------------
    def open(self) -> Outbox:
        """Open the file, note what a stop left `sending` (settled once connected), follow the acks."""
        if self.store is not None:
            return self
        with self._open_lock:  # a request and a session event may come at once
            if self.store is not None:
                return self
            store = OutboxStore(self.path)
            self.policy.draw_gap()
            self.record = SendingRecord(store)
            self.settler = Settler(self.session, self.record, self._emit_status, Lookup, logger.info)
            self.reminders.open(self.path)
            self.sender.attach(store, self.record, self.settler)
            self.store = store
        left = store.counts().get("sending", 0)
        if left:
            logger.info("%d message(s) were being sent when the gateway stopped: settled from WhatsApp's record "
                        "once connected", left)
        self.sender.update_watch()
        return self

    def start(self) -> Outbox:
        """Open, then run the sender as a background task of the session (eventlet-safe); once."""
        self.open()
        if not self._running:
            self._running = True
            self.session.spawn(self.sender.run)
        return self

    def stop(self) -> None:
        """Stop the sender after its current step."""
        self.sender.stopped = True

    def drain(self, timeout: float = DRAIN_S) -> bool:
        """A graceful stop: no new send; the one in flight gets until WhatsApp's server has it (sender.drain)."""
        return self.sender.drain(timeout)

    def step(self) -> float:
        """One turn of the sender (its loop calls this; so do the unit tests); the seconds to wait."""
        return self.open().sender.step()

    def hear(self) -> None:
        """Apply now what the ledger heard (the sender does at each turn)."""
        self.open().sender.hear()

    def wake(self) -> None:
        """Look at the queue now (a message came, the session connected)."""
        self.sender.wake()

    # -- the CRM's side -------------------------------------------------------------------------
    def submit(self, phone_digits: str, text: str, key: str | None = None,
               send_at: float | None = None) -> tuple[dict, bool]:
        """Queue a message (or find the one this Idempotency-Key made); (its view, created)."""
        row, created = self.open().store.add(phone_digits, text, self.clock(), key,
                                             body_hash(phone_digits, text) if key else None, send_at)
        if created:
            logger.info("message %s queued (to %s)", row["id"], fingerprint(phone_digits))
            self.wake()
        return message_view(row), created

    def made_by(self, key: str) -> bool:
        """True when this Idempotency-Key has made a message already."""
        return self.open().store.by_key(key) is not None

    def message(self, message_id: str) -> dict | None:
        """One outgoing message's view, or None."""
        row = self.open().store.get(message_id)
        return message_view(row) if row else None

    def listing(self, direction: str, after: int = 0, limit: int = 100, status: str | None = None) -> list[dict]:
        """Messages received ('in') or queued ('out', optionally of one status) after the cursor `after`."""
        rows = self.open().store.listing(direction, after, limit, status)
        return [received_view(r) if direction == "in" else message_view(r) for r in rows]

    def summary(self) -> dict:
        """Paused or not (and why), and how many messages are in each status."""
        store = self.open().store
        now = self.clock()
        return {"paused": store.meta("paused_reason") is not None, "pause_reason": store.meta("paused_reason"),
                "pause_error": store.meta("paused_error"), "counts": store.counts(),
                "sends_last_minute": len(store.attempts_since(now - 60)),
                "sends_last_day": len(store.attempts_since(now - DAY_S)), **self.reminders.summary(now)}

    def cancel(self, message_id: str) -> tuple[str, dict | None]:
        """Cancel a waiting message: ('cancelled' | 'too_late' | 'unknown', its view)."""
        self.open()
        return self.reminders.cancel(message_id, self.clock())

    def resume(self) -> dict:
        """Resume sending after a pause (a person has looked at the phone)."""
        self.open().sender.resume()
        return self.summary()

    def pause(self, reason: str, words: str) -> None:
        """Stop sending until resume(); tell a person (the notice never holds a phone number or a text)."""
        self.open().sender.pause(reason, words)

    @property
    def paused(self) -> bool:
        """True while sending is paused."""
        return self.open().sender.paused

    # -- what the session tells ----------------------------------------------------------------
    def _on_session_event(self, event: str, payload: dict) -> None:
        """A reset fails what waits (a new link may be another account); connecting wakes the sender."""
        if event != Event.STATUS:
            return
        if payload.get("state") == State.IDLE.value and payload.get("reason") == Reason.FORCE_RESET.value:
            store = self.open().store
            self.sender.reset_at = now = self.clock()
            for row in store.fail_all("queued", "not_connected", RESET, now):
                self._emit_status(row)
            for row in self.record.fail_left(UNCONFIRMED_RESET, now, self.sender.in_flight):
                self._emit_status(row)  # the account that had them is unlinked: its chats can no longer be read
        elif payload.get("state") == State.CONNECTED.value:
            self.open()  # (app.py's main started the sender; an app without main sends nothing)
            self.sender.update_watch()
            self.wake()

    def _emit_status(self, row: dict) -> None:
        self.reminders.remember(row)
        self.session.emit(Event.MESSAGE_STATUS, message_view(row))
