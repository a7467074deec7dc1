"""The WhatsApp Web session gateway: HTTP routes and Socket.IO events over one session client."""

import os
import sys
import warnings


def _wanted_async_mode(argv: list[str], env: "Mapping[str, str]") -> str:
    """The async mode from --wa-async-mode or WA_ASYNC_MODE, read before anything else is imported."""
    mode = env.get("WA_ASYNC_MODE") or "eventlet"
    for i, arg in enumerate(argv):
        if arg == "--wa-async-mode" and i + 1 < len(argv):
            mode = argv[i + 1]
        elif arg.startswith("--wa-async-mode="):
            mode = arg.split("=", 1)[1]
    return mode.strip().lower()


if __name__ == "__main__" and _wanted_async_mode(sys.argv[1:], os.environ) == "eventlet":
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # we know; see README
    import eventlet

    eventlet.monkey_patch()

import argparse
import logging
import socket
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, abort, jsonify, render_template, request
from flask_socketio import SocketIO

from wa_client import ConfigError, ResetError, Settings, WhatsAppClient
from wa_client import config as wa_config
from wa_client.profile import ProfileInUse
from web import (
    EXTENSION,
    RESET_MESSAGE,
    errors,
    events,
    get_client,
    guards,
    integrators,
    lifecycle,
    listen,
    messages,
    metrics,
    openapi,
    serving,
)
from web import me as me_routes
from web.audit import http_origin
from web.logs import attach_session, configure_logging
from web.sessions import EngineIOGate
from web.shield import SocketIOShield

logger = logging.getLogger("wa_gateway")

socketio = SocketIO()
events.register(socketio)


def create_app(config: Mapping[str, Any] | Settings | None = None) -> Flask:
    """Build the app: settings, the one session client, guards, routes and Socket.IO."""
    settings = _settings(config)
    guards.trusted_proxies(settings)  # a ConfigError now, not at the first request
    app = Flask(__name__)
    app.config[guards.SETTINGS_KEY] = settings
    app.config["MAX_CONTENT_LENGTH"] = guards.MAX_BODY_BYTES
    app.json.sort_keys = False
    guards.register(app)
    errors.register(app)
    async_mode = _usable_async_mode(settings.async_mode)
    socketio.init_app(
        app,
        async_mode=async_mode,
        cors_allowed_origins=lambda origin, environ: guards.origin_allowed(origin, environ, settings),
        manage_session=False,
        max_http_buffer_size=guards.MAX_BODY_BYTES,
    )
    # outermost: before Engine.IO or Flask see a request
    app.wsgi_app = SocketIOShield(app.wsgi_app, EngineIOGate(socketio, settings))
    client = WhatsAppClient(settings, spawn=socketio.start_background_task, sleep=socketio.sleep)
    client.subscribe(events.broadcaster(socketio))
    app.extensions[EXTENSION] = client
    _add_routes(app)
    integrators.add_routes(app)
    messages.init_app(app)
    me_routes.add_routes(app)
    openapi.add_routes(app)
    metrics.init_app(app, client)
    app.after_request(_take_turns)
    return app


def _take_turns(response: Response) -> Response:
    """Yield after each answer: eventlet would serve a keep-alive client's next request first (p99)."""
    socketio.sleep(0)
    return response


def _settings(config: Mapping[str, Any] | Settings | None) -> Settings:
    """Settings as given, or the environment's with `config` (field or env names) on top."""
    if isinstance(config, Settings):
        return config
    return Settings.from_env(**dict(config or {}))


def _usable_async_mode(wanted: str) -> str:
    """`wanted`, except that eventlet without monkey-patching (e.g. under pytest) falls back to threading."""
    if wanted != "eventlet":
        return wanted
    if "eventlet" in sys.modules:
        from eventlet.patcher import is_monkey_patched

        if is_monkey_patched("socket"):
            return "eventlet"
    logger.info("eventlet is not monkey-patched in this process; Socket.IO uses threading")
    return "threading"


