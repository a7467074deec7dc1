"""Messaging through the linked account: send, ask whether a number has WhatsApp, hear acks and replies.

Two channels, as for reading the page (docs/whatsapp-web.md, "Messaging"): WhatsApp's own modules
first (WAWebWidFactory, WAWebQueryExistsJob, WAWebCollections, WAWebSendMsgChatAction), the page
route `/send?phone=DIGITS&text=...` and its Send button when the modules are absent. The session
worker alone runs these scripts; the CRM's side (queue, safeguards) lives outside wa_client's
session code and talks to it through WhatsAppClient.send_message / contact_exists /
watch_messages / set_chat_listener.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from .commands import ActionError

logger = logging.getLogger(__name__)

#: Why a send (or a contact look-up) did not happen, in the CRM's words.
SEND_REASONS = frozenset({"not_on_whatsapp", "not_connected", "rejected", "restricted", "unavailable"})
#: WhatsApp's ack values (Msg.ack).
ACK_ERROR, ACK_PENDING, ACK_SENT, ACK_DELIVERED, ACK_READ, ACK_PLAYED = -1, 0, 1, 2, 3, 4
MAX_TEXT = 4096  # characters WhatsApp accepts in one text message (the CRM checks it before queueing)


@dataclass(frozen=True)
class Ack:
    """A message's delivery state as WhatsApp reports it: -1 error, 0 pending, 1 sent, 2 delivered, 3 read, 4 played."""

    wa_id: str  # Msg.id._serialized
    ack: int


@dataclass(frozen=True)
class Incoming:
    """A patient's message that reached the linked account."""

    wa_id: str  # Msg.id._serialized
    from_phone: str | None  # "+E164", or None when WhatsApp gives only an @lid id
    from_jid: str  # e.g. "5511988880000@c.us" or "1234567890@lid"
    text: str
    time: float  # epoch seconds (Msg.t)
    kind: str  # WhatsApp's type ("chat", "image", ...)


@dataclass(frozen=True)
class Sent:
    """A message WhatsApp has added to the chat (not yet sent to the server: its acks follow)."""

    wa_id: str  # Msg.id._serialized: the id the acks name
    to_jid: str  # the id it was sent to (may end in @lid)
    via: str  # "modules" | "page"


class SendError(ActionError):
    """A send or a look-up that did not happen; `.reason` says why in one word, the message in words."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        if reason not in SEND_REASONS:
            raise ValueError(f"unknown send error reason {reason!r}")
        super().__init__(message or reason.replace("_", " "))
        self.reason = reason


#: The listener the worker calls after a poll that saw acks, incoming messages or a change of `restricted`.
ChatListener = Callable[[tuple[Ack, ...], tuple[Incoming, ...], bool], None]


def phone_from_jid(jid: str) -> str | None:
    """'5511988880000@c.us' -> '+5511988880000'; None for an @lid (or any other) id."""
    user, _, server = str(jid).partition("@")
    user = user.split(":", 1)[0]
    if server not in ("c.us", "s.whatsapp.net") or not user.isdigit():
        return None
    return "+" + user
