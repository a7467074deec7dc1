"""Events of the session (status, qr, authenticated, ready, disconnected, messages), delivered in order."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

logger = logging.getLogger(__name__)

Listener = Callable[[str, dict], None]


class EventBus:
    """Queue events while the state lock is held; deliver them later, in order, outside it."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._outbox: deque[tuple[str, dict]] = deque()
        self._lock = threading.Lock()
        self._delivering = threading.Lock()
        self._delivering_thread: int | None = None

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(event, payload)` on every event; returns a function that unsubscribes."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def queue(self, event: str, payload: dict) -> None:
        """Queue an event; a status right after a status replaces it (one per burst of changes)."""
        with self._lock:
            if event == "status" and self._outbox and self._outbox[-1][0] == "status":
                self._outbox.pop()
            self._outbox.append((event, payload))

    def flush(self) -> None:
        """Deliver the queued events in order; never call this while holding the state lock.

        A listener that emits (the outbox fails its queue on a reset) only queues: the delivery under way
        delivers that event next, after every listener has the current one.
        """
        if self._delivering_thread == threading.get_ident():
            return
        with self._delivering:
            self._delivering_thread = threading.get_ident()
            try:
                self._deliver_all()
            finally:
                self._delivering_thread = None

    def _deliver_all(self) -> None:
        while True:
            with self._lock:
                if not self._outbox:
                    return
                event, payload = self._outbox.popleft()
                listeners = list(self._listeners)
            for listener in listeners:
                try:
                    listener(event, payload)
                except Exception:  # noqa: BLE001 - a listener must not break the session
                    logger.exception("event listener failed on %s", event)
