"""What the session worker does to the page: effects of decisions and the CRM's commands.

Every click goes through one guard that refuses a trap (anything saying "Log out", and "Close"
in a dialog that also offers "Use here") unless the user asked for a logout. Module calls come
first where WhatsApp has one (Cmd.refreshQR, Socket.takeover, Socket.logout); the page's controls
are the fallback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from wa_client.jobs import ActionError
from wa_client.polling import poll_until

logger = logging.getLogger(__name__)

STEP_TIMEOUT_S = 10.0


# -- the page scripts: arguments[0] is the signs, arguments[1] the action's parameters -------------
_PRELUDE = r"""
const S = arguments[0], P = arguments[1] || {};
const low = (s) => String(s || '').toLowerCase().trim();
const text = (el) => (el ? (el.innerText || el.textContent || '') : '').trim();
const all = (sel, root) => {
  try { return Array.from((root || document).querySelectorAll(sel)); } catch (e) { return []; } };
const shown = (el) => !!el && !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
const trap = (el) => {
  const own = low(text(el)) || low(el.getAttribute('aria-label'));
  if (!P.allowLogout && S.TRAP_TEXTS.some((t) => own.includes(t))) return true;
  if (S.PASSKEY_TEXTS.some((t) => low(text(document.body)).includes(t))) return true;  // its "Continue": never
  const box = el.closest(S.DIALOG);
  return !!box && low(text(box)).includes(S.USE_HERE_TEXT) && !own.includes(S.USE_HERE_TEXT);
};
const press = (el) => { const target = el.closest('button, [role="button"]') || el; if (trap(target)) return false;
  target.click(); return true; };
const smallest = (els, wants) => { let best = null, len = Infinity;
  for (const el of els) { const t = low(text(el)); if (t && t.length < len && wants(t)) { best = el; len = t.length; } }
  return best; };
const mod = (name, key) => { try { return window.require(name)[key] || null; } catch (e) { return null; } };
"""

RELOAD_QR_SCRIPT = _PRELUDE + r"""
const Cmd = mod(S.CMD_MODULE, 'Cmd');
if (Cmd && typeof Cmd.refreshQR === 'function') { Cmd.refreshQR(); return 'modules'; }
for (const holder of all(S.QR_REF_HOLDER)) {
  if (S.OFFLINE_TEXTS.some((t) => low(text(holder)).includes(t))) continue;  // the offline button: never
  const el = smallest(all('button, [role="button"]', holder), (t) => t.includes(S.RELOAD_TEXT))
    || holder.querySelector(S.RELOAD_ICON);
  if (el && press(el)) return 'dom';
}
return null;
"""

RELOAD_CODE_SCRIPT = _PRELUDE + r"""
const el = smallest(all('button, [role="button"], div[tabindex], span'),
  (t) => S.CODE_EXPIRED_TEXTS.some((x) => t.includes(x)));
