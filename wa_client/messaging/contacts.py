"""Whether numbers have WhatsApp: asked of the session, remembered for a while (GET /contacts/{phone})."""

from __future__ import annotations

import time
from collections.abc import Callable

from wa_client.messaging.ports import Session

__all__ = ["ContactBook"]


class ContactBook:
    """Whether numbers have WhatsApp, asked of the session and remembered for WA_CONTACT_CACHE_S."""

    def __init__(self, client: Session, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.client, self.ttl_s, self.clock = client, ttl_s, clock
        self._known: dict[str, tuple[bool, float]] = {}

    def on_whatsapp(self, phone_digits: str) -> bool:
        """True when the number has WhatsApp (the session's answer, or a remembered one)."""
        now = self.clock()
        known = self._known.get(phone_digits)
        if known is not None and now - known[1] < self.ttl_s:
            return known[0]
        answer = bool(self.client.contact_exists(phone_digits))
        if len(self._known) > 10000:
            self._known.clear()
        self._known[phone_digits] = (answer, now)
        return answer
