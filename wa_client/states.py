"""The session's states and the transitions allowed between them, as data."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    """Where the WhatsApp session is."""

    IDLE = "idle"
    STARTING = "starting"
    QR = "qr"
    AUTHENTICATING = "authenticating"
    CONNECTED = "connected"
    CONFLICT = "conflict"
    DISCONNECTED = "disconnected"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


S = State

#: States in which a browser is (or is about to be) running: start_session does nothing there.
RUNNING = frozenset({S.STARTING, S.QR, S.AUTHENTICATING, S.CONNECTED, S.CONFLICT})

#: States in which no browser runs and start_session starts a fresh one.
STOPPED = frozenset({S.IDLE, S.DISCONNECTED, S.FAILED})

_ENDINGS = {S.IDLE, S.DISCONNECTED, S.FAILED}

#: Allowed transitions: from each state, the states it may move to.
TRANSITIONS: dict[State, frozenset[State]] = {
    S.IDLE: frozenset({S.STARTING}),
    S.STARTING: frozenset({S.QR, S.AUTHENTICATING, S.CONNECTED, S.CONFLICT} | _ENDINGS),
    S.QR: frozenset({S.AUTHENTICATING, S.CONNECTED, S.CONFLICT} | _ENDINGS),
    S.AUTHENTICATING: frozenset({S.QR, S.CONNECTED, S.CONFLICT} | _ENDINGS),
    S.CONNECTED: frozenset({S.AUTHENTICATING, S.CONFLICT} | _ENDINGS),
    S.CONFLICT: frozenset({S.CONNECTED, S.AUTHENTICATING} | _ENDINGS),
    S.DISCONNECTED: frozenset({S.STARTING, S.IDLE}),
    S.FAILED: frozenset({S.STARTING, S.IDLE}),
}


class Reason(StrEnum):
    """Why the session ended up where it is (the `reason` of /status)."""

    LOGOUT = "logout"
    LOGOUT_REQUESTED = "logout_requested"
    QR_TIMEOUT = "qr_timeout"
    BROWSER_CRASHED = "browser_crashed"
    START_TIMEOUT = "start_timeout"
    UNREACHABLE = "unreachable"
    PROXY_UNREACHABLE = "proxy_unreachable"
    UNSUPPORTED_BROWSER = "unsupported_browser"
    START_ERROR = "start_error"
    FORCE_RESET = "force_reset"
    SHUTDOWN = "shutdown"
    OFFLINE = "offline"
    PAGE_NOT_RECOGNISED = "page_not_recognised"
    TOS_BLOCK = "tos_block"
    SMB_TOS_BLOCK = "smb_tos_block"
    PROXYBLOCK = "proxyblock"
    DEPRECATED_VERSION = "deprecated_version"
    SERVICE_UNAVAILABLE = "service_unavailable"
    BLOCKED = "blocked"
    AUTOSTART = "autostart"  # WA_AUTOSTART started the saved login when the service started
    RESTART_AFTER_CRASH = "restart_after_crash"  # WA_RESTART_ON_CRASH started it again
    NOT_LINKED = "not_linked"  # an unattended start found no saved login: it never shows a QR
    PASSKEY_REQUIRED = "passkey_required"  # WhatsApp asks for a passkey check after linking (late 2026)

    def __str__(self) -> str:
        return self.value


def is_allowed(old: State, new: State) -> bool:
    """True when the table allows moving from `old` to `new` (staying put is always allowed)."""
    return old == new or new in TRANSITIONS[old]


class StateError(RuntimeError):
    """The command does not fit the session's current state (the message says what would)."""
