"""Linking by phone number (pairing code) instead of a scan: the session client, the HTTP and Socket.IO API,
refusals in words, and a pairing request racing a reset."""

from __future__ import annotations

import threading

import pytest

from tests.gateway import SocketEvents, metric
from tests.helpers import (
    PAIRING_CODE,
    PHONE,
    TOKEN,
    is_json_error,
    wait_state,
)
from wa_client import StateError
from wa_client.page.recognise import format_pairing_code

BAD_PHONES = ["", "12", "abc", "+55 11 9999x0000", "0011999990000", 5511999990000, None, ["+5511999990000"]]


def test_pairing_code_links_without_a_scan(make_client, simulator):
    client = make_client()
    client.start_session()
    wait_state(client, "qr")
    code = client.request_pairing_code("+55 11 99999-0000")
    assert len(code) == 9 and code[4] == "-"
    assert client.status()["pairing_code"] == code
    assert client.qr() is None  # the QR is off screen while the code is shown
    assert simulator.confirm_pairing_code(code).status_code == 200
    wait_state(client, "connected")
    assert client.status()["pairing_code"] is None


@pytest.mark.parametrize("phone", ["", "12", "abc", "+55 11 9999x0000", "0011999990000", 5511999990000])
def test_bad_phone_numbers_are_refused_before_touching_the_page(make_client, phone):
    client = make_client()
    with pytest.raises(ValueError):
        client.request_pairing_code(phone)
    assert client.status()["state"] == "idle"


def test_a_second_pairing_request_is_refused_at_once(make_client):
    client = make_client()
    client.start_session()
    wait_state(client, "qr")
    code = client.request_pairing_code("+55 11 99999-0000")
    with pytest.raises(StateError, match="already shown"):
        client.request_pairing_code("+55 11 98888-0000")
    assert client.status()["pairing_code"] == code


# -- in-process: shapes, refusals and auth, no browser -------------------------------------------
@pytest.mark.parametrize("body", [{"phone": phone} for phone in BAD_PHONES] + [{}, [], "just text", 42])
def test_bad_phone_is_400_and_changes_nothing(app, body):
    client = app.test_client()
    before = client.get("/status").get_json()
    response = client.post("/pairing-code", json=body)
    assert response.status_code == 400 and is_json_error(response)
    assert client.get("/status").get_json() == before
    assert app.extensions["wa_client"].counters["transitions"] == 0


def test_pairing_code_without_a_body_says_what_to_send(http):
    response = http.post("/pairing-code")
    assert response.status_code == 400
    assert '"phone"' in response.get_json()["error"]


@pytest.mark.e2e
@pytest.mark.browser
def test_pairing_code_links_the_clinic_phone_without_a_scan(gateway, simulator):
    simulator.configure(pairing_code_s=60)  # the phone types the code well before it rotates
    assert gateway.get("/healthz?linked=1").status_code == 503
    assert gateway.post("/start-session").status_code == 202
    gateway.wait_status("qr")
    assert gateway.get("/healthz?linked=1").json() == {"ok": False, "state": "qr"}

    bad = gateway.post("/pairing-code", json={"phone": "12"})
    assert bad.status_code == 400 and "digits" in bad.json()["error"]
    assert gateway.status()["pairing_code"] is None and gateway.status()["state"] == "qr"
    assert (metric(gateway, "wa_session_starts_total"), metric(gateway, "wa_resets_total")) == (1, 0)

    answer = gateway.post("/pairing-code", json={"phone": PHONE}, timeout=60)
    assert answer.status_code == 200, answer.text
    code = answer.json()["pairing_code"]
    assert PAIRING_CODE.match(code)
    assert answer.json()["status"]["state"] == "qr" and answer.json()["status"]["pairing_code"] == code
    assert gateway.get("/qr").status_code == 404  # the QR is off screen while the code is shown
    assert simulator.state()["pairing_codes"][0]["phone"].endswith("999990000")

    assert simulator.confirm_pairing_code(code).status_code == 200
    status = gateway.wait_status("connected", timeout=60)
    assert status["pairing_code"] is None
    assert gateway.get("/healthz?linked=1").json() == {"ok": True, "state": "connected"}
    assert gateway.post("/pairing-code", json={"phone": PHONE}).status_code == 409
    assert gateway.http.get(gateway.url + "/healthz").json() == {"ok": True}


@pytest.mark.e2e
@pytest.mark.browser
@pytest.mark.parametrize("async_mode", ["eventlet", "threading"])
def test_pairing_code_over_socketio_answers_the_asker(gateway_factory, simulator, async_mode):
    simulator.configure(pairing_code_s=60)
    gateway = gateway_factory(token=TOKEN, WA_ASYNC_MODE=async_mode)
    events = SocketEvents(gateway.url, TOKEN)
    try:
        events.emit("start-session")
        events.wait_for("status", lambda s: s["state"] == "qr", timeout=60)
        mark = len(events.events)
        events.emit("pairing-code", {"phone": "abc"})
        assert "digits" in events.wait_for("pairing-code-error", after=mark)["error"]
        events.emit("pairing-code", {"phone": PHONE})
        code = events.wait_for("pairing-code", after=mark, timeout=60)["pairing_code"]
        assert PAIRING_CODE.match(code)
        assert simulator.confirm_pairing_code(code).status_code == 200
        events.wait_for("ready", after=mark, timeout=60)
        assert "browser_started" not in events.names()
    finally:
        events.close()


def test_a_pairing_code_racing_a_force_reset_is_answered_at_once_in_words(make_client, simulator):
    client = make_client()
    client.start_session()
    wait_state(client, "qr")
    answers: list[BaseException | str] = []

    def ask() -> None:
        try:
            answers.append(client.request_pairing_code("+55 11 99999 0000", timeout=20))
        except Exception as exc:  # noqa: BLE001 - the answer under test
            answers.append(exc)

    asker = threading.Thread(target=ask)
    asker.start()
    client.force_reset()
    asker.join(30)
    assert not asker.is_alive(), "the command still waits after the session was reset"
    assert len(answers) == 1
    if isinstance(answers[0], BaseException):  # the reset may also come after the code: both are fine
        assert isinstance(answers[0], StateError) and "session ended" in str(answers[0])


@pytest.mark.parametrize(
    ("raw", "shown"),
    [("A,B,C,D,E,F,G,H", "ABCD-EFGH"), ("k7m2,x9q4", "K7M2-X9Q4"), ("ABC", None), (None, None), ("", None)],
)
def test_pairing_code_is_shown_as_two_groups(raw, shown):
    assert format_pairing_code(raw) == shown
