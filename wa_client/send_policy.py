"""When a message may go out: its `send_at`, the clinic's quiet hours and WhatsApp's reach-out lock (pure rules).

Nothing here touches a browser or a file: the outbox asks, these answer, the tests read every case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .config import ConfigError

#: How far ahead a message may be scheduled, and how late a `send_at` may already be when it arrives.
MAX_AHEAD_S = 30 * 86400.0
MAX_PAST_S = 60.0
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
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
    "hours": "WA_SEND_HOURS={value!r} is not understood: write HH:MM-HH:MM (e.g. 08:00-20:00), or ranges per "
             "weekday such as 'Mon-Fri 08:00-19:00,Sat 08:00-12:00'; leave it empty to send at any hour",
    "timezone": "WA_TIMEZONE={value!r} is not a time zone this machine knows: use an IANA name such as "
                "America/Sao_Paulo or Europe/Lisbon, or leave it empty for the machine's own",
}

_RANGE = re.compile(r"^(?:(?P<days>[A-Za-z]{3}(?:\s*-\s*[A-Za-z]{3})?)\s+)?"
                    r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$")


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


def load_timezone(name: str) -> tzinfo:
    """WA_TIMEZONE as a tzinfo (empty: the machine's own); ConfigError in words for an unknown name."""
    if not name.strip():
        return datetime.now().astimezone().tzinfo or UTC
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(WORDS["timezone"].format(value=name)) from None


def _minutes(text: str) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    if hours > 24 or minutes > 59 or (hours == 24 and minutes):
        raise ValueError(text)
    return hours * 60 + minutes


def _days(spec: str | None) -> list[int]:
    if not spec:
        return list(range(7))
    ends = [part.strip().lower() for part in spec.split("-")]
    first, last = DAYS.index(ends[0]), DAYS.index(ends[-1])  # ValueError for an unknown day
    return [(first + n) % 7 for n in range((last - first) % 7 + 1)]


@dataclass(frozen=True)
class SendHours:
    """WA_SEND_HOURS: per weekday (0 = Monday) the minutes of the day when sending is allowed; empty = always."""

    raw: str = ""
    windows: dict[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)

    @property
    def always(self) -> bool:
        """True when there are no quiet hours."""
        return not self.raw.strip()

    def next_open(self, now: float, zone: tzinfo) -> float:
        """The first moment at or after `now` (epoch seconds) when sending is allowed (`now` itself when open)."""
        if self.always:
            return now
        local = datetime.fromtimestamp(now, zone)
        for offset in range(8):
            day: date = local.date() + timedelta(days=offset)
            for start, end in self.windows.get(day.weekday(), ()):
                opens = _at(day, start, zone)
                closes = _at(day, end, zone)
                if offset == 0 and opens <= now < closes:
                    return now
                if opens > now:
                    return opens
        return now  # (a week of closed days cannot be written: parse refuses it)


def _at(day: date, minute: int, zone: tzinfo) -> float:
    midnight = datetime.combine(day, time(0), zone)
    return (midnight + timedelta(minutes=minute)).timestamp() if minute < 1440 else \
        datetime.combine(day + timedelta(days=1), time(0), zone).timestamp()


def parse_send_hours(raw: str) -> SendHours:
    """WA_SEND_HOURS as SendHours; ConfigError in words for a value it cannot read."""
    if not raw.strip():
        return SendHours()
    windows: dict[int, list[tuple[int, int]]] = {}
    try:
        for part in raw.split(","):
            match = _RANGE.match(part.strip())
            if not match:
                raise ValueError(part)
            start, end = _minutes(match["start"]), _minutes(match["end"])
            if start == end:
                raise ValueError(part)
            for day in _days(match["days"]):
                if end > start:
                    windows.setdefault(day, []).append((start, end))
                else:  # past midnight: the evening on this day, the early hours on the next
                    windows.setdefault(day, []).append((start, 1440))
                    if end:
                        windows.setdefault((day + 1) % 7, []).append((0, end))
    except ValueError:
        raise ConfigError(WORDS["hours"].format(value=raw)) from None
    return SendHours(raw, {day: tuple(sorted(spans)) for day, spans in windows.items()})


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
