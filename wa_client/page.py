"""Reading WhatsApp Web: one probe per poll, classified into the page states of whatsapp-web.md."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from . import selectors as sel

logger = logging.getLogger(__name__)


class Page(StrEnum):
    """What WhatsApp Web shows right now, in the order the spec checks them."""

    LOGGED_OUT = "logged_out"
    BROWSER_ERROR = "browser_error"
    UNSUPPORTED = "unsupported"
    CONFLICT = "conflict"
    CHATS = "chats"
    LOADING = "loading"
    PAIRING_CODE = "pairing_code"
    QR_EXPIRED = "qr_expired"
    QR = "qr"
    STARTUP = "startup"
    LANDING = "landing"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Snapshot:
    """The whole picture of the page, as one probe returned it."""

    url: str = ""
    ready: str = ""
    error_page: bool = False
    unsupported: bool = False
    conflict: str | None = None
    chats: bool = False
    loading: bool = False
    pairing_code: str | None = None
    qr_expired: bool = False
    qr_ref: str | None = None
    startup: bool = False
    landing: bool = False
    linked: bool = False

    @classmethod
    def from_probe(cls, raw: Any) -> Snapshot:
        """Build a snapshot from the probe's dict, ignoring anything unexpected."""
        if not isinstance(raw, dict):
            return cls()
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in raw.items() if k in known})


#: The spec's table, in its order: the first page state whose sign the snapshot shows wins.
RECOGNITION_ORDER: tuple[tuple[Page, Callable[[Snapshot], object]], ...] = (
    (Page.LOGGED_OUT, lambda s: sel.POST_LOGOUT_URL_MARK in s.url),
    (Page.BROWSER_ERROR, lambda s: s.error_page),
    (Page.UNSUPPORTED, lambda s: s.unsupported),
    (Page.CONFLICT, lambda s: s.conflict),
    (Page.CHATS, lambda s: s.chats),
    (Page.LOADING, lambda s: s.loading),
    (Page.PAIRING_CODE, lambda s: s.pairing_code),
    (Page.QR_EXPIRED, lambda s: s.qr_expired),
    (Page.QR, lambda s: s.qr_ref),
    (Page.STARTUP, lambda s: s.startup),
    (Page.LANDING, lambda s: s.landing),
)


def classify(snap: Snapshot) -> Page:
    """Tell which page state a snapshot shows (first match wins, as in the spec's table)."""
    return next((page for page, shows in RECOGNITION_ORDER if shows(snap)), Page.UNKNOWN)


def format_pairing_code(raw: str | None) -> str | None:
    """Turn WhatsApp's 'A,B,C,D,E,F,G,H' into 'ABCD-EFGH' (None when it is not 8 characters)."""
    if not raw:
        return None
    code = "".join(ch for ch in raw if ch.isalnum()).upper()
    if len(code) != 8:
        return None
    return f"{code[:4]}-{code[4:]}"


def click_text(driver: Any, texts: tuple[str, ...] | list[str], scope: str = sel.CLICKABLE) -> bool:
    """Click the smallest clickable element whose text contains one of `texts`."""
    return bool(driver.execute_script(sel.CLICK_TEXT_SCRIPT, scope, list(texts)))


def click_dialog_button(driver: Any, text: str) -> bool:
    """Click the button saying `text` inside a WhatsApp dialog."""
    return bool(driver.execute_script(sel.CLICK_DIALOG_BUTTON_SCRIPT, sel.DIALOG, text))


class WhatsAppPage:
    """The page object: reads and clicks WhatsApp Web through a WebDriver."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def open(self, url: str) -> None:
        """Navigate to WhatsApp Web (returns at once with the 'none' page-load strategy)."""
        self.driver.get(url)

    def read(self) -> Snapshot:
        """Read the whole page in one round trip."""
        return Snapshot.from_probe(self.driver.execute_script(sel.PROBE_SCRIPT, sel.PROBE_ARGS))

    def click_reload(self) -> bool:
        """Click 'Click to reload QR code'; True when the button was there."""
        return bool(self.driver.execute_script(sel.CLICK_RELOAD_SCRIPT, sel.RELOAD_BUTTON))

    def click_use_here(self) -> bool:
        """Click 'Use here' in the conflict dialog; True when it was there."""
        return click_dialog_button(self.driver, sel.USE_HERE_TEXT)
