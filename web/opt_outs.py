"""Opt-outs for the CRM: who asked for no more messages (a patient's STOP, or the CRM's record), and opting in."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, abort, jsonify

from wa_client.jobs import normalize_phone
from web.messages import get_outbox

opt_outs = Blueprint("opt_outs", __name__)


def init_app(app: Flask) -> None:
    """Register the routes (the records live in the outbox's file)."""
    app.register_blueprint(opt_outs)


def _digits(phone: str) -> str:
    try:
        return normalize_phone(phone)
    except ValueError as exc:
        abort(400, str(exc))


@opt_outs.get("/opt-outs")
def listing() -> Response:
    """Every opt-out, oldest first: {"opt_outs": [{"phone", "since", "source"}]}."""
    return jsonify(opt_outs=get_outbox().reminders.listing())


@opt_outs.put("/opt-outs/<phone>")
def record(phone: str) -> tuple[Response, int]:
    """The CRM records an opt-out: 201 when new, 200 when it was recorded already; what waits is cancelled."""
    digits = _digits(phone)
    outbox = get_outbox()
    view, created = outbox.reminders.opt_out(digits, "crm", outbox.clock())
    return jsonify(view), 201 if created else 200


@opt_outs.delete("/opt-outs/<phone>")
def remove(phone: str) -> tuple[Response, int]:
    """The patient opted in again: 200 with the removed opt-out; 404 when there was none."""
    removed = get_outbox().reminders.opt_in(_digits(phone))
    if removed is None:
        return jsonify(error="this number has not opted out"), 404
    return jsonify(removed), 200
