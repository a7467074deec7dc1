"""The phone: a JSON API that tests drive, and a page for humans (`make demo`)."""
from __future__ import annotations

import logging
import re

from flask import Blueprint, Response, abort, jsonify, render_template

from .config import CHOICES, ConfigError
from .jsonio import json_object, string_field
from .web import get_account

logger = logging.getLogger(__name__)

bp = Blueprint("phone", __name__, url_prefix="/phone")

NOT_LIVE = "this QR code is not live (expired, replaced or never shown)"


@bp.get("")
def phone_page() -> str:
    """The phone's screen, for humans."""
    return render_template("phone.html")


@bp.get("/state")
def state() -> Response:
    """Linked devices, live refs and codes, open pages, recent events, traps clicked, the config."""
    return jsonify(get_account().snapshot())


@bp.post("/scan")
def scan() -> tuple[Response, int]:
    """Scan a QR payload: links the page showing it, only if that exact payload is live."""
    payload = string_field(json_object(), "payload")
    if not get_account().scan(payload):
        return jsonify(error=NOT_LIVE), 409
    return jsonify(ok=True), 200


@bp.post("/pairing-code")
def pairing_code() -> tuple[Response, int]:
    """Type a pairing code ('ABCD-EFGH', commas and dashes optional) on the phone."""
    code = string_field(json_object(), "code")
    if not get_account().confirm_pairing_code(code):
        return jsonify(error="this pairing code is not live (expired, replaced or never shown)"), 409
    return jsonify(ok=True), 200


@bp.post("/logout")
def logout() -> tuple[Response, int]:
    """Log out every linked device from the phone."""
    json_object(optional=True)
    devices = get_account().logout_all()
    if not devices:
        return jsonify(error="no device is linked"), 409
    return jsonify(ok=True, devices=devices), 200


@bp.post("/conflict")
def conflict() -> tuple[Response, int]:
    """Open WhatsApp elsewhere: logged-in pages show the "Use here" dialog.

    Optional body {"variant": "computer"} ("…another computer or browser", "Use here" / "Log out") or
    {"variant": "window"} ("…another window", "Use here" / "Close"); default: the conflict_variant knob.
    """
    variant = json_object(optional=True).get("variant")
    if variant is not None and variant not in CHOICES["conflict_variant"]:
        abort(400, description="'variant' must be 'computer' or 'window'")
    pages = get_account().open_elsewhere(variant)
    if not pages:
        return jsonify(error="no logged-in WhatsApp Web page is connected"), 409
    return jsonify(ok=True, connections=pages), 200


@bp.get("/messages")
def messages() -> Response:
    """{"sent": [{"id", "to", "jid", "text", "ack", "time", "via"}], "rejected": [...], "received": [...]}."""
    return jsonify(get_account().messages())


@bp.post("/messages")
def patient_writes() -> tuple[Response, int]:
    """A patient writes to the account: {"from": "+55 11 98888 0000", "text": "...", "quoted": MSG_ID (optional: the
    reply quotes that message; its bare id or its whole key)}; 409 when no page is logged in. A number in the
    `lid_numbers` knob writes from its @lid id."""
    body = json_object()
    digits = re.sub(r"[^0-9]", "", string_field(body, "from"))
    text = string_field(body, "text")
    quoted = body.get("quoted")
    if not 8 <= len(digits) <= 15:
        abort(400, description="'from' must be a phone number with its country code")
    if quoted is not None and not (isinstance(quoted, str) and re.fullmatch(r"[\w@.:-]{1,200}", quoted)):
        abort(400, description="'quoted' must be a message id")
    message = get_account().patient_writes(digits, text, quoted.rsplit("_", 1)[-1] if quoted else None)
    if message is None:
        return jsonify(error="no logged-in WhatsApp Web page is connected"), 409
    return jsonify(ok=True, id=message["id"]), 200


@bp.post("/messages/read")
def read_messages() -> Response:
    """The patients open their chats: every sent message becomes read once delivered."""
    json_object(optional=True)
    return jsonify(ok=True, messages=get_account().read_messages())


@bp.get("/config")
def read_config() -> Response:
    """The knobs in force."""
    return jsonify(get_account().config.to_dict())


@bp.post("/config")
def configure() -> Response:
    """Change knobs: {"startup_s": 0.3, ...}; 400 for unknown keys or wrong types."""
    try:
        return jsonify(get_account().configure(json_object()))
    except ConfigError as error:
        abort(400, description=str(error))


@bp.post("/reset")
def reset() -> Response:
    """Forget devices, pages and events; restore the configuration of the start."""
    json_object(optional=True)
    get_account().reset()
    return jsonify(ok=True, config=get_account().config.to_dict())
