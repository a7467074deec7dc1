"""What a setting's value means: parsed and checked, with ConfigError in words (the one reading of each value).

The parts that use a value (the outbox's gap, its quiet hours, the notifier's URLs) read it from here too,
so that a value the settings accept is a value that works.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: What a clinic's IT person reads when a value is refused.
WORDS = {
    "hours": "WA_SEND_HOURS={value!r} is not understood: write HH:MM-HH:MM (e.g. 08:00-20:00), or ranges per "
             "weekday such as 'Mon-Fri 08:00-19:00,Sat 08:00-12:00'; leave it empty to send at any hour",
    "timezone": "WA_TIMEZONE={value!r} is not a time zone this machine knows: use an IANA name such as "
                "America/Sao_Paulo or Europe/Lisbon, or leave it empty for the machine's own",
}
_RANGE = re.compile(r"^(?:(?P<days>[A-Za-z]{3}(?:\s*-\s*[A-Za-z]{3})?)\s+)?"
                    r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$")


class ConfigError(ValueError):
    """A setting has a value the gateway cannot use."""


def parse_gap(raw: str) -> tuple[float, float]:
    """WA_SEND_GAP_S as (min, max) seconds: '15-45', '20', '0'; ConfigError in words otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?)\s*)?", str(raw))
    if not match:
        raise ConfigError(f"WA_SEND_GAP_S={raw!r} must be seconds (e.g. 20) or a range MIN-MAX (e.g. 15-45)")
    low = float(match.group(1))
    high = float(match.group(2)) if match.group(2) is not None else low
    if high < low:
        raise ConfigError(f"WA_SEND_GAP_S={raw!r}: the range must go from the smaller to the larger number")
    return low, high


def apprise_module():
    """The apprise module (imported on first use: only with WA_NOTIFY_URLS; its imghdr import warns on 3.11+)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise
        from apprise.utils import parse, pgp  # noqa: F401 - loaded by the mail plugin; imported here, under the filter
    return apprise


def split_urls(urls: str) -> list[str]:
    """The URLs of WA_NOTIFY_URLS (space-separated; a word that is no URL is kept, to be refused)."""
    parse_urls = apprise_module().utils.parse.parse_urls
    found: list[str] = []
    for word in urls.split():
        found += [u for u in parse_urls(word) if u] or [word]
    return found


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0][:20] if "://" in url else "(no scheme)"


def check_urls(urls: str) -> None:
    """Raise ConfigError, in words and without the URL's secrets, for a URL Apprise cannot use."""
    apprise = apprise_module()
    for index, url in enumerate(split_urls(urls), start=1):
        if apprise.Apprise.instantiate(url, suppress_exceptions=True) is None:
            raise ConfigError(f"WA_NOTIFY_URLS: URL {index} (scheme {scheme_of(url)!r}) is not one Apprise can use; "
                              "see https://github.com/caronc/apprise/wiki for the URL formats")


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
