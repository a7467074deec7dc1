"""Every WhatsApp Web selector and text the gateway relies on, in one place.

WhatsApp renames classes and drops data-testid attributes often, so nothing here uses hashed
class names or data-testid, and texts are matched case-insensitively and partially. The day
WhatsApp changes its page, this is the one file to change (see ../shared/spec/whatsapp-web.md).
"""

from __future__ import annotations

# 1. logged out from the phone
POST_LOGOUT_URL_MARK = "post_logout=1"

# 2. unsupported browser
UNSUPPORTED_PAGE = "body.page-version, .version-title, a[href*='support.google.com/chrome/answer/95414']"
UNSUPPORTED_TEXTS = ("whatsapp works with google chrome",)

# 3. conflict ("Use here")
DIALOG = "[data-animate-modal-popup='true'], [role='dialog']"
USE_HERE_TEXT = "use here"

# 4. chats (logged in)
CHAT_LIST = "#pane-side, #side, [aria-label='Chat list'], .two[tabindex]"

# 5. loading chats
LOADING_TEXT = "loading your chats"
PROGRESS = "progress"

# 6. pairing code
PAIRING_CODE = "[data-link-code]"
PHONE_LOGIN_TEXTS = ("log in with phone number", "link with phone number")
PHONE_NUMBER_INPUT = "input[aria-label='Type your phone number.']"
NEXT_TEXT = "next"

# 7. QR expired
RELOAD_BUTTON = "[data-ref] button, span[data-icon='refresh-large']"
RELOAD_TEXT = "click to reload qr code"

# 8. QR
QR_CANVAS = "canvas[aria-label]"
QR_REF_HOLDER = "[data-ref]"
QR_TEXTS = ("scan this qr code", "scan me")

# WhatsApp's QR rotation (whatsapp-web.md): the first ref lives ~60 s, then ~5 more of ~20 s each
QR_FIRST_REF_S = 60
QR_NEXT_REF_S = 20
QR_REFS_PER_CYCLE = 6

# 9. startup
STARTUP = "#initial_startup"

# Logging out from the web side
MENU_BUTTON = "[aria-label='Menu'], span[data-icon='menu']"
LOG_OUT_TEXT = "log out"

# localStorage key that marks a linked profile
LINKED_STORAGE_KEY = "last-wid-md"

# Chromium's own page when WA_URL cannot be reached
BROWSER_ERROR_URL = "chrome-error://"
BROWSER_ERROR_TEXTS = ("this site can\u2019t be reached", "this site can't be reached", "err_")

#: Everything the page probe needs, handed to the script as its argument.
PROBE_ARGS = {
    "unsupported": UNSUPPORTED_PAGE,
    "unsupportedTexts": list(UNSUPPORTED_TEXTS),
    "dialog": DIALOG,
    "useHere": USE_HERE_TEXT,
    "chatList": CHAT_LIST,
    "loadingText": LOADING_TEXT,
    "progress": PROGRESS,
    "pairingCode": PAIRING_CODE,
    "phoneLogin": list(PHONE_LOGIN_TEXTS),
    "reload": RELOAD_BUTTON,
    "reloadText": RELOAD_TEXT,
    "qrCanvas": QR_CANVAS,
    "refHolder": QR_REF_HOLDER,
    "startup": STARTUP,
    "errorUrl": BROWSER_ERROR_URL,
    "errorTexts": list(BROWSER_ERROR_TEXTS),
    "linkedKey": LINKED_STORAGE_KEY,
}

#: One round trip per poll: the script returns the whole picture of the page as a dict.
PROBE_SCRIPT = r"""
const S = arguments[0];
const low = (s) => (s || '').toLowerCase();
const text = (el) => (el ? (el.innerText || el.textContent || '') : '').trim();
const shown = (el) => !!el && !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
const one = (sel) => document.querySelector(sel);
const all = (sel) => Array.from(document.querySelectorAll(sel));
const body = low(document.body ? (document.body.innerText || '') : '');
const has = (list) => list.some((t) => body.includes(t));
const dialog = all(S.dialog).find((d) => low(text(d)).includes(S.useHere));
const canvas = one(S.qrCanvas);
const holder = canvas ? canvas.closest(S.refHolder) : null;
const code = one(S.pairingCode);
const loading = all(S.progress).some((p) => shown(p) && !p.closest(S.startup)) && body.includes(S.loadingText);
return {
  url: location.href,
  ready: document.readyState,
  error_page: location.href.startsWith(S.errorUrl) || (!!one('#main-frame-error') && has(S.errorTexts)),
  unsupported: !!one(S.unsupported) || has(S.unsupportedTexts),
  conflict: dialog ? text(dialog).slice(0, 300) : null,
  chats: !!one(S.chatList),
  loading: loading,
  pairing_code: code ? code.getAttribute('data-link-code') : null,
  qr_expired: !!one(S.reload) || body.includes(S.reloadText),
  qr_ref: holder ? holder.getAttribute('data-ref') : null,
  startup: !!one(S.startup),
  landing: has(S.phoneLogin),
  linked: (() => { try { return !!window.localStorage.getItem(S.linkedKey); } catch (e) { return false; } })(),
};
"""

#: Clicks the smallest clickable element inside arguments[0] whose text contains one of arguments[1].
CLICK_TEXT_SCRIPT = r"""
const texts = arguments[1];
let best = null, bestLen = Infinity;
for (const el of document.querySelectorAll(arguments[0])) {
  const t = (el.innerText || el.textContent || '').trim().toLowerCase();
  if (t && t.length < bestLen && texts.some((x) => t.includes(x))) { best = el; bestLen = t.length; }
}
if (!best) return false;
best.click();
return true;
"""

#: Where a clickable control may be: WhatsApp uses buttons, links and role=button divs alike.
CLICKABLE = "button, a, [role='button'], [role='menuitem'], li, div[tabindex], span"

#: Clicks WhatsApp's "Click to reload QR code" button; returns whether one was found.
CLICK_RELOAD_SCRIPT = r"""
const el = document.querySelector(arguments[0]);
if (!el) return false;
(el.closest('button') || el).click();
return true;
"""

#: Clicks the button whose text contains arguments[1] inside the dialog matching arguments[0].
CLICK_DIALOG_BUTTON_SCRIPT = r"""
const want = arguments[1];
for (const d of document.querySelectorAll(arguments[0])) {
  for (const b of d.querySelectorAll('button, [role="button"]')) {
    if ((b.innerText || b.textContent || '').trim().toLowerCase().includes(want)) { b.click(); return true; }
  }
}
return false;
"""
