"""The durable outbox: one message at a time to WhatsApp, with the safeguards a clinic's number needs.

A message is stored (SQLite, in the data directory) before the CRM gets its id, marked `sending` with its
WhatsApp id before the send starts, `sent` once WhatsApp's server has it (ack >= 1), and settled from
WhatsApp's own record when a send was left unsure (settle.py: exactly once through any stop). Sends
happen only while the session is `connected`, never closer than the gap
(`WA_SEND_GAP_S`, counted from the end of the previous send), never over the per-minute and per-day
caps, and stop (paused, a person told) after several failures in a row or when WhatsApp shows its
restriction notice, until `resume()`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wa_client.chat import hub as chat
from wa_client.clock import fingerprint, iso
from wa_client.config import Settings
from wa_client.config.values import parse_gap
from wa_client.disk import data_dir
from wa_client.messaging.reminders import TIMELOCKED, Reminders
from wa_client.messaging.settle import LookupRow, SendingRecord, Settler, choose_id
from wa_client.messaging.store import IdempotencyConflict, OutboxStore, body_hash, message_view, received_view
from wa_client.states import Reason, State

logger = logging.getLogger(__name__)

__all__ = ["Outbox", "IdempotencyConflict", "body_hash", "message_view"]

IDLE_WAIT_S = 1.0
SLICE_S = 0.05
WATCH_DAYS = 7
DAY_S = 86400.0
#: Reasons a failed send counts toward the pause (not_on_whatsapp is the number's fault, not the account's).
COUNTED_FAILURES = frozenset({"rejected", "unavailable", "unconfirmed"})
RESET = ("the WhatsApp session was reset (Force Reset) before this message was sent; it was not sent: "
         "send it again once WhatsApp is linked")
#: A graceful stop lets the send in flight reach WhatsApp's server (ack >= 1) for at most this long.
DRAIN_S = 10.0
#: Reasons that say WhatsApp did not take the message: failed at once (anything else is settled from the chat).
REFUSED = frozenset({"not_on_whatsapp", "rejected", "restricted", "reachout_timelocked"})
UNCONFIRMED_RESET = ("the WhatsApp session was reset (Force Reset) while this message was being sent, so its chat "
                     "can no longer be read to see whether it went out; it was not sent again: look at the chat on "
                     "the clinic phone before sending it again")
PAUSED_FAILURES = ("{n} sends in a row failed, so sending is paused to protect the clinic's number; check WhatsApp "
                   "on the clinic phone, then resume with POST /outbox/resume")
PAUSED_RESTRICTED = ("WhatsApp shows the notice that the account may be restricted, so sending is paused; wait, "
                     "answer the patients' messages, then resume with POST /outbox/resume")


class Outbox:
    """Stores, sends one at a time, follows acks and keeps what patients write; see the module's words."""

    def __init__(self, client: Any, settings: Settings, path: Path | None = None,
                 rng: random.Random | None = None, clock: Callable[[], float] = time.time) -> None:
        self.client, self.settings, self.clock = client, settings, clock
        self.path = Path(path) if path else data_dir(settings) / "outbox.sqlite3"
        self.rng = rng or random.Random()
        self.gap = parse_gap(settings.send_gap_s)
        self.store: OutboxStore | None = None
        self.reminders = Reminders(client, settings, clock)  # send_at, quiet hours, STOP, replies, reach-out lock
        self._gap_s = 0.0
        self._failures = 0
        self._restricted = False
        self._reset_at = 0.0
        self._woken = False
        self._stopped = False
        self._running = False
        self._acks_lock = threading.Lock()
        self._open_lock = threading.Lock()
        self._early_acks: dict[str, int] = {}  # acks that came before send() had stored the WhatsApp id
        self._in_flight: str | None = None  # the message send() is sending now
        self._last_sent: str | None = None  # the last message this run sent (a graceful stop waits for its ack)
        self.record: SendingRecord | None = None
        self.settler: Settler | None = None
        client.subscribe(self._on_session_event)  # a reset or a connect opens the outbox when it matters

    # -- life -----------------------------------------------------------------------------------
    def open(self) -> Outbox:
        """Open the file, note what a stop left `sending` (settled once connected), listen to the session."""
        if self.store is not None:
            return self
        with self._open_lock:  # a request and a session event may come at once
            if self.store is not None:
                return self
            store = OutboxStore(self.path)
            self._gap_s = self.draw_gap()
            self.record = SendingRecord(store)
            self.settler = Settler(self.client, self.record, self._emit_status,
                                   getattr(chat, "Lookup", LookupRow), logger.info)
            self.reminders.open(self.path)
            self.store = store
        left = store.counts().get("sending", 0)
        if left:
            logger.info("%d message(s) were being sent when the gateway stopped: settled from WhatsApp's record "
                        "once connected", left)
        self.client.set_chat_listener(self.on_chat)
        self._update_watch()
        return self

    def start(self) -> Outbox:
        """Open, then run the sender as a background task of the client (eventlet-safe); once."""
        self.open()
        if not self._running:
            self._running = True
            self.client.spawn(self.run)
        return self

    def stop(self) -> None:
        """Stop the sender after its current step."""
        self._stopped = True

    def drain(self, timeout: float = DRAIN_S) -> bool:
        """A graceful stop: start no new send; the one in flight gets until WhatsApp's server has it (bounded).

        True when nothing this run sent is left before the server's ack; a stop never re-queues anything.
        """
        self._stopped = True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._drained():
            self.client.sleep(SLICE_S)
        drained = self._drained()
        logger.info("outbox stopped (%s)", "nothing in flight" if drained else
                    "a message still in flight: settled from WhatsApp's record after the restart")
        return drained

    def _drained(self) -> bool:
        if self._in_flight is not None:
            return False
        last = self._last_sent and self.store is not None and self.store.get(self._last_sent)
        return not (last and last["status"] == "sending" and last["wa_id"])

    def run(self) -> None:
        """The sender: one step at a time, waiting in short slices (the hub is never blocked)."""
        while not self._stopped:
            try:
                wait = self.step()
            except Exception:  # noqa: BLE001 - the sender must outlive a bug in one step
                logger.exception("outbox step failed")
                wait = IDLE_WAIT_S
            self._wait(wait)

    def _wait(self, seconds: float) -> None:
        self.client.sleep(0)  # yield at least once: a step that found nothing to do must not spin the hub
        deadline = time.monotonic() + seconds
        while not self._stopped and not self._woken and time.monotonic() < deadline:
            self.client.sleep(min(SLICE_S, max(0.0, deadline - time.monotonic())))
        self._woken = False

    def wake(self) -> None:
        """Look at the queue now (a message came, the session connected)."""
        self._woken = True

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
        self.open().store.set_meta(paused_reason=None, paused_error=None, paused_at=None)
        self._failures = 0
        logger.info("sending resumed")
        self.wake()
        return self.summary()

    @property
    def paused(self) -> bool:
        """True while sending is paused."""
        return self.open().store.meta("paused_reason") is not None

    # -- the sender -----------------------------------------------------------------------------
    def draw_gap(self) -> float:
        """The next gap, drawn from WA_SEND_GAP_S with the outbox's random generator."""
        low, high = self.gap
        return low if low == high else self.rng.uniform(low, high)

    def safeguard_wait(self, now: float) -> float:
        """Seconds until the gap and the caps allow the next send (0: now)."""
        store = self.store
        waits = [0.0]
        last = store.last_settled()
        if last is not None:
            waits.append(last + self._gap_s - now)
        for cap, window in ((self.settings.send_per_minute, 60.0), (self.settings.send_per_day, DAY_S)):
            if cap > 0:
                times = store.attempts_since(now - window)
                if len(times) >= cap:
                    waits.append(times[len(times) - cap] + window - now)
        return max(waits)

    def step(self) -> float:
        """Send the next message if everything allows it; the seconds to wait before the next step."""
        self.open()
        if self._stopped or self.client.state is not State.CONNECTED:
            return IDLE_WAIT_S
        if self.settler.settle(self.clock(), self._in_flight):
            self._update_watch()
            return 0.0
        if self.paused:
            return IDLE_WAIT_S
        now = self.clock()
        if self.reminders.quiet_until(now) is not None:
            return IDLE_WAIT_S  # quiet hours: everything waits
        row = self.reminders.next_due(now)
        if row is None:
            return IDLE_WAIT_S
        wait = self.safeguard_wait(self.clock())
        if wait > 0:
            return min(wait, IDLE_WAIT_S)
        return 0.0 if self.send(row) else IDLE_WAIT_S

    def send(self, row: dict) -> bool:
        """Send one message: `sending` with its WhatsApp id is committed first, then the send, then the outcome."""
        if self._stopped:
            return False
        try:
            msg_id = row.get("msg_id") or choose_id(self.client)
        except Exception as exc:  # noqa: BLE001 - not connected any more: the message waits, nothing changed
            logger.info("message %s waits: no WhatsApp id could be chosen (%s)", row["id"],
                        getattr(exc, "reason", None) or type(exc).__name__)
            return False
        started = self.clock()
        if not self.record.begin(row["id"], msg_id, started):
            return False
        self._in_flight = row["id"]
        try:
            sent = (self.client.send_message(row["phone"], row["text"], msg_id=msg_id) if msg_id else
                    self.client.send_message(row["phone"], row["text"]))
        except Exception as exc:  # noqa: BLE001 - every failure is recorded in words
            self._after_failure(row["id"], started, exc)
            return False
        else:
            self._gap_s = self.draw_gap()
            self._last_sent = row["id"]
            with self._acks_lock:
                updated = self.record.added(row["id"], sent.wa_id, sent.to_jid, sent.via,
                                            int(getattr(sent, "ack", 0) or 0), self.clock())
                early = self._early_acks.pop(sent.wa_id, None)
            logger.info("message %s added via %s (ack %s)", row["id"], sent.via, getattr(sent, "ack", 0))
            if updated["status"] != "sending":
                self._emit_status(updated)
            else:
                self.reminders.remember(updated)  # its id is known now: a reply that quotes it is matched
            if early is not None:
                self._apply_acks([_Ack(sent.wa_id, early)], self.clock())
            self._update_watch()
            return True
        finally:
            self._in_flight = None

    def _after_failure(self, message_id: str, started: float, exc: Exception) -> None:
        reason = getattr(exc, "reason", None)
        store = self.store
        self._gap_s = self.draw_gap()
        if reason == "reachout_timelocked" and self.reminders.after_timelock_refusal(self.clock()) == "wait":
            store.requeue(message_id, self.clock())  # WhatsApp refused it before sending: it waits for the lock's end
            logger.info("message %s waits: WhatsApp's reach-out time lock holds", message_id)
            return
        if reason == "reachout_timelocked":
            words = TIMELOCKED
        elif reason == "not_connected" and self._reset_at > started:
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
        row = store.fail(message_id, reason, words, self.clock())
        logger.warning("message %s failed: %s", message_id, reason)
        if row is not None:
            self._emit_status(row)
        if reason == "restricted":
            self.pause("restricted", PAUSED_RESTRICTED)
        elif reason in COUNTED_FAILURES:
            self._count_failure()

    def _count_failure(self) -> None:
        self._failures += 1
        limit = self.settings.send_pause_after_failures
        if limit and self._failures >= limit and not self.paused:
            self.pause("failures", PAUSED_FAILURES.format(n=self._failures))

    def pause(self, reason: str, words: str) -> None:
        """Stop sending until resume(); tell a person (the notice never holds a phone number or a text)."""
        now = self.clock()
        self.open().store.set_meta(paused_reason=reason, paused_error=words, paused_at=now)
        logger.warning("sending paused (%s)", reason)
        self.client.emit("outbox.paused", {"reason": reason, "error": words, "paused_at": iso(now)})

    # -- what the session tells ----------------------------------------------------------------
    def on_chat(self, acks: Iterable[Any], incoming: Iterable[Any], restricted: bool) -> None:
        """The chat listener (on the session worker's thread): store, emit, never block."""
        store = self.open().store
        now = self.clock()
        changed = self._apply_acks(acks, now)
        for message in incoming:
            row = store.add_incoming(message.wa_id, self.reminders.sender_phone(message), message.from_jid,
                                     message.text, message.time, message.kind, now)
            if row is not None:
                row = self.reminders.on_received(row, message)
                logger.info("message %s received (from %s)", row["id"], fingerprint(message.from_jid))
                self.client.emit("message.received", received_view(row))
        if restricted and not self._restricted:
            self.pause("restricted", PAUSED_RESTRICTED)
        self._restricted = restricted
        if changed:
            self._update_watch()

    def _apply_acks(self, acks: Iterable[Any], now: float) -> bool:
        """Move messages by their acks (an ack for an id not stored yet waits for send() to store it)."""
        changed = False
        for ack in acks:
            if ack.ack >= 1:
                self._failures = 0  # the server took a message: the failures are no longer in a row
            with self._acks_lock:
                row = self.store.apply_ack(ack.wa_id, ack.ack, now)
                if row is None and not self.store.knows(ack.wa_id):
                    if len(self._early_acks) > 1000:
                        self._early_acks.clear()
                    self._early_acks[ack.wa_id] = ack.ack
            if row is not None:
                changed = True
                self._emit_status(row)
                if row["status"] == "failed":
                    self._count_failure()
        return changed

    def _on_session_event(self, event: str, payload: dict) -> None:
        """A reset fails what waits (a new link may be another account); connecting wakes the sender."""
        if event != "status":
            return
        if payload.get("state") == State.IDLE.value and payload.get("reason") == Reason.FORCE_RESET.value:
            self._reset_at = self.clock()
            for row in self.open().store.fail_all("queued", "not_connected", RESET, self._reset_at):
                self._emit_status(row)
            for row in self.record.fail_left(UNCONFIRMED_RESET, self._reset_at, self._in_flight):
                self._emit_status(row)  # the account that had them is unlinked: its chats can no longer be read
        elif payload.get("state") == State.CONNECTED.value:
            self.start()
            self._update_watch()
            self.wake()

    def _emit_status(self, row: dict) -> None:
        self.reminders.remember(row)
        self.client.emit("message.status", message_view(row))

    def _update_watch(self) -> None:
        if self.store is not None:
            self.client.watch_messages(self.store.watched(self.clock() - WATCH_DAYS * DAY_S))


@dataclass(frozen=True)
class _Ack:
    wa_id: str
    ack: int