return el && press(el) ? 'dom' : null;
"""

TAKE_OVER_SCRIPT = _PRELUDE + r"""
const Socket = mod(S.SOCKET_MODULE, 'Socket');
if (Socket && typeof Socket.takeover === 'function') { Socket.takeover(); return 'modules'; }
for (const box of all(S.DIALOG)) {
  const el = smallest(all('button, [role="button"]', box), (t) => t.includes(S.USE_HERE_TEXT));
  if (el && press(el)) return 'dom';
}
return null;
"""

TICK_STAY_LOGGED_IN_SCRIPT = _PRELUDE + r"""
const box = document.querySelector(S.STAY_LOGGED_IN);
if (!box) return null;
if (!box.checked) box.click();
return box.checked ? 'dom' : null;
"""

CLOSE_COVERING_DIALOGS_SCRIPT = _PRELUDE + r"""
let closed = 0;
for (const box of all(S.DIALOG).filter(shown)) {
  if (S.TRAP_DIALOG_TEXTS.some((t) => low(text(box)).includes(t))) continue;  // never dismiss a trap's dialog
  const buttons = all('button, [role="button"], [aria-label]', box);
  const el = buttons.find((b) => S.CLOSE_DIALOG_TEXTS.includes(low(b.getAttribute('aria-label'))))
    || smallest(buttons, (t) => S.CLOSE_DIALOG_TEXTS.includes(t));
  if (el && press(el)) closed += 1;
}
return closed;
"""

CLICK_TEXT_SCRIPT = _PRELUDE + r"""
const el = smallest(all(P.scope), (t) => P.texts.some((x) => t.includes(x)));
return el ? press(el) : false;
"""

MODULE_LOGOUT_SCRIPT = _PRELUDE + r"""
const Socket = mod(S.SOCKET_MODULE, 'Socket');
if (Socket && typeof Socket.logout === 'function') { Socket.logout(); return true; }
return false;
"""

CLICKABLE = "button, a, [role='button'], [role='menuitem'], li, div[tabindex], span"


class PageActions:
    """The worker's hands: every script above, run against one driver with the signs."""

    def __init__(self, driver: Any, signs: dict, sleep: Callable[[float], None] = time.sleep) -> None:
        self.driver = driver
        self.signs = signs
        self.sleep = sleep

    def run(self, script: str, **params: Any) -> Any:
        """Run a page script with the signs and `params`."""
        return self.driver.execute_script(script, self.signs, params)

    def reload_qr(self) -> str | None:
        """Ask for fresh QR codes (Cmd.refreshQR, else the reload button); which channel did it."""
        return self.run(RELOAD_QR_SCRIPT)

    def reload_code(self) -> str | None:
        """Click "Click to generate new code" after the pairing codes ran out."""
        return self.run(RELOAD_CODE_SCRIPT)

    def take_over(self) -> str | None:
        """Socket.takeover(), else "Use here"; which channel did it (None: neither was there)."""
        return self.run(TAKE_OVER_SCRIPT)

    def tick_stay_logged_in(self) -> str | None:
        """Tick "Stay logged in on this browser" if it is not ticked."""
        return self.run(TICK_STAY_LOGGED_IN_SCRIPT)

    def close_covering_dialogs(self) -> int:
        """Close "What's new" and other dialogs that cover the page (never a trap's dialog)."""
        return int(self.run(CLOSE_COVERING_DIALOGS_SCRIPT) or 0)

    def click_text(self, texts: list[str], scope: str = CLICKABLE, allow_logout: bool = False) -> bool:
        """Click the smallest control inside `scope` whose text contains one of `texts` (traps refused)."""
        return bool(self.run(CLICK_TEXT_SCRIPT, texts=list(texts), scope=scope, allowLogout=allow_logout))

    def until(self, check: Callable[[], Any], what: str, timeout: float = STEP_TIMEOUT_S) -> Any:
        """Retry `check` until it returns something truthy; ActionError naming `what` at the deadline."""
        value = poll_until(check, timeout, interval=0.1, sleep=self.sleep)
        if not value:
            raise ActionError(f"WhatsApp did not show {what} within {timeout:g} s")
        return value

    # -- the CRM's commands -------------------------------------------------------------------
    def enter_phone_number(self, digits: str) -> None:
        """Open 'Log in with phone number', type the number and press Next."""
        sel = self.signs
        if not self.driver.find_elements(By.CSS_SELECTOR, sel["PHONE_NUMBER_INPUT"]):
            self.until(lambda: self.click_text(sel["PHONE_LOGIN_TEXTS"]), "'Log in with phone number'")
        field_ = self.until(lambda: self.driver.find_elements(By.CSS_SELECTOR, sel["PHONE_NUMBER_INPUT"]),
                            "the phone number box")[0]
        field_.send_keys(Keys.CONTROL, "a")
        field_.send_keys(Keys.BACKSPACE)
        field_.send_keys("+" + digits)
        self.until(lambda: self.click_text([sel["NEXT_TEXT"]], "button, [role='button']"), "the Next button")

    def log_out(self) -> str:
        """Unlink this device as the user asked: Socket.logout(), else Menu -> Log out -> confirm."""
        sel = self.signs
        self.close_covering_dialogs()
        if self.run(MODULE_LOGOUT_SCRIPT):
            return "modules"
        self.until(lambda: self._click_first(sel["MENU_BUTTON"]), "the menu button")
        self.until(lambda: self.click_text([sel["LOG_OUT_TEXT"]], sel["MENU_ITEM"], allow_logout=True),
                   "'Log out' in the menu")
        self.until(lambda: self.click_text([sel["LOG_OUT_TEXT"]], "[role='dialog'] button, "
                                           "[data-animate-modal-popup] button", allow_logout=True),
                   "the logout confirmation")
        return "dom"

    def screenshot(self) -> bytes:
        """What the browser shows right now, as PNG."""
        return self.driver.get_screenshot_as_png()

    def _click_first(self, css: str) -> bool:
        self.close_covering_dialogs()  # a "What's new" dialog swallows the click otherwise
        found = [el for el in self.driver.find_elements(By.CSS_SELECTOR, css) if el.is_displayed()]
        if not found:
            return False
        found[0].click()
        return True
