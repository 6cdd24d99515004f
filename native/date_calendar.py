"""Calendar time: civil-date arithmetic on local millis, time zones, and rounding to calendar units.

Civil-date arithmetic is done by hand (days from civil), so years outside ``datetime``'s 1..9999 still
work; ``zoneinfo`` is only asked for UTC offsets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MS_SECOND = 1000
MS_MINUTE = 60 * MS_SECOND
MS_HOUR = 60 * MS_MINUTE
MS_DAY = 24 * MS_HOUR


class DateParseError(ValueError):
    """A value that none of the formats accepts (ES: ``failed to parse date field [x] with format [f]``)."""

    def __init__(self, value: object, fmt: str, reason: str | None = None) -> None:
        self.value = value
        self.format = fmt
        message = reason or f"failed to parse date field [{value}] with format [{fmt}]"
        super().__init__(message)


# --------------------------------------------------------------------------------------------------
# civil arithmetic


def days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z: int) -> tuple[int, int, int]:
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return y + (m <= 2), m, d


def _is_leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def _days_in_month(y: int, m: int) -> int:
    if m == 2:
        return 29 if _is_leap(y) else 28
    return 30 if m in (4, 6, 9, 11) else 31


@dataclass(frozen=True)
class Civil:
    """A local date-time broken into fields (ms precision)."""

    year: int
    month: int = 1
    day: int = 1
    hour: int = 0
    minute: int = 0
    second: int = 0
    milli: int = 0

    def local_millis(self) -> int:
        days = days_from_civil(self.year, self.month, self.day)
        clock = self.hour * MS_HOUR + self.minute * MS_MINUTE + self.second * MS_SECOND + self.milli
        return days * MS_DAY + clock

    @classmethod
    def from_local_millis(cls, ms: int) -> Civil:
        days, rem = divmod(ms, MS_DAY)
        y, m, d = civil_from_days(days)
        h, rem = divmod(rem, MS_HOUR)
        mi, rem = divmod(rem, MS_MINUTE)
        s, milli = divmod(rem, MS_SECOND)
        return cls(y, m, d, h, mi, s, milli)


# --------------------------------------------------------------------------------------------------
# time zones

_OFFSET_RE = re.compile(r"^(?:UTC|GMT|Z)?([+-])(\d{1,2})(?::?(\d{2}))?$")


class _Zone:
    """Offset lookups for a fixed offset or an IANA zone."""

    def __init__(self, fixed_ms: int | None, zone: ZoneInfo | None) -> None:
        self.fixed_ms = fixed_ms
        self.zone = zone

    def offset_at_utc(self, utc_ms: int) -> int:
        if self.zone is None:
            return self.fixed_ms or 0
        seconds = max(min(utc_ms // 1000, 253402300799 - 86400), -62135596800 + 86400)
        dt = datetime.fromtimestamp(seconds, tz=self.zone)
        off = dt.utcoffset()
        return int(off.total_seconds() * 1000) if off is not None else 0

    def to_utc(self, local_ms: int) -> int:
        """Local wall-clock millis → UTC millis (gaps shift forward, overlaps take the earlier)."""
        if self.zone is None:
            return local_ms - (self.fixed_ms or 0)
        c = Civil.from_local_millis(local_ms)
        if not 1 <= c.year <= 9998:
            return local_ms - self.offset_at_utc(local_ms)
        # fold=0 gives java.time's choices: the earlier offset in an overlap, the pre-gap offset in a gap.
        off = datetime(c.year, c.month, c.day, c.hour, c.minute, c.second, tzinfo=self.zone).utcoffset()
        return local_ms - (int(off.total_seconds() * 1000) if off is not None else 0)

    def to_local(self, utc_ms: int) -> int:
        return utc_ms + self.offset_at_utc(utc_ms)


_UTC = _Zone(0, None)


@lru_cache(maxsize=256)
def resolve_time_zone(time_zone: str | None) -> _Zone:
    """``UTC``, ``Z``, ``+01:00``, ``-0500``, ``Europe/Berlin`` → a zone; unknown → DateParseError."""
    if time_zone is None or time_zone in ("UTC", "Z", "GMT", "utc", "Etc/UTC"):
        return _UTC
    match = _OFFSET_RE.match(time_zone)
    if match:
        sign = -1 if match.group(1) == "-" else 1
        hours, minutes = int(match.group(2)), int(match.group(3) or 0)
        if hours > 18 or minutes > 59:
            raise DateParseError(time_zone, "time_zone", f"invalid time zone offset [{time_zone}]")
        return _Zone(sign * (hours * MS_HOUR + minutes * MS_MINUTE), None)
    try:
        return _Zone(None, ZoneInfo(time_zone))
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise DateParseError(time_zone, "time_zone", f"Unknown time-zone ID: {time_zone}") from exc


# --------------------------------------------------------------------------------------------------
# calendar units and rounding

CALENDAR_UNITS: dict[str, str] = {
    "second": "s", "1s": "s", "minute": "m", "1m": "m", "hour": "h", "1h": "h",
    "day": "d", "1d": "d", "week": "w", "1w": "w", "month": "M", "1M": "M",
    "quarter": "q", "1q": "q", "year": "y", "1y": "y",
}  # fmt: skip


def _round_local(local_ms: int, unit: str) -> int:
    c = Civil.from_local_millis(local_ms)
    if unit == "y":
        return Civil(c.year).local_millis()
    if unit == "q":
        return Civil(c.year, (c.month - 1) // 3 * 3 + 1).local_millis()
    if unit == "M":
        return Civil(c.year, c.month).local_millis()
    if unit == "w":
        days = local_ms // MS_DAY
        return (days - (days + 3) % 7) * MS_DAY  # 1970-01-01 was a Thursday; weeks start Monday
    size = {"d": MS_DAY, "h": MS_HOUR, "H": MS_HOUR, "m": MS_MINUTE, "s": MS_SECOND}[unit]
    return local_ms - local_ms % size


def _add_local(local_ms: int, unit: str, amount: int) -> int:
    if unit in ("y", "M", "q"):
        c = Civil.from_local_millis(local_ms)
        months = c.year * 12 + (c.month - 1) + amount * {"y": 12, "M": 1, "q": 3}[unit]
        year, month0 = divmod(months, 12)
        day = min(c.day, _days_in_month(year, month0 + 1))
        return Civil(year, month0 + 1, day, c.hour, c.minute, c.second, c.milli).local_millis()
    return local_ms + amount * {"w": 7 * MS_DAY, "d": MS_DAY}[unit]


def round_calendar(millis: int, unit: str, time_zone: str | None = None) -> int:
    """Start (UTC millis) of the calendar ``unit`` containing ``millis`` in ``time_zone``."""
    unit = CALENDAR_UNITS.get(unit, unit)
    zone = resolve_time_zone(time_zone)
    if unit in ("h", "H", "m", "s") and zone.zone is None:
        return zone.to_utc(_round_local(zone.to_local(millis), unit))
    if unit in ("h", "H", "m", "s"):
        # Sub-day units round on the instant timeline with the local offset (handles half-hour zones).
        offset = zone.offset_at_utc(millis)
        return _round_local(millis + offset, unit) - offset
    return zone.to_utc(_round_local(zone.to_local(millis), unit))


def next_calendar(millis: int, unit: str, time_zone: str | None = None) -> int:
    """Start (UTC millis) of the calendar ``unit`` following the one containing ``millis``."""
    unit = CALENDAR_UNITS.get(unit, unit)
    zone = resolve_time_zone(time_zone)
    start = round_calendar(millis, unit, time_zone)
    if unit in ("h", "H", "m", "s"):
        return start + {"h": MS_HOUR, "H": MS_HOUR, "m": MS_MINUTE, "s": MS_SECOND}[unit]
    local_start = _round_local(zone.to_local(millis), unit)
    return zone.to_utc(_add_local(local_start, unit, 1))
