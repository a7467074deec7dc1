"""The QR image the front desk scans: rendered from WhatsApp's payload, once per version."""

from __future__ import annotations

import hashlib
import io

import segno


def render_png(payload: str, scale: int = 6) -> bytes:
    """A PNG that encodes `payload` exactly, with the quiet zone phones need."""
    code = segno.make(payload, error="l", micro=False)
    out = io.BytesIO()
    code.save(out, kind="png", scale=scale, border=4, dark="#122e31", light="#ffffff")
    return out.getvalue()


def fingerprint(payload: str | None) -> str:
    """A short, non-reversible tag for logs: the payload itself is a login credential."""
    if not payload:
        return "-"
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:10]
