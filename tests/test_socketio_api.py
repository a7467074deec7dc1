"""The Socket.IO API in-process (Flask-SocketIO's test client): greetings, answers to the asker, unknown events."""

from __future__ import annotations

import pytest

import app as app_module
from tests.helpers import PHONE, STATUS_KEYS, received

# -- Socket.IO in-process --------------------------------------------------------------------


def test_socket_greets_with_status_and_answers_get_status(app):
    sio = app_module.socketio.test_client(app)
    assert sio.is_connected()
    assert STATUS_KEYS <= received(sio)["status"][0].keys()
    ack = sio.emit("get-status", callback=True)
    assert ack["state"] == "idle"
    assert received(sio)["status"][0]["state"] == "idle"
    sio.disconnect()


@pytest.mark.parametrize("event, payload", [("no-such-event", None), ("start-sesion", {"x": 1}), ("😀" * 100, "x")])
def test_unknown_socket_events_are_answered_not_fatal(app, event, payload):
    sio = app_module.socketio.test_client(app)
    sio.get_received()
    sio.emit(event, payload)
    assert "unknown event" in received(sio)["error"][0]["error"]
    assert sio.is_connected()
    assert app.extensions["wa_client"].counters["starts"] == 0
    sio.disconnect()


def test_internal_events_are_not_pushed_to_socket_clients(app):
    sio = app_module.socketio.test_client(app)
    sio.get_received()
    app.extensions["wa_client"].emit("browser_started", {"seconds": 1.0})
    app.extensions["wa_client"].emit("ready", {})
    events = received(sio)
    assert "browser_started" not in events and "ready" in events
    sio.disconnect()


@pytest.mark.parametrize("event, payload, answer", [
    ("pairing-code", {"phone": "abc"}, "pairing-code-error"), ("pairing-code", "not an object", "pairing-code-error"),
    ("pairing-code", {"phone": PHONE}, "pairing-code-error"), ("logout", None, "logout-error"),
    ("takeover", None, "takeover-error"),
])
def test_socket_commands_answer_the_asker_with_an_error(app, event, payload, answer):
    sio = app_module.socketio.test_client(app)
    sio.get_received()
    ack = sio.emit(event, payload, callback=True)
    assert received(sio)[answer][0]["error"] == ack["error"]
    assert sio.is_connected() and app.extensions["wa_client"].status()["state"] == "idle"
    sio.disconnect()
