"""When a message may go out: its `send_at`, the clinic's quiet hours and WhatsApp's reach-out lock (pure rules).

Nothing here touches a browser or a file: the outbox asks, these answer, the tests read every case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: How far ahead a message may be scheduled, and how late a `send_at` may already be when it arrives.
MAX_AHEAD_S = 30 * 86400.0
MAX_PAST_S = 60.0
#: What a receptionist or an integrator reads when a value is refused.
WORDS = {
    "send_at_type": '"send_at" must be a date and time in ISO-8601 with an offset, e.g. "2026-12-04T09:00:00-03:00"',
    "send_at_unparsable": '"send_at" {value!r} is not an ISO-8601 date and time, e.g. "2026-12-04T09:00:00-03:00"; '
                          "nothing was stored",
    "send_at_naive": '"send_at" {value!r} has no offset, so its moment is unknown: add one (e.g. "-03:00" or "Z"); '
                     "nothing was stored",
    "send_at_past": '"send_at" {value!r} is more than a minute in the past; leave "send_at" out to send as soon as '
                    "allowed. Nothing was stored",
    "send_at_far": '"send_at" {value!r} is more than 30 days ahead; queue it closer to its day. Nothing was stored',
}


def parse_send_at(value: object, now: float) -> float | None:
    """`send_at` as epoch seconds (None when absent); ValueError in words when it cannot be accepted."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise ValueError(WORDS["send_at_type"])
    shown = value[:64]
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(WORDS["send_at_unparsable"].format(value=shown)) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(WORDS["send_at_naive"].format(value=shown))
    try:
        at = moment.timestamp()
    except (OverflowError, ValueError, OSError):
        raise ValueError(WORDS["send_at_far"].format(value=shown)) from None
    if at < now - MAX_PAST_S:
        raise ValueError(WORDS["send_at_past"].format(value=shown))
    if at > now + MAX_AHEAD_S:
        raise ValueError(WORDS["send_at_far"].format(value=shown))
    return at


@dataclass(frozen=True)
class Timelock:
    """WhatsApp's reach-out lock as the page last said it."""

    active: bool = False
    until: float | None = None

    @classmethod
    def from_client(cls, said: dict | None) -> Timelock:
        """From client.reachout_timelock(): {"active", "until"}."""
        said = said or {}
        until = said.get("until")
        return cls(bool(said.get("active")), float(until) if until is not None else None)

    def holds(self, now: float) -> bool:
        """True while a first message to a new contact must wait (active, and its end not passed)."""
        return self.active and (self.until is None or self.until > now)


def may_send_to(lock: Timelock, has_conversation: bool, now: float) -> bool:
    """Whether a message may go now under the lock: replies in existing conversations always may."""
    return has_conversation or not lock.holds(now)


def after_timelock_refusal(lock: Timelock, now: float) -> str:
    """What to do when WhatsApp refused a send for the lock: 'wait' while it holds, 'fail' once its end passed."""
    return "wait" if lock.holds(now) else "fail"
