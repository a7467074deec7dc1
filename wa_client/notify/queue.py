"""One background worker per kind of notice: started when work arrives, gone when none waits, items in order.

Both the Apprise alerts (a small bounded queue in memory) and the webhooks (their journal on disk) hand
their work to a `BackgroundQueue`: the session's listener only puts (or writes) and kicks, never waits.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


class BackgroundQueue(Generic[T]):
    """Items handled one at a time, oldest first, by at most one worker started through `spawn`.

    The items live in the queue's own deque (`put`), or elsewhere: then `take` returns the next one (or
    None when none waits) and `handle` removes it once done. `take` is asked again under the lock before
    the worker ends, so an item added meanwhile is never left waiting without a worker.
    """

    def __init__(self, spawn: Callable[..., Any], handle: Callable[[T], None],
                 take: Callable[[], T | None] | None = None, maxlen: int | None = None,
                 on_error: Callable[[Exception], None] | None = None) -> None:
        self.spawn, self._handle, self._on_error = spawn, handle, on_error
        self._items: deque[T] = deque(maxlen=maxlen)
        self._take = take if take is not None else self._pop
        self._lock = threading.Lock()
        self._running = False

    @property
    def running(self) -> bool:
        """Whether a worker runs (or was spawned and has not ended)."""
        with self._lock:
            return self._running

    def add(self, item: T) -> None:
        """Add an item to the queue's own deque (the oldest falls out past `maxlen`); `kick` then starts the worker."""
        with self._lock:
            self._items.append(item)

    def put(self, item: T) -> None:
        """Add an item and make sure a worker runs."""
        self.add(item)
        self.kick()

    def kick(self) -> None:
        """Start the worker unless one runs."""
        with self._lock:
            start = not self._running
            self._running = True
        if start:
            self.spawn(self._work)

    def _pop(self) -> T | None:
        return self._items.popleft() if self._items else None

    def _work(self) -> None:
        """The worker: handle items until none waits; an error stops it until the next kick."""
        try:
            while True:
                item = self._take()
                if item is None:
                    with self._lock:
                        item = self._take()
                        if item is None:
                            self._running = False
                            return
                self._handle(item)
        except Exception as exc:  # noqa: BLE001 - the worker must end cleanly, the next kick starts another
            with self._lock:
                self._running = False
            if self._on_error is not None:
                self._on_error(exc)
            else:
                logger.exception("a background worker stopped")
