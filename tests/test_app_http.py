"""The HTTP and Socket.IO layer: contract shapes, JSON errors, auth; in-process first, then `python app.py`."""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
from datetime import datetime

import pytest

import app as app_module
from tests.gateway import REPO_ROOT
from wa_client import ResetError
from wa_client.config import Settings
from web import guards, lifecycle

STATUS_KEYS = {"state", "reason", "error", "qr_version", "since", "pairing_code"}
TOKEN = "s3cret-token-for-tests"


def is_json_error(response) -> bool:
    """The contract's error shape: JSON with a non-empty "error" string, no HTML."""
    body = response.get_json(silent=True)
    return (response.mimetype == "application/json" and isinstance(body, dict)
            and isinstance(body.get("error"), str) and body["error"] != "")


# -- the contract's shapes, no browser ---------------------------------------------------------
def test_healthz_is_ok_without_auth(app_factory):
    client = app_factory(api_token=TOKEN).test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"ok": True}


def test_status_has_the_contract_shape(http):
    response = http.get("/status")
    assert response.status_code == 200
    body = response.get_json()
    assert STATUS_KEYS <= body.keys()
    assert body["state"] == "idle"
    assert body["qr_version"] is None
    assert datetime.fromisoformat(body["since"].replace("Z", "+00:00")).utcoffset().total_seconds() == 0


@pytest.mark.parametrize("path", ["/qr", "/qr.png"])
def test_no_qr_means_404_json(http, path):
    response = http.get(path)
    assert response.status_code == 404
    assert is_json_error(response)


def test_page_is_served_with_its_assets(http):
    page = http.get("/")
    assert page.status_code == 200
    assert b"Generate QR" in page.data and b"Force Reset" in page.data
    for asset in ("/static/app.js", "/static/app.css", "/static/socket.io.min.js"):
        with http.get(asset) as response:
            assert response.status_code == 200, asset
    assert b"http://" not in page.data and b"https://" not in page.data  # no CDN


def test_unknown_path_is_404_json(http):
    response = http.get("/no/such/thing")
    assert response.status_code == 404
    assert is_json_error(response)


@pytest.mark.parametrize("method, path", [
    ("GET", "/start-session"), ("GET", "/force-reset"), ("POST", "/status"), ("DELETE", "/qr.png"),
    ("PUT", "/healthz"),
])
def test_wrong_method_is_405_json_with_allow(http, method, path):
    response = http.open(path, method=method)
    assert response.status_code == 405
    assert is_json_error(response)
    assert response.headers.get("Allow")


@pytest.mark.parametrize("path", ["/start-session", "/force-reset"])
@pytest.mark.parametrize("body, content_type, code", [
    ("{not json", "application/json", 400), ("hello", "text/plain", 415), ("\xff\xfe", "application/json", 400),
    ("{}", "text/plain", 415), ("{}", "application/x-www-form-urlencoded", 415),
])
def test_malformed_body_is_refused_and_changes_nothing(app, path, body, content_type, code):
    client = app.test_client()
    before = client.get("/status").get_json()
    response = client.post(path, data=body.encode("latin-1"), content_type=content_type)
    assert response.status_code == code
    assert is_json_error(response)
    assert client.get("/status").get_json() == before
    assert app.extensions["wa_client"].counters["starts"] == 0
    assert app.extensions["wa_client"].counters["resets"] == 0


@pytest.mark.parametrize("path", ["/start-session", "/force-reset"])
def test_oversized_body_is_413_and_changes_nothing(app, path):
    client = app.test_client()
    response = client.post(path, data=b'"' + b"a" * 20_000 + b'"', content_type="application/json")
    assert response.status_code == 413
    assert is_json_error(response)
    counters = app.extensions["wa_client"].counters
    assert (counters["starts"], counters["resets"]) == (0, 0)


def test_force_reset_from_idle_answers_the_contract(http):
    response = http.post("/force-reset", json={})
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] is True and body["state"] == "idle" and body["message"]


def test_force_reset_failure_is_500_with_ok_false(app, monkeypatch):
    def refuse(**_origin) -> dict:
        raise ResetError("the profile directory could not be deleted")

    monkeypatch.setattr(app.extensions["wa_client"], "force_reset", refuse)
    response = app.test_client().post("/force-reset")
    assert response.status_code == 500
    assert response.get_json() == {"ok": False, "error": "the profile directory could not be deleted"}


def test_unexpected_error_is_500_json_without_a_trace(app, monkeypatch):
    def explode() -> dict:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(app.extensions["wa_client"], "status", explode)
    response = app.test_client().get("/status")
    assert response.status_code == 500
    assert is_json_error(response)
    assert b"Traceback" not in response.data and b"secret internals" not in response.data


def test_history_lists_transitions(http):
    http.post("/force-reset")
    history = http.get("/history").get_json()["history"]
    assert history[-1]["state"] == "idle" and history[-1]["reason"] == "force_reset"


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


def test_page_and_assets_load_without_the_token(app_factory):
    client = app_factory(api_token=TOKEN).test_client()
    page = client.get("/")
    assert page.status_code == 200
    assert b'data-token-required="yes"' in page.data
    assert TOKEN.encode() not in page.data
    with client.get("/static/app.js") as script:
        assert script.status_code == 200


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


