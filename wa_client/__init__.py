"""The WhatsApp Web session client: one guarded Chromium, knowing nothing about Flask."""

from .client import ResetError, WhatsAppClient
from .commands import ActionError
from .config import ConfigError, Settings
from .states import RUNNING, STOPPED, TRANSITIONS, Reason, State, StateError

__all__ = [
    "WhatsAppClient", "ResetError", "StateError", "ActionError", "Settings", "ConfigError",
    "State", "Reason", "RUNNING", "STOPPED", "TRANSITIONS",
]
