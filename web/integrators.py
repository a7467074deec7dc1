"""What the integrators' commands share: running a session command, the phone of a body, the link-aware health check."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Response, abort, jsonify, request

from wa_client import ActionError, State, StateError
from web import audit, get_client
from web.server.guards import request_token, settings, token_matches

logger = logging.getLogger(__name__)

PHONE_HINT = 'send the clinic phone number as JSON: {"phone": "+55 11 99999 0000"}'
LINKED_FLAGS = ("1", "true", "yes")


def command(run: Callable[[], dict]) -> tuple[Response, int]:
    """Run a session command: 200 with its answer, 409 when the state does not allow it, 502 when
    WhatsApp's page did not offer what it needed."""
    try:
        return jsonify(run()), 200
    except StateError as exc:
        return jsonify(error=str(exc)), 409
    except ActionError as exc:
        logger.warning("WhatsApp did not cooperate: %s", exc)
        return jsonify(error=str(exc)), 502


def pairing_code(phone: object) -> dict:
    """Ask for a pairing code for `phone`: {"pairing_code", "status"} (ValueError for a bad number)."""
    client = get_client()
    code = client.request_pairing_code(phone, by=audit.http_origin())
    return {"pairing_code": code, "status": client.status()}


def phone_from_body() -> object:
    """The "phone" of the JSON body; 400 when there is no JSON object with one."""
    body = request.get_json(force=True, silent=True)  # the guards have refused malformed JSON already
    if not isinstance(body, dict) or "phone" not in body:
        abort(400, PHONE_HINT)
    return body["phone"]


def linked_health() -> tuple[Response, int]:
    """`/healthz?linked=1`: 200 only while WhatsApp is connected, else 503; needs the token when one is set."""
    if not token_matches(request_token(request), settings().api_token):
        abort(401, "?linked=1 reveals the session state: send the API token (the bare /healthz needs none)")
    state = get_client().state  # a field read: no lock, no browser call
    if state is State.CONNECTED:
        return jsonify(ok=True, state=state.value), 200
    return jsonify(ok=False, state=state.value), 503


def wants_linked() -> bool:
    """True when the health check asks about the WhatsApp link (`?linked=1`)."""
    return request.args.get("linked", "").strip().lower() in LINKED_FLAGS
