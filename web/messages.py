"""Messages for the CRM: queue a reminder, follow it to read, read the patients' replies, ask about a number."""

from __future__ import annotations

import logging
import sqlite3

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, request

from wa_client import State, disk
from wa_client.chat.hub import MAX_TEXT
from wa_client.jobs import normalize_phone
from wa_client.messaging.contacts import ContactBook
from wa_client.messaging.outbox import IdempotencyConflict, Outbox
from wa_client.messaging.policy import parse_send_at
from wa_client.messaging.reminders import OptedOut
from web import get_client

logger = logging.getLogger(__name__)

OUTBOX = "wa_outbox"
CONTACTS = "wa_contacts"
#: Reminders are short; WhatsApp allows 65536 characters, the body limit (16 KiB) about 4000 anyway.
MAX_TEXT_CHARS = MAX_TEXT
MAX_KEY_CHARS = 200
#: Whitespace as JSON Schema's (ECMAScript's) `\s` knows it: a text of only these is empty.
BLANKS = " \t\n\v\f\r\xa0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff" + "".join(map(chr, range(0x2000, 0x200B)))
FIELDS = frozenset({"phone", "text", "wait", "send_at"})
LIST_LIMIT = 500
#: The largest cursor (SQLite's largest integer): a bigger `after` is refused in words, not a 500.
MAX_CURSOR = 2**63 - 1
STATUSES = ("queued", "sending", "sent", "delivered", "read", "failed", "cancelled")
HOW = ('send {"phone": "+55 11 99999 0000", "text": "..."} (and optionally "wait": false, or "send_at": '
       '"2026-12-04T09:00:00-03:00")')
NOT_CONNECTED = ("WhatsApp is not connected (the session is {state}); the message was not stored. Send it without "
                 '"wait": false to let it wait in the queue, or link WhatsApp first')
PAUSED = "sending is paused ({reason}); the message was not stored. {words}"
OPTED_OUT = ("{phone} opted out of messages ({source}, since {since}); nothing was stored. Write to them again "
             "only if they ask: DELETE /opt-outs/{phone} records that they opted in")
SEND_AT_NULL = '"send_at" must be a date and time in ISO-8601 with an offset; leave it out to send as soon as allowed'
CANCEL_TOO_LATE = "this message is already being sent, or was sent or ended: it can no longer be cancelled"
KEY_REUSED = ("this Idempotency-Key was used for a different message (another phone or text); nothing was stored. "
              "Use a new key for a new message")
CONTACT_NOT_CONNECTED = "WhatsApp is not connected (the session is {state}); only a connected session can ask"

messages = Blueprint("messages", __name__)


def init_app(app: Flask, outbox: Outbox, contacts: ContactBook) -> None:
    """Register the routes over the outbox and the contact book that create_app built beside the client."""
    app.extensions[OUTBOX] = outbox
    app.extensions[CONTACTS] = contacts
    app.register_blueprint(messages)


def get_outbox() -> Outbox:
    """The app's outbox, opened."""
    return current_app.extensions[OUTBOX].open()


def _body() -> dict:
    body = request.get_json(force=True, silent=True)  # the guards have refused malformed JSON already
    if not isinstance(body, dict):
        abort(400, HOW)
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        abort(400, f"unknown field(s) {', '.join(repr(k[:40]) for k in unknown[:5])}; {HOW}")
    return body


def _text(body: dict) -> str:
    text = body.get("text")
    if not isinstance(text, str) or not text.strip(BLANKS) or not text.strip():
        abort(400, f'"text" must be a non-empty string; {HOW}')
    if len(text) > MAX_TEXT_CHARS:
        abort(400, f'"text" has {len(text)} characters; at most {MAX_TEXT_CHARS} are accepted')
    return text


def _phone(raw: object) -> str:
    try:
        return normalize_phone(raw)
    except ValueError as exc:
        abort(400, str(exc))


def _key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_CHARS:
        abort(400, f"Idempotency-Key must have 1 to {MAX_KEY_CHARS} characters")
    return key


