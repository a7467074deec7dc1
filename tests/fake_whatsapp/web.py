"""The WhatsApp Web side: the page itself and the small JSON endpoints its script polls."""
from __future__ import annotations

import json
import logging
import re

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request

from .account import LOGOUT_EVENTS, PAGE_EVENTS, TRAPS, Account
from .codes import qr_matrix
from .jsonio import json_object, string_field
from .models import VIEWS, UnknownConnection

logger = logging.getLogger(__name__)

bp = Blueprint("web", __name__)

UNSUPPORTED_MARKER = "HeadlessChrome"
PHONE_NUMBER = re.compile(r"^\d{1,20}$")


def get_account() -> Account:
    """The app's one account."""
    return current_app.extensions["fake_whatsapp"]


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def index() -> Response:
    """The WhatsApp Web page, or the unsupported-browser page for a headless User-Agent."""
    drift = get_account().config.dom_drift
    if UNSUPPORTED_MARKER in request.headers.get("User-Agent", ""):
        return _no_store(Response(render_template("unsupported.html", drift=drift)))
    boot = {"config": get_account().config.to_dict()}
    return _no_store(Response(render_template("whatsapp.html", boot=boot, drift=drift)))


def _connection_id(body: dict) -> str:
    return string_field(body, "connection")


def _page_answer(state: dict, shown: object) -> Response:
    """The page state, plus the QR matrix when the page does not show that ref yet."""
    qr = state.get("qr")
    if qr and qr.get("payload") and qr["payload"] != shown:
        qr["matrix"] = qr_matrix(qr["payload"])
    return _no_store(jsonify(state))


@bp.get("/send")
def send_route() -> Response:
    """The click-to-chat route: /send?phone=DIGITS&text=... opens the chat with the text typed in."""
    drift = get_account().config.dom_drift
    if UNSUPPORTED_MARKER in request.headers.get("User-Agent", ""):
        return _no_store(Response(render_template("unsupported.html", drift=drift)))
    route = {"phone": re.sub(r"[^0-9]", "", request.args.get("phone", "")), "text": request.args.get("text", "")}
    boot = {"config": get_account().config.to_dict(), "send": route}
    return _no_store(Response(render_template("whatsapp.html", boot=boot, drift=drift)))


@bp.post("/_wa/exists")
def query_exists() -> Response:
    """queryWidExists: {"connection", "phone": DIGITS} -> {"wid": "…@c.us" | "…@lid" | null}."""
    body = json_object()
    phone = string_field(body, "phone")
    if not PHONE_NUMBER.match(phone):
        abort(400, description="'phone' must be digits")
    try:
        return jsonify(wid=get_account().query_exists(_connection_id(body), phone))
    except UnknownConnection:
        abort(410, description="unknown connection")


@bp.post("/_wa/send")
def send_message() -> Response:
    """A page sends a message: {"connection", "id", "to": JID, "text", "via": "modules"|"page"} -> {"ack", "error"}."""
    body = json_object()
    to = string_field(body, "to")
    if not re.match(r"^\d{1,20}@(c\.us|lid)$", to):
        abort(400, description="'to' must be a …@c.us or …@lid id")
    via = body.get("via", "modules")
    if via not in ("modules", "page"):
        abort(400, description="'via' must be 'modules' or 'page'")
    try:
        return jsonify(get_account().send(_connection_id(body), string_field(body, "id"), to,
                                          string_field(body, "text"), via))
    except UnknownConnection:
        abort(410, description="unknown connection")


@bp.post("/_wa/hello")
def hello() -> Response:
    """A page has loaded: give it a connection id and the fate of its stored device."""
    token = json_object().get("token")
    if token is not None and not isinstance(token, str):
        abort(400, description="'token' must be a string or null")
    return _no_store(jsonify(get_account().open_connection(token)))


@bp.post("/_wa/poll")
def poll() -> Response:
    """The page's heartbeat: what it shows now, answered by what it must show."""
    body = json_object()
    view = body.get("view")
    if view not in VIEWS:
        abort(400, description=f"'view' must be one of {sorted(VIEWS)}")
    stay = body.get("stay_logged_in")
    if stay is not None and not isinstance(stay, bool):
        abort(400, description="'stay_logged_in' must be true, false or null")
    try:
        state = get_account().poll(_connection_id(body), view, stay)
    except UnknownConnection:
        abort(410, description="unknown connection")
    return _page_answer(state, body.get("shown_ref"))


@bp.post("/_wa/bye")
def bye() -> tuple[str, int]:
    """The page is unloading (sent with navigator.sendBeacon, so the body is plain text)."""
    try:
        conn_id = json.loads(request.get_data(as_text=True)).get("connection")
    except (ValueError, AttributeError):
        abort(400, description="the request body must be a JSON object")
    if isinstance(conn_id, str):
        get_account().close_connection(conn_id)
    return "", 204


@bp.post("/_wa/qr/reload")
def reload_qr() -> Response:
    """The reload button of an expired QR."""
    try:
        state = get_account().restart_cycle(_connection_id(json_object()), "qr")
    except UnknownConnection:
        abort(410, description="unknown connection")
    return _page_answer(state, None)


@bp.post("/_wa/pairing")
def start_pairing() -> Response:
    """'Next' after the phone number, or the reload button of expired pairing codes."""
    body = json_object()
    phone = body.get("phone")
    if phone is not None and not (isinstance(phone, str) and PHONE_NUMBER.match(phone)):
        abort(400, description="Please enter a valid phone number.")
    try:
        state = get_account().restart_cycle(_connection_id(body), "pairing", phone)
    except UnknownConnection:
        abort(410, description="unknown connection")
    return _page_answer(state, None)


@bp.post("/_wa/conflict")
def end_conflict() -> Response:
    """'Use here' ({"take_over": true}) or 'Close' on the conflict dialog."""
    body = json_object()
    try:
        get_account().end_conflict(_connection_id(body), take_over=body.get("take_over") is True)
    except UnknownConnection:
        abort(410, description="unknown connection")
    return jsonify(ok=True)


@bp.post("/_wa/logout")
def web_logout() -> Response:
    """This device unlinked by the page: {"via": "menu"} (confirmed in the menu), "module" or "trap"."""
    body = json_object()
    via = body.get("via", "menu")
    if via not in LOGOUT_EVENTS:
        abort(400, description=f"'via' must be one of {sorted(LOGOUT_EVENTS)}")
    try:
        get_account().web_logout(_connection_id(body), via)
    except UnknownConnection:
        abort(410, description="unknown connection")
    return jsonify(ok=True)


@bp.post("/_wa/trap")
def trap() -> Response:
    """A control that logs out or drops the session was clicked: {"trap": NAME}. Recorded even
    for a page the server no longer knows."""
    body = json_object()
    name = string_field(body, "trap")
    if name not in TRAPS:
        abort(400, description=f"'trap' must be one of {sorted(TRAPS)}")
    conn_id = body.get("connection")
    get_account().record_trap(conn_id if isinstance(conn_id, str) else None, name)
    return jsonify(ok=True)


@bp.post("/_wa/event")
def page_event() -> Response:
    """Something the page reports on its own: {"event": NAME, "value": ...}."""
    body = json_object()
    name = string_field(body, "event")
    if name not in PAGE_EVENTS:
        abort(400, description=f"'event' must be one of {sorted(PAGE_EVENTS)}")
    details = {"value": body["value"]} if "value" in body else {}
    try:
        get_account().page_event(_connection_id(body), name, **details)
    except UnknownConnection:
        abort(410, description="unknown connection")
    return jsonify(ok=True)