# -- Socket.IO in-process --------------------------------------------------------------------
def received(sio_client) -> dict[str, list]:
    """The events a Flask-SocketIO test client got, by name."""
    out: dict[str, list] = {}
    for message in sio_client.get_received():
        out.setdefault(message["name"], []).append(message["args"][0] if message["args"] else None)
    return out


def test_socket_greets_with_status_and_answers_get_status(app):
    sio = app_module.socketio.test_client(app)
    assert sio.is_connected()
    assert STATUS_KEYS <= received(sio)["status"][0].keys()
    ack = sio.emit("get-status", callback=True)
    assert ack["state"] == "idle"
    assert received(sio)["status"][0]["state"] == "idle"
    sio.disconnect()


def test_socket_force_reset_answers_the_asker(app):
    sio = app_module.socketio.test_client(app)
    sio.get_received()
    sio.emit("force-reset", {"unexpected": "payload"})
    events = received(sio)
    assert events["force-reset-success"][0]["message"]
    assert events["status"][-1]["state"] == "idle"
    sio.disconnect()


def test_socket_force_reset_failure_answers_force_reset_error(app, monkeypatch):
    def refuse(**_origin) -> dict:
        raise ResetError("could not delete the profile")

    monkeypatch.setattr(app.extensions["wa_client"], "force_reset", refuse)
    sio = app_module.socketio.test_client(app)
    sio.emit("force-reset")
    assert received(sio)["force-reset-error"] == [{"error": "could not delete the profile"}]
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


@pytest.mark.parametrize("auth", [None, {}, {"token": "wrong"}, {"token": 123}, "just-a-string"])
def test_socket_without_the_token_is_refused(app_factory, auth):
    flask_app = app_factory(api_token=TOKEN)
    try:
        sio = app_module.socketio.test_client(flask_app, auth=auth)
    except ConnectionRefusedError:
        return
    assert not sio.is_connected()


def test_socket_with_the_token_connects(app_factory):
    flask_app = app_factory(api_token=TOKEN)
    sio = app_module.socketio.test_client(flask_app, auth={"token": TOKEN})
    assert sio.is_connected()
    assert "status" in received(sio)
    sio.disconnect()


@pytest.mark.parametrize("origin, allowed", [
    (None, True), ("http://localhost", True), ("http://crm.clinic.example", True),
    ("http://evil.example", False), ("*", False), ("null", False),
])
def test_socket_origins_are_same_origin_plus_the_configured_list(app_factory, origin, allowed):
    flask_app = app_factory(cors_origins="http://crm.clinic.example, *")
    headers = {"Origin": origin} if origin else {}
    response = flask_app.test_client().get("/socket.io/?EIO=4&transport=polling", headers=headers)
    assert (response.status_code == 200) is allowed


def test_http_cors_headers_only_for_configured_origins(app_factory):
    client = app_factory(cors_origins="http://crm.clinic.example").test_client()
    listed = client.get("/status", headers={"Origin": "http://crm.clinic.example"})
    assert listed.headers["Access-Control-Allow-Origin"] == "http://crm.clinic.example"
    other = client.get("/status", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


# -- configuration and the command line --------------------------------------------------------
@pytest.mark.parametrize("argv, env, expected", [
    ([], {}, "eventlet"), ([], {"WA_ASYNC_MODE": "threading"}, "threading"),
    (["--wa-async-mode", "threading"], {}, "threading"), (["--wa-async-mode=Threading"], {}, "threading"),
    (["--wa-async-mode", "eventlet"], {"WA_ASYNC_MODE": "threading"}, "eventlet"),
])
def test_async_mode_is_read_before_imports(argv, env, expected):
    assert app_module._wanted_async_mode(argv, env) == expected


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.0.1.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False),
    ("192.168.1.10", False), ("::", False), ("clinic-server", False),
])
def test_loopback_detection(host, loopback):
    assert lifecycle.is_loopback(host) is loopback


def test_create_app_accepts_settings_and_env_names():
    with tempfile.TemporaryDirectory() as home:
        flask_app = app_module.create_app({"WA_API_TOKEN": "x", "WA_PROFILE_DIR": f"{home}/p",
                                           "async_mode": "threading"})
        assert flask_app.config[guards.SETTINGS_KEY].api_token == "x"
        settings = Settings.from_mapping({"profile_dir": f"{home}/q", "async_mode": "threading"})
        assert app_module.create_app(settings).config[guards.SETTINGS_KEY] is settings


def run_app(*args: str, **env: str) -> subprocess.CompletedProcess:
    """`python app.py ARGS` with a clean environment plus `env`; no browser is involved."""
    base = {"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1", **env}
    return subprocess.run([sys.executable, "app.py", *args], cwd=REPO_ROOT, env=base, capture_output=True,
                          text=True, timeout=30)


def test_help_lists_every_setting_with_its_default():
    result = run_app("--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for field in Settings.__dataclass_fields__.values():
        env = field.metadata["env"]
        assert f"--{env.lower().replace('_', '-')}" in text
        assert f"env {env}, default:" in text


def test_refuses_a_remote_host_without_a_token():
    result = run_app("--host", "0.0.0.0", "--port", "1")
    assert result.returncode == 2
    assert "WA_API_TOKEN" in result.stderr


def test_bad_setting_exits_2_with_a_message():
    result = run_app(PORT="not-a-port")
    assert result.returncode == 2
    assert "PORT" in result.stderr
