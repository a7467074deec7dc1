"""Who may drive the session, and bad input: property tests in-process, then the real service (`python app.py`)."""

from __future__ import annotations

import json
import socket
import string
import tempfile

import pytest
import requests
import socketio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import app as app_module
from tests.gateway import SocketEvents, connect_socket, free_port, run_app
from tests.helpers import TOKEN, wait_until

CRM_ORIGIN = "http://crm.clinic.example"
CHANGING_EVENTS = {"start-session", "generate-qr", "force-reset"}
RESERVED_EVENTS = {"connect", "disconnect", "connect_error"}


#: Every event the server handles (Hypothesis also draws strings found in the code, e.g. "pairing-code").
KNOWN_EVENTS = CHANGING_EVENTS | {"get-status", "pairing-code", "logout", "takeover"}

# -- strategies --------------------------------------------------------------------------------------
HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=255, blacklist_characters="\x7f"), max_size=60)
# What an HTTP client sends: requests refuses a value that starts with whitespace (' ', '\xa0', ...).
SENDABLE_HEADER_TEXT = HEADER_TEXT.map(str.lstrip)
ASCII_TEXT = st.text(string.ascii_letters + string.digits + string.punctuation + " ", max_size=40).map(str.strip)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
NOT_AN_OBJECT = st.one_of(
    st.binary(min_size=1, max_size=300).filter(lambda raw: not _is_object_or_blank(raw)),
    JSON_VALUES.filter(lambda v: not isinstance(v, dict)).map(lambda v: json.dumps(v).encode()),
    st.integers(16 * 1024 + 1, 64 * 1024).map(lambda n: b'{"a": "' + b"x" * n + b'"}'),  # too large
    st.integers(2000, 7000).map(lambda n: b"[" * n + b"]" * n),  # nested deeper than the JSON parser goes
)
ANY_BODY = st.one_of(st.just(b""), st.just(b"{}"), JSON_VALUES.map(lambda v: json.dumps(v).encode()), NOT_AN_OBJECT)
METHODS = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
QUERIES = st.one_of(st.sampled_from(["", "?v=1", "?linked=1", "?v=%ff%00", "?EIO=4&transport=polling&sid=x",
                                     "?EIO=3&transport=polling", "?sid=x"]),
                    ASCII_TEXT.map(lambda q: "?" + q.replace("#", "")))


def _is_object_or_blank(raw: bytes) -> bool:
    if not raw.strip():
        return True
    try:
        return isinstance(json.loads(raw), dict)
    except (ValueError, RecursionError):
        return False


def _auth_headers(token: str, text: st.SearchStrategy[str] = HEADER_TEXT) -> st.SearchStrategy[dict]:
    return st.sampled_from([
        {}, {"Authorization": f"Bearer {token}"}, {"X-API-Key": token}, {"Authorization": token},
        {"Authorization": "Bearer"}, {"Authorization": f"Bearer {token}x"}, {"X-API-Key": token[:-1]},
        {"Authorization": f"Basic {token}"},
    ]) | st.dictionaries(st.sampled_from(["Authorization", "X-API-Key"]), text, max_size=2)


