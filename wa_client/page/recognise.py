"""Recognising WhatsApp Web's page from an Observation, through each channel alone, then together."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from wa_client.page.probe import Observation


class Page(StrEnum):
    """What WhatsApp Web shows right now, in the order docs/whatsapp-web.md checks them."""

    LOGGED_OUT = "logged_out"
    BROWSER_ERROR = "browser_error"
    BLOCKED = "blocked"
    UNSUPPORTED = "unsupported"
    CONFLICT = "conflict"
    OTHER_TAB = "other_tab"
    CHATS = "chats"
    PASSKEY = "passkey"  # the passkey check after linking (late 2026): a server's browser cannot answer it
    LOADING = "loading"
    OFFLINE = "offline"
    PAIRING_CODE = "pairing_code"
    QR_EXPIRED = "qr_expired"
    QR = "qr"
    STARTUP = "startup"
    LANDING = "landing"
    UNKNOWN = "unknown"


#: The DOM channel: the first page state whose sign the observation shows wins.
DOM_RECOGNITION: tuple[tuple[Page, Callable[[Observation], object]], ...] = (
    (Page.LOGGED_OUT, lambda o: o.post_logout),
    (Page.BROWSER_ERROR, lambda o: o.error_page),
    (Page.BLOCKED, lambda o: o.dom.blocked),
    (Page.UNSUPPORTED, lambda o: o.dom.unsupported),
    (Page.CONFLICT, lambda o: o.dom.conflict),
    (Page.OTHER_TAB, lambda o: o.dom.other_tab),
    (Page.CHATS, lambda o: o.dom.chats),
    (Page.PASSKEY, lambda o: o.dom.passkey),
    (Page.LOADING, lambda o: o.dom.loading),
    (Page.OFFLINE, lambda o: o.dom.offline),
    (Page.PAIRING_CODE, lambda o: o.dom.pairing_code),
    (Page.QR_EXPIRED, lambda o: o.dom.qr_expired or o.dom.code_expired),
    (Page.QR, lambda o: o.dom.qr_payload),
    (Page.STARTUP, lambda o: o.dom.startup),
    (Page.LANDING, lambda o: o.dom.landing),
)

#: The spec's order, used to settle a disagreement between the channels: the earlier row wins.
ORDER: tuple[Page, ...] = tuple(page for page, _ in DOM_RECOGNITION) + (Page.UNKNOWN,)

#: The modules channel: Socket.state -> page (UNPAIRED and CONNECTED need a second look, below).
SOCKET_STATES: dict[str, Page] = {
    "OPENING": Page.STARTUP,
    "UNLAUNCHED": Page.STARTUP,
    "PAIRING": Page.LOADING,
    "UNPAIRED": Page.QR,
    "UNPAIRED_IDLE": Page.QR_EXPIRED,
    "CONNECTED": Page.CHATS,
    "TIMEOUT": Page.OFFLINE,
    "CONFLICT": Page.CONFLICT,
    "TOS_BLOCK": Page.BLOCKED,
    "SMB_TOS_BLOCK": Page.BLOCKED,
    "PROXYBLOCK": Page.BLOCKED,
    "DEPRECATED_VERSION": Page.BLOCKED,
}


#: The second module sign (late 2026): WAWebStreamModel's Stream.mode -> page (QR and MAIN need a second look).
STREAM_MODES: dict[str, Page] = {
    "QR": Page.QR,
    "MAIN": Page.CHATS,
    "SYNCING": Page.LOADING,
    "OFFLINE": Page.OFFLINE,
    "CONFLICT": Page.CONFLICT,
    "PROXYBLOCK": Page.BLOCKED,
    "TOS_BLOCK": Page.BLOCKED,
    "SMB_TOS_BLOCK": Page.BLOCKED,
    "DEPRECATED_VERSION": Page.BLOCKED,
}


def dom_page(obs: Observation) -> Page:
    """The page as the DOM alone shows it."""
    return next((page for page, shows in DOM_RECOGNITION if shows(obs)), Page.UNKNOWN)


def module_page(obs: Observation) -> Page | None:
    """The page as WhatsApp's modules alone tell it; None when the modules are not available."""
    mods = obs.modules
    if mods is None:
        return None
    if obs.logout_seen:
        return Page.LOGGED_OUT
    socket = _refined(SOCKET_STATES.get(mods.state.upper(), Page.UNKNOWN), obs)
    stream = _refined(STREAM_MODES.get(mods.stream_mode.upper(), Page.UNKNOWN), obs)
    if stream is Page.OFFLINE and socket is Page.STARTUP:
        stream = Page.UNKNOWN  # while the socket opens, OPENING-for-long is the offline sign (decide)
    signs = [socket, stream] + [Page.BLOCKED] * bool(mods.bus_block) + [Page.PASSKEY] * mods.passkey
    found = [page for page in signs if page is not Page.UNKNOWN]
    return min(found, key=ORDER.index) if found else Page.UNKNOWN


