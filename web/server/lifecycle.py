"""Starting safely and stopping cleanly: the remote-listen check, the profile claim, serving, and the stop signals."""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
import socket
import sys
import threading
import weakref
from collections.abc import Callable
from types import FrameType

from flask import Flask
from flask_socketio import SocketIO

from wa_client import Settings, WhatsAppClient
from wa_client.browser import orphans, profile
from wa_client.polling import poll_until

logger = logging.getLogger(__name__)

#: After a stop signal, the process exits by this deadline even if a connection hangs on (systemd waits 90 s;
#: the issue promises 15): the outbox's in-flight send gets DRAIN_S of it, the browser the rest.
EXIT_DEADLINE_S = 15.0
#: A graceful stop lets the message in flight reach WhatsApp's server (ack >= 1) for at most this long.
DRAIN_S = 8.0
#: At shutdown, requests under way get this long to finish; then their connections are closed.
REQUEST_GRACE_S = 2.0
#: What stops the gateway like SIGTERM (quit the browser, keep the profile): closing the terminal sends SIGHUP.
STOP_SIGNALS = ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGALRM", "SIGPWR", "SIGXCPU")
#: Signals whose default action would kill the gateway with its browser left running: logged and ignored.
IGNORED_SIGNALS = ("SIGUSR1", "SIGUSR2")

INSECURE_REMOTE = (
    "Refusing to listen on {host} without WA_API_TOKEN: anyone on the network could scan the "
    "clinic's QR code and read its WhatsApp. Set WA_API_TOKEN (recommended), listen on 127.0.0.1, "
    "or set WA_I_UNDERSTAND_THE_QR_IS_EXPOSED=1."
)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def insecure_remote_problem(settings: Settings) -> str | None:
    """Why the service must not start with these settings, or None when it may."""
    if is_loopback(settings.host) or settings.api_token or settings.allow_insecure_remote:
        return None
    return INSECURE_REMOTE.format(host=settings.host)


def claim_profile(settings: Settings, client: WhatsAppClient) -> None:
    """Make the profile this gateway's before anything touches it: a safe place, our lock, then reap leftovers.

    Raises ConfigError (ProfileRefused) for a place the gateway must not use, ProfileBusy when another gateway
    holds it. Only the lock holder reaps what a gateway killed hard left (its owner is dead: the lock was free).
    """
    profile.check_location(settings.profile_dir)
    profile.check_contents(client.profile_dir)  # reads only: a refused start leaves no lock file either
    client.profile_lock.acquire()
    if client.profile_dir.is_dir() and not settings.remote_url:
        orphans.end_orphans(client.profile_dir)  # gently first: what it holds of the login reaches the disk
        profile.kill_recorded(client.profile_dir)
    profile.remove_leftovers(client.profile_dir)


def serve(app: Flask, listener: socket.socket, async_mode: str, log_output: bool, options: dict) -> None:
    """Serve on the socket bound by web.server.listen until a stop signal; at the end no connection is left open.

    `options` are the server's own (web/server/serving.py: timeouts, the connection cap, JSON refusals).
    """
    if async_mode == "eventlet":
        import eventlet
        import eventlet.wsgi

        options = dict(options)
        tracked = _TrackingListener(listener)
        pool = _close_at_shutdown(options.pop("custom_pool", None) or eventlet.GreenPool(1024), tracked,
                                  REQUEST_GRACE_S)
        eventlet.wsgi.server(tracked, app, log_output=log_output, custom_pool=pool, **options)
        return
    from werkzeug.serving import make_server

    host, port = listener.getsockname()[:2]
    server = make_server(host, port, app, threaded=True, fd=listener.fileno(),
                         request_handler=options.get("request_handler"))
    server.serve_forever()  # a stop signal raises KeyboardInterrupt here; werkzeug then closes the server


class _TrackingListener:
    """The listening socket, noting every connection it accepts, so that shutdown can close the unfinished ones."""

    def __init__(self, listener: socket.socket) -> None:
        self._listener = listener
        self.connections: weakref.WeakSet = weakref.WeakSet()

    def accept(self) -> tuple[socket.socket, object]:
        connection, address = self._listener.accept()
        self.connections.add(connection)
        return connection, address

    def close_connections(self) -> int:
        """Shut every accepted connection that is still open; how many there were."""
        closed = 0
        for connection in list(self.connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)  # a read blocked on it returns at once
                closed += 1
            except OSError:
                pass  # already closed
        return closed

    def __getattr__(self, name: str) -> object:
        return getattr(self._listener, name)


