"""The QR image the front desk scans: rendered from WhatsApp's payload, once per version."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

import segno

from wa_client import selectors as sel
from wa_client.clock import iso


def render_png(payload: str, scale: int = 6) -> bytes:
    """A PNG that encodes `payload` exactly, with the quiet zone phones need."""
    code = segno.make(payload, error="l", micro=False)
    out = io.BytesIO()
    code.save(out, kind="png", scale=scale, border=4, dark="#122e31", light="#ffffff")
    return out.getvalue()


@dataclass
class QrBoard:
    """The QR on screen now: payload, PNG (rendered once), version, and its place in the rotation.

    Versions are never reused, so ETags stay unique for the life of the gateway.
    """

    payload: str | None = None
    png: bytes | None = None
    version: int = 0
    index: int = 0
    shown_at: float | None = None
    observed_lifetime_s: float | None = None

    def show(self, payload: str, png: bytes) -> bool:
        """Put a code up; True when it is a new one (a new version)."""
        if payload == self.payload:
            return False
        now = time.time()
        if self.shown_at is not None and self.index >= 2:  # the first code lives longer than the rest
            self.observed_lifetime_s = now - self.shown_at
        self.payload, self.png, self.shown_at = payload, png, now
        self.version += 1
        self.index += 1
        return True

    def withdraw(self) -> bool:
        """Take the code down (expired, scanned, or gone); True when there was one."""
        had = self.payload is not None
        self.payload = self.png = self.shown_at = None
        return had

    def new_cycle(self) -> None:
        """WhatsApp starts a new rotation: the next code is the first of its cycle."""
        self.index = 0
        self.observed_lifetime_s = None

    def cycle_facts(self, timeout_at: float) -> dict | None:
        """Which code of the cycle this is, when WhatsApp will likely replace it, when our timeout ends."""
        if self.payload is None or self.shown_at is None:
            return None
        lifetime = sel.QR_FIRST_REF_S if self.index <= 1 else (self.observed_lifetime_s or sel.QR_NEXT_REF_S)
        return {"index": self.index, "of": sel.QR_REFS_PER_CYCLE,
                "next_change_at": iso(self.shown_at + lifetime), "timeout_at": iso(timeout_at)}

