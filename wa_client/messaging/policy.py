"""When a message may go out (pure rules over a clock): its `send_at`, the gap, the caps, the pause after failures
in a row, the clinic's quiet hours and WhatsApp's reach-out lock.

Nothing here touches a browser or a file: the sender asks with what the store holds, these answer, and the tests
read every case.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from wa_client.config import Settings
from wa_client.config.values import SendHours, parse_gap

#: How far ahead a message may be scheduled, and how late a `send_at` may already be when it arrives.
MAX_AHEAD_S = 30 * 86400.0
MAX_PAST_S = 60.0
DAY_S = 86400.0
#: The caps' windows: (the Settings field, its window in seconds).
CAPS = (("send_per_minute", 60.0), ("send_per_day", DAY_S))
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


def draw_gap(gap: tuple[float, float], rng: random.Random) -> float:
    """The next gap between sends, drawn from WA_SEND_GAP_S's range (a fixed gap when low == high)."""
    low, high = gap
    return low if low == high else rng.uniform(low, high)


def safeguard_wait(now: float, last_end: float | None, gap_s: float, attempts: Sequence[float],
                   caps: Sequence[tuple[int, float]]) -> float:
    """Seconds until the gap and the caps allow the next send (0: now).

    `last_end`: when the previous send ended (None: none yet); `attempts`: when each send of the last day
    began, oldest first; `caps`: (how many sends, in how many seconds), 0 sends meaning no cap.
    """
    waits = [0.0]
    if last_end is not None:
        waits.append(last_end + gap_s - now)
    for cap, window in caps:
        if cap > 0:
            times = [t for t in attempts if t >= now - window]
            if len(times) >= cap:
                waits.append(times[len(times) - cap] + window - now)
    return max(waits)


def quiet_until(hours: SendHours, zone: tzinfo, now: float) -> float | None:
    """When the clinic's quiet hours end (epoch seconds), or None when sending is allowed now."""
    opens = hours.next_open(now, zone)
    return opens if opens > now else None


@dataclass
class SendPolicy:
    """The clinic number's safeguards: the gap (drawn anew after each send), the caps, failures in a row."""

    gap: tuple[float, float]
    caps: tuple[tuple[int, float], ...]
    pause_after: int  # failures in a row before sending pauses (0: never)
    rng: random.Random = field(default_factory=random.Random)
    gap_s: float = 0.0  # the gap before the next send
    failures: int = 0  # failures in a row since the last success (or resume)

    @classmethod
    def from_settings(cls, settings: Settings, rng: random.Random | None = None) -> SendPolicy:
        """WA_SEND_GAP_S, WA_SEND_PER_MINUTE, WA_SEND_PER_DAY and WA_SEND_PAUSE_AFTER_FAILURES."""
        caps = tuple((int(getattr(settings, name)), window) for name, window in CAPS)
        return cls(parse_gap(settings.send_gap_s), caps, settings.send_pause_after_failures, rng or random.Random())

    def draw_gap(self) -> float:
        """Draw the gap before the next send (after a send ended, or a restart)."""
        self.gap_s = draw_gap(self.gap, self.rng)
        return self.gap_s

    def wait(self, now: float, last_end: float | None, attempts: Sequence[float]) -> float:
        """Seconds until the gap and the caps allow the next send (0: now)."""
        return safeguard_wait(now, last_end, self.gap_s, attempts, self.caps)

    def took(self) -> None:
        """WhatsApp's server took a message (or a person resumed): failures are no longer in a row."""
        self.failures = 0

    def failed(self) -> bool:
        """One more failure in a row; True when it is the one that must pause sending."""
        self.failures += 1
        return bool(self.pause_after) and self.failures >= self.pause_after
