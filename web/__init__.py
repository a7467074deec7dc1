"""The web layer: routes and realtime, each a few lines over wa_client (it imports wa_client, never the reverse).

api          the HTTP routes of the session (status, QR, commands), the page and the API document
messages     the CRM's message routes (queue, follow, replies, contacts); opt_outs: the opt-out routes
integrators  what the CRM's commands share (run a command, the phone of a body, the link-aware health check)
events       Socket.IO handlers in, the session's public events out; realtime: the app's own Socket.IO server
audit        who asked (HTTP, Socket.IO, the page), for /history and the log
errors       every error as JSON
metrics      GET /metrics (Prometheus); costs: what the browser costs, for it
logs         LOG_FORMAT text or json
openapi/     the OpenAPI 3.1 document (description, schemas, operations)
server/      serving and hardening: guards, shield, Engine.IO sessions, connection handling, listen, lifecycle
"""

from __future__ import annotations

from flask import current_app

from wa_client import WhatsAppClient

EXTENSION = "wa_client"
RESET_MESSAGE = "The session was reset: the browser is closed and the saved login deleted. Click Generate QR."


def get_client() -> WhatsAppClient:
    """The app's one WhatsApp session client."""
    return current_app.extensions[EXTENSION]
