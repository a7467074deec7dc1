"""What messaging needs from the session, and nothing more: the port the outbox, its sender and its ledger take.

WhatsAppClient (wa_client/session) fits it; the unit tests' fakes (tests/reminder_fakes.py) fit it too. Messaging
imports the session's record types (wa_client/chat/hub.py), never the session itself: the import points one way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from wa_client.chat.hub import Found, Lookup, Sent
from wa_client.states import State

#: A listener of the session's bus: (event name, payload).
Listener = Callable[[str, dict], None]


class Session(Protocol):
    """The one WhatsApp session, as messaging sees it: send, key, look up, watch, and its bus."""

    @property
    def state(self) -> State:
        """The session's state now (the sender sends only while `connected`)."""

    def send_message(self, phone_digits: str, text: str, timeout: float = ..., by: dict | None = None,
                     msg_id: str | None = None) -> Sent:
        """Add one text message to the chat under `msg_id` (chosen before); SendError when it did not happen."""

    def new_message_id(self, timeout: float = ...) -> str:
        """WhatsApp's id for the next message (WAWebMsgKey.newId()); SendError `unavailable` on the page route."""

    def find_sent(self, lookups: list[Lookup], timeout: float = ...) -> list[Found]:
        """What WhatsApp's own record of each chat says of messages left `sending`."""

    def reachout_timelock(self) -> dict:
        """The reach-out time lock as the page last said: {"active": bool, "until": epoch seconds | None}."""

    def contact_exists(self, phone_digits: str, timeout: float = ...) -> bool:
        """Whether a number has WhatsApp."""

    def watch_messages(self, wa_ids: Iterable[str]) -> None:
        """The WhatsApp ids whose acks every poll re-reads (replaces the previous set)."""

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Hear every event of the session's bus, in order (status, chat.acks, chat.incoming, ...)."""

    def emit(self, event: str, payload: dict | None = None) -> None:
        """Publish an event on the session's bus (message.status, outbox.paused, ...)."""

    def spawn(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run `fn(*args)` as a background task of the session (eventlet-safe)."""

    def sleep(self, seconds: float) -> None:
        """Sleep the session's way (yields to the hub under eventlet)."""
