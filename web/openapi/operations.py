"""The OpenAPI document's operations: every route of the gateway with its summary, parameters and answers."""

from __future__ import annotations

from web.openapi.schemas import NO_STORE, PHONE_PATTERN, STRING, body_answer, error_answer, json_answer, ref

#: The schema of a path parameter, by name (any other is a plain string).
PATH_PARAMETERS = {"phone": {"type": "string", "pattern": PHONE_PATTERN}}

STATUS = json_answer(ref("Status"), "the session's status")
NOT_STATE = error_answer("the session's state does not allow this command (the message says which would)")
NOT_OFFERED = error_answer("WhatsApp's page did not offer what the command needed; the session is left as it was")
NO_QR = error_answer("there is no valid QR code right now (click Generate QR)")
PNG = body_answer("image/png", "the picture", headers=NO_STORE)
EMPTY_BODY = {"required": False, "content": {"application/json": {"schema": ref("AnyObject")}}}

#: (method, path, public, operation): every route of the gateway (Flask's `<path:x>` is written `{x}`); the path's
#: parameters are added from the path (PATH_PARAMETERS), the id, security and the guards' answers by web/openapi.
OPERATIONS: list[tuple[str, str, bool, dict]] = [
    ("get", "/healthz", True, {
        "summary": "Liveness (no browser call); with ?linked=1, whether WhatsApp is connected",
        "description": "The bare check needs no token. `?linked=1` reveals the session state: it needs the "
                       "token when one is set, and answers 503 unless the state is `connected`.",
        "tags": ["health"],
        "parameters": [{"name": "linked", "in": "query", "required": False, "schema": {"type": "string"},
                        "description": "`1`, `true` or `yes`: answer about the WhatsApp link"}],
        "responses": {"200": json_answer(ref("Health"), "alive (and, with ?linked=1, connected)"),
                      "401": error_answer("?linked=1 without the token, when one is set"),
                      "503": json_answer(ref("Health"), "?linked=1 and WhatsApp is not connected")}}),
    ("get", "/status", False, {"summary": "The session's state", "tags": ["session"], "responses": {"200": STATUS}}),
    ("get", "/me", False, {
        "summary": "The linked WhatsApp account", "tags": ["session"],
        "description": "While `authenticating` or `connected`; from WhatsApp's `Conn.wid`/`pushname`, the "
                       "profile's `last-wid-md`, or the account recorded for a saved login.",
        "responses": {"200": json_answer(ref("Account"), "the linked account"),
                      "409": error_answer("no account is linked right now")}}),
    ("get", "/history", False, {"summary": "The last 50 state changes, oldest first", "tags": ["session"],
                                "responses": {"200": json_answer(ref("History"), "the history")}}),
    ("get", "/qr", False, {"summary": "The QR payload on screen now", "tags": ["qr"],
                           "responses": {"200": json_answer(ref("Qr"), "the payload, its version and cycle"),
                                         "404": NO_QR}}),
    ("get", "/qr.png", False, {
        "summary": "The current QR as a PNG", "tags": ["qr"],
        "parameters": [
            {"name": "v", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "a cache buster (the version); ignored"},
            {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"},
             "description": "the ETag of the code already shown"}],
        "responses": {"200": body_answer("image/png", "the code", headers={
                          **NO_STORE, "ETag": {**STRING, "description": '`"vN"`: the QR version'}}),
                      "304": {"description": "the code shown is still current", "headers": NO_STORE},
                      "404": NO_QR}}),
    ("get", "/screenshot.png", False, {
        "summary": "What the gateway's browser shows now (or the last unrecognised page)", "tags": ["support"],
        "responses": {"200": PNG, "404": error_answer("no browser runs and no picture was kept")}}),
    ("get", "/metrics", False, {"summary": "Prometheus metrics (text format 0.0.4)", "tags": ["support"],
                                "responses": {"200": body_answer("text/plain", "the metrics")}}),
    ("post", "/start-session", False, {
        "summary": "Generate QR: start a browser unless one runs", "tags": ["commands"], "requestBody": EMPTY_BODY,
        "responses": {"200": json_answer(ref("Status"), "a session runs already: nothing was started"),
                      "202": json_answer(ref("Status"), "a browser is starting")}}),
    ("post", "/force-reset", False, {
        "summary": "Quit the browser, kill its processes, delete the saved login; ends in idle",
        "tags": ["commands"], "requestBody": EMPTY_BODY,
        "responses": {"200": json_answer(ref("ResetDone"), "reset"),
                      "500": json_answer(ref("ResetFailed"),
                                         "something could not be cleaned up (the error says what)")}}),
    ("post", "/pairing-code", False, {
        "summary": "Link with a phone number instead of the QR (in the qr state)", "tags": ["commands"],
        "requestBody": {"required": True, "content": {"application/json": {"schema": ref("PairingCodeRequest")}}},
        "responses": {"200": json_answer(ref("PairingCode"), "type this code on the phone"),
                      "409": NOT_STATE, "502": NOT_OFFERED}}),
    ("post", "/logout", False, {
        "summary": "Log out of WhatsApp (unlink this device), in the connected state", "tags": ["commands"],
        "requestBody": EMPTY_BODY,
        "responses": {"200": json_answer(ref("Status"), "disconnected, reason logout_requested"),
                      "409": NOT_STATE, "502": NOT_OFFERED}}),
    ("post", "/takeover", False, {
        "summary": "Click 'Use here' when WhatsApp is open on another computer (conflict)", "tags": ["commands"],
        "requestBody": EMPTY_BODY,
        "responses": {"200": json_answer(ref("Status"), "connected again"), "409": NOT_STATE, "502": NOT_OFFERED}}),
    ("post", "/messages", False, {
        "summary": "Queue a WhatsApp message to a patient", "tags": ["messages"],
        "description": "Stored before the answer; sent one at a time while connected, with the gap and caps of "
                       "WA_SEND_GAP_S, WA_SEND_PER_MINUTE and WA_SEND_PER_DAY. An `Idempotency-Key` makes a "
                       "retry safe: the same key and body answer 200 with the same message.",
        "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 200}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": ref("NewMessage")}}},
        "responses": {"202": json_answer(ref("Message"), "queued"),
                      "200": json_answer(ref("Message"), "this Idempotency-Key made this message already"),
                      "400": error_answer("a bad phone, an empty or too long text, an unknown field: nothing stored"),
                      "409": error_answer('"wait": false and WhatsApp is not connected (or sending is paused); or this '
                                    "Idempotency-Key was used for another phone or text; or the number opted out "
                                    "(nothing stored)"),
                      "507": error_answer("the disk that holds the data folder is full: this message was not stored; "
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
        "responses": {"200": json_answer(ref("MessageList"), "oldest first"),
                      "400": error_answer("a bad direction, status, after or limit (each whole number has bounds)")}}),
    ("get", "/messages/{message_id}", False, {
        "summary": "One queued message: its status, times and, on failure, the reason in words",
        "tags": ["messages"],
        "responses": {"200": json_answer(ref("Message"), "the message"),
                      "404": error_answer("no message has this id")}}),
    ("delete", "/messages/{message_id}", False, {
        "summary": "Cancel a message that still waits (e.g. a scheduled reminder)", "tags": ["messages"],
        "responses": {"200": json_answer(ref("Message"), "cancelled: it will not be sent"),
                      "404": error_answer("no message has this id"),
                      "409": error_answer("it is being sent already, or was sent or ended: too late to cancel")}}),
    ("get", "/opt-outs", False, {
        "summary": "Patients who opted out (wrote STOP, or recorded by the CRM)", "tags": ["messages"],
        "responses": {"200": json_answer(ref("OptOutList"), "oldest first")}}),
    ("put", "/opt-outs/{phone}", False, {
        "summary": "Record that a patient opted out; what waits for them is cancelled", "tags": ["messages"],
        "responses": {"201": json_answer(ref("OptOut"), "recorded"),
                      "200": json_answer(ref("OptOut"), "recorded already"),
                      "400": error_answer("not a phone number")}}),
    ("delete", "/opt-outs/{phone}", False, {
        "summary": "The patient opted in again: messages to them are accepted", "tags": ["messages"],
        "responses": {"200": json_answer(ref("OptOut"), "removed"),
                      "404": error_answer("this number has not opted out"),
                      "400": error_answer("not a phone number")}}),
    ("post", "/outbox/resume", False, {
        "summary": "Resume sending after a pause (failures in a row, or WhatsApp's restriction notice)",
        "tags": ["messages"], "requestBody": EMPTY_BODY,
        "responses": {"200": json_answer(ref("Outbox"), "sending resumed")}}),
    ("get", "/outbox", False, {"summary": "Whether sending is paused, and how many messages are in each status",
                               "tags": ["messages"], "responses": {"200": json_answer(ref("Outbox"), "the outbox")}}),
    ("get", "/contacts/{phone}", False, {
        "summary": "Whether a number has WhatsApp (asked of WhatsApp, remembered for WA_CONTACT_CACHE_S)",
        "tags": ["messages"],
        "responses": {"200": json_answer(ref("Contact"), "the answer"), "400": error_answer("not a phone number"),
                      "409": error_answer("WhatsApp is not connected"),
                      "503": error_answer("WhatsApp could not answer (e.g. its modules are missing); try again")}}),
    ("get", "/", True, {"summary": "The front-desk page", "tags": ["pages"],
                        "responses": {"200": body_answer("text/html", "the page")}}),
    ("get", "/docs", True, {"summary": "This document in a browsable viewer", "tags": ["pages"],
                            "responses": {"200": body_answer("text/html", "the viewer")}}),
    ("get", "/openapi.json", True, {"summary": "This document (OpenAPI 3.1)", "tags": ["pages"],
                                    "responses": {"200": json_answer({"type": "object"}, "the document")}}),
    ("get", "/static/{filename}", True, {
        "summary": "The page's static files (scripts, styles, the vendored viewer)", "tags": ["pages"],
        "responses": {"200": {"description": "the file", "content": {"*/*": {"schema": {"type": "string"}}}},
                      "404": error_answer("no such file")}}),
]

TAGS = (("session", "What the session is and who is linked"), ("qr", "The code to scan"),
        ("commands", "What the CRM or the front desk asks of the session"),
        ("messages", "Reminders to patients, their delivery, and the patients' replies"), ("health", "For monitoring"),
        ("support", "For the clinic's IT"), ("pages", "The page, this document and the static files"))
