"""What the session's parts need from one another, as Protocols: the imports point one way (down to here).

- SessionView: what the command queue reads (the state, the /status picture).
- WorkerPort: what a SessionWorker hands its decisions to (the SessionRunner, the record's one writer).
- RecoveryPort: what Recovery asks of the session (start it again, words for an ending, a count, an event).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from wa_client.page.recognise import Sight
from wa_client.session.decide import Decision
from wa_client.states import Reason, State


class SessionView(Protocol):
    """Read-only: where the session is."""

    @property
    def state(self) -> State: ...

    def status(self) -> dict: ...


class WorkerPort(SessionView, Protocol):
    """The one loop that applies a worker's decisions; every call names the worker's generation."""

    @property
    def unattended(self) -> bool: ...

    def started_at(self) -> float: ...

    def is_current(self, generation: int) -> bool: ...

    def apply(self, generation: int, decision: Decision, sight: Sight) -> bool: ...

    def end(self, generation: int, decision: Decision, then: Callable[[], None] | None = None) -> bool: ...

    def new_qr_cycle(self, generation: int) -> None: ...

    def keep_screenshot(self, png: bytes) -> None: ...

    def count(self, name: str) -> None: ...


class RecoveryPort(Protocol):
    """What Recovery may do: start an unattended session, explain an ending, count, tell; and its clock."""

    spawn: Callable[..., Any]
    sleep: Callable[[float], None]

    def start_session(self, by: dict | None = None, unattended: bool = False, reason: Reason | None = None,
                      expect_since: str | None = None) -> tuple[dict, bool]: ...

    def explain(self, error: str, since: str) -> None: ...

    def count(self, name: str) -> None: ...

    def emit(self, event: str, payload: dict | None = None) -> None: ...
