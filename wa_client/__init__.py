"""The WhatsApp Web session client: one guarded Chromium, knowing nothing about Flask."""

from wa_client.config import ConfigError, Settings
from wa_client.jobs import ActionError
from wa_client.session.client import ResetError, WhatsAppClient
from wa_client.states import RUNNING, STOPPED, TRANSITIONS, Reason, State, StateError

__all__ = [
    "WhatsAppClient", "ResetError", "StateError", "ActionError", "Settings", "ConfigError",
    "State", "Reason", "RUNNING", "STOPPED", "TRANSITIONS",
]
