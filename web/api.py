"""The HTTP API: every route of the gateway, each a few lines that ask the client and shape its answer.

The guards and the JSON errors cover the whole app (`before_app_request`), so a Blueprint registered
next to this one (`app.register_blueprint(...)` in create_app) is guarded the same way.
Every route here is described in `web/openapi/` (operations.py).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, render_template, request

from wa_client import ResetError
from wa_client.names import page_names
from web import RESET_MESSAGE, get_client, integrators, metrics, openapi
from web.audit import http_origin
from web.server import guards

bp = Blueprint("api", __name__)
guards.register(bp)

NO_QR = "there is no QR code right now; click Generate QR"
NOT_LINKED = ("no WhatsApp account is linked right now (the session is {state}); click Generate QR and scan the "
              "code with the clinic phone")
#: The vendored Swagger UI (npm swagger-ui-dist, Apache-2.0) under static/ serves /docs, no CDN.
SWAGGER_UI_VERSION = "5.35.0"


# -- the page and its API description (public) ------------------------------------------------
@bp.get("/")
def index() -> str:
    """The bundled page for the front desk."""
    current = guards.settings()
    return render_template("index.html", token_required=bool(current.api_token),
                           takeover_auto=current.takeover_on_conflict, names=page_names())


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """The OpenAPI 3.1 document of this gateway."""
    return jsonify(openapi.document(token_required=bool(guards.settings().api_token)))


@bp.get("/docs")
def docs() -> str:
    """The document in Swagger UI, served locally."""
    return render_template("docs.html", swagger_ui_version=SWAGGER_UI_VERSION)


# -- the session: read -------------------------------------------------------------------------
@bp.get("/healthz")
def healthz() -> Response | tuple[Response, int]:
    """Liveness: no auth, no browser call. With ?linked=1: 503 unless WhatsApp is connected."""
    if integrators.wants_linked():
        return integrators.linked_health()
    return jsonify(ok=True)


@bp.get("/status")
def status() -> Response:
    """The session's state, reason, error, qr_version, since, pairing_code, seen_by, qr_cycle, account, wa_version."""
    return jsonify(get_client().status())


@bp.get("/history")
def history() -> Response:
    """The last state changes and commands (who asked), oldest first."""
    return jsonify(history=get_client().history(), commands=get_client().commands())


@bp.get("/qr")
def qr() -> Response:
    """The QR payload on screen now, its version, and where it stands in WhatsApp's rotation."""
    client = get_client()
    current = client.qr()
    if current is None:
        abort(404, NO_QR)
    payload, version = current
    return jsonify(qr=payload, version=version, cycle=client.status()["qr_cycle"])


@bp.get("/qr.png")
def qr_png() -> Response:
    """The QR as a PNG, with its version as ETag."""
    current = get_client().qr_png()
    if current is None:
        abort(404, NO_QR)
    version, png = current
    tag = f"v{version}"
    fresh = request.if_none_match.contains(tag) or request.if_none_match.star_tag
    if not fresh:
        metrics.get_metrics().qr_png_served.inc()
    response = Response(status=304) if fresh else Response(png, mimetype="image/png")
    response.set_etag(tag)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/me")
def me() -> Response | tuple[Response, int]:
    """The linked account: number (+E.164), name, linked_since, display_number; 409 when none."""
    client = get_client()
    account = client.account()
    if account is None:
        return jsonify(error=NOT_LINKED.format(state=client.state.value)), 409
    return jsonify(account)


@bp.get("/screenshot.png")
def screenshot() -> Response:
    """What the gateway's browser shows right now (or the last unrecognised page), for support."""
    png = get_client().screenshot()
    if png is None:
        abort(404, "there is no browser running and no picture kept; click Generate QR")
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics")
def metrics_text() -> Response:
    """The session's metrics for Prometheus."""
    return Response(metrics.get_metrics().exposition(), content_type=metrics.CONTENT_TYPE)


# -- the session: commands ---------------------------------------------------------------------
@bp.post("/start-session")
def start_session() -> tuple[Response, int]:
    """Generate QR: start a browser unless one is running (202 started, 200 already running)."""
    state, started = get_client().start_session(by=http_origin())
    return jsonify(state), 202 if started else 200


@bp.post("/force-reset")
def force_reset() -> tuple[Response, int]:
    """Quit the browser, kill its processes, delete the profile, end in idle."""
    try:
        state = get_client().force_reset(by=http_origin())
    except ResetError as exc:
        return jsonify(ok=False, error=str(exc)), 500
    return jsonify(ok=True, message=RESET_MESSAGE, state=state["state"]), 200


@bp.post("/pairing-code")
def pairing_code() -> tuple[Response, int]:
    """Link with a phone number instead of the QR: {"phone"} -> {"pairing_code": "ABCD-EFGH", "status"}."""
    phone = integrators.phone_from_body()
    try:
        return integrators.command(lambda: integrators.pairing_code(phone))
    except ValueError as exc:  # a bad phone number, refused before the page is touched
        return jsonify(error=str(exc)), 400


@bp.post("/logout")
def logout() -> tuple[Response, int]:
    """Log out of WhatsApp from the CRM: unlink this device, quit the browser, delete the profile."""
    return integrators.command(lambda: get_client().logout(by=http_origin()))


@bp.post("/takeover")
def takeover() -> tuple[Response, int]:
    """Click "Use here" when WhatsApp is open on another computer, and wait to be connected."""
    return integrators.command(lambda: get_client().take_over(by=http_origin()))
