"""Socket.IO: commands from the page or a CRM in, the session's events out to every client."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import current_app, request
from flask_socketio import ConnectionRefusedError, SocketIO, emit

from wa_client import ActionError, ResetError, StateError
from wa_client.names import PUBLIC_EVENTS, Event, qr_image_url
from web import RESET_MESSAGE, audit, get_client
from web.server.guards import SETTINGS_KEY, command_payload_problem, connection_refusal
from web.server.sessions import note_connected

logger = logging.getLogger(__name__)

def broadcaster(socketio: SocketIO) -> Callable[[str, dict], None]:
    """A client listener that pushes each session event to every connected (authenticated) client.

    Only PUBLIC_EVENTS (wa_client/names.py) leave the process: internal events (e.g. `browser_started`) stay inside.
    """

    def publish(event: str, payload: dict) -> None:
        if event not in PUBLIC_EVENTS:
            return
        if event == Event.QR:
            payload = {**payload, "png": qr_image_url(payload["version"])}
        socketio.emit(event, payload)

    return publish


def on_connect(auth: Any = None) -> None:
    """Refuse a connection without the token (or for a foreign host name); greet the others with the status."""
    refusal = connection_refusal(auth, request.environ, current_app.config[SETTINGS_KEY])
    if refusal:
        raise ConnectionRefusedError(refusal)
    note_connected(request.environ)  # its Engine.IO session no longer counts as waiting to log in
    audit.remember_socket(auth)
    emit(Event.STATUS, get_client().status())


def on_start_session(*payload: Any) -> dict:
    """Start a session (Generate QR); the asking client gets the status even when nothing changed."""
    if problem := command_payload_problem("start-session", payload):
        emit("error", {"error": problem})
        return {"error": problem}
    status, started = get_client().start_session(by=audit.socket_origin())
    if not started:
        emit(Event.STATUS, status)
    return status


def on_force_reset(*payload: Any) -> dict:
    """Reset from any state; answer the asking client with force-reset-success or -error."""
    if problem := command_payload_problem("force-reset", payload):
        emit("force-reset-error", {"error": problem})
        return {"ok": False, "error": problem}
    try:
        status = get_client().force_reset(by=audit.socket_origin())
    except ResetError as exc:
        emit("force-reset-error", {"error": str(exc)})
        return {"ok": False, "error": str(exc)}
    emit("force-reset-success", {"message": RESET_MESSAGE})
    return {"ok": True, "message": RESET_MESSAGE, "state": status["state"]}


def on_get_status(*_payload: Any) -> dict:
    """Send the current status to the asking client."""
    status = get_client().status()
    emit(Event.STATUS, status)
    return status


def on_pairing_code(payload: Any = None, *_rest: Any) -> dict:
    """Ask WhatsApp for a pairing code for {"phone"}; answer with pairing-code or pairing-code-error."""
    phone = payload.get("phone") if isinstance(payload, dict) else None
    try:
        code = get_client().request_pairing_code(phone, by=audit.socket_origin())
    except (ValueError, StateError, ActionError) as exc:
        emit("pairing-code-error", {"error": str(exc)})
        return {"error": str(exc)}
    emit("pairing-code", {"pairing_code": code})
    return {"pairing_code": code}


def on_logout(*_payload: Any) -> dict:
    """Log out of WhatsApp (unlink this device); answer with logout-success or logout-error."""
    return _command("logout", lambda: get_client().logout(by=audit.socket_origin()))


def on_takeover(*_payload: Any) -> dict:
    """Click "Use here" in the conflict state; answer with takeover-success or takeover-error."""
    return _command("takeover", lambda: get_client().take_over(by=audit.socket_origin()))


def _command(event: str, command: Callable[[], dict]) -> dict:
    """Run a session command for the asking client: `EVENT-success` (the status) or `EVENT-error`."""
    try:
        status = command()
    except (StateError, ActionError) as exc:
        emit(f"{event}-error", {"error": str(exc)})
        return {"error": str(exc)}
    emit(f"{event}-success", status)
    return status


def on_unknown(event: str, *_payload: Any) -> None:
    """An event the gateway does not know: say so to the sender, change nothing."""
    emit("error", {"error": f"unknown event {str(event)[:64]!r}"})


def on_error(exc: Exception) -> None:
    """A handler failed: log it and tell the sender, the server keeps running."""
    logger.exception("Socket.IO handler failed")
    if isinstance(exc, ResetError):
        emit("force-reset-error", {"error": str(exc)})
    else:
        emit("error", {"error": "internal error; the gateway log has the details"})


def register(socketio: SocketIO) -> None:
    """Bind the handlers to `socketio` (once, before init_app)."""
    socketio.on_event("connect", on_connect)
    socketio.on_event("start-session", on_start_session)
    socketio.on_event("generate-qr", on_start_session)
    socketio.on_event("force-reset", on_force_reset)
    socketio.on_event("get-status", on_get_status)
    socketio.on_event("pairing-code", on_pairing_code)
    socketio.on_event("logout", on_logout)
    socketio.on_event("takeover", on_takeover)
    socketio.on_event("*", on_unknown)
    socketio.on_error_default(on_error)
