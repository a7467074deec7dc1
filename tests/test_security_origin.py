"""Who may change the session from a browser: the page's own origin and WA_CORS_ORIGINS, never another site."""

from __future__ import annotations

import json
import socket

import pytest

from tests.gateway import run_app
from tests.helpers import TOKEN

CRM = "http://crm.clinic.example"
CHANGING = ["/start-session", "/force-reset", "/logout", "/takeover", "/pairing-code"]
#: What a page on another site can send without a preflight: a "simple" request.
FOREIGN = [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},  # a sandboxed iframe, a data: URL
    {"Origin": "http://localhost.evil.example"},
    {"Origin": "https://localhost"},  # another scheme is another origin
    {"Referer": "http://evil.example/page.html"},  # no Origin (an old browser): the Referer tells
    {"Referer": "about:blank"},
]


def _counters(flask_app) -> tuple[int, int, int]:
    counters = flask_app.extensions["wa_client"].counters
    return counters["starts"], counters["resets"], counters["transitions"]


def _quiet_app(app_factory, **settings):
    flask_app = app_factory(cors_origins=CRM, **settings)
    flask_app.extensions["wa_client"].spawn = lambda *_args: None  # no browser, even when accepted
    return flask_app


@pytest.mark.parametrize("token", ["", TOKEN], ids=["no-token", "with-token"])
@pytest.mark.parametrize("headers", FOREIGN, ids=lambda h: "-".join(f"{k}={v}" for k, v in h.items()))
@pytest.mark.parametrize("path", CHANGING)
def test_a_page_on_another_site_cannot_change_the_session(app_factory, token, headers, path):
    flask_app = _quiet_app(app_factory, api_token=token)
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    before = _counters(flask_app)
    response = flask_app.test_client().post(path, headers={**headers, **auth}, data=b'{"phone": "+5511999990000"}',
                                            content_type="text/plain")
    assert response.status_code == 403, response.get_json()
    assert "another web page" in response.get_json()["error"]
    assert _counters(flask_app) == before


@pytest.mark.parametrize("headers", [
    {}, {"Origin": "http://localhost"}, {"Origin": "http://LOCALHOST"}, {"Origin": CRM},
    {"Referer": "http://localhost/"}, {"Referer": f"{CRM}/patients/12"},
], ids=["neither", "own", "own-uppercase", "listed", "own-referer", "listed-referer"])
def test_the_own_page_a_listed_origin_and_non_browsers_may(app_factory, headers):
    flask_app = _quiet_app(app_factory)
    response = flask_app.test_client().post("/force-reset", headers=headers)
    assert response.status_code == 200, response.get_json()
    assert _counters(flask_app)[1] == 1


def test_reading_is_allowed_from_anywhere_but_not_readable_there(app_factory):
    client = _quiet_app(app_factory).test_client()
    response = client.get("/status", headers={"Origin": "http://evil.example"})
    assert response.status_code == 200 and "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          "text/json", None])
def test_a_body_must_be_json(app_factory, content_type):
    flask_app = _quiet_app(app_factory)
    response = flask_app.test_client().post("/start-session", data=b"{}", content_type=content_type)
    assert response.status_code == 415
    assert "application/json" in response.get_json()["error"]
    assert _counters(flask_app)[0] == 0


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "application/merge-patch+json"])
def test_json_bodies_and_empty_ones_pass(app_factory, content_type):
    flask_app = _quiet_app(app_factory)
    client = flask_app.test_client()
    assert client.post("/force-reset", data=b"{}", content_type=content_type).status_code == 200
    assert client.post("/force-reset").status_code == 200  # no body, no content type
    assert client.post("/force-reset", data=b"", content_type="text/plain").status_code == 200  # nothing to read


# -- behind a reverse proxy that terminates TLS (WA_TRUSTED_PROXIES) ----------------------------------
PROXIED = {"Host": "clinic.example", "X-Forwarded-Proto": "https", "Origin": "https://clinic.example"}


@pytest.mark.parametrize("trusted, peer, accepted", [
    ("127.0.0.1", "127.0.0.1", True), ("10.0.0.0/8, ::1", "10.1.2.3", True),
    ("", "127.0.0.1", False), ("10.0.0.0/8", "127.0.0.1", False),  # X-Forwarded-Proto from anyone else: ignored
])
def test_the_https_origin_behind_a_trusted_proxy_is_the_pages_own(app_factory, trusted, peer, accepted):
    flask_app = _quiet_app(app_factory, api_token=TOKEN, trusted_proxies=trusted)
    client = flask_app.test_client()
    headers = {**PROXIED, "Authorization": f"Bearer {TOKEN}"}
    response = client.post("/force-reset", headers=headers, environ_base={"REMOTE_ADDR": peer})
    assert response.status_code == (200 if accepted else 403)
    handshake = client.get("/socket.io/?EIO=4&transport=polling", headers=headers,
                           environ_base={"REMOTE_ADDR": peer})
    assert (handshake.status_code == 200) is accepted, handshake.data[:200]


def test_a_bad_trusted_proxy_setting_is_refused_at_start():

    result = run_app(WA_TRUSTED_PROXIES="10.0.0.0/8, the-proxy")
    assert result.returncode == 2 and "WA_TRUSTED_PROXIES" in result.stderr and "the-proxy" in result.stderr


# -- the live service: what a browser on another site really sends ---------------------------------------
def _raw_post(url: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, dict]:
    """One HTTP/1.1 POST over a plain socket, exactly these headers: (status, JSON body)."""
    host, port = url.removeprefix("http://").split(":")
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close",
             f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(payload) if payload else {}


@pytest.mark.e2e
@pytest.mark.parametrize("token", [None, TOKEN], ids=["no-token", "with-token"])
def test_simple_requests_from_another_site_change_nothing_on_the_live_service(gateway_factory, token):
    gateway = gateway_factory(token=token)
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    evil = {"Origin": "http://evil.example", "Content-Type": "text/plain;charset=UTF-8", **auth}
    for path in CHANGING:
        code, body = _raw_post(gateway.url, path, evil, b'{"phone": "+55 11 99999 0000"}')
        assert code == 403 and "another web page" in body["error"], (path, code, body)
    code, body = _raw_post(gateway.url, "/force-reset", {"Referer": "http://evil.example/", **auth})
    assert code == 403, body
    code, body = _raw_post(gateway.url, "/start-session", {"Content-Type": "text/plain", **auth}, b"{}")
    assert code == 415 and "application/json" in body["error"]
    assert gateway.status()["state"] == "idle" and gateway.get("/history").json()["history"] == []
    assert not gateway.browser_pids()
    code, body = _raw_post(gateway.url, "/force-reset", {"Origin": gateway.url, **auth})  # the page itself
    assert code == 200 and body["state"] == "idle"


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