def _add_routes(app: Flask) -> None:
    """The HTTP API of the contract: each route asks the client and shapes its answer."""

    @app.get("/")
    def index() -> str:
        """The bundled page for the front desk."""
        current = guards.settings()
        return render_template("index.html", token_required=bool(current.api_token),
                               takeover_auto=current.takeover_on_conflict)

    @app.get("/healthz")
    def healthz() -> Response | tuple[Response, int]:
        """Liveness: no auth, no browser call. With ?linked=1: 503 unless WhatsApp is connected."""
        if integrators.wants_linked():
            return integrators.linked_health()
        return jsonify(ok=True)

    @app.get("/status")
    def status() -> Response:
        """The session's state, reason, error, qr_version, since and pairing_code."""
        return jsonify(get_client().status())

    @app.get("/history")
    def history() -> Response:
        """The last state changes and commands (who asked), oldest first."""
        return jsonify(history=get_client().history(), commands=get_client().commands())

    @app.get("/qr")
    def qr() -> Response:
        """The QR payload on screen now, its version, and where it stands in WhatsApp's rotation."""
        client = get_client()
        current = client.qr()
        if current is None:
            abort(404, "there is no QR code right now; click Generate QR")
        payload, version = current
        return jsonify(qr=payload, version=version, cycle=client.status()["qr_cycle"])

    @app.get("/qr.png")
    def qr_png() -> Response:
        """The QR as a PNG, with its version as ETag."""
        current = get_client().qr_png()
        if current is None:
            abort(404, "there is no QR code right now; click Generate QR")
        version, png = current
        tag = f"v{version}"
        fresh = request.if_none_match.contains(tag) or request.if_none_match.star_tag
        if not fresh:
            metrics.get_metrics().qr_png_served.inc()
        response = Response(status=304) if fresh else Response(png, mimetype="image/png")
        response.set_etag(tag)
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.post("/start-session")
    def start_session() -> tuple[Response, int]:
        """Generate QR: start a browser unless one is running (202 started, 200 already running)."""
        state, started = get_client().start_session(by=http_origin())
        return jsonify(state), 202 if started else 200

    @app.post("/force-reset")
    def force_reset() -> tuple[Response, int]:
        """Quit the browser, kill its processes, delete the profile, end in idle."""
        try:
            state = get_client().force_reset(by=http_origin())
        except ResetError as exc:
            return jsonify(ok=False, error=str(exc)), 500
        return jsonify(ok=True, message=RESET_MESSAGE, state=state["state"]), 200


def parse_args(argv: list[str] | None = None) -> Settings:
    """Settings from the environment, overridden by command-line flags (`--help` lists them)."""
    parser = argparse.ArgumentParser(
        prog="app.py",
        description="WhatsApp Web session gateway: every flag overrides the environment variable of the same name.",
    )
    wa_config.add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        settings = wa_config.from_args(args)
        guards.trusted_proxies(settings)  # WA_TRUSTED_PROXIES must parse
        return settings
    except ConfigError as exc:
        parser.exit(2, f"app.py: configuration error: {exc}\n")


def main(argv: list[str] | None = None) -> int:
    """Run the service until a stop signal; the browser quits with it. Exit code 2 when it must not start."""
    if "--print-env-example" in (sys.argv[1:] if argv is None else argv):
        print(wa_config.env_example(), end="")  # the .env.example of this version
        return 0
    settings = parse_args(argv)
    serving.raise_open_files_limit()  # room for the connection cap (web/serving.py)
    configure_logging(settings)  # LOG_FORMAT: text or json
    problem = lifecycle.insecure_remote_problem(settings)
    if problem:
        print(f"app.py: {problem}", file=sys.stderr)
        return 2
    app = create_app(settings)
    client = app.extensions[EXTENSION]
    listener = _claim_port_and_profile(settings, client)
    if listener is None:
        return 2
    attach_session(lambda: {"state": client.state.value})
    shutdown = lifecycle.Shutdown(socketio, client, socketio.async_mode)
    shutdown.install()
    client.recovery.autostart()  # WA_AUTOSTART: only a saved login, never a QR
    logger.info("gateway on http://%s:%d (WhatsApp Web: %s, profile: %s, async: %s, token: %s)",
                settings.host, settings.port, settings.wa_url, client.profile_dir, socketio.async_mode,
                "required" if settings.api_token else "not set")
    options = serving.server_options(socketio.async_mode, sys.stderr)  # timeouts, the cap, JSON refusals
    try:
        lifecycle.serve(app, listener, socketio.async_mode, log_output=settings.log_level.upper() == "DEBUG",
                        options=options)
    except KeyboardInterrupt:
        pass
    finally:
        shutdown.stop_browser()
        listener.close()
    logger.info("gateway stopped")
    return 0


def _claim_port_and_profile(settings: Settings, client: WhatsAppClient) -> socket.socket | None:
    """The listening socket once the port and the profile are this gateway's; None (after saying why) if not."""
    try:
        listener = listen.bind(settings.host, settings.port)  # one gateway per port
    except listen.PortInUse as exc:
        print(f"app.py: {exc}", file=sys.stderr)
        return None
    try:
        lifecycle.claim_profile(settings, client)  # one gateway per profile, in a place safe to delete
    except (ConfigError, ProfileInUse) as exc:
        listener.close()
        print(f"app.py: {exc}", file=sys.stderr)
        return None
    return listener


if __name__ == "__main__":
    sys.exit(main())
