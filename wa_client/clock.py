"""Time and secrets as the gateway writes them: ISO-8601 UTC stamps, and short fingerprints of credentials."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime


def fingerprint(payload: str | None) -> str:
    """A short, non-reversible tag for logs: the payload itself is a login credential."""
    if not payload:
        return "-"
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:10]


def iso(epoch: float) -> str:
    """ISO-8601 UTC with milliseconds and a Z."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    """Now, as ISO-8601 UTC."""
    return iso(time.time())