def _close_at_shutdown(pool, listener: _TrackingListener, grace_s: float):
    """Make `pool.waitall` (eventlet.wsgi.server's last step) close the connections that outlive `grace_s`.

    eventlet closes only idle keep-alive connections at shutdown and then waits for every other one: a client
    that sent half a request (or half a body) and stopped held the exit up until the watchdog's exit code 1.
    """
    import eventlet

    wait_for_all = pool.waitall

    def waitall() -> None:
        for step in ("finish", "close"):
            poll_until(lambda: not pool.running(), grace_s, sleep=eventlet.sleep)
            if step == "finish" and pool.running():
                logger.info("closing %d unfinished connection(s)", listener.close_connections())
        for thread in list(pool.coroutines_running):  # still running although its connection is shut
            thread.kill()
        wait_for_all()

    pool.waitall = waitall
    return pool


class Shutdown:
    """Stops the service on SIGTERM/SIGINT/SIGHUP: the browser quits (profile kept), then the server ends."""

    def __init__(self, socketio: SocketIO, client: WhatsAppClient, async_mode: str,
                 drain: Callable[[float], object] | None = None) -> None:
        self.socketio = socketio
        self.client = client
        self.async_mode = async_mode
        self.drain = drain  # the outbox's: no new send, the one in flight reaches the server
        self.requested = False
        self._browser_stopped = False

    def install(self) -> None:
        """Handle the stop signals and ignore SIGUSR1/2 (the browser quits at interpreter exit by itself)."""
        for name in STOP_SIGNALS:
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), self._on_signal)
        for name in IGNORED_SIGNALS:
            signal.signal(getattr(signal, name), _log_ignored)
        if self.async_mode == "eventlet":
            # The hub may sleep in poll() for many seconds after a signal; a byte on this pipe wakes it.
            read_end, write_end = os.pipe()
            os.set_blocking(read_end, False)
            os.set_blocking(write_end, False)
            signal.set_wakeup_fd(write_end)
            self.socketio.start_background_task(self._await_signal, read_end)

    def stop_browser(self) -> None:
        """Quit the browser once, keeping the profile (the saved login survives a restart)."""
        if self._browser_stopped:
            return
        self._browser_stopped = True
        if self.drain is not None:
            try:
                self.drain(DRAIN_S)
            except Exception:  # noqa: BLE001 - shutting down must go on
                logger.exception("the outbox did not stop cleanly")
        try:
            self.client.shutdown()
        except Exception:  # noqa: BLE001 - shutting down must go on
            logger.exception("the browser did not stop cleanly")

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.requested:
            logger.info("already stopping")
            return
        self.requested = True
        logger.info("%s received: stopping the browser and the service", signal.Signals(signum).name)
        _exit_watchdog(EXIT_DEADLINE_S)
        if self.async_mode != "eventlet":
            raise KeyboardInterrupt  # werkzeug's serve_forever returns; main() then stops the browser
        # Under eventlet the handler runs in the hub, where blocking is forbidden: _await_signal stops.

    def _await_signal(self, read_end: int) -> None:
        """A green thread: wait for the wake-up byte of a stop signal, then stop from here."""
        while not self.requested:
            try:
                os.read(read_end, 64)  # green under monkey-patching: yields until a signal arrives
            except BlockingIOError:
                self.socketio.sleep(0.5)
        self.stop_browser()
        try:  # close every Engine.IO session at once: a vanished long-polling client never answers
            eio = self.socketio.server.eio
            for session in list(eio.sockets.values()):
                session.close(wait=False, abort=True)
            eio.sockets.clear()
        except Exception:  # noqa: BLE001
            logger.debug("closing Socket.IO connections failed", exc_info=True)
        raise SystemExit(0)  # travels through the hub into eventlet.wsgi.server, which then returns


def _log_ignored(signum: int, _frame: FrameType | None) -> None:
    logger.warning("%s received and ignored (SIGTERM, SIGINT or SIGHUP stop the gateway)", signal.Signals(signum).name)


def _exit_watchdog(seconds: float) -> None:
    """A real OS thread (not a green one) that ends the process if shutdown hangs past `seconds`."""
    real_threading = threading
    if "eventlet" in sys.modules:  # monkey-patched threads are green: ask for the real module
        from eventlet.patcher import original

        real_threading = original("threading")

    def expire() -> None:
        logger.error("shutdown took longer than %.0f s; exiting now", seconds)
        os._exit(1)

    timer = real_threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
