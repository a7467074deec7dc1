"""One home for each name the outside reads: the session's events, which of them are public, and the QR image URL.

Socket.IO (web/events.py), the webhooks (wa_client/notify/webhooks.py), the alerts and metrics (Event members),
the OpenAPI document (web/openapi/description.py) and the bundled page (templates/index.html writes `page_names()`
as JSON, static/app.js reads it) all read these; nothing else spells them.
"""

from __future__ import annotations

from enum import StrEnum


class Event(StrEnum):
    """Every event the session's bus carries (a StrEnum: each member is its own name as a string)."""

    # public: pushed to Socket.IO clients and POSTed to the webhook
    STATUS = "status"
    QR = "qr"
    AUTHENTICATED = "authenticated"
    READY = "ready"
    DISCONNECTED = "disconnected"
    MESSAGE_STATUS = "message.status"
    MESSAGE_RECEIVED = "message.received"
    OUTBOX_PAUSED = "outbox.paused"
    MESSAGE_CANCELLED = "message.cancelled"
    CONTACT_OPTED_OUT = "contact.opted_out"
    # internal: heard inside the process (metrics, notifications), never sent out
    BROWSER_STARTED = "browser_started"
    RECOVERY_GAVE_UP = "recovery_gave_up"
    WEBHOOK_DROPPED = "webhook.dropped"
    OUTBOX_TIMELOCKED = "outbox.timelocked"
    # internal: what the session's chat poll heard (wa_client/chat/hub.py publishes, the outbox's ledger listens)
    CHAT_ACKS = "chat.acks"  # {"acks": tuple[Ack, ...]}
    CHAT_INCOMING = "chat.incoming"  # {"messages": tuple[Incoming, ...]}
    CHAT_RESTRICTED = "chat.restricted"  # {"restricted": bool}, after every poll that heard something


#: The events that leave the process, in the order the API documents them.
PUBLIC_EVENTS: tuple[Event, ...] = (
    Event.STATUS, Event.QR, Event.AUTHENTICATED, Event.READY, Event.DISCONNECTED, Event.MESSAGE_STATUS,
    Event.MESSAGE_RECEIVED, Event.OUTBOX_PAUSED, Event.MESSAGE_CANCELLED, Event.CONTACT_OPTED_OUT,
)

#: The path of the QR image; `?v=` names the version, so a cached image is never a stale code.
QR_IMAGE_PATH = "/qr.png"
#: The QR image's URL with `{version}` to fill in: the one spelling of it (Python fills it, so does the page).
QR_IMAGE_URL = QR_IMAGE_PATH + "?v={version}"


def qr_image_url(version: int | str) -> str:
    """The URL of the PNG of QR `version` (what the `qr` event's `png` says and the page fetches)."""
    return QR_IMAGE_URL.format(version=version)


def page_names() -> dict:
    """The names the bundled page reads (the template writes them as JSON for static/app.js)."""
    return {"events": {event.name: event.value for event in PUBLIC_EVENTS}, "qr_image_url": QR_IMAGE_URL}
