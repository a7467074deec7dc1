"""The simulator's records: linked devices, open pages, and the codes they show."""
from __future__ import annotations

import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)

# What a page may say it shows; the server keeps a QR (or pairing) cycle only in its own views.
VIEWS = frozenset({
    "startup", "qr", "qr_expired", "phone_input", "pairing_code", "pairing_expired",
    "loading", "chats", "logging_out", "offline", "blocked",
})
QR_VIEWS = frozenset({"qr", "qr_expired"})
PAIRING_VIEWS = frozenset({"pairing_code", "pairing_expired"})


@dataclass
class Device:
    """A browser linked to the account (a "linked device" on the phone)."""

    number: int
    token: str
    wid: str
    method: str
    linked_at: float
    revoked_at: float | None = None
    keep: bool = True  # "Stay logged in on this browser" was ticked when it linked

    def public(self) -> dict[str, object]:
        """What /phone/state tells about it (never the token)."""
        return {"number": self.number, "wid": self.wid, "method": self.method, "linked_at": self.linked_at,
                "stay_logged_in": self.keep}


@dataclass
class Shown:
    """One QR ref or pairing code, from the moment a page shows it until it is replaced."""

    value: str
    connection: str
    index: int
    issued_at: float
    expires_at: float
    ended_at: float | None = None

    def public(self, key: str) -> dict[str, object]:
        """The record as JSON, the value under `key` ("payload" or "code")."""
        return {key: self.value, "connection": self.connection, "index": self.index,
                "issued_at": self.issued_at, "expires_at": self.expires_at, "ended_at": self.ended_at}


@dataclass
class Cycle:
    """Refs (or codes) shown one after another: the first lives longer, then the reload button."""

    kind: str  # "qr" (refs) or "pairing" (codes): the Connection attribute that holds it
    issued: int = 0
    current: Shown | None = None
    expired: bool = False
    phone: str | None = None


@dataclass
class Connection:
    """One open WhatsApp Web page, known by the id it got from /_wa/hello."""

    id: str
    opened_at: float
    last_seen: float
    view: str = "startup"
    device: Device | None = None
    conflict: bool = False
    conflict_variant: str = "computer"
    stay_logged_in: bool = True  # the page's "Stay logged in on this browser" checkbox
    qr: Cycle | None = None
    pairing: Cycle | None = None
    inbox: int = 0  # how many of the account's received messages this page has been given
    history_given: bool = False  # the account's recent messages went to this page (once, when logged in)

    def live(self, kind: str, now: float) -> Shown | None:
        """The QR ref (kind "qr") or pairing code ("pairing") on this page now, if not expired."""
        cycle = getattr(self, kind)
        current = cycle.current if cycle else None
        return current if current and now < current.expires_at else None

    def public(self) -> dict[str, object]:
        """What /phone/state tells about it."""
        return {"id": self.id, "view": self.view, "last_seen": self.last_seen, "opened_at": self.opened_at,
                "device": self.device.number if self.device else None, "conflict": self.conflict,
                "stay_logged_in": self.stay_logged_in}


class UnknownConnection(LookupError):
    """A page id that the server does not know (dropped, reset, or never opened)."""
