"""What a CRM can ask of a linked session beyond start and reset: pairing code, logout, takeover."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from . import selectors as sel
from .page import click_dialog_button, click_text
from .states import State, StateError

logger = logging.getLogger(__name__)

STEP_TIMEOUT_S = 10.0


class ActionError(RuntimeError):
    """WhatsApp's page did not offer what the action needed (the message says what)."""


def normalize_phone(raw: Any) -> str:
    """The phone number as digits with its country code ('+55 11 9999-0000' -> '551199990000')."""
    if not isinstance(raw, str):
        raise ValueError("phone must be a string such as '+55 11 99999 0000'")
    if re.search(r"[^\d\s+().-]", raw):
        raise ValueError("phone may contain only digits, spaces, '+', '-', '.' and parentheses")
    digits = re.sub(r"\D", "", raw)
    if not 8 <= len(digits) <= 15:
        raise ValueError("phone must have 8 to 15 digits, country code first (E.164)")
    if digits.startswith("0"):
        raise ValueError("phone must start with the country code, not 0")
    return digits


def _until(check: Callable[[], Any], what: str, sleep: Callable[[float], None], timeout: float = STEP_TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise ActionError(f"WhatsApp did not show {what} within {timeout:g} s")
        sleep(0.1)


def enter_phone_number(driver: Any, digits: str, sleep: Callable[[float], None]) -> None:
    """Open 'Log in with phone number', type the number and press Next."""
    if not driver.find_elements(By.CSS_SELECTOR, sel.PHONE_NUMBER_INPUT):
        _until(lambda: click_text(driver, sel.PHONE_LOGIN_TEXTS), "'Log in with phone number'", sleep)
    field = _until(lambda: driver.find_elements(By.CSS_SELECTOR, sel.PHONE_NUMBER_INPUT), "the phone number box",
                   sleep)[0]
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.BACKSPACE)
    field.send_keys("+" + digits)
    _until(lambda: click_text(driver, (sel.NEXT_TEXT,), "button, [role='button']"), "the Next button", sleep)


def log_out(driver: Any, sleep: Callable[[float], None]) -> None:
    """Menu -> Log out -> confirm, as a person would unlink this device from WhatsApp Web."""
    _until(lambda: _click_first(driver, sel.MENU_BUTTON), "the menu button", sleep)
    _until(lambda: click_text(driver, (sel.LOG_OUT_TEXT,)), "'Log out' in the menu", sleep)
    _until(lambda: click_dialog_button(driver, sel.LOG_OUT_TEXT), "the logout confirmation", sleep)


def _click_first(driver: Any, css: str) -> bool:
    found = driver.find_elements(By.CSS_SELECTOR, css)
    if not found:
        return False
    found[0].click()
    return True


class IntegratorActions:
    """Commands for CRM integrators, mixed into the client: pairing code, logout, takeover."""

    def request_pairing_code(self, phone: Any, timeout: float = 20.0) -> str:
        """Drive 'Log in with phone number' and return the code as 'ABCD-EFGH'."""
        digits = normalize_phone(phone)
        watcher = self._watcher_in({State.QR}, "a pairing code needs the QR page: click Generate QR first")
        if self.status()["pairing_code"]:
            raise StateError("a pairing code is already shown: enter it on the phone, or click Force Reset "
                             "and Generate QR to start over")
        watcher.act(lambda driver: enter_phone_number(driver, digits, self.sleep))
        logger.info("pairing code requested for a number ending in %s", digits[-2:])
        return _until(lambda: self.status()["pairing_code"], "a pairing code", self.sleep, timeout)

    def logout(self, timeout: float = 20.0) -> dict:
        """Unlink this device in WhatsApp itself, then end like a phone logout."""
        watcher = self._watcher_in({State.CONNECTED}, "logout needs a connected session")
        self._mark_logout_requested(watcher.generation)
        watcher.act(lambda driver: log_out(driver, self.sleep))
        _until(lambda: self.state is not State.CONNECTED, "the logged-out page", self.sleep, timeout)
        return self.status()

    def take_over(self, timeout: float = 15.0) -> dict:
        """Click 'Use here' when WhatsApp is open elsewhere, and wait to be connected again."""
        watcher = self._watcher_in({State.CONFLICT}, "takeover needs the 'open elsewhere' conflict")
        if not watcher.act(lambda driver: click_dialog_button(driver, sel.USE_HERE_TEXT)):
            raise ActionError("WhatsApp's 'Use here' button was not found")
        _until(lambda: self.state is not State.CONFLICT, "the chats after 'Use here'", self.sleep, timeout)
        return self.status()
