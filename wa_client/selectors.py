"""Every WhatsApp Web sign the gateway relies on (selectors, texts, module names), in one place.

WhatsApp renames classes and drops data-testid attributes often, so nothing here uses hashed
class names or data-testid, and texts are matched case-insensitively and partially. The day
WhatsApp changes its page, this is the one file to change; an operator can also override any
entry without a code change: WA_SELECTORS_FILE names a JSON object {NAME: value} (see
docs/whatsapp-web.md for what each sign means and where it comes from).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType

#: name -> a CSS selector (str) or a list of lower-case texts/names (list[str]).
DEFAULTS: Mapping[str, str | list[str]] = MappingProxyType({
    # 1. logged out: the page's navigation entry, the Cmd logout marker, the linked marker
    "POST_LOGOUT_URL_MARK": "post_logout=1",
    "LINKED_STORAGE_KEY": "last-wid-md",
    "LOGOUT_MARKER_KEY": "wa-gateway-logout",
    # 2. blocked screens (checked only when no chat list and no QR are on the page)
    "TOS_BLOCK_TEXTS": ["account is banned", "account has been banned", "banned from using whatsapp",
                        "not allowed to use whatsapp"],
    "SMB_TOS_BLOCK_TEXTS": ["temporarily banned"],
    "PROXYBLOCK_TEXTS": ["network blocks whatsapp", "network is blocking whatsapp"],
    "DEPRECATED_VERSION_TEXTS": ["needs to be updated", "version of whatsapp web is no longer supported",
                                 "update whatsapp web"],
    "SERVICE_UNAVAILABLE_TEXTS": ["service unavailable"],
    # 3. unsupported browser
    "UNSUPPORTED_TEXTS": ["whatsapp works with google chrome"],
    # 4. conflict ("Use here"); the other-tab screen (5)
    "DIALOG": "[role='dialog'], [data-animate-modal-popup]",
    "USE_HERE_TEXT": "use here",
    "OTHER_TAB_TEXTS": ["another active whatsapp web tab"],
    # 6. chats
    "CHAT_LIST": "#pane-side, [role='grid'][aria-label='Chat list'], [aria-label='Chat list']",
    # 7. loading (a <progress> outside the startup screen, with one of these texts)
    "PROGRESS": "progress",
    "LOADING_TEXTS": ["loading your chats", "connecting\u2026", "connecting...", "downloading messages",
                      "organizing messages", "your messages are downloading"],
    # 8. offline: the button inside the QR holder, or the startup dialog
    "OFFLINE_TEXTS": ["no internet connection", "connecting to whatsapp",
                      "make sure your computer has an active internet connection"],
    # 9. pairing code
    "PAIRING_CODE": "[data-link-code]",
    "PAIRING_CODE_ATTRIBUTE": "data-link-code",
    "CODE_EXPIRED_TEXTS": ["click to generate new code", "code expired"],
    # 10. QR expired (inside the holder that still carries the OLD payload)
    "RELOAD_TEXT": "click to reload qr code",
    "RELOAD_ICON": "span[data-icon='refresh-large']",
    # 11. QR
    "QR_CANVAS": "canvas[aria-label]",
    "QR_REF_HOLDER": "[data-ref]",
    "QR_REF_ATTRIBUTE": "data-ref",
    "STAY_LOGGED_IN": "#auto-logout-toggle",
    # 12. startup (React removes it when the app mounts)
    "STARTUP": "#wa_web_initial_startup, #initial_startup",
    # 13. landing
    "PHONE_LOGIN_TEXTS": ["log in with phone number", "link with phone number"],
    # driving the page
    "PHONE_NUMBER_INPUT": "input[aria-label='Type your phone number.']",
    "NEXT_TEXT": "next",
    "MENU_BUTTON": "[aria-label='Menu'], span[data-icon='menu']",
    "MENU_ITEM": "[role='menuitem'], li, [role='button']",
    "LOG_OUT_TEXT": "log out",
    "CLOSE_DIALOG_TEXTS": ["ok", "got it", "close", "continue", "not now", "done"],
    # never clicked unless the user asked for a logout; a dialog with these words is never dismissed
    "TRAP_TEXTS": ["log out", "logout", "sign out"],
    "TRAP_DIALOG_TEXTS": ["use here", "log out", "connecting to whatsapp", "another active"],
    # Chromium's own page when WA_URL cannot be reached
    "BROWSER_ERROR_URL": "chrome-error://",
    # WhatsApp's modules, through window.require
    "SOCKET_MODULE": "WAWebSocketModel",
    "CONN_MODULE": "WAWebConnModel",
    "CMD_MODULE": "WAWebCmd",
    # messaging through WhatsApp's modules (whatsapp-web.js 1.34 Store.js / Utils.js, wa-js 4.6)
    "WID_FACTORY_MODULE": "WAWebWidFactory",
    "QUERY_EXISTS_MODULE": "WAWebQueryExistsJob",
    "COLLECTIONS_MODULE": "WAWebCollections",
    "FIND_CHAT_MODULE": "WAWebFindChatAction",
    "MSG_KEY_MODULE": "WAWebMsgKey",
    "SEND_MSG_MODULE": "WAWebSendMsgChatAction",
    "ME_USER_MODULE": "WAWebUserPrefsMeUser",
    # late 2026 (docs/whatsapp-web.md, "Late 2026" and "Messages"): history, LID <-> phone, the reach-out lock
    "CHAT_LOAD_MODULE": "WAWebChatLoadMessages",
    "API_CONTACT_MODULE": "WAWebApiContact",
    "TIMELOCK_MODULE": "WAWebReachoutTimelockUtils",
    "TIMELOCK_ACTIVE_FN": "isUserReachoutTimelocked",
    "TIMELOCK_END_FN": "getReachoutTimelockExpiration",
    "CHAT_ORIGIN": "createChat",  # findOrCreateLatestChat's origin that may create an @lid chat (as wa-js)
    # messaging through the page: the click-to-chat route, its Send button, its invalid-number dialog
    "SEND_ROUTE": "send?phone={phone}&text={text}",
    "SEND_BUTTON": "button[aria-label='Send'], [role='button'][aria-label='Send']",
    "OUTGOING_MESSAGE": "[data-id^='true_']",
    # reading an open chat through the page: its rows, their text and time, the chat's beginning
    "CONVERSATION_PANE": "#main",
    "MESSAGE_ROW": "[data-id]",
    "MESSAGE_TEXT": "span.selectable-text, .message-text",
    "MESSAGE_META": "[data-pre-plain-text]",
    "CHAT_START_TEXTS": ["messages and calls are end-to-end encrypted", "messages are end-to-end encrypted"],
    # the tick icon's label in a sent message's row, for ack -1, 0, 1, 2, 3 (in this order)
    "OUTGOING_ACK_LABELS": ["error", "pending", "sent", "delivered", "read"],
    "INVALID_NUMBER_TEXTS": ["phone number shared via url is invalid"],
    # WhatsApp warns before it restricts an account that messages like a bulk tool
    "RESTRICTED_TEXTS": ["account may be restricted", "your account is restricted"],
})

#: Block kinds in the order they are checked ("temporarily banned" before "banned").
BLOCK_TEXT_KEYS = (("smb_tos_block", "SMB_TOS_BLOCK_TEXTS"), ("tos_block", "TOS_BLOCK_TEXTS"),
                   ("proxyblock", "PROXYBLOCK_TEXTS"), ("deprecated_version", "DEPRECATED_VERSION_TEXTS"),
                   ("service_unavailable", "SERVICE_UNAVAILABLE_TEXTS"))

# WhatsApp's QR rotation: the first ref lives ~60 s, then ~5 more of ~20 s each
QR_FIRST_REF_S = 60
QR_NEXT_REF_S = 20
QR_REFS_PER_CYCLE = 6


class SelectorsError(ValueError):
    """The selector overrides file cannot be used (the message says why)."""


def load(path: str | None) -> dict[str, str | list[str]]:
    """The signs: the defaults, with the overrides of the JSON file at `path` (if any) on top."""
    signs = {key: list(value) if isinstance(value, list) else value for key, value in DEFAULTS.items()}
    if not path:
        return signs
    try:
        with open(path, encoding="utf-8") as fh:
            overrides = json.load(fh)
    except OSError as exc:
        raise SelectorsError(f"WA_SELECTORS_FILE={path} cannot be read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise SelectorsError(f"WA_SELECTORS_FILE={path} is not valid JSON: {exc}") from None
    if not isinstance(overrides, dict):
        raise SelectorsError(f"WA_SELECTORS_FILE={path} must hold a JSON object {{NAME: value}}")
    for key, value in overrides.items():
        signs[key] = _checked(path, key, value)
    return signs


def _checked(path: str, key: str, value: object) -> str | list[str]:
    if key not in DEFAULTS:
        raise SelectorsError(f"WA_SELECTORS_FILE={path}: unknown name {key!r} (known: {', '.join(DEFAULTS)})")
    if isinstance(DEFAULTS[key], list):
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise SelectorsError(f"WA_SELECTORS_FILE={path}: {key} must be a non-empty list of texts")
        return [v.strip().lower() for v in value]
    if not isinstance(value, str) or not value.strip():
        raise SelectorsError(f"WA_SELECTORS_FILE={path}: {key} must be a non-empty string")
    return value.strip()