def _other_headers(text: st.SearchStrategy[str]) -> st.SearchStrategy[dict]:
    origins = st.sampled_from([CRM_ORIGIN, "http://evil.example", "*", "null", "http://localhost"]) | text
    hosts = st.sampled_from(["localhost", "127.0.0.1:3001", "[::1]:3001", "evil.example", "127.0.0.1.nip.io"]) | text
    return st.fixed_dictionaries({}, optional={
        "Origin": origins, "Host": hosts, "Content-Type": st.sampled_from(
            ["application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]) | text,
        "If-None-Match": st.sampled_from(['"v1"', "*", "W/\"v0\""]) | text, "Accept": text, "Cookie": text,
        "Content-Encoding": st.sampled_from(["gzip", "br"]) | text, "X-Forwarded-For": text,
    })


def is_json_error(response) -> bool:
    """The contract's error shape: JSON with a non-empty "error" string."""
    body = response.get_json(silent=True) if hasattr(response, "get_json") else _json_or_none(response)
    return isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"] != ""


def _json_or_none(response: requests.Response):
    try:
        return response.json()
    except ValueError:
        return None


# -- in-process: the Flask app with a WA_URL that is never opened -----------------------------------------
def _app_without_browser(home: str, **overrides):
    """The real app; start_session's worker is not spawned, so no Chromium ever starts."""
    flask_app = app_module.create_app({"profile_dir": f"{home}/profile", "wa_url": "http://127.0.0.1:9/",
                                       "async_mode": "threading", "cors_origins": f"{CRM_ORIGIN},*", **overrides})
    flask_app.config["TESTING"] = True
    client = flask_app.extensions["wa_client"]
    client.spawn = lambda *_args: None
    return flask_app, client


def _snapshot(client) -> tuple:
    counters = client.counters
    return client.status(), counters["starts"], counters["resets"], counters["transitions"], len(client.history())


def _paths(flask_app) -> list[str]:
    """Every route of the app (whatever other issues add), plus the Socket.IO endpoint and an unknown path."""
    paths = {"/static/app.js" if "<" in rule.rule else rule.rule for rule in flask_app.url_map.iter_rules()}
    return sorted(paths | {"/socket.io/", "/no/such/page", "/status/", "/qr.png/../status"})


def _random_path(text: str) -> str:
    """A path from random text (a leading "//" would make the client read a host name, not a path)."""
    return "/" + text.replace("?", "").replace("#", "").lstrip("/")


@pytest.mark.parametrize("token", [TOKEN, ""], ids=["with-token", "no-token"])
def test_random_requests_never_5xx_and_the_refused_ones_change_nothing(token):
    with tempfile.TemporaryDirectory(prefix="wa-hypothesis-") as home:
        flask_app, client = _app_without_browser(home, api_token=token)
        http = flask_app.test_client()
        paths = st.sampled_from(_paths(flask_app)) | ASCII_TEXT.map(_random_path)

        @settings(max_examples=400, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(method=METHODS, path=paths, query=QUERIES, auth=_auth_headers(TOKEN),
               headers=_other_headers(HEADER_TEXT), body=ANY_BODY)
        def one_request(method, path, query, auth, headers, body):
            before = _snapshot(client)
            response = http.open(path + query, method=method, headers={**headers, **auth}, data=body)
            response.get_data()  # read it all (a static file streams), then let go of it
            response.close()
            code = response.status_code
            health_answer = path == "/healthz" and code == 503  # ?linked=1 on an unlinked session: by design
            assert code < 500 or health_answer, (code, response.data[:200])
            if code >= 400 and method != "HEAD" and not path.startswith("/socket.io"):
                assert is_json_error(response) or health_answer, (code, response.data[:200])
            if code >= 400 or method in ("GET", "HEAD", "OPTIONS") or path.startswith("/socket.io"):
                assert _snapshot(client) == before, f"{method} {path} answered {code} but changed the session"
            assert TOKEN.encode() not in response.data
            allowed_origin = response.headers.get("Access-Control-Allow-Origin")
            assert allowed_origin in (None, CRM_ORIGIN), allowed_origin  # never *, never a reflected stranger
            if client.status()["state"] != "idle":
                client.force_reset()  # an accepted Generate QR; start the next example from idle

        one_request()


@pytest.mark.parametrize("token", [TOKEN, ""], ids=["with-token", "no-token"])
def test_random_socket_events_never_break_the_server_and_bad_ones_change_nothing(token):
    with tempfile.TemporaryDirectory(prefix="wa-hypothesis-") as home:
        flask_app, client = _app_without_browser(home, api_token=token)
        events = st.sampled_from(sorted(KNOWN_EVENTS | {"error", "status", "qr"})) | \
            st.text(max_size=30).filter(lambda e: e not in RESERVED_EVENTS)
        payloads = st.lists(JSON_VALUES, max_size=3)
        auths = st.sampled_from([None, {}, {"token": token}, {"token": TOKEN + "x"}, {"token": "\ud800"}, "x", 5])

        @settings(max_examples=250, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
        @given(event=events, args=payloads, auth=auths)
        def one_event(event, args, auth):
            before = _snapshot(client)
            sio = app_module.socketio.test_client(flask_app, auth=auth)
            admitted = sio.is_connected()
            assert admitted == (not token or auth == {"token": token}), f"auth {auth!r} admitted: {admitted}"
            if not admitted:
                assert _snapshot(client) == before
                return
            sio.get_received()
            sio.emit(event, *args)
            received = sio.get_received()
            assert sio.is_connected(), "an event dropped the connection"
            assert not [m for m in received if m["name"] == "error" and "internal error" in str(m["args"])], received
            acceptable = not args or (len(args) == 1 and (args[0] is None or isinstance(args[0], dict)))
            if event not in CHANGING_EVENTS or not acceptable:
                assert _snapshot(client) == before, f"{event!r} {args!r} changed the session"
                if event not in KNOWN_EVENTS:
                    assert [m for m in received if m["name"] == "error"], f"no error for unknown {event!r}"
                elif event != "get-status":
                    assert any("error" in m["name"] for m in received), f"no error for {event!r} {args!r}"
            sio.disconnect()
            if client.status()["state"] != "idle":
                client.force_reset()

        one_event()


def test_a_deeply_nested_body_is_a_400_not_a_500(app_factory):
    http = app_factory().test_client()
    response = http.post("/start-session", data=b"[" * 7000 + b"]" * 7000, content_type="application/json")
    assert response.status_code == 400 and is_json_error(response)


@pytest.mark.parametrize("body", [b"[]", b'"start"', b"42", b"null", b"true"])
def test_a_body_that_is_not_a_json_object_is_refused(app_factory, body):
    flask_app = app_factory()
    response = flask_app.test_client().post("/start-session", data=body, content_type="application/json")
    assert response.status_code == 400 and "JSON object" in response.get_json()["error"]
    assert flask_app.extensions["wa_client"].counters["starts"] == 0


@pytest.mark.parametrize("host, allowed", [
    ("localhost", True), ("localhost:3001", True), ("127.0.0.1:3001", True), ("[::1]:3001", True),
    ("127.0.0.2", True), ("evil.example", False), ("evil.example:3001", False), ("127.0.0.1.nip.io:3001", False),
    ("192.168.1.20:3001", False),
])
def test_without_a_token_only_loopback_host_names_are_served(app_factory, host, allowed):
    client = app_factory().test_client()
    response = client.get("/status", headers={"Host": host})
    assert response.status_code == (200 if allowed else 403)
    if not allowed:
        assert "localhost" in response.get_json()["error"]
    with_token = app_factory(api_token=TOKEN).test_client()
    assert with_token.get("/status", headers={"Host": host, "X-API-Key": TOKEN}).status_code == 200


# -- the real service ----------------------------------------------------------------------------------
LIVE_PATHS = ["/", "/status", "/qr", "/qr.png", "/history", "/healthz", "/start-session", "/force-reset",
              "/pairing-code", "/logout", "/takeover", "/metrics", "/static/app.js", "/no/such/page",
              "/socket.io/"]


@pytest.mark.e2e
def test_random_requests_to_the_live_service_never_5xx_and_change_nothing(gateway_factory):
    gateway = gateway_factory(token=TOKEN)
    http = requests.Session()
    http.trust_env = False
    paths = st.sampled_from(LIVE_PATHS) | ASCII_TEXT.map(_random_path)
    status_before = gateway.status()

    # Every POST body is one the guards must refuse, so no example may start a browser or change anything.
    @settings(max_examples=80, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])
    @given(method=METHODS, path=paths, query=QUERIES, auth=_auth_headers(TOKEN, SENDABLE_HEADER_TEXT),
           headers=_other_headers(ASCII_TEXT), body=NOT_AN_OBJECT)
    def one_request(method, path, query, auth, headers, body):
        response = http.request(method, gateway.url + path + query, headers={**headers, **auth}, data=body,
                                timeout=10, allow_redirects=False)
        code = response.status_code
        health_answer = path == "/healthz" and code == 503
        assert code < 500 or health_answer, (method, path, code, response.text[:200])
        if code >= 400 and method != "HEAD" and not path.startswith("/socket.io"):
            assert is_json_error(response) or health_answer, (code, response.text[:200])
        assert TOKEN not in response.text
        if method == "POST" and code < 400 and not path.startswith("/socket.io"):
            pytest.fail(f"POST {path} accepted a body the guards must refuse: {body[:60]!r} -> {code}")

    one_request()
    http.close()
    assert gateway.status() == status_before
    assert not gateway.browser_pids()
    assert "Traceback" not in gateway.log_text()



def _plain_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


@pytest.mark.e2e
def test_cross_origin_calls_only_from_the_listed_origins(gateway_factory):
    gateway = gateway_factory(token=TOKEN, WA_CORS_ORIGINS=f"{CRM_ORIGIN}, *")
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    listed = gateway.http.options(gateway.url + "/start-session", headers={"Origin": CRM_ORIGIN, **preflight},
                                  timeout=10)
    assert listed.headers.get("Access-Control-Allow-Origin") == CRM_ORIGIN
    assert "Authorization" in listed.headers.get("Access-Control-Allow-Headers", "")
    for stranger in ("http://evil.example", "null", "*"):
        answer = gateway.get("/status", headers={"Origin": stranger})
        assert "Access-Control-Allow-Origin" not in answer.headers, stranger
        with pytest.raises(socketio.exceptions.ConnectionError):
            connect_socket(gateway, {"token": TOKEN}, headers={"Origin": stranger}, transports=["polling"])
    crm = connect_socket(gateway, {"token": TOKEN}, headers={"Origin": CRM_ORIGIN}, transports=["polling"])
    crm.disconnect()
    assert gateway.status()["state"] == "idle"


@pytest.mark.e2e
def test_a_dns_rebinding_page_cannot_reach_a_gateway_without_token(gateway_factory):
    gateway = gateway_factory()  # loopback, no token: what a clinic PC runs by default
    port = gateway.url.rsplit(":", 1)[1]
    evil = f"rebind.evil.example:{port}"
    for path in ("/status", "/qr", "/qr.png", "/start-session"):
        method = "POST" if path == "/start-session" else "GET"
        response = gateway.http.request(method, gateway.url + path, headers={"Host": evil}, timeout=10)
        assert response.status_code == 403 and is_json_error(response), path
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect_socket(gateway, None, headers={"Host": evil, "Origin": f"http://{evil}"}, transports=["polling"])
    assert gateway.get("/status", headers={"Host": f"localhost:{port}"}).status_code == 200
    assert gateway.status()["state"] == "idle" and not gateway.browser_pids()


class RawPolling:
    """A bare Engine.IO long-polling session: sees exactly what the server queues for it."""

    def __init__(self, url: str) -> None:
        self.http = _plain_session()
        self.base = url + "/socket.io/?EIO=4&transport=polling"
        opened = self.http.get(self.base, timeout=10).text
        self.sid = json.loads(opened[1:])["sid"]

    def send(self, packet: str) -> requests.Response:
        return self.http.post(f"{self.base}&sid={self.sid}", data=packet.encode(), timeout=10)

    def receive(self, timeout: float) -> str:
        """What the server has queued (empty when nothing comes within `timeout`)."""
        try:
            return self.http.get(f"{self.base}&sid={self.sid}", timeout=timeout).text
        except requests.exceptions.ReadTimeout:
            return ""

    def close(self) -> None:
        """Say goodbye (Engine.IO CLOSE), as a real client does, then hang up."""
        try:
            self.send("1")
        finally:
            self.http.close()


@pytest.mark.e2e
@pytest.mark.browser
def test_qr_events_reach_only_authenticated_sockets(gateway_factory, simulator):
    gateway = gateway_factory(token=TOKEN)
    intruder = RawPolling(gateway.url)
    assert intruder.send('40{"token":"guess"}').status_code == 200
    assert "unauthorized" in intruder.receive(timeout=10)  # 44: the connection was refused
    intruder.send('42["start-session"]')  # not connected to the namespace: must be ignored
    front_desk = SocketEvents(gateway.url, TOKEN)
    assert gateway.stays("idle", seconds=1.0), "an unauthenticated socket started a session"

    assert gateway.post("/start-session").status_code == 202
    qr = front_desk.wait_for("qr", timeout=60)
    assert qr["qr"] in simulator.live_payloads() + [r["payload"] for r in simulator.state()["recent_refs"]]
    leaked = intruder.receive(timeout=3)  # the QR is broadcast already: anything queued would come at once
    assert qr["qr"] not in leaked and '"qr"' not in leaked, leaked[:200]
    assert gateway.post("/force-reset", timeout=30).json()["state"] == "idle"
    front_desk.close()
    intruder.close()


@pytest.mark.e2e
def test_wrong_socket_payloads_get_an_error_and_change_nothing(gateway_factory):
    gateway = gateway_factory(token=TOKEN)
    events = SocketEvents(gateway.url, TOKEN)
    events.wait_for("status")
    cases = [("start-session", 12345, "error"), ("generate-qr", "now", "error"), ("start-session", [1, 2], "error"),
             ("force-reset", ["all"], "force-reset-error"), ("no-such-event", {"x": 1}, "error"),
             ("ready", None, "error"), ("qr", {"qr": "2@forged"}, "error")]
    for event, payload, answer in cases:
        mark = len(events.events)
        events.emit(event, payload)
        reply = events.wait_for(answer, after=mark, timeout=10)
        assert reply["error"] and "internal" not in reply["error"], (event, reply)
    assert gateway.status()["state"] == "idle"
    assert [change["state"] for change in gateway.get("/history").json()["history"]] == []
    assert events.sio.connected
    events.close()


@pytest.mark.e2e
def test_malformed_and_huge_socket_messages_are_answered_and_change_nothing(gateway_factory):
    gateway = gateway_factory(token=TOKEN)
    raw = RawPolling(gateway.url)
    assert raw.send(f'40{{"token":"{TOKEN}"}}').status_code == 200
    assert '"status"' in raw.receive(timeout=10)
    answers = [raw.send(packet).status_code for packet in (
        '42["start-session",' + "[" * 5000 + "]" * 5000 + "]",  # nested past the JSON parser's depth
        '42["start-session", {"a": ',  # cut short
        "4" + "9" * 50,  # not a Socket.IO packet
        "9", "0", "2probe", "6",  # Engine.IO packet types a client never sends: python-engineio would hang on them
        '42["force-reset", "' + "x" * 40_000 + '"]',  # past max_http_buffer_size: would hang, too
    )]
    raw.close()
    print(f"\nanswers to the malformed packets: {answers}")
    assert all(code < 500 for code in answers), answers  # and every one was answered within 10 s
    assert answers[-5:] == [400, 400, 400, 400, 413]
    assert gateway.status()["state"] == "idle", "a malformed packet started or reset something"
    assert not gateway.browser_pids()
    events = SocketEvents(gateway.url, TOKEN)  # the server still takes new connections
    assert events.wait_for("status")["state"] == "idle"
    events.close()


def _secrets_in(payload: str) -> list[str]:
    """The whole payload, its first field (the ref) and every key-sized field: none may be logged."""
    return [payload] + [field for i, field in enumerate(payload.split(",")) if i == 0 or len(field) >= 16]


@pytest.mark.e2e
@pytest.mark.browser
def test_a_whole_session_at_debug_level_logs_no_qr_payload_and_no_token(gateway_factory, simulator):
    gateway = gateway_factory(token=TOKEN, LOG_LEVEL="DEBUG")
    events = SocketEvents(gateway.url, TOKEN)
    gateway.get("/status", headers={"Authorization": "Bearer wrong-token-5c1e"})
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr", timeout=60)
    first = events.wait_for("qr")
    events.wait_for("qr", lambda q: q["version"] > first["version"], timeout=30)  # a rotation, too
    gateway.get("/qr")
    gateway.get("/qr.png")
    gateway.phone_scans(simulator)
    gateway.wait_status("connected", timeout=30)
    assert gateway.post("/force-reset", timeout=30).json()["state"] == "idle"
    events.close()

    payloads = {data["qr"] for name, data in events.events if name == "qr"}
    payloads |= {ref["payload"] for ref in simulator.state()["recent_refs"]}
    log = gateway.log_text()
    print(f"\n{len(payloads)} QR payloads, {len(log.splitlines())} DEBUG log lines checked")
    assert '"GET /qr.png' in log, "LOG_LEVEL=DEBUG did not log every request"
    assert payloads
    for payload in payloads:
        for secret in _secrets_in(payload):
            assert secret not in log, f"the log holds a QR secret ({secret[:8]}…)"
    assert TOKEN not in log and "wrong-token-5c1e" not in log


# -- listening beyond this machine -----------------------------------------------------------------------
@pytest.mark.parametrize("args, env", [
    (["--host", "0.0.0.0"], {}), (["--host", "::"], {}), ([], {"HOST": "0.0.0.0"}),
    (["--host", socket.gethostname()], {}), (["--host", "0.0.0.0"], {"WA_API_TOKEN": ""}),
], ids=["flag", "ipv6-any", "env", "hostname", "empty-token"])
def test_listening_beyond_loopback_without_a_token_is_refused_before_binding(args, env):
    port = free_port()
    with socket.socket() as squatter:  # holds the port: had app.py tried to bind, it would say so
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("0.0.0.0", port))
        squatter.listen()
        result = run_app(*args, "--port", str(port), **env)
    assert result.returncode == 2, result.stderr
    assert "Refusing to listen" in result.stderr and "WA_API_TOKEN" in result.stderr
    assert "in use" not in result.stderr and "gateway on" not in result.stderr


@pytest.mark.e2e
def test_a_token_allows_listening_beyond_loopback(gateway_factory):
    gateway = gateway_factory(token=TOKEN, HOST="0.0.0.0")
    assert gateway.get("/status").status_code == 200
    wait_until(lambda: "0.0.0.0" in gateway.log_text(), 10, what="the gateway to say where it listens")
