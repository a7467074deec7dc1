"""The sender: one message at a time to WhatsApp, in turns (apply what the chat heard, settle, pick, key, send).

Each turn first writes what the ledger queued (acks, patients' messages), settles what a stop left unsure
(settle.py), then sends the next due message if the policy allows it (policy.py): `sending` with its WhatsApp id
is committed before the send, the outcome after it. Failures are settled in words; a run of them, or
WhatsApp's restriction notice, pauses sending until a person resumes it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from wa_client.clock import iso
from wa_client.messaging.ledger import FAILED, RESTRICTED, TOOK, AckLedger
from wa_client.messaging.policy import DAY_S, SendPolicy
from wa_client.messaging.ports import Session
from wa_client.messaging.reminders import TIMELOCKED, Reminders
from wa_client.messaging.settle import SendingRecord, Settler, choose_id
from wa_client.messaging.store import OutboxStore
from wa_client.names import Event
from wa_client.states import State

logger = logging.getLogger(__name__)

IDLE_WAIT_S = 1.0
SLICE_S = 0.05
WATCH_DAYS = 7
#: Reasons a failed send counts toward the pause (not_on_whatsapp is the number's fault, not the account's).
COUNTED_FAILURES = frozenset({"rejected", "unavailable", "unconfirmed"})
#: Reasons that say WhatsApp did not take the message: failed at once (anything else is settled from the chat).
REFUSED = frozenset({"not_on_whatsapp", "rejected", "restricted", "reachout_timelocked"})
#: A graceful stop lets the send in flight reach WhatsApp's server (ack >= 1) for at most this long.
DRAIN_S = 10.0
RESET = ("the WhatsApp session was reset (Force Reset) before this message was sent; it was not sent: "
         "send it again once WhatsApp is linked")
PAUSED_FAILURES = ("{n} sends in a row failed, so sending is paused to protect the clinic's number; check WhatsApp "
                   "on the clinic phone, then resume with POST /outbox/resume")
PAUSED_RESTRICTED = ("WhatsApp shows the notice that the account may be restricted, so sending is paused; wait, "
                     "answer the patients' messages, then resume with POST /outbox/resume")


class Sender:
    """The outbox's loop; its store, record and settler are attached when the outbox's file opens."""

    def __init__(self, session: Session, policy: SendPolicy, reminders: Reminders, ledger: AckLedger,
                 clock: Callable[[], float], emit_status: Callable[[dict], None]) -> None:
        self.session, self.policy, self.reminders, self.ledger = session, policy, reminders, ledger
        self.clock, self.emit_status = clock, emit_status
        self.store: OutboxStore | None = None
        self.record: SendingRecord | None = None
        self.settler: Settler | None = None
        self._turn = threading.Lock()  # one turn at a time: a step, or a drain applying what was heard
        self.in_flight: str | None = None  # the message send() is sending now
        self.last_sent: str | None = None  # the last message this run sent (a graceful stop waits for its ack)
        self.reset_at = 0.0
        self.stopped = False
        self._woken = threading.Event()

    def attach(self, store: OutboxStore, record: SendingRecord, settler: Settler) -> None:
        """The outbox's file is open: its store, its exactly-once record and the settler."""
        self.store, self.record, self.settler = store, record, settler

    # -- the loop ---------------------------------------------------------------------------------
    def run(self) -> None:
        """One step at a time; between steps it sleeps until woken or its step's wait is over."""
        while not self.stopped:
            self._woken.clear()  # before the step: a wake during it (or during the wait) ends the next wait
            try:
                wait = self.step()
            except Exception:  # noqa: BLE001 - the sender must outlive a bug in one step
                logger.exception("outbox step failed")
                wait = IDLE_WAIT_S
            self._wait(wait)

    def _wait(self, seconds: float) -> None:
        """Until a wake or `seconds` pass, asleep: one wake-up per turn, not one per 50-ms slice (a hub woken
        20 times a second cost the idle service most of its 1 % of a core)."""
        self.session.sleep(0)  # yield at least once: a step that found nothing to do must not spin the hub
        if not self.stopped:
            self._woken.wait(seconds)

    def wake(self) -> None:
        """Take a turn now (a message came, the chat heard something, the session connected)."""
        self._woken.set()

    def drain(self, timeout: float = DRAIN_S) -> bool:
        """A graceful stop: start no new send; the one in flight gets until WhatsApp's server has it (bounded).

        True when nothing this run sent is left before the server's ack; a stop never re-queues anything.
        """
        self.stopped = True
        self._woken.set()  # the loop sees it now, not at the end of its wait
        deadline = time.monotonic() + timeout
        while True:
            if self.store is not None and self._turn.acquire(blocking=False):  # (between the sender's turns)
                try:
                    self._hear()
                finally:
                    self._turn.release()
            if self._drained() or time.monotonic() >= deadline:
                break
            self.session.sleep(SLICE_S)
        drained = self._drained()
        logger.info("outbox stopped (%s)", "nothing in flight" if drained else
                    "a message still in flight: settled from WhatsApp's record after the restart")
        return drained

    def _drained(self) -> bool:
        if self.in_flight is not None:
            return False
        last = self.last_sent and self.store is not None and self.store.get(self.last_sent)
        return not (last and last["status"] == "sending" and last["wa_id"])

    # -- a turn -----------------------------------------------------------------------------------
    def step(self) -> float:
        """One turn: apply what was heard, settle, send the next message if everything allows; seconds to wait."""
        with self._turn:
            self._hear()
            return self._step()

    def hear(self) -> None:
        """Apply what the ledger holds now (a turn of its own)."""
        with self._turn:
            self._hear()

    def _step(self) -> float:
        if self.stopped or self.session.state is not State.CONNECTED:
            return IDLE_WAIT_S
        if self.settler.settle(self.clock(), self.in_flight):
            self.update_watch()
            return 0.0
        if self.paused:
            return IDLE_WAIT_S
        now = self.clock()
        if self.reminders.quiet_until(now) is not None:
            return IDLE_WAIT_S  # quiet hours: everything waits
        row = self.reminders.next_due(now)
        if row is None:
            return IDLE_WAIT_S
        now = self.clock()
        wait = self.policy.wait(now, self.store.last_settled(), self.store.attempts_since(now - DAY_S))
        if wait > 0:
            return min(wait, IDLE_WAIT_S)
        return 0.0 if self.send(row) else IDLE_WAIT_S

    def _hear(self) -> None:
        """Write what the chat heard since the last turn, and let it move the safeguards."""
        changed, marks = self.ledger.apply(self.store, self.clock())
        for mark in marks:
            if mark == TOOK:
                self.policy.took()
            elif mark == FAILED:
                self._count_failure()
            elif mark == RESTRICTED:
                self.pause("restricted", PAUSED_RESTRICTED)
        if changed:
            self.update_watch()

    def send(self, row: dict) -> bool:
        """Send one message: `sending` with its WhatsApp id is committed first, then the send, then the outcome."""
        if self.stopped:
            return False
        try:
            msg_id = row.get("msg_id") or choose_id(self.session)
        except Exception as exc:  # noqa: BLE001 - not connected any more: the message waits, nothing changed
            logger.info("message %s waits: no WhatsApp id could be chosen (%s)", row["id"],
                        getattr(exc, "reason", None) or type(exc).__name__)
            return False
        started = self.clock()
        if not self.record.begin(row["id"], msg_id, started):
            return False
        self.in_flight = row["id"]
        try:
            sent = (self.session.send_message(row["phone"], row["text"], msg_id=msg_id) if msg_id else
                    self.session.send_message(row["phone"], row["text"]))
        except Exception as exc:  # noqa: BLE001 - every failure is recorded in words
            self._after_failure(row["id"], started, exc)
            return False
        else:
            self.policy.draw_gap()
            self.last_sent = row["id"]
            updated = self.record.added(row["id"], sent.wa_id, sent.to_jid, sent.via,
                                        int(getattr(sent, "ack", 0) or 0), self.clock())
            logger.info("message %s added via %s (ack %s)", row["id"], sent.via, getattr(sent, "ack", 0))
            if updated["status"] != "sending":
                self.emit_status(updated)
            else:
                self.reminders.remember(updated)  # its id is known now: a reply that quotes it is matched
            self._hear()  # acks heard during the send (the same poll may have answered it) find its id now
            self.update_watch()
            return True
        finally:
            self.in_flight = None

    def _after_failure(self, message_id: str, started: float, exc: Exception) -> None:
        reason = getattr(exc, "reason", None)
        self.policy.draw_gap()
        if reason == "reachout_timelocked" and self.reminders.after_timelock_refusal(self.clock()) == "wait":
            self.store.requeue(message_id, self.clock())  # refused before sending: it waits for the lock's end
            logger.info("message %s waits: WhatsApp's reach-out time lock holds", message_id)
            return
        if reason == "reachout_timelocked":
            words = TIMELOCKED
        elif reason == "not_connected" and self.reset_at > started:
            reason, words = "not_connected", RESET
        elif reason is None and isinstance(exc, ValueError):  # refused before anything was sent
            reason, words = "rejected", f"the gateway refused to send it: {exc}"
        elif reason not in REFUSED:  # it may have gone out: WhatsApp's record says (settle.py), never a guess
            self.record.unsure(message_id, self.clock())
            logger.info("message %s: no clear answer (%s); settled from the chat once connected", message_id,
                        reason or type(exc).__name__)
            if reason != "not_connected":
                self._count_failure()
            return
        else:
            words = str(exc)
        row = self.store.fail(message_id, reason, words, self.clock())
        logger.warning("message %s failed: %s", message_id, reason)
        if row is not None:
            self.emit_status(row)
        if reason == "restricted":
            self.pause("restricted", PAUSED_RESTRICTED)
        elif reason in COUNTED_FAILURES:
            self._count_failure()

    # -- the safeguards' pause --------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        """True while sending is paused (the pause is kept in the outbox's file: it outlives a restart)."""
        return self.store.meta("paused_reason") is not None

    def _count_failure(self) -> None:
        if self.policy.failed() and not self.paused:
            self.pause("failures", PAUSED_FAILURES.format(n=self.policy.failures))

    def pause(self, reason: str, words: str) -> None:
        """Stop sending until resume(); tell a person (the notice never holds a phone number or a text)."""
        now = self.clock()
        self.store.set_meta(paused_reason=reason, paused_error=words, paused_at=now)
        logger.warning("sending paused (%s)", reason)
        self.session.emit(Event.OUTBOX_PAUSED, {"reason": reason, "error": words, "paused_at": iso(now)})

    def resume(self) -> None:
        """A person looked at the phone: sending goes on, failures in a row count afresh."""
        self.store.set_meta(paused_reason=None, paused_error=None, paused_at=None)
        self.policy.took()
        logger.info("sending resumed")
        self.wake()

    def update_watch(self) -> None:
        """Tell the session which of our messages' acks can still change (sent in the last WATCH_DAYS)."""
        if self.store is not None:
            self.session.watch_messages(self.store.watched(self.clock() - WATCH_DAYS * DAY_S))
