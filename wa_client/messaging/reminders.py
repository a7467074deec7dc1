"""The outbox's rules for reminders: scheduled, cancelled, quiet hours, a patient's STOP, replies, the reach-out lock.

The outbox and its sender share one Reminders and ask it which message is due, whether the hours allow a send,
and what a patient's message means; the rules themselves are pure (policy, opt_outs), the records in the outbox's file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wa_client.clock import fingerprint, iso
from wa_client.config import Settings
from wa_client.config.values import load_timezone, parse_send_hours
from wa_client.messaging.opt_outs import OptOuts, is_opt_out, parse_words, view
from wa_client.messaging.policy import Timelock, after_timelock_refusal, may_send_to, quiet_until
from wa_client.messaging.ports import Session
from wa_client.messaging.schedule import Schedule
from wa_client.messaging.store import message_view
from wa_client.names import Event

logger = logging.getLogger(__name__)

TIMELOCKED = ("WhatsApp refused this first message to a patient with no earlier conversation: the clinic's number "
              "is under WhatsApp's reach-out time lock, and it still refused after the lock's end. It was not sent: "
              "ask the patient to write to the clinic first, or send it again later")


class OptedOut(ValueError):
    """The number opted out of messages."""

    def __init__(self, record: dict) -> None:
        super().__init__(record["phone"])
        self.record = record


class Reminders:
    """Scheduling, quiet hours, opt-outs, replies and the reach-out lock for one outbox."""

    def __init__(self, client: Session, settings: Settings, clock: Callable[[], float]) -> None:
        self.client, self.clock = client, clock
        self.hours = parse_send_hours(settings.send_hours)
        self.zone = load_timezone(settings.timezone)
        self.words = parse_words(settings.opt_out_words)
        self.schedule: Schedule | None = None
        self.opt_outs: OptOuts | None = None
        self._locked = False

    def open(self, path: Path) -> None:
        """Open the records (the outbox's file, already migrated by its store)."""
        self.schedule, self.opt_outs = Schedule(path), OptOuts(path)

    # -- the sender ------------------------------------------------------------------------------
    def quiet_until(self, now: float) -> float | None:
        """When quiet hours end (epoch seconds), or None when sending is allowed now."""
        return quiet_until(self.hours, self.zone, now)

    def timelock(self) -> Timelock:
        """The reach-out lock as the page last said it; a person is told when it starts."""
        said = getattr(self.client, "reachout_timelock", None)
        lock = Timelock.from_client(said() if callable(said) else None)
        if lock.active and not self._locked:
            until = iso(lock.until) if lock.until is not None else None
            logger.warning("WhatsApp's reach-out time lock is on (until %s)", until or "an unknown time")
            self.client.emit(Event.OUTBOX_TIMELOCKED, {"active": True, "until": until})
        self._locked = lock.active
        return lock

    def next_due(self, now: float) -> dict | None:
        """The message to send now: due, and allowed by the reach-out lock (replies in existing chats always are)."""
        lock = self.timelock()
        if not lock.holds(now):
            return self.schedule.next_due(now)
        return self.schedule.next_due(now, lambda row: may_send_to(lock, self.schedule.has_conversation(row["phone"]),
                                                                   now))

    def after_timelock_refusal(self, now: float) -> str:
        """'wait' while the lock holds (the message waits again), 'fail' once its end has passed."""
        return after_timelock_refusal(self.timelock(), now)

    def summary(self, now: float) -> dict:
        """What /outbox adds: the reach-out lock and until when quiet hours hold messages."""
        lock = self.timelock()
        quiet = self.quiet_until(now)
        return {"timelock": {"active": lock.active, "until": iso(lock.until) if lock.until is not None else None},
                "quiet_until": iso(quiet) if quiet is not None else None}

    # -- the CRM's side --------------------------------------------------------------------------
    def check_recipient(self, phone: str) -> None:
        """Raise OptedOut when this number opted out."""
        record = self.opt_outs.get(phone)
        if record is not None:
            raise OptedOut(view(record))

    def cancel(self, message_id: str, now: float) -> tuple[str, dict | None]:
        """Cancel a waiting message: ('cancelled' | 'too_late' | 'unknown', its view)."""
        outcome, row = self.schedule.cancel(message_id, now)
        if outcome == "cancelled":
            logger.info("message %s cancelled by the CRM", message_id)
            self._emit_cancelled(row)
        return outcome, message_view(row) if row else None

    def opt_out(self, phone: str, source: str, now: float) -> tuple[dict, bool]:
        """Record an opt-out, cancel what waits for the number, tell the CRM; (its view, new)."""
        record, created = self.opt_outs.add(phone, source, now)
        for row in self.schedule.cancel_waiting_for(phone, now):
            self._emit_cancelled(row)
        if created:
            logger.info("%s opted out (%s)", fingerprint(phone), source)
            self.client.emit(Event.CONTACT_OPTED_OUT, view(record))
        return view(record), created

    def opt_in(self, phone: str) -> dict | None:
        """The patient opted in again: the removed opt-out's view, or None."""
        record = self.opt_outs.remove(phone)
        return view(record) if record else None

    def listing(self) -> list[dict]:
        """Every opt-out, oldest first."""
        return [view(r) for r in self.opt_outs.all()]

    def _emit_cancelled(self, row: dict) -> None:
        shown = message_view(row)
        self.client.emit(Event.MESSAGE_STATUS, shown)
        self.client.emit(Event.MESSAGE_CANCELLED, shown)

    # -- what the session tells ----------------------------------------------------------------
    def sender_phone(self, message: Any) -> str | None:
        """+E.164 of a patient's message: WhatsApp's, else the number the gateway sent to under this chat id."""
        if message.from_phone:
            return message.from_phone
        digits = self.schedule.phone_for_jid(message.from_jid)
        return "+" + digits if digits else None

    def on_received(self, row: dict, message: Any) -> dict:
        """Match a stored patient's message to ours, and act on a STOP; its record as stored."""
        phone = (row.get("from_phone") or "").lstrip("+") or None
        in_reply_to = self.schedule.quoted(getattr(message, "quoted_id", None))
        row = self.schedule.annotate_incoming(row["id"], in_reply_to,
                                              self.schedule.last_sent_id(phone, row.get("from_jid"))) or row
        if is_opt_out(message.text, self.words):
            if phone:
                self.opt_out(phone, "patient", self.clock())
            else:
                logger.warning("a patient wrote an opt-out word from a chat whose number is unknown (%s): not recorded",
                               fingerprint(row.get("from_jid") or ""))
        return row

    def remember(self, row: dict) -> None:
        """Keep what a send taught (its WhatsApp id, for replies that quote it)."""
        if row.get("wa_id"):
            self.schedule.remember_sent(row)
