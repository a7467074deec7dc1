"""The WhatsApp Web session client: one guarded Chromium, knowing nothing about Flask."""

from .actions import ActionError
from .client import ResetError, StateError, WhatsAppClient
from .config import ConfigError, Settings
from .states import RUNNING, STOPPED, TRANSITIONS, Reason, State

__all__ = [
    "WhatsAppClient", "ResetError", "StateError", "ActionError", "Settings", "ConfigError",
    "State", "Reason", "RUNNING", "STOPPED", "TRANSITIONS",
]
