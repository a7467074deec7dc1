"""The WhatsApp Web session gateway: the app factory and the entry point (routes: web/api.py)."""

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
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # we know: docs/configuration.md
    import eventlet

    eventlet.monkey_patch()

import argparse
import logging
import socket
from collections.abc import Mapping
from typing import Any

from flask import Flask

from wa_client import ConfigError, Settings, WhatsAppClient, disk
from wa_client.browser.profile import ProfileInUse
from wa_client.config import cli as wa_cli
from wa_client.disk import data_dir as outbox_dir
from wa_client.messaging.contacts import ContactBook
from wa_client.messaging.outbox import Outbox
from wa_client.names import Event
from wa_client.notify.alerts import Notifier
from wa_client.notify.journal import FILE_NAME as JOURNAL_FILE
from wa_client.notify.journal import EventJournal
from wa_client.notify.webhooks import WebhookSender
from web import EXTENSION, api, errors, events, messages, metrics, opt_outs, realtime
from web.logs import attach_session, configure_logging
from web.server import guards, lifecycle, listen, modes, serving

logger = logging.getLogger("wa_gateway")

#: Each app has its own Socket.IO server (web/realtime.py); `socketio.test_client(app)` reaches it.
socketio = realtime.Servers()
#: app.extensions keys of the notifications built beside the client (None when not configured).
NOTIFIER, WEBHOOKS = "wa_notifier", "wa_webhooks"


def create_app(config: Mapping[str, Any] | Settings | None = None) -> Flask:
    """Build the app: settings, its Socket.IO server, the one session client, the outbox beside it, the routes."""
    settings = _settings(config)
    guards.trusted_proxies(settings)  # a ConfigError now, not at the first request
    app = Flask(__name__)
    app.config[guards.SETTINGS_KEY] = settings
    app.config["MAX_CONTENT_LENGTH"] = guards.MAX_BODY_BYTES
    app.json.sort_keys = False
    errors.register(app)
    sio = realtime.init_app(app, settings)
    client = WhatsAppClient(settings, spawn=sio.start_background_task, sleep=sio.sleep)
    notifier, webhooks = tell_the_outside(client, settings)
    client.subscribe(events.broadcaster(sio))
    app.extensions[EXTENSION] = client
    app.extensions[NOTIFIER], app.extensions[WEBHOOKS] = notifier, webhooks
    metrics.init_app(app, client, webhooks=webhooks, notifier=notifier)
    app.register_blueprint(api.bp)  # the HTTP API, and the guards of every request
    outbox = Outbox(client, settings)  # messaging: listens to the session's bus, sends once WhatsApp connects
    messages.init_app(app, outbox, ContactBook(client, settings.contact_cache_s))  # POST /messages, /contacts
    opt_outs.init_app(app)  # /opt-outs (the records live in the outbox's file)
    return app


def tell_the_outside(client: WhatsAppClient, settings: Settings) -> tuple[Notifier | None, WebhookSender | None]:
    """The session's listeners that tell the outside: WA_NOTIFY_URLS (Apprise) and WA_WEBHOOK_URL, when set.

    The webhook events wait in memory until keep_webhook_events(): a gateway refused its port or profile
    writes nothing.
    """
    notifier = webhooks = None
    if settings.notify_urls.strip():
        notifier = Notifier(settings.notify_urls, client.spawn, settings.restart_on_crash)
        client.subscribe(notifier)
    if settings.webhook_url:
        def dropped(reason: str, count: int) -> None:  # the reason and a count only (the notifier tells them)
            client.emit(Event.WEBHOOK_DROPPED, {"reason": reason, "count": count})

        webhooks = WebhookSender(settings.webhook_url, settings.webhook_secret, client.spawn, client.sleep,
                                 on_drop=dropped)
        client.subscribe(webhooks)
    return notifier, webhooks


def keep_webhook_events(app: Flask) -> None:
    """Once this gateway owns its port and profile: keep webhook events on disk and deliver what waited."""
    webhooks = app.extensions.get(WEBHOOKS)
    if webhooks is not None:
        webhooks.keep_in(EventJournal.open(outbox_dir(app.config[guards.SETTINGS_KEY]) / JOURNAL_FILE))


def _settings(config: Mapping[str, Any] | Settings | None) -> Settings:
    """Settings as given, or the environment's with `config` (field or env names) on top."""
    if isinstance(config, Settings):
        return config
    return Settings.from_env(**dict(config or {}))


def parse_args(argv: list[str] | None = None) -> Settings:
    """Settings from the environment, overridden by command-line flags (`--help` lists them)."""
    parser = argparse.ArgumentParser(
        prog="app.py",
        description="WhatsApp Web session gateway: every flag overrides the environment variable of the same name.",
    )
    wa_cli.add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        settings = wa_cli.from_args(args)
        guards.trusted_proxies(settings)  # WA_TRUSTED_PROXIES must parse
        return settings
    except ConfigError as exc:
        parser.exit(2, f"app.py: configuration error: {exc}\n")


def main(argv: list[str] | None = None) -> int:
    """Run the service until a stop signal; the browser quits with it. Exit code 2 when it must not start."""
    if "--print-env-example" in (sys.argv[1:] if argv is None else argv):
        print(wa_cli.env_example(), end="")  # the .env.example of this version
        return 0
    settings = parse_args(argv)
    serving.raise_open_files_limit()  # room for the connection cap (web/server/serving.py)
    configure_logging(settings)  # LOG_FORMAT: text or json
    problem = lifecycle.insecure_remote_problem(settings)
    if problem:
        print(f"app.py: {problem}", file=sys.stderr)
        return 2
    app = create_app(settings)
    client = app.extensions[EXTENSION]
    listener = _claim_port_and_profile(settings, client)  # first: a refused gateway writes nothing
    if listener is None:
        return 2
    try:
        disk.check_writable(outbox_dir(settings))  # the outbox lives there: an unwritable folder stops the start
    except ConfigError as exc:
        listener.close()
        print(f"app.py: {exc}", file=sys.stderr)
        return 2
    keep_webhook_events(app)  # what a previous run left waiting goes out now
    app.extensions[messages.OUTBOX].start()  # the sender runs from now on; it sends only while connected
    attach_session(lambda: {"state": client.state.value})
    sio = realtime.get_socketio(app)
    shutdown = lifecycle.Shutdown(sio, client, sio.async_mode, drain=app.extensions[messages.OUTBOX].drain)
    shutdown.install()
    client.recovery.autostart()  # WA_AUTOSTART: only a saved login, never a QR
    logger.info("gateway on http://%s:%d (WhatsApp Web: %s, profile: %s, async: %s, token: %s)",
                settings.host, settings.port, settings.wa_url, client.profile_dir, sio.async_mode,
                "required" if settings.api_token else "not set")
    options = modes.server_options(sio.async_mode, sys.stderr)  # timeouts, the cap, JSON refusals
    try:
        lifecycle.serve(app, listener, sio.async_mode, log_output=settings.log_level.upper() == "DEBUG",
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
