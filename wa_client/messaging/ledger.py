"""The ack ledger: what the session's chat polls heard (acks, patients' messages, the restriction notice), taken
from the session's bus as events and written to the outbox's file in the sender's turn.

The bus delivers on the session worker's thread: the ledger only queues there (never blocks, never writes).
The sender applies what was queued at the start of each step and right after a send stored its WhatsApp id,
so an ack is never applied before the row it names knows that id: the ack that once raced a send (it came in
the same poll that answered the send) waits in the queue until the send is recorded.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from wa_client.clock import fingerprint
from wa_client.messaging.reminders import Reminders
from wa_client.messaging.store import OutboxStore, received_view
from wa_client.names import Event

logger = logging.getLogger(__name__)

#: The bus events the ledger takes.
HEARD = frozenset({Event.CHAT_ACKS, Event.CHAT_INCOMING, Event.CHAT_RESTRICTED})
#: At most this many events wait for the sender (only a stopped sender lets them pile up; the oldest go first).
MAX_WAITING = 10_000
#: What applying an event tells the sender's safeguards, in order: a success, a failure, the notice appeared.
TOOK, FAILED, RESTRICTED = "took", "failed", "restricted"


class AckLedger:
    """Queues the session's chat events (a bus listener); `apply` writes them and says what they mean."""

    def __init__(self, reminders: Reminders, emit: Callable[[str, dict], None],
                 emit_status: Callable[[dict], None], wake: Callable[[], None] = lambda: None) -> None:
        self.reminders, self.emit, self.emit_status, self.wake = reminders, emit, emit_status, wake
        self._waiting: deque[tuple[str, dict]] = deque(maxlen=MAX_WAITING)
        self._lock = threading.Lock()
        self._restricted = False  # the notice as the last poll showed it (a new pause only when it appears)

    def __call__(self, event: str, payload: dict) -> None:
        """The bus listener (the session's thread): queue what the chat heard and wake the sender."""
        if event in HEARD:
            with self._lock:
                self._waiting.append((event, payload))
            self.wake()

    def waiting(self) -> int:
        """How many events wait to be applied."""
        with self._lock:
            return len(self._waiting)

    def apply(self, store: OutboxStore, now: float) -> tuple[bool, list[str]]:
        """Write what waits, in order: (whether a message of ours moved, what it means for the safeguards)."""
        changed, marks = False, []
        while True:
            with self._lock:
                if not self._waiting:
                    return changed, marks
                event, payload = self._waiting.popleft()
            if event == Event.CHAT_ACKS:
                changed = self._acks(store, payload.get("acks") or (), now, marks) or changed
            elif event == Event.CHAT_INCOMING:
                self._incoming(store, payload.get("messages") or (), now)
            elif event == Event.CHAT_RESTRICTED:
                restricted = bool(payload.get("restricted"))
                if restricted and not self._restricted:
                    marks.append(RESTRICTED)
                self._restricted = restricted

    def _acks(self, store: OutboxStore, acks: Any, now: float, marks: list[str]) -> bool:
        """Move our messages by their acks (forward only); an ack for an id that is not ours changes nothing."""
        changed = False
        for ack in acks:
            if ack.ack >= 1:
                marks.append(TOOK)  # the server took a message: the failures are no longer in a row
            row = store.apply_ack(ack.wa_id, ack.ack, now)
            if row is not None:
                changed = True
                self.emit_status(row)
                if row["status"] == "failed":
                    marks.append(FAILED)
        return changed

    def _incoming(self, store: OutboxStore, messages: Any, now: float) -> None:
        """Keep each patient's message once, match it to ours, act on a STOP, tell the CRM."""
        for message in messages:
            row = store.add_incoming(message.wa_id, self.reminders.sender_phone(message), message.from_jid,
                                     message.text, message.time, message.kind, now)
            if row is not None:
                row = self.reminders.on_received(row, message)
                logger.info("message %s received (from %s)", row["id"], fingerprint(message.from_jid))
                self.emit(Event.MESSAGE_RECEIVED, received_view(row))
