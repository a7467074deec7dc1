"""The gateway's HTTP API as one OpenAPI 3.1 document: every route, parameter, auth scheme, answer and error.

This is the one place the API is described; `tests/test_openapi.py` checks it names every route Flask
has, and Schemathesis checks the live service against it. A new route goes into OPERATIONS.
"""

from __future__ import annotations

import re
from typing import Any

from wa_client import Reason, State

TITLE = "Clinic WhatsApp gateway"
API_VERSION = "1.0.0"
NULL = {"type": "null"}
ISO_TIME = {"type": "string", "format": "date-time"}

SOCKET_IO = """
## Socket.IO (path `/socket.io/`, default namespace)

With `WA_API_TOKEN` set, connect with `auth: {token: TOKEN}`; other connections are refused.

**From the server, to every connected client:** `status` (the `/status` JSON, on every change and right
after connecting), `qr` (`{"version", "qr", "png": "/qr.png?v=N"}` for every new code), `authenticated`,
`ready` (`{"account"}`: the linked account as in `/me`, or null), `disconnected` (`{"reason"}`),
`message.status` (a message as in `GET /messages/{id}`, on every change of its status),
`message.received` (a patient's message as in `GET /messages?direction=in`), `outbox.paused`
(`{"reason", "error", "paused_at"}`: sending stopped until `POST /outbox/resume`), `message.cancelled`
(a message as in `GET /messages/{id}`, now `cancelled`: by `DELETE /messages/{id}` or because its patient
opted out), `contact.opted_out` (`{"phone", "since", "source"}`: as in `GET /opt-outs`).

**From a client:** `start-session` (alias `generate-qr`), `force-reset`, `get-status`, `pairing-code`
(`{"phone"}`), `logout`, `takeover`. Answers to the sender only: `force-reset-success` (`{"message"}`) /
`force-reset-error` (`{"error"}`), `pairing-code` (`{"pairing_code"}`) / `pairing-code-error`,
`logout-success` (the status) / `logout-error`, `takeover-success` (the status) / `takeover-error`,
and `error` (`{"error"}`) for an unknown event or a payload that is not one JSON object.

## Webhooks

With `WA_WEBHOOK_URL` set, the `status`, `qr`, `authenticated`, `ready`, `disconnected`, `message.status`,
`message.received`, `outbox.paused`, `message.cancelled` and `contact.opted_out` events are
POSTed there as `{"id", "event", "data", "sent_at"}`, signed with `X-Signature` under `WA_WEBHOOK_SECRET`.
Each event is kept on disk until the receiver answers `2xx`, delivered in order, retried for 24 hours
(also across restarts); `408`, `429`, `3xx` and `5xx` are retried, another `4xx` drops the event.
"""

DESCRIPTION = """Keeps ONE WhatsApp Web session of the clinic alive and lets a CRM drive it.

Every answer is JSON except the page, the PNGs and `/metrics`; every error is `{"error": "..."}`.
With `WA_API_TOKEN` set, send `Authorization: Bearer TOKEN` or `X-API-Key: TOKEN` to every endpoint
except `/healthz`, the pages (`/`, `/docs`), this document and the static files. Without a token the
gateway answers only requests addressed to `localhost`/`127.0.0.1` (403 otherwise).
""" + SOCKET_IO


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict) -> dict:
    return {"anyOf": [schema, NULL]}


def _json(schema: dict, description: str, headers: dict | None = None) -> dict:
    answer: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        answer["headers"] = headers
    return answer


def _error(description: str) -> dict:
    return _json(_ref("Error"), description)


def _body(content_type: str, description: str, headers: dict | None = None) -> dict:
    answer: dict[str, Any] = {"description": description, "content": {content_type: {"schema": {"type": "string"}}}}
    if headers:
        answer["headers"] = headers
    return answer


_STRING = {"schema": {"type": "string"}}
#: What wa_client.jobs.normalize_phone accepts: 8 to 15 digits, the first not 0, among + ( ) - . and spaces.
PHONE_PATTERN = r"^[\s+().-]*[1-9](?:[\s+().-]*[0-9]){7,14}[\s+().-]*$"
NO_STORE = {"Cache-Control": {**_STRING, "description": "`no-store`"}}

