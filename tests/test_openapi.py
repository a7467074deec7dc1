"""The API as OpenAPI 3.1: the document names every route, /docs shows it from the gateway alone, and
Schemathesis finds nothing wrong with the live service (python app.py on the simulator, real Chromium)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import schemathesis

from tests.gateway import OUTPUT_DIR, Gateway
from tests.helpers import wait_until
from web import openapi

TOKEN = "openapi-test-token-5c1e"
IGNORED_METHODS = {"HEAD", "OPTIONS"}  # Flask adds them to every route
#: The commands that change the session; the random run leaves them out (each has its own tests).
STATE_CHANGING = {"connected": ("/logout", "/force-reset"), "qr": ("/pairing-code", "/force-reset")}
EXAMPLES_PER_OPERATION = 15
#: The pinned Schemathesis' command line (`st`), run by this very interpreter.
SCHEMATHESIS_CLI = "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())"
#: What the document cannot say (the send_at window).
CONFIG_FILE = Path(__file__).with_name("schemathesis.toml")
#: DELETE /messages/{id} cancels and the message stays readable, now `cancelled` (the contract): a GET after it
#: answers 200 on purpose, which Schemathesis' use-after-free check (ST301) takes for a bug.
KEPT_AFTER_DELETE = "use_after_free"


def _flask_routes(flask_app) -> set[tuple[str, str]]:
    """(METHOD, /path/{param}) for every route of the app."""
    routes = set()
    for rule in flask_app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        routes |= {(method, path) for method in rule.methods - IGNORED_METHODS}
    return routes


def _documented(document: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item}


def test_the_document_names_every_route_flask_has_and_no_other(app):
    assert _documented(openapi.document()) == _flask_routes(app)


@pytest.mark.parametrize("token_required", [False, True])
def test_the_document_is_valid_openapi_3_1(token_required):
    document = openapi.document(token_required)
    assert document["openapi"] == "3.1.0"
    schemathesis.openapi.from_dict(document).validate()  # raises on a document that breaks the 3.1 schema
    json.dumps(document)  # plain JSON all through


def test_security_follows_the_token_setting(app_factory):
    for token, protected_security in (("", [{}, {"bearerAuth": []}, {"apiKey": []}]), (TOKEN, None)):
        document = app_factory(api_token=token).test_client().get("/openapi.json").get_json()
        assert document["security"] == [{"bearerAuth": []}, {"apiKey": []}]
        assert set(document["components"]["securitySchemes"]) == {"bearerAuth", "apiKey"}
        status = document["paths"]["/status"]["get"]
        assert status.get("security") == protected_security and "401" in status["responses"]
        assert document["paths"]["/healthz"]["get"]["security"] == []


def test_the_socket_io_events_are_in_the_description(http):
    description = http.get("/openapi.json").get_json()["info"]["description"]
    for event in ("status", "qr", "authenticated", "ready", "disconnected", "start-session", "generate-qr",
                  "force-reset", "get-status", "force-reset-success", "force-reset-error", "pairing-code",
                  "logout-success", "takeover-error"):
        assert f"`{event}`" in description, event


@pytest.mark.e2e
@pytest.mark.browser
def test_docs_shows_every_operation_and_loads_nothing_from_elsewhere(gateway_factory, make_driver):
    gateway = gateway_factory(token=TOKEN)
    operations = sum(len(item) for item in gateway.get("/openapi.json", headers={"Authorization": ""})
                     .json()["paths"].values())
    driver = make_driver()
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (
        "window.__blocked = []; document.addEventListener('securitypolicyviolation', "
        "(e) => window.__blocked.push(e.violatedDirective + ' ' + e.blockedURI));")})
    driver.get(gateway.url + "/docs")  # no token: the viewer and the document are public, like the page
    wait_until(lambda: len(driver.find_elements("css selector", ".opblock")) == operations, 20,
               what=f"{operations} operations in Swagger UI")
    assert "Clinic WhatsApp gateway" in driver.find_element("css selector", ".info .title").text
    loaded = driver.execute_script("return performance.getEntriesByType('resource').map((e) => e.name)")
    assert loaded and all(url.startswith(gateway.url + "/") for url in loaded), loaded
    assert driver.execute_script("return document.querySelectorAll('link[href^=http], script[src^=http]').length") == 0

    # "Try it out" calls the gateway from the viewer (here without the token: a 401 is the answer to see).
    driver.find_element("css selector", "#operations-session-get_status .opblock-summary-control").click()
    wait_until(lambda: driver.find_elements("css selector", "#operations-session-get_status .try-out__btn"), 10,
               what="Try it out")[0].click()
    driver.find_element("css selector", "#operations-session-get_status .execute").click()
    wait_until(lambda: "401" in " ".join(cell.text for cell in driver.find_elements(
        "css selector", "#operations-session-get_status .live-responses-table .response-col_status")), 10,
        what="the 401 of the live call")
    assert driver.execute_script("return window.__blocked") == []  # nothing the Content-Security-Policy refused


def _schemathesis(gateway: Gateway, token: str | None, exclude: tuple[str, ...], workdir: Path, label: str) -> None:
    """Run the pinned Schemathesis CLI on the live gateway's own document; fail with its report."""
    command = [sys.executable, "-c", SCHEMATHESIS_CLI, "--config-file", str(CONFIG_FILE), "run",
               gateway.url + "/openapi.json",
               "--checks", "all", "--exclude-checks", KEPT_AFTER_DELETE,
               "--max-examples", str(EXAMPLES_PER_OPERATION), "--generation-deterministic",
               "--workers", "1", "--no-color", "--request-timeout", "60"]  # a screenshot may wait on a busy browser
    for path in exclude:
        command += ["--exclude-path", path]
    if token:
        command += ["--header", f"Authorization: Bearer {token}"]
    run = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=150)
    report = run.stdout.replace(TOKEN, "[token]")
    OUTPUT_DIR.mkdir(exist_ok=True)
    sent = "with-token" if token else "without-token"
    (OUTPUT_DIR / f"schemathesis-{gateway.log_path.stem}-{label}-{sent}.txt").write_text(report)
    problems = re.search(r"=+ (ERRORS|FAILURES) =+.*", report, re.S)
    assert run.returncode == 0, (f"Schemathesis found problems (exit {run.returncode}):\n"
                                 f"{(problems.group(0) if problems else report)[:8000]}{run.stderr[-2000:]}")
    assert re.search(r"\d+ generated", report), report


def _unchanged(gateway: Gateway, before: dict, history: list) -> None:
    """The random run changed nothing: the same state since the same moment, no new transition."""
    after = gateway.status()
    assert (after["state"], after["since"], after["reason"]) == (before["state"], before["since"], before["reason"])
    assert gateway.get("/history").json()["history"] == history


@pytest.mark.e2e
@pytest.mark.browser
@pytest.mark.parametrize("token", [None, TOKEN], ids=["no-token", "token"])
def test_schemathesis_finds_nothing_against_the_live_service(gateway_factory, simulator, token, tmp_path):
    gateway = gateway_factory(token=token, WA_QR_TIMEOUT_S="600")  # the run in `qr` outlasts the usual 120 s
    assert gateway.post("/start-session").status_code == 202
    for state in ("qr", "connected"):
        before = gateway.wait_status(state)
        history = gateway.get("/history").json()["history"]
        for header in ([token, None] if token and state == "connected" else [token]):
            _schemathesis(gateway, header, STATE_CHANGING[state], tmp_path, label=state)
        _unchanged(gateway, before, history)
        if state == "qr":
            gateway.phone_scans(simulator)
    assert "Traceback" not in gateway.log_text()