def _refined(page: Page, obs: Observation) -> Page:
    """A module page, looked at twice: linked but not synced is loading; UNPAIRED without a code is the landing."""
    mods = obs.modules
    if page is Page.CHATS and not (mods and mods.has_synced):
        return Page.LOADING
    if page is Page.QR and not (mods and mods.qr_payload):
        return Page.LANDING  # UNPAIRED with no code on screen yet (or the phone-number login)
    return page


@dataclass(frozen=True)
class Sight:
    """The page recognised from one observation: by which channel, and what each channel said."""

    page: Page
    seen_by: tuple[str, ...]
    dom: Page
    modules: Page | None
    obs: Observation

    @property
    def qr_payload(self) -> str | None:
        """The payload to serve: the DOM's when it saw the QR, else the one the modules pointed at."""
        if self.page is not Page.QR:
            return None
        if self.dom is Page.QR:
            return self.obs.dom.qr_payload
        return self.obs.modules.qr_payload if self.obs.modules else None

    @property
    def block(self) -> str:
        """Which block the page shows ('tos_block', 'proxyblock', ...)."""
        if self.dom is Page.BLOCKED and self.obs.dom.blocked:
            return str(self.obs.dom.blocked)
        mods = self.obs.modules
        if mods is None:
            return "blocked"
        for sign, table in ((mods.state, SOCKET_STATES), (mods.stream_mode, STREAM_MODES)):
            if table.get(sign.upper()) is Page.BLOCKED:
                return sign.lower()
        return mods.bus_block or "blocked"

    @property
    def unrecognised(self) -> bool:
        """The page is not recognised, or only the modules see WhatsApp still opening over a page the DOM
        does not know (WhatsApp shows something new: not a connection problem)."""
        return self.page is Page.UNKNOWN or (
            self.page is Page.STARTUP and self.dom is Page.UNKNOWN and self.obs.text_size > 0)

    @property
    def disagreement(self) -> tuple[Page, Page] | None:
        """(dom, modules) when both channels recognised something and it differs."""
        if self.modules is None or Page.UNKNOWN in (self.dom, self.modules) or self.dom is self.modules:
            return None
        return self.dom, self.modules


def recognise(obs: Observation) -> Sight:
    """Recognise the page through both channels; when they differ, the spec's earlier row wins."""
    dom, mods = dom_page(obs), module_page(obs)
    found = [p for p in (dom, mods) if p is not None and p is not Page.UNKNOWN]
    page = min(found, key=ORDER.index) if found else Page.UNKNOWN
    seen_by = tuple(name for name, p in (("dom", dom), ("modules", mods)) if p is page and page is not Page.UNKNOWN)
    return Sight(page, seen_by, dom, mods, obs)


def format_pairing_code(raw: str | None) -> str | None:
    """Turn WhatsApp's 'A,B,C,D,E,F,G,H' into 'ABCD-EFGH' (None when it is not 8 characters)."""
    if not raw or not isinstance(raw, str):
        return None
    code = "".join(ch for ch in raw if ch.isalnum()).upper()
    if len(code) != 8:
        return None
    return f"{code[:4]}-{code[4:]}"