SCHEMAS: dict[str, dict] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "Account": {
        "type": "object", "required": ["number", "name", "linked_since", "display_number"],
        "properties": {
            "number": {"type": "string", "pattern": r"^\+[1-9][0-9]{4,14}$", "description": "+E.164",
                       "examples": ["+15550001111"]},
            "name": {"type": ["string", "null"], "description": "WhatsApp's display name (pushname)"},
            "linked_since": {**ISO_TIME, "description": "when the gateway first saw this account linked"},
            "display_number": {"type": "string", "examples": ["+1 555 000 1111"],
                               "description": "the number grouped as its country writes it, for people"},
        },
    },
    "QrCycle": {
        "type": "object", "required": ["index", "of", "next_change_at", "timeout_at"],
        "properties": {"index": {"type": "integer", "minimum": 1}, "of": {"type": "integer", "minimum": 1},
                       "next_change_at": ISO_TIME, "timeout_at": ISO_TIME},
    },
    "Status": {
        "type": "object",
        "required": ["state", "reason", "error", "qr_version", "since", "pairing_code", "seen_by", "qr_cycle",
                     "account", "wa_version"],
        "properties": {
            "state": {"enum": [s.value for s in State]},
            "reason": _nullable({"enum": [r.value for r in Reason]}),
            "error": {"type": ["string", "null"], "description": "what went wrong, in words a receptionist can act on"},
            "qr_version": {"type": ["integer", "null"]},
            "since": {**ISO_TIME, "description": "the last state change (UTC)"},
            "pairing_code": {"type": ["string", "null"], "examples": ["K7M2-X9Q4"]},
            "seen_by": {"type": "array", "items": {"enum": ["dom", "modules"]}},
            "qr_cycle": _nullable(_ref("QrCycle")),
            "account": _nullable(_ref("Account")),
            "wa_version": {"type": ["string", "null"], "examples": ["2.3000.1045818043"],
                           "description": "the WhatsApp Web build the page runs (WAWebUpdaterVersion), null when "
                                          "not known"},
        },
    },
    "HistoryEntry": {
        "type": "object", "required": ["from", "state", "at", "reason", "error"],
        "properties": {"from": {"enum": [s.value for s in State]}, "state": {"enum": [s.value for s in State]},
                       "at": ISO_TIME, "reason": {"type": ["string", "null"]}, "error": {"type": ["string", "null"]}},
    },
    "History": {"type": "object", "required": ["history"],
                "properties": {"history": {"type": "array", "items": _ref("HistoryEntry"), "maxItems": 50}}},
    "Qr": {"type": "object", "required": ["qr", "version", "cycle"],
           "properties": {"qr": {"type": "string", "description": "the payload to encode (a login secret)"},
                          "version": {"type": "integer"}, "cycle": _nullable(_ref("QrCycle"))}},
    "Health": {"type": "object", "required": ["ok"],
               "properties": {"ok": {"type": "boolean"}, "state": {"enum": [s.value for s in State]}}},
    "ResetDone": {"type": "object", "required": ["ok", "message", "state"],
                  "properties": {"ok": {"const": True}, "message": {"type": "string"}, "state": {"const": "idle"}}},
    "ResetFailed": {"type": "object", "required": ["ok", "error"],
                    "properties": {"ok": {"const": False}, "error": {"type": "string"}}},
    "PairingCodeRequest": {
        "type": "object", "required": ["phone"],
        "properties": {"phone": {"type": "string", "pattern": PHONE_PATTERN, "examples": ["+55 11 99999 0000"],
                                 "description": "country code first; 8 to 15 digits"}},
    },
    "PairingCode": {"type": "object", "required": ["pairing_code", "status"],
                    "properties": {"pairing_code": {"type": "string", "pattern": "^[A-Z0-9]{4}-[A-Z0-9]{4}$"},
                                   "status": _ref("Status")}},
    "AnyObject": {"type": "object", "description": "ignored; an empty body does as well"},
    "NewMessage": {
        "type": "object", "required": ["phone", "text"], "additionalProperties": False,
        "properties": {
            "phone": {"type": "string", "pattern": PHONE_PATTERN, "examples": ["+55 11 99999 0000"],
                      "description": "the patient's number, country code first"},
            "text": {"type": "string", "minLength": 1, "maxLength": 4096, "pattern": r"\S"},
            "wait": {"type": "boolean", "default": True,
                     "description": "false: 409 (and nothing stored) unless WhatsApp is connected and sending is "
                                    "not paused"},
            "send_at": {"type": "string", "format": "date-time", "examples": ["2026-12-04T09:00:00-03:00"],
                        "description": "send not before this moment: ISO-8601 with an offset, at most 30 days "
                                       "ahead and no more than a minute past (else 400); the message waits `queued`"}},
    },
    "Message": {
        "type": "object",
        "required": ["id", "to", "status", "reason", "error", "queued_at", "sent_at", "delivered_at", "read_at",
                     "failed_at", "wa_id", "seq"],
        "properties": {
            "id": {"type": "string"}, "to": {"type": "string", "description": "+E.164"},
            "status": {"enum": ["queued", "sending", "sent", "delivered", "read", "failed", "cancelled"]},
            "reason": {"anyOf": [{"enum": ["not_on_whatsapp", "not_connected", "rejected", "restricted",
                                           "unavailable", "unconfirmed", "opted_out", "reachout_timelocked"]},
                                 NULL]},
            "error": {"type": ["string", "null"], "description": "why it failed, in words"},
            "queued_at": ISO_TIME, "sent_at": _nullable(ISO_TIME), "delivered_at": _nullable(ISO_TIME),
            "read_at": _nullable(ISO_TIME), "failed_at": _nullable(ISO_TIME),
            "wa_id": {"type": ["string", "null"], "description": "WhatsApp's id of the message, once sent"},
            "seq": {"type": "integer", "description": "its place in the queue (a cursor for GET /messages)"},
            "send_at": {**_nullable(ISO_TIME), "description": "not sent before this moment (null: as soon as allowed)"},
            "cancelled_at": _nullable(ISO_TIME),
            "to_jid": {"type": ["string", "null"],
                       "description": "the chat WhatsApp sent it to (may end in @lid), once sent"}},
    },
    "Received": {
        "type": "object", "required": ["id", "seq", "from", "from_jid", "text", "time", "kind", "received_at"],
        "properties": {
            "id": {"type": "string", "description": "WhatsApp's id"},
            "seq": {"type": "integer", "description": "a cursor: ask for after=seq to get what came later"},
            "from": {"type": ["string", "null"], "description": "+E.164 where WhatsApp gives it (null for @lid)"},
            "from_jid": {"type": ["string", "null"]}, "text": {"type": ["string", "null"]},
            "time": _nullable(ISO_TIME), "kind": {"type": ["string", "null"]}, "received_at": ISO_TIME,
            "in_reply_to": {"type": ["string", "null"],
                            "description": "the id of our message the patient quoted (replied to), else null"},
            "last_sent_id": {"type": ["string", "null"],
                             "description": "the id of our last message to this patient before this one, else null"}},
    },
    "MessageList": {
        "type": "object", "required": ["messages", "next_after"],
        "properties": {"messages": {"type": "array", "items": {"anyOf": [_ref("Received"), _ref("Message")]}},
                       "next_after": {"type": "integer", "description": "pass as `after` to read on"}},
    },
    "Outbox": {
        "type": "object",
        "required": ["paused", "pause_reason", "pause_error", "counts", "sends_last_minute", "sends_last_day",
                     "timelock", "quiet_until"],
        "properties": {"paused": {"type": "boolean"},
                       "pause_reason": {"anyOf": [{"enum": ["failures", "restricted"]}, NULL]},
                       "pause_error": {"type": ["string", "null"]},
                       "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
                       "sends_last_minute": {"type": "integer"}, "sends_last_day": {"type": "integer"},
                       "timelock": _ref("Timelock"),
                       "quiet_until": {**_nullable(ISO_TIME),
                                       "description": "WA_SEND_HOURS hold messages until this moment (null: open)"}},
    },
    "Timelock": {
        "type": "object", "required": ["active", "until"],
        "description": "WhatsApp's reach-out time lock: while active, first messages to patients with no earlier "
                       "conversation wait (replies in existing conversations go)",
        "properties": {"active": {"type": "boolean"}, "until": _nullable(ISO_TIME)}},
    "OptOut": {"type": "object", "required": ["phone", "since", "source"],
               "properties": {"phone": {"type": "string", "description": "+E.164"}, "since": ISO_TIME,
                              "source": {"enum": ["patient", "crm"],
                                         "description": "`patient`: wrote an opt-out word; `crm`: PUT /opt-outs"}}},
    "OptOutList": {"type": "object", "required": ["opt_outs"],
                   "properties": {"opt_outs": {"type": "array", "items": _ref("OptOut")}}},
    "Contact": {"type": "object", "required": ["phone", "on_whatsapp"],
                "properties": {"phone": {"type": "string", "description": "+E.164"},
                               "on_whatsapp": {"type": "boolean"}}},
}

