"""The web layer of the gateway: auth, JSON errors, Socket.IO events and shutdown, all thin."""

from __future__ import annotations

from flask import current_app

from wa_client import WhatsAppClient

EXTENSION = "wa_client"
RESET_MESSAGE = "The session was reset: the browser is closed and the saved login deleted. Click Generate QR."


def get_client() -> WhatsAppClient:
    """The app's one WhatsApp session client."""
    return current_app.extensions[EXTENSION]
