"""Dates as int epoch milliseconds (UTC), the way Elasticsearch parses, formats and rounds them.

Everything in Diagon that holds a date holds an ``int`` of epoch milliseconds. This module turns ES
date strings (built-in named formats, Java ``DateTimeFormatter``-style patterns, ``||`` alternatives)
into millis and back, evaluates date math (``now-1d/d``, ``2024-01-01||+1M/M``) and rounds to calendar
units in a time zone (fixed offsets or IANA names, DST-correct through ``zoneinfo``).

Civil-date arithmetic is done by hand (days from civil), so years outside ``datetime``'s 1..9999 still
work; ``zoneinfo`` is only asked for UTC offsets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "CALENDAR_UNITS",
    "DEFAULT_FORMATS",
    "DateParseError",
    "format_date",
    "next_calendar",
    "parse_date",
    "parse_date_math",
    "parse_interval",
    "parse_time_value",
    "resolve_time_zone",
    "round_calendar",
]

DEFAULT_FORMATS: tuple[str, ...] = ("strict_date_optional_time", "epoch_millis")

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
# formats

_ISO_STRICT = (
    r"(?P<y>[+-]?\d{4,9})(?:-(?P<M>\d{2})(?:-(?P<d>\d{2})(?:T(?P<H>\d{2})(?::(?P<m>\d{2})"
    r"(?::(?P<s>\d{2})(?:[.,](?P<S>\d{1,9}))?)?)?(?P<Z>Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?"
)
_ISO_LENIENT = (
    r"(?P<y>[+-]?\d{1,9})(?:-(?P<M>\d{1,2})(?:-(?P<d>\d{1,2})(?:[T ](?P<H>\d{1,2})(?::(?P<m>\d{1,2})"
    r"(?::(?P<s>\d{1,2})(?:[.,](?P<S>\d{1,9}))?)?)?(?P<Z>Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?"
)

# Named ES formats expressed as Java patterns (strict_ and plain variants share one pattern here).
_NAMED_PATTERNS: dict[str, str] = {
    "date": "yyyy-MM-dd",
    "year_month_day": "yyyy-MM-dd",
    "date_time": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
    "date_time_no_millis": "yyyy-MM-dd'T'HH:mm:ssXXX",
    "date_hour": "yyyy-MM-dd'T'HH",
    "date_hour_minute": "yyyy-MM-dd'T'HH:mm",
    "date_hour_minute_second": "yyyy-MM-dd'T'HH:mm:ss",
    "date_hour_minute_second_fraction": "yyyy-MM-dd'T'HH:mm:ss.SSS",
    "date_hour_minute_second_millis": "yyyy-MM-dd'T'HH:mm:ss.SSS",
    "basic_date": "yyyyMMdd",
    "basic_date_time": "yyyyMMdd'T'HHmmss.SSSXX",
    "basic_date_time_no_millis": "yyyyMMdd'T'HHmmssXX",
    "basic_time": "HHmmss.SSSXX",
    "basic_time_no_millis": "HHmmssXX",
    "hour": "HH",
    "hour_minute": "HH:mm",
    "hour_minute_second": "HH:mm:ss",
    "hour_minute_second_fraction": "HH:mm:ss.SSS",
    "hour_minute_second_millis": "HH:mm:ss.SSS",
    "time": "HH:mm:ss.SSSXXX",
    "time_no_millis": "HH:mm:ssXXX",
    "year": "yyyy",
    "year_month": "yyyy-MM",
}

_OPTIONAL_TIME_NAMES = {
    "strict_date_optional_time",
    "strict_date_optional_time_nanos",
    "date_optional_time",
    "iso8601",
}

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_MONTHS_FULL = [
    "january", "february", "march", "april", "may", "june", "july",
    "august", "september", "october", "november", "december",
]  # fmt: skip
_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_DAYS_FULL = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


@dataclass(frozen=True)
class _Token:
    kind: str  # a pattern letter, or "lit"
    width: int
    text: str = ""


def _tokenize_pattern(pattern: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "'":
            end = pattern.find("'", i + 1)
            if end == -1:
                raise DateParseError(pattern, pattern, f"invalid date format pattern [{pattern}]")
            tokens.append(_Token("lit", 0, pattern[i + 1 : end] or "'"))
            i = end + 1
        elif ch in "[]":
            i += 1  # optional sections: treated as always optional-absent on output, regex handles parse
            tokens.append(_Token(ch, 0))
        elif ch.isalpha():
            j = i
            while j < n and pattern[j] == ch:
                j += 1
            tokens.append(_Token(ch, j - i))
            i = j
        else:
            tokens.append(_Token("lit", 0, ch))
            i += 1
    return tokens


def _token_regex(tok: _Token) -> str:
    k, w = tok.kind, tok.width
    if k == "lit":
        return re.escape(tok.text)
    if k == "[":
        return "(?:"
    if k == "]":
        return ")?"
    if k in "yu":
        return r"(?P<y>[+-]?\d{4,9})" if w != 2 else r"(?P<yy>\d{2})"
    if k in "ML":
        if w >= 4:
            return r"(?P<MMMM>[A-Za-z]+)"
        if w == 3:
            return r"(?P<MMM>[A-Za-z]{3})"
        return r"(?P<M>\d{1,2})" if w == 1 else r"(?P<M>\d{2})"
    if k == "E":
        return r"(?:[A-Za-z]+)"
    if k == "a":
        return r"(?P<a>[AaPp][Mm])"
    if k == "S":
        return rf"(?P<S>\d{{{w}}})"
    if k in "XxZ":
        return r"(?P<Z>Z|[+-]\d{2}(?::?\d{2})?)"
    groups = {"d": "d", "H": "H", "k": "H", "h": "h", "K": "h", "m": "m", "s": "s", "D": "D"}
    if k in groups:
        digits = r"\d{1,2}" if w == 1 else (r"\d{3}" if k == "D" and w == 3 else r"\d{2}")
        return rf"(?P<{groups[k]}>{digits})"
    raise DateParseError(k, k, f"unsupported date format pattern letter [{k}]")


@lru_cache(maxsize=256)
def _compile_pattern(pattern: str) -> re.Pattern[str]:
    tokens = _tokenize_pattern(pattern)
    return re.compile("".join(_token_regex(t) for t in tokens) + r"\Z", re.IGNORECASE)


@lru_cache(maxsize=256)
def _format_regex(name: str) -> re.Pattern[str] | None:
    if name in _OPTIONAL_TIME_NAMES:
        return re.compile(_ISO_STRICT + r"\Z" if name.startswith("strict") else _ISO_LENIENT + r"\Z")
    base = name.removeprefix("strict_")
    if base in _NAMED_PATTERNS:
        return _compile_pattern(_NAMED_PATTERNS[base])
    return None


def _parse_offset(text: str) -> int:
    if text in ("Z", "z"):
        return 0
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4]) if len(digits) >= 4 else 0
    return sign * (hours * MS_HOUR + minutes * MS_MINUTE)


def _fields_to_millis(groups: dict[str, str | None], zone: _Zone, round_up: bool) -> int:
    def get(name: str) -> int | None:
        v = groups.get(name)
        return int(v) if v not in (None, "") else None

    year = get("y")
    if year is None and groups.get("yy"):
        year = 2000 + int(groups["yy"] or 0)
    month = get("M")
    for key, names in (("MMM", _MONTHS), ("MMMM", _MONTHS_FULL)):
        if groups.get(key):
            name = (groups[key] or "").lower()
            if name[:3] not in _MONTHS:
                raise ValueError(name)
            month = (names.index(name) if name in names else _MONTHS.index(name[:3])) + 1
    day = get("d")
    hour = get("H")
    if hour is None and get("h") is not None:
        hour = (get("h") or 0) % 12 + (12 if (groups.get("a") or "").lower() == "pm" else 0)
    minute, second = get("m"), get("s")
    frac = groups.get("S")
    milli = int((frac + "00")[:3]) if frac else None
    doy = get("D")
    year = 1970 if year is None else year
    if doy is not None:
        base = days_from_civil(year, 1, 1) + doy - 1
        year, month, day = civil_from_days(base)
    month = month or 1
    day = day or 1
    if round_up:  # ES fills the missing time-of-day fields with their maximum when rounding up
        hour = 23 if hour is None else hour
        minute = 59 if minute is None else minute
        second = 59 if second is None else second
        milli = 999 if milli is None else milli
    civil = Civil(year, month, day, hour or 0, minute or 0, second or 0, milli or 0)
    if not (1 <= month <= 12 and 1 <= day <= _days_in_month(year, month)):
        raise ValueError("day out of range")
    if civil.hour > 23 or civil.minute > 59 or civil.second > 59:
        raise ValueError("time out of range")
    local = civil.local_millis()
    if groups.get("Z"):
        return local - _parse_offset(groups["Z"] or "Z")
    return zone.to_utc(local)


_EPOCH_RE = re.compile(r"^[+-]?\d+(?:\.\d+)?\Z")


def _parse_one(value: str, fmt: str, zone: _Zone, round_up: bool) -> int:
    if fmt in ("epoch_millis", "epoch_second"):
        if not _EPOCH_RE.match(value):
            raise ValueError(value)
        scale = 1 if fmt == "epoch_millis" else 1000
        if "." in value:
            whole, frac = value.split(".")
            sign = -1 if whole.startswith("-") else 1
            return int(whole) * scale + sign * round(float("0." + frac) * scale)
        return int(value) * scale
    regex = _format_regex(fmt) or _compile_pattern(fmt)
    match = regex.match(value)
    if match is None:
        raise ValueError(value)
    return _fields_to_millis(match.groupdict(), zone, round_up)


def split_formats(formats: str | Sequence[str]) -> tuple[str, ...]:
    items = [formats] if isinstance(formats, str) else list(formats)
    out: list[str] = []
    for item in items:
        out.extend(part.strip() for part in item.split("||") if part.strip())
    return tuple(out)


def parse_date(
    value: str | int | float,
    formats: str | Sequence[str] = DEFAULT_FORMATS,
    *,
    time_zone: str | None = None,
    round_up: bool = False,
) -> int:
    """Parse a date value with the first of ``formats`` that accepts it → epoch millis."""
    fmts = split_formats(formats)
    if isinstance(value, bool):
        raise DateParseError(value, "||".join(fmts))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    zone = resolve_time_zone(time_zone)
    for fmt in fmts:
        try:
            return _parse_one(text, fmt, zone, round_up)
        except (ValueError, OverflowError, IndexError):
            continue
    raise DateParseError(value, "||".join(fmts))


# --------------------------------------------------------------------------------------------------
# formatting

_FORMAT_TOKEN_RE = re.compile(r"'[^']*'|([A-Za-z])\1*|.", re.DOTALL)


def _offset_text(offset_ms: int, width: int, letter: str) -> str:
    if offset_ms == 0 and letter in "XZ" and not (letter == "Z" and width < 5):
        return "Z"
    sign = "-" if offset_ms < 0 else "+"
    hours, minutes = divmod(abs(offset_ms) // MS_MINUTE, 60)
    if width in (1, 2) or (letter == "Z" and width < 4):
        return f"{sign}{hours:02d}{minutes:02d}" if width != 1 or minutes else f"{sign}{hours:02d}"
    return f"{sign}{hours:02d}:{minutes:02d}"


def _format_pattern(pattern: str, civil: Civil, offset_ms: int) -> str:
    out: list[str] = []
    for match in _FORMAT_TOKEN_RE.finditer(pattern.replace("[", "").replace("]", "")):
        tok = match.group(0)
        if tok.startswith("'"):
            out.append(tok[1:-1] or "'")
            continue
        letter, width = tok[0], len(tok)
        if not letter.isalpha():
            out.append(tok)
        elif letter in "yu":
            out.append(f"{civil.year % 100:02d}" if width == 2 else f"{civil.year:04d}")
        elif letter in "ML":
            if width >= 4:
                out.append(_MONTHS_FULL[civil.month - 1].capitalize())
            elif width == 3:
                out.append(_MONTHS[civil.month - 1].capitalize())
            else:
                out.append(f"{civil.month:0{width}d}")
        elif letter == "d":
            out.append(f"{civil.day:0{width}d}")
        elif letter in "Hk":
            out.append(f"{civil.hour:0{width}d}")
        elif letter in "hK":
            out.append(f"{(civil.hour % 12) or 12:0{width}d}")
        elif letter == "a":
            out.append("AM" if civil.hour < 12 else "PM")
        elif letter == "m":
            out.append(f"{civil.minute:0{width}d}")
        elif letter == "s":
            out.append(f"{civil.second:0{width}d}")
        elif letter == "S":
            out.append(f"{civil.milli:03d}{'0' * max(0, width - 3)}"[:width])
        elif letter == "E":
            weekday = (days_from_civil(civil.year, civil.month, civil.day) + 3) % 7
            out.append((_DAYS_FULL if width >= 4 else _DAYS)[weekday].capitalize())
        elif letter in "XxZ":
            out.append(_offset_text(offset_ms, width, letter))
        else:
            out.append(tok)
    return "".join(out)


def format_date(millis: int, fmt: str = "strict_date_optional_time", time_zone: str | None = None) -> str:
    """Render epoch millis the way ES renders ``format``/``key_as_string`` (first of ``a||b``)."""
    first = split_formats(fmt)[0] if fmt else "strict_date_optional_time"
    if first == "epoch_millis":
        return str(int(millis))
    if first == "epoch_second":
        seconds, rem = divmod(int(millis), 1000)
        return str(seconds) if rem == 0 else f"{millis / 1000:.3f}".rstrip("0")
    zone = resolve_time_zone(time_zone)
    offset = zone.offset_at_utc(millis)
    civil = Civil.from_local_millis(millis + offset)
    if first in _OPTIONAL_TIME_NAMES:
        pattern = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"
    else:
        pattern = _NAMED_PATTERNS.get(first.removeprefix("strict_"), first)
    return _format_pattern(pattern, civil, offset)


# --------------------------------------------------------------------------------------------------
# calendar units, intervals, date math

CALENDAR_UNITS: dict[str, str] = {
    "second": "s", "1s": "s", "minute": "m", "1m": "m", "hour": "h", "1h": "h",
    "day": "d", "1d": "d", "week": "w", "1w": "w", "month": "M", "1M": "M",
    "quarter": "q", "1q": "q", "year": "y", "1y": "y",
}  # fmt: skip

_FIXED_UNITS = {"ms": 1, "s": MS_SECOND, "m": MS_MINUTE, "h": MS_HOUR, "d": MS_DAY}
_INTERVAL_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(nanos|micros|ms|s|m|h|d)\s*\Z")


def parse_interval(s: str) -> int:
    """``fixed_interval`` text (``30s``, ``5m``, ``1h``, ``1d``, ``500ms``) → milliseconds."""
    match = _INTERVAL_RE.match(str(s))
    if match is None:
        raise ValueError(f"failed to parse setting [fixed_interval] with value [{s}] as a time value")
    number, unit = float(match.group(1)), match.group(2)
    if unit == "nanos":
        return int(number // 1_000_000)
    if unit == "micros":
        return int(number // 1000)
    return int(number * _FIXED_UNITS[unit])


def parse_time_value(s: str | int | float) -> float:
    """An ES time value (``1m``, ``30s``, ``500ms``, ``-1``) → seconds (``-1`` stays ``-1.0``)."""
    if isinstance(s, int | float):
        return float(s) / 1000.0
    text = str(s).strip()
    if text in ("-1", "0"):
        return float(text)
    match = re.match(r"^(\d+(?:\.\d+)?)\s*(nanos|micros|ms|s|m|h|d)\Z", text)
    if match is None:
        raise ValueError(f"failed to parse [{s}], unit is missing or unrecognized")
    number, unit = float(match.group(1)), match.group(2)
    factors = {"nanos": 1e-9, "micros": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
    return number * factors[unit]


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


_MATH_RE = re.compile(r"([+-])(\d*)([yMwdhHms])|/([yMwdhHms])")


def _apply_math(base: int, math: str, zone: _Zone, round_up: bool, expr: str) -> int:
    pos, result = 0, base
    while pos < len(math):
        match = _MATH_RE.match(math, pos)
        if match is None:
            raise DateParseError(expr, "date_math", f"operator not supported for date math [{math}]")
        if match.group(4):
            unit = match.group(4)
            if unit in ("h", "H", "m", "s"):
                offset = zone.offset_at_utc(result)
                start = _round_local(result + offset, unit) - offset
                size = {"h": MS_HOUR, "H": MS_HOUR, "m": MS_MINUTE, "s": MS_SECOND}[unit]
                result = start + size - 1 if round_up else start
            else:
                local_start = _round_local(zone.to_local(result), unit)
                start = zone.to_utc(local_start)
                result = zone.to_utc(_add_local(local_start, unit, 1)) - 1 if round_up else start
        else:
            amount = int(match.group(2) or 1) * (-1 if match.group(1) == "-" else 1)
            unit = match.group(3)
            if unit in ("h", "H", "m", "s"):
                result += amount * {"h": MS_HOUR, "H": MS_HOUR, "m": MS_MINUTE, "s": MS_SECOND}[unit]
            else:
                result = zone.to_utc(_add_local(zone.to_local(result), unit, amount))
        pos = match.end()
    return result


def parse_date_math(
    expr: str | int | float,
    *,
    now_millis: int,
    round_up: bool = False,
    formats: str | Sequence[str] = DEFAULT_FORMATS,
    time_zone: str | None = None,
) -> int:
    """Evaluate ES date math (``now-1d/d``, ``2024-01-01||+1M/M``, plain dates) → epoch millis.

    ``round_up`` is the ``gt``/``lte`` side of a range: rounding goes to the last millisecond of the
    unit and missing time fields of a parsed date are filled with their maximum.
    """
    if not isinstance(expr, str):
        return parse_date(expr, formats, time_zone=time_zone, round_up=round_up)
    zone = resolve_time_zone(time_zone)
    if expr.startswith("now"):
        base, math = now_millis, expr[3:]
    elif "||" in expr:
        head, math = expr.split("||", 1)
        base = parse_date(head, formats, time_zone=time_zone, round_up=round_up and not math)
    else:
        return parse_date(expr, formats, time_zone=time_zone, round_up=round_up)
    return _apply_math(base, math, zone, round_up, expr)
