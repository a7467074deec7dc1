"""The OpenAPI document's words: what the gateway is, its Socket.IO events and its webhooks.

The event lists come from wa_client/names.py (PUBLIC_EVENTS, in their order) and the QR image URL from
`qr_image_url`: a new public event without words here fails at import, not in a reader's hands.
"""

from __future__ import annotations

import re
import textwrap

from wa_client.names import PUBLIC_EVENTS, Event, qr_image_url

TITLE = "Clinic WhatsApp gateway"
API_VERSION = "1.0.0"
WIDTH = 106  # the document's lines, as written by hand before

#: What each public event carries, in words (None: nothing to say); every public event has an entry.
EVENT_WORDS: dict[Event, str | None] = {
    Event.STATUS: "the `/status` JSON, on every change and right after connecting",
    Event.QR: f'`{{"version", "qr", "png": "{qr_image_url("N")}"}}` for every new code',
    Event.AUTHENTICATED: None,
    Event.READY: '`{"account"}`: the linked account as in `/me`, or null',
    Event.DISCONNECTED: '`{"reason"}`',
    Event.MESSAGE_STATUS: "a message as in `GET /messages/{id}`, on every change of its status",
    Event.MESSAGE_RECEIVED: "a patient's message as in `GET /messages?direction=in`",
    Event.OUTBOX_PAUSED: '`{"reason", "error", "paused_at"}`: sending stopped until `POST /outbox/resume`',
    Event.MESSAGE_CANCELLED: "a message as in `GET /messages/{id}`, now `cancelled`: by `DELETE /messages/{id}` or "
                             "because its patient opted out",
    Event.CONTACT_OPTED_OUT: '`{"phone", "since", "source"}`: as in `GET /opt-outs`',
}
missing = set(PUBLIC_EVENTS) - set(EVENT_WORDS)
if missing:
    raise RuntimeError(f"public events without words in the OpenAPI document: {sorted(missing)}")


def _pushed() -> str:
    """`status` (what it carries), `qr` (...), ... : every public event, in order."""
    return ", ".join(f"`{event}`" + (f" ({EVENT_WORDS[event]})" if EVENT_WORDS[event] else "")
                     for event in PUBLIC_EVENTS)


def _posted() -> str:
    """the `status`, `qr`, ... and `contact.opted_out` events."""
    names = [f"`{event}`" for event in PUBLIC_EVENTS]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _paragraph(text: str) -> str:
    """`text` in lines of at most WIDTH, never broken inside a `code span`."""
    kept = re.sub(r"`[^`]*`", lambda code: code.group(0).replace(" ", "\0"), text)
    return textwrap.fill(kept, WIDTH, break_long_words=False, break_on_hyphens=False).replace("\0", " ")


SOCKET_IO = f"""
## Socket.IO (path `/socket.io/`, default namespace)

With `WA_API_TOKEN` set, connect with `auth: {{token: TOKEN}}`; other connections are refused.

{_paragraph(f"**From the server, to every connected client:** {_pushed()}.")}

**From a client:** `start-session` (alias `generate-qr`), `force-reset`, `get-status`, `pairing-code`
(`{{"phone"}}`), `logout`, `takeover`. Answers to the sender only: `force-reset-success` (`{{"message"}}`) /
`force-reset-error` (`{{"error"}}`), `pairing-code` (`{{"pairing_code"}}`) / `pairing-code-error`,
`logout-success` (the status) / `logout-error`, `takeover-success` (the status) / `takeover-error`,
and `error` (`{{"error"}}`) for an unknown event or a payload that is not one JSON object.

## Webhooks

{_paragraph(f"With `WA_WEBHOOK_URL` set, the {_posted()} events are POSTed there as "
            '`{"id", "event", "data", "sent_at"}`, signed with `X-Signature` under `WA_WEBHOOK_SECRET`.')}
Each event is kept on disk until the receiver answers `2xx`, delivered in order, retried for 24 hours
(also across restarts); `408`, `429`, `3xx` and `5xx` are retried, another `4xx` drops the event.
"""

DESCRIPTION = """Keeps ONE WhatsApp Web session of the clinic alive and lets a CRM drive it.

Every answer is JSON except the page, the PNGs and `/metrics`; every error is `{"error": "..."}`.
With `WA_API_TOKEN` set, send `Authorization: Bearer TOKEN` or `X-API-Key: TOKEN` to every endpoint
except `/healthz`, the pages (`/`, `/docs`), this document and the static files. Without a token the
gateway answers only requests addressed to `localhost`/`127.0.0.1` (403 otherwise).
""" + SOCKET_IO