@messages.post("/messages")
def send_message() -> tuple[Response, int]:
    """Queue a message: 202 {"id", "status": "queued"}; the same Idempotency-Key and body again: 200, same id."""
    body = _body()
    phone, text, key = _phone(body.get("phone")), _text(body), _key()
    wait = body.get("wait", True)
    if not isinstance(wait, bool):
        abort(400, '"wait" must be true or false')
    outbox = get_outbox()
    try:
        if "send_at" in body and body["send_at"] is None:
            raise ValueError(SEND_AT_NULL)
        send_at = parse_send_at(body.get("send_at"), outbox.clock())
        outbox.reminders.check_recipient(phone)
    except OptedOut as exc:
        return jsonify(error=OPTED_OUT.format(**exc.record)), 409
    except ValueError as exc:
        abort(400, str(exc))
    if not wait and not (key and outbox.made_by(key)):  # a retry of a stored message gets it back below
        state = get_client().state
        if state is not State.CONNECTED:
            return jsonify(error=NOT_CONNECTED.format(state=state.value)), 409
        summary = outbox.summary()
        if summary["paused"]:
            return jsonify(error=PAUSED.format(reason=summary["pause_reason"], words=summary["pause_error"])), 409
    try:
        view, created = outbox.submit(phone, text, key, send_at)
    except IdempotencyConflict:
        return jsonify(error=KEY_REUSED), 409
    except (sqlite3.Error, OSError) as exc:
        if not disk.is_disk_full(exc):
            raise
        logger.error("a message was refused: the disk of %s is full", outbox.path.parent)
        return jsonify(error=disk.FULL.format(path=outbox.path.parent)), 507
    response = jsonify(view)
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/messages/{view['id']}"
    return response, 202 if created else 200


@messages.get("/messages/<message_id>")
def message(message_id: str) -> Response | tuple[Response, int]:
    """One message: status, reason and error in words, and its times."""
    view = get_outbox().message(message_id[:64])
    if view is None:
        return jsonify(error="no message has this id"), 404
    return jsonify(view)


@messages.delete("/messages/<message_id>")
def cancel(message_id: str) -> tuple[Response, int]:
    """Cancel a waiting message: 200 with it (cancelled); 409 once it is being sent or later; 404 unknown."""
    outcome, view = get_outbox().cancel(message_id[:64])
    if outcome == "unknown":
        return jsonify(error="no message has this id"), 404
    if outcome == "too_late":
        return jsonify(error=CANCEL_TOO_LATE), 409
    return jsonify(view), 200


def _whole(name: str, default: int, low: int, high: int, words: str) -> int:
    """An integer query parameter within [low, high]; 400 in words otherwise (never a 500)."""
    raw = request.args.get(name, str(default)).strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or not low <= int(raw) <= high:
        abort(400, f"{name} must be a whole number from {low} to {high} ({words})")
    return int(raw)


@messages.get("/messages")
def listing() -> Response:
    """Messages received (direction=in, the default) or queued (direction=out) after a cursor, oldest first."""
    status = request.args.get("status")
    direction = request.args.get("direction", "in" if status is None else "out")
    if direction not in ("in", "out"):
        abort(400, "direction must be 'in' (received) or 'out' (queued by the CRM)")
    if status is not None and status not in STATUSES:
        abort(400, f"status is one of {', '.join(STATUSES)} (the CRM's own messages; received ones have none)")
    after = _whole("after", 0, 0, MAX_CURSOR, "the last seq you have, 0 for all")
    limit = _whole("limit", 100, 1, LIST_LIMIT, "how many to answer at most")
    found = [] if direction == "in" and status else get_outbox().listing(direction, after, limit, status)
    return jsonify(messages=found, next_after=found[-1]["seq"] if found else after)


@messages.get("/outbox")
def outbox_summary() -> Response:
    """Whether sending is paused (and why), and how many messages are in each status."""
    return jsonify(get_outbox().summary())


@messages.post("/outbox/resume")
def resume() -> Response:
    """Resume sending after a pause (after a person has looked at the clinic phone)."""
    return jsonify(get_outbox().resume())


@messages.get("/contacts/<phone>")
def contact(phone: str) -> tuple[Response, int]:
    """Whether a number has WhatsApp: {"phone": "+E164", "on_whatsapp"} (remembered for WA_CONTACT_CACHE_S)."""
    digits = _phone(phone)
    client = get_client()
    if client.state is not State.CONNECTED:
        return jsonify(error=CONTACT_NOT_CONNECTED.format(state=client.state.value)), 409
    try:
        known = current_app.extensions[CONTACTS].on_whatsapp(digits)
    except Exception as exc:  # noqa: BLE001 - SendError (not_connected, unavailable) or no answer in time
        reason = getattr(exc, "reason", None)
        if reason == "not_connected":
            return jsonify(error=str(exc)), 409
        logger.warning("contact lookup failed: %s", reason or type(exc).__name__)
        return jsonify(error=str(exc) or "WhatsApp did not answer; try again"), 503
    return jsonify(phone="+" + digits, on_whatsapp=known), 200
