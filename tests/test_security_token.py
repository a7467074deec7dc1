"""WA_API_TOKEN: every endpoint but /healthz and the page needs it, over HTTP and Socket.IO, in-process
and on the live service; it is compared in constant time and never logged."""

from __future__ import annotations

import logging

import pytest
import requests
import socketio

import app as app_module
from tests.gateway import SocketEvents, connect_socket
from tests.helpers import PHONE, TOKEN, is_json_error, received
from web.server import guards


# -- auth ------------------------------------------------------------------------------------
@pytest.mark.parametrize("path, method", [
    ("/status", "GET"), ("/qr", "GET"), ("/qr.png", "GET"), ("/history", "GET"),
    ("/start-session", "POST"), ("/force-reset", "POST"),
])
def test_every_endpoint_but_healthz_needs_the_token(app_factory, path, method):
    flask_app = app_factory(api_token=TOKEN)
    client = flask_app.test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"}, {"Authorization": TOKEN}):
        response = client.open(path, method=method, headers=headers)
        assert response.status_code == 401, headers
        assert is_json_error(response)
    assert flask_app.extensions["wa_client"].counters["starts"] == 0
    assert flask_app.extensions["wa_client"].counters["resets"] == 0


@pytest.mark.parametrize("headers", [{"Authorization": f"Bearer {TOKEN}"}, {"Authorization": f"bearer {TOKEN}"},
                                     {"X-API-Key": TOKEN}])
def test_the_token_opens_the_api(app_factory, headers):
    client = app_factory(api_token=TOKEN).test_client()
    assert client.get("/status", headers=headers).status_code == 200


def test_without_a_token_setting_no_auth_is_needed(http):
    assert http.get("/status").status_code == 200


def test_token_is_compared_in_constant_time(app_factory, monkeypatch):
    calls = []
    real = guards.hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(guards.hmac, "compare_digest", spy)
    client = app_factory(api_token=TOKEN).test_client()
    assert client.get("/status", headers={"X-API-Key": "nope"}).status_code == 401
    assert client.get("/status", headers={"X-API-Key": TOKEN}).status_code == 200
    assert len(calls) == 2


def test_the_token_is_never_logged(app_factory, caplog):
    caplog.set_level(logging.DEBUG)
    client = app_factory(api_token=TOKEN).test_client()
    client.get("/status", headers={"Authorization": f"Bearer {TOKEN}"})
    client.get("/status", headers={"Authorization": "Bearer wrong"})
    client.post("/force-reset", headers={"X-API-Key": TOKEN})
    assert TOKEN not in caplog.text


@pytest.mark.parametrize("auth", [None, {}, {"token": "wrong"}, {"token": 123}, "just-a-string"])
def test_socket_without_the_token_is_refused(app_factory, auth):
    flask_app = app_factory(api_token=TOKEN)
    sio = app_module.socketio.test_client(flask_app, auth=auth)
    assert not sio.is_connected()


def test_socket_with_the_token_connects(app_factory):
    flask_app = app_factory(api_token=TOKEN)
    sio = app_module.socketio.test_client(flask_app, auth={"token": TOKEN})
    assert sio.is_connected()
    assert "status" in received(sio)
    sio.disconnect()


@pytest.mark.parametrize("path, method", [("/pairing-code", "POST"), ("/logout", "POST"), ("/takeover", "POST"),
                                          ("/metrics", "GET"), ("/healthz?linked=1", "GET")])
def test_new_endpoints_need_the_token(app_factory, path, method):
    client = app_factory(api_token=TOKEN).test_client()
    response = client.open(path, method=method, json={"phone": PHONE} if method == "POST" else None)
    assert response.status_code == 401 and is_json_error(response)
    assert client.open(path, method=method, headers={"X-API-Key": TOKEN}).status_code != 401


def test_token_protects_the_running_service(gateway_factory):
    gateway = gateway_factory(token=TOKEN)
    assert gateway.get("/status", headers={"Authorization": ""}).status_code == 401
    assert gateway.get("/status").status_code == 200
    assert gateway.http.get(gateway.url + "/healthz").status_code == 200
    with pytest.raises(socketio.exceptions.ConnectionError):
        SocketEvents(gateway.url, token="wrong")
    events = SocketEvents(gateway.url, token=TOKEN)
    assert events.wait_for("status")["state"] == "idle"
    events.close()
    assert TOKEN not in gateway.log_text()


@pytest.mark.e2e
def test_the_token_guards_every_endpoint_of_the_live_service(gateway_factory):
    gateway = gateway_factory(token=TOKEN, LOG_LEVEL="DEBUG")
    plain = requests.Session()
    plain.trust_env = False
    wrong = "wrong-token-3b9f"
    for method, path in [("GET", "/status"), ("GET", "/qr"), ("GET", "/qr.png"), ("GET", "/history"),
                         ("POST", "/start-session"), ("POST", "/force-reset"), ("GET", "/no/such/page")]:
        for headers in ({}, {"Authorization": f"Bearer {wrong}"}, {"X-API-Key": wrong}, {"Authorization": TOKEN}):
            response = plain.request(method, gateway.url + path, headers=headers, timeout=10)
            assert response.status_code == 401, (method, path, headers)
            assert is_json_error(response) and wrong not in response.text and TOKEN not in response.text
    assert plain.get(gateway.url + "/healthz", timeout=10).json() == {"ok": True}
    assert gateway.get("/status").status_code == 200
    assert gateway.get("/status", headers={"Authorization": "", "X-API-Key": TOKEN}).status_code == 200

    for auth in (None, {"token": wrong}, {"token": "\ud800"}, {"token": 12345}, {"token": [TOKEN]}):
        with pytest.raises(socketio.exceptions.ConnectionError):
            connect_socket(gateway, auth)
    events = SocketEvents(gateway.url, TOKEN)
    assert events.wait_for("status")["state"] == "idle"
    events.close()
    plain.close()
    log = gateway.log_text()
    assert TOKEN not in log and wrong not in log
    assert gateway.status()["state"] == "idle" and not gateway.browser_pids()
