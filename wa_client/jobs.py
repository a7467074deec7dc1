"""A job for the session worker (a CRM command answered through a Future), its error, and a phone number's form."""

from __future__ import annotations

import re
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any


class ActionError(RuntimeError):
    """WhatsApp's page did not offer what the action needed (the message says what)."""


@dataclass
class Command:
    """A CRM command queued to the session worker, answered through `future`."""

    kind: str  # "pairing_code", "logout", "takeover", "screenshot"
    args: dict = field(default_factory=dict)
    timeout_s: float = 20.0
    future: Future = field(default_factory=Future)
    deadline: float = 0.0  # set when the page action is done and the worker waits for the confirmation


def normalize_phone(raw: Any) -> str:
    """The phone number as digits with its country code ('+55 11 9999-0000' -> '551199990000')."""
    if not isinstance(raw, str):
        raise ValueError("phone must be a string such as '+55 11 99999 0000'")
    if re.search(r"[^0-9\s+().-]", raw):  # 0-9, not \d: "٣" is a digit to Python, not to WhatsApp's input
        raise ValueError("phone may contain only digits, spaces, '+', '-', '.' and parentheses")
    digits = re.sub(r"[^0-9]", "", raw)
    if not 8 <= len(digits) <= 15:
        raise ValueError("phone must have 8 to 15 digits, country code first (E.164)")
    if digits.startswith("0"):
        raise ValueError("phone must start with the country code, not 0")
    return digits