STATUS = _json(_ref("Status"), "the session's status")
NOT_STATE = _error("the session's state does not allow this command (the message says which would)")
NOT_OFFERED = _error("WhatsApp's page did not offer what the command needed; the session is left as it was")
NO_QR = _error("there is no valid QR code right now (click Generate QR)")
PNG = _body("image/png", "the picture", headers=NO_STORE)
EMPTY_BODY = {"required": False, "content": {"application/json": {"schema": _ref("AnyObject")}}}

#: (method, path, public, operation): every route of the gateway (Flask's `<path:x>` is written `{x}`).
OPERATIONS: list[tuple[str, str, bool, dict]] = [
    ("get", "/healthz", True, {
        "summary": "Liveness (no browser call); with ?linked=1, whether WhatsApp is connected",
        "description": "The bare check needs no token. `?linked=1` reveals the session state: it needs the "
                       "token when one is set, and answers 503 unless the state is `connected`.",
        "tags": ["health"],
        "parameters": [{"name": "linked", "in": "query", "required": False, "schema": {"type": "string"},
                        "description": "`1`, `true` or `yes`: answer about the WhatsApp link"}],
        "responses": {"200": _json(_ref("Health"), "alive (and, with ?linked=1, connected)"),
                      "401": _error("?linked=1 without the token, when one is set"),
                      "503": _json(_ref("Health"), "?linked=1 and WhatsApp is not connected")}}),
    ("get", "/status", False, {"summary": "The session's state", "tags": ["session"], "responses": {"200": STATUS}}),
    ("get", "/me", False, {
        "summary": "The linked WhatsApp account", "tags": ["session"],
        "description": "While `authenticating` or `connected`; from WhatsApp's `Conn.wid`/`pushname`, the "
                       "profile's `last-wid-md`, or the account recorded for a saved login.",
        "responses": {"200": _json(_ref("Account"), "the linked account"),
                      "409": _error("no account is linked right now")}}),
    ("get", "/history", False, {"summary": "The last 50 state changes, oldest first", "tags": ["session"],
                                "responses": {"200": _json(_ref("History"), "the history")}}),
    ("get", "/qr", False, {"summary": "The QR payload on screen now", "tags": ["qr"],
                           "responses": {"200": _json(_ref("Qr"), "the payload, its version and cycle"),
                                         "404": NO_QR}}),
    ("get", "/qr.png", False, {
        "summary": "The current QR as a PNG", "tags": ["qr"],
        "parameters": [
            {"name": "v", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "a cache buster (the version); ignored"},
            {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"},
             "description": "the ETag of the code already shown"}],
        "responses": {"200": _body("image/png", "the code", headers={
                          **NO_STORE, "ETag": {**_STRING, "description": '`"vN"`: the QR version'}}),
                      "304": {"description": "the code shown is still current", "headers": NO_STORE},
                      "404": NO_QR}}),
    ("get", "/screenshot.png", False, {
        "summary": "What the gateway's browser shows now (or the last unrecognised page)", "tags": ["support"],
        "responses": {"200": PNG, "404": _error("no browser runs and no picture was kept")}}),
    ("get", "/metrics", False, {"summary": "Prometheus metrics (text format 0.0.4)", "tags": ["support"],
                                "responses": {"200": _body("text/plain", "the metrics")}}),
    ("post", "/start-session", False, {
        "summary": "Generate QR: start a browser unless one runs", "tags": ["commands"], "requestBody": EMPTY_BODY,
        "responses": {"200": _json(_ref("Status"), "a session runs already: nothing was started"),
                      "202": _json(_ref("Status"), "a browser is starting")}}),
    ("post", "/force-reset", False, {
        "summary": "Quit the browser, kill its processes, delete the saved login; ends in idle",
        "tags": ["commands"], "requestBody": EMPTY_BODY,
        "responses": {"200": _json(_ref("ResetDone"), "reset"),
                      "500": _json(_ref("ResetFailed"), "something could not be cleaned up (the error says what)")}}),
    ("post", "/pairing-code", False, {
        "summary": "Link with a phone number instead of the QR (in the qr state)", "tags": ["commands"],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("PairingCodeRequest")}}},
        "responses": {"200": _json(_ref("PairingCode"), "type this code on the phone"),
                      "409": NOT_STATE, "502": NOT_OFFERED}}),
    ("post", "/logout", False, {
        "summary": "Log out of WhatsApp (unlink this device), in the connected state", "tags": ["commands"],
        "requestBody": EMPTY_BODY,
        "responses": {"200": _json(_ref("Status"), "disconnected, reason logout_requested"),
                      "409": NOT_STATE, "502": NOT_OFFERED}}),
    ("post", "/takeover", False, {
        "summary": "Click 'Use here' when WhatsApp is open on another computer (conflict)", "tags": ["commands"],
        "requestBody": EMPTY_BODY,
        "responses": {"200": _json(_ref("Status"), "connected again"), "409": NOT_STATE, "502": NOT_OFFERED}}),
    ("post", "/messages", False, {
        "summary": "Queue a WhatsApp message to a patient", "tags": ["messages"],
        "description": "Stored before the answer; sent one at a time while connected, with the gap and caps of "
                       "WA_SEND_GAP_S, WA_SEND_PER_MINUTE and WA_SEND_PER_DAY. An `Idempotency-Key` makes a "
                       "retry safe: the same key and body answer 200 with the same message.",
        "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 200}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("NewMessage")}}},
        "responses": {"202": _json(_ref("Message"), "queued"),
                      "200": _json(_ref("Message"), "this Idempotency-Key made this message already"),
                      "400": _error("a bad phone, an empty or too long text, an unknown field: nothing stored"),
                      "409": _error('"wait": false and WhatsApp is not connected (or sending is paused); or this '
                                    "Idempotency-Key was used for another phone or text; or the number opted out "
                                    "(nothing stored)"),
                      "507": _error("the disk that holds the data folder is full: this message was not stored; "
                                    "those accepted before are kept and still sent")}}),
    ("get", "/messages", False, {
        "summary": "Messages received from patients (or queued), after a cursor", "tags": ["messages"],
        "description": "Everything received is kept, so a CRM whose webhook was down reads what it missed: "
                       "`GET /messages?direction=in&after=LAST_SEQ`.",
        "parameters": [
            {"name": "direction", "in": "query", "required": False, "schema": {"enum": ["in", "out"]},
             "description": "`in` (default): received; `out`: queued by the CRM"},
            {"name": "status", "in": "query", "required": False,
             "schema": {"enum": ["queued", "sending", "sent", "delivered", "read", "failed", "cancelled"]},
             "description": "only the CRM's messages in this status (`queued`: what waits, oldest first); "
                            "direction defaults to `out` with it, and received messages (`in`) have none"},
            {"name": "after", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
             "description": "the last `seq` already read (0: from the start)"},
            {"name": "limit", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": 500}}],
        "responses": {"200": _json(_ref("MessageList"), "oldest first"),
                      "400": _error("a bad direction, status, after or limit (each whole number has bounds)")}}),
    ("get", "/messages/{message_id}", False, {
        "summary": "One queued message: its status, times and, on failure, the reason in words",
        "tags": ["messages"],
        "parameters": [{"name": "message_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": _json(_ref("Message"), "the message"), "404": _error("no message has this id")}}),
    ("delete", "/messages/{message_id}", False, {
        "summary": "Cancel a message that still waits (e.g. a scheduled reminder)", "tags": ["messages"],
        "parameters": [{"name": "message_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": _json(_ref("Message"), "cancelled: it will not be sent"),
                      "404": _error("no message has this id"),
                      "409": _error("it is being sent already, or was sent or ended: too late to cancel")}}),
    ("get", "/opt-outs", False, {
        "summary": "Patients who opted out (wrote STOP, or recorded by the CRM)", "tags": ["messages"],
        "responses": {"200": _json(_ref("OptOutList"), "oldest first")}}),
    ("put", "/opt-outs/{phone}", False, {
        "summary": "Record that a patient opted out; what waits for them is cancelled", "tags": ["messages"],
        "parameters": [{"name": "phone", "in": "path", "required": True,
                        "schema": {"type": "string", "pattern": PHONE_PATTERN}}],
        "responses": {"201": _json(_ref("OptOut"), "recorded"), "200": _json(_ref("OptOut"), "recorded already"),
                      "400": _error("not a phone number")}}),
    ("delete", "/opt-outs/{phone}", False, {
        "summary": "The patient opted in again: messages to them are accepted", "tags": ["messages"],
        "parameters": [{"name": "phone", "in": "path", "required": True,
                        "schema": {"type": "string", "pattern": PHONE_PATTERN}}],
        "responses": {"200": _json(_ref("OptOut"), "removed"), "404": _error("this number has not opted out"),
                      "400": _error("not a phone number")}}),
    ("post", "/outbox/resume", False, {
        "summary": "Resume sending after a pause (failures in a row, or WhatsApp's restriction notice)",
        "tags": ["messages"], "requestBody": EMPTY_BODY,
        "responses": {"200": _json(_ref("Outbox"), "sending resumed")}}),
    ("get", "/outbox", False, {"summary": "Whether sending is paused, and how many messages are in each status",
                               "tags": ["messages"], "responses": {"200": _json(_ref("Outbox"), "the outbox")}}),
    ("get", "/contacts/{phone}", False, {
        "summary": "Whether a number has WhatsApp (asked of WhatsApp, remembered for WA_CONTACT_CACHE_S)",
        "tags": ["messages"],
        "parameters": [{"name": "phone", "in": "path", "required": True,
                        "schema": {"type": "string", "pattern": PHONE_PATTERN}}],
        "responses": {"200": _json(_ref("Contact"), "the answer"), "400": _error("not a phone number"),
                      "409": _error("WhatsApp is not connected"),
                      "503": _error("WhatsApp could not answer (e.g. its modules are missing); try again")}}),
    ("get", "/", True, {"summary": "The front-desk page", "tags": ["pages"],
                        "responses": {"200": _body("text/html", "the page")}}),
    ("get", "/docs", True, {"summary": "This document in a browsable viewer", "tags": ["pages"],
                            "responses": {"200": _body("text/html", "the viewer")}}),
    ("get", "/openapi.json", True, {"summary": "This document (OpenAPI 3.1)", "tags": ["pages"],
                                    "responses": {"200": _json({"type": "object"}, "the document")}}),
    ("get", "/static/{filename}", True, {
        "summary": "The page's static files (scripts, styles, the vendored viewer)", "tags": ["pages"],
        "parameters": [{"name": "filename", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "the file", "content": {"*/*": {"schema": {"type": "string"}}}},
                      "404": _error("no such file")}}),
]

TAGS = (("session", "What the session is and who is linked"), ("qr", "The code to scan"),
        ("commands", "What the CRM or the front desk asks of the session"),
        ("messages", "Reminders to patients, their delivery, and the patients' replies"), ("health", "For monitoring"),
        ("support", "For the clinic's IT"), ("pages", "The page, this document and the static files"))

#: Answers every request may get from the guards, by kind of operation.
FOREIGN_HOST = _error("no WA_API_TOKEN is set and the request was addressed to a host name other than localhost")
UNAUTHORIZED = _error("a valid API token is required")
BAD_BODY = _error("the body is not JSON, not a JSON object, or not what the command needs")
TOO_LARGE = _error("the body is over 16 KiB")
WRONG_TYPE = _error("the body is not sent as application/json")


def _operation(method: str, path: str, public: bool, spec: dict, token_required: bool) -> dict:
    """One operation with its id, security and the guards' answers added."""
    name = re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_") or "index"
    operation = {"operationId": f"{method}_{name}", **spec}
    responses = dict(operation["responses"])
    responses.setdefault("403", FOREIGN_HOST)
    if public:
        operation["security"] = []
    else:
        responses.setdefault("401", UNAUTHORIZED)
        if not token_required:  # the schemes are accepted, and ignored, while no token is set
            operation["security"] = [{}, {"bearerAuth": []}, {"apiKey": []}]
    if method in ("post", "put"):  # the guards read these bodies
        responses.update({"400": responses.get("400", BAD_BODY), "413": TOO_LARGE, "415": WRONG_TYPE})
    operation["responses"] = dict(sorted(responses.items()))
    return operation


def document(token_required: bool = False) -> dict:
    """The OpenAPI 3.1 document of this gateway (security as its WA_API_TOKEN setting makes it)."""
    paths: dict[str, dict] = {}
    for method, path, public, spec in OPERATIONS:
        paths.setdefault(path, {})[method] = _operation(method, path, public, spec, token_required)
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": API_VERSION, "description": DESCRIPTION},
        "security": [{"bearerAuth": []}, {"apiKey": []}],
        "tags": [{"name": name, "description": text} for name, text in TAGS],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer TOKEN"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "X-API-Key: TOKEN"},
            },
        },
    }
