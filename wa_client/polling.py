"""Poll until a condition holds or a deadline passes: the one waiting loop of the gateway."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll_until(check: Callable[[], T], timeout: float, interval: float = 0.05,
               sleep: Callable[[float], None] = time.sleep) -> T:
    """Call `check` until it returns something truthy or `timeout` seconds pass; its last value either way."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() >= deadline:
            return value
        sleep(interval)
