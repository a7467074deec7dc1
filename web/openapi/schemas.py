"""The OpenAPI document's schemas (components), and the small builders the operations use for their answers."""

from __future__ import annotations

from typing import Any

from wa_client import Reason, State

NULL = {"type": "null"}
ISO_TIME = {"type": "string", "format": "date-time"}


def ref(name: str) -> dict:
    """A reference to the schema `name` of SCHEMAS."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict) -> dict:
    """`schema`, or null."""
    return {"anyOf": [schema, NULL]}


def json_answer(schema: dict, description: str, headers: dict | None = None) -> dict:
    """An answer with a JSON body of `schema`."""
    answer: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        answer["headers"] = headers
    return answer


def error_answer(description: str) -> dict:
    """An answer with the `{"error"}` body."""
    return json_answer(ref("Error"), description)


def body_answer(content_type: str, description: str, headers: dict | None = None) -> dict:
    """An answer whose body is not JSON (a page, a PNG, text)."""
    answer: dict[str, Any] = {"description": description, "content": {content_type: {"schema": {"type": "string"}}}}
    if headers:
        answer["headers"] = headers
    return answer


STRING = {"schema": {"type": "string"}}
#: What wa_client.jobs.normalize_phone accepts: 8 to 15 digits, the first not 0, among + ( ) - . and spaces.
PHONE_PATTERN = r"^[\s+().-]*[1-9](?:[\s+().-]*[0-9]){7,14}[\s+().-]*$"
NO_STORE = {"Cache-Control": {**STRING, "description": "`no-store`"}}

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
            "reason": nullable({"enum": [r.value for r in Reason]}),
            "error": {"type": ["string", "null"], "description": "what went wrong, in words a receptionist can act on"},
            "qr_version": {"type": ["integer", "null"]},
            "since": {**ISO_TIME, "description": "the last state change (UTC)"},
            "pairing_code": {"type": ["string", "null"], "examples": ["K7M2-X9Q4"]},
            "seen_by": {"type": "array", "items": {"enum": ["dom", "modules"]}},
            "qr_cycle": nullable(ref("QrCycle")),
            "account": nullable(ref("Account")),
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
                "properties": {"history": {"type": "array", "items": ref("HistoryEntry"), "maxItems": 50}}},
    "Qr": {"type": "object", "required": ["qr", "version", "cycle"],
           "properties": {"qr": {"type": "string", "description": "the payload to encode (a login secret)"},
                          "version": {"type": "integer"}, "cycle": nullable(ref("QrCycle"))}},
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
                                   "status": ref("Status")}},
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
            "queued_at": ISO_TIME, "sent_at": nullable(ISO_TIME), "delivered_at": nullable(ISO_TIME),
            "read_at": nullable(ISO_TIME), "failed_at": nullable(ISO_TIME),
            "wa_id": {"type": ["string", "null"], "description": "WhatsApp's id of the message, once sent"},
            "seq": {"type": "integer", "description": "its place in the queue (a cursor for GET /messages)"},
            "send_at": {**nullable(ISO_TIME), "description": "not sent before this moment (null: as soon as allowed)"},
            "cancelled_at": nullable(ISO_TIME),
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
            "time": nullable(ISO_TIME), "kind": {"type": ["string", "null"]}, "received_at": ISO_TIME,
            "in_reply_to": {"type": ["string", "null"],
                            "description": "the id of our message the patient quoted (replied to), else null"},
            "last_sent_id": {"type": ["string", "null"],
                             "description": "the id of our last message to this patient before this one, else null"}},
    },
    "MessageList": {
        "type": "object", "required": ["messages", "next_after"],
        "properties": {"messages": {"type": "array", "items": {"anyOf": [ref("Received"), ref("Message")]}},
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
                       "timelock": ref("Timelock"),
                       "quiet_until": {**nullable(ISO_TIME),
                                       "description": "WA_SEND_HOURS hold messages until this moment (null: open)"}},
    },
    "Timelock": {
        "type": "object", "required": ["active", "until"],
        "description": "WhatsApp's reach-out time lock: while active, first messages to patients with no earlier "
                       "conversation wait (replies in existing conversations go)",
        "properties": {"active": {"type": "boolean"}, "until": nullable(ISO_TIME)}},
    "OptOut": {"type": "object", "required": ["phone", "since", "source"],
               "properties": {"phone": {"type": "string", "description": "+E.164"}, "since": ISO_TIME,
                              "source": {"enum": ["patient", "crm"],
                                         "description": "`patient`: wrote an opt-out word; `crm`: PUT /opt-outs"}}},
    "OptOutList": {"type": "object", "required": ["opt_outs"],
                   "properties": {"opt_outs": {"type": "array", "items": ref("OptOut")}}},
    "Contact": {"type": "object", "required": ["phone", "on_whatsapp"],
                "properties": {"phone": {"type": "string", "description": "+E.164"},
                               "on_whatsapp": {"type": "boolean"}}},
}
