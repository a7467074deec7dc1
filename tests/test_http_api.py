"""The HTTP API in-process: the contract's shapes, JSON errors, 409/502 in words, /healthz, /history."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.helpers import PHONE, STATUS_KEYS, is_json_error
from wa_client import ActionError

TOKEN = "s3cret-token-for-tests"




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


@pytest.mark.parametrize("path, body", [("/pairing-code", {"phone": PHONE}), ("/logout", None), ("/takeover", None)])
def test_commands_in_the_wrong_state_are_409(app, path, body):
    response = app.test_client().post(path, json=body)
    assert response.status_code == 409 and is_json_error(response)
    assert "idle" in response.get_json()["error"]
    assert app.extensions["wa_client"].status()["state"] == "idle"


@pytest.mark.parametrize("path, method", [("/pairing-code", "request_pairing_code"), ("/logout", "logout"),
                                          ("/takeover", "take_over")])
def test_whatsapp_not_offering_the_controls_is_502(app, monkeypatch, path, method):
    def refuse(*_args, **_kwargs):
        raise ActionError("WhatsApp did not show the menu button within 10 s")

    monkeypatch.setattr(app.extensions["wa_client"], method, refuse)
    response = app.test_client().post(path, json={"phone": PHONE})
    assert response.status_code == 502
    assert response.get_json() == {"error": "WhatsApp did not show the menu button within 10 s"}


def test_bare_healthz_stays_public_and_linked_reports_the_state(app_factory):
    client = app_factory(api_token=TOKEN).test_client()
    assert client.get("/healthz").get_json() == {"ok": True}
    assert client.get("/healthz?linked=0").get_json() == {"ok": True}
    response = client.get("/healthz?linked=1", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 503
    assert response.get_json() == {"ok": False, "state": "idle"}


def test_linked_healthz_needs_no_token_when_none_is_set(http):
    assert http.get("/healthz?linked=true").status_code == 503


def test_history_keeps_the_last_50_transitions_with_times_and_reasons(http):
    for _ in range(60):
        assert http.post("/force-reset").status_code == 200
    history = http.get("/history").get_json()["history"]
    assert len(history) == 50
    assert all(h.keys() == {"from", "state", "at", "reason", "error"} for h in history)
    assert all(h["reason"] == "force_reset" and h["at"].endswith("Z") for h in history)
    assert [h["at"] for h in history] == sorted(h["at"] for h in history)
