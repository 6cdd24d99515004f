"""Date formats: ES named formats and Java ``DateTimeFormatter``-style patterns, parsed to and rendered from millis."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from native.date_calendar import (
    MS_HOUR,
    MS_MINUTE,
    Civil,
    DateParseError,
    _days_in_month,
    _Zone,
    civil_from_days,
    days_from_civil,
    resolve_time_zone,
)

DEFAULT_FORMATS: tuple[str, ...] = ("strict_date_optional_time", "epoch_millis")


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
    "date_time": "yyyy-MM-dd'T'HH:mm:ss[.SSS]XXX",  # ES parses the fraction as optional
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


def _format_pattern(pattern: str, civil: Civil, offset_ms: int, nano_of_second: int | None = None) -> str:
    """``pattern`` for ``civil``; ``S`` letters print the nano-of-second (``civil``'s millis when not given)."""
    nanos = civil.milli * 1_000_000 if nano_of_second is None else nano_of_second
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
            out.append(f"{nanos:09d}{'0' * max(0, width - 9)}"[:width])
        elif letter == "E" or (letter in "ec" and width >= 3):
            weekday = (days_from_civil(civil.year, civil.month, civil.day) + 3) % 7
            out.append((_DAYS_FULL if width >= 4 else _DAYS)[weekday].capitalize())
        elif letter in "ec":  # localized day-of-week number; ES's weeks start on Monday (Sunday is 7)
            weekday = (days_from_civil(civil.year, civil.month, civil.day) + 3) % 7
            out.append(f"{weekday + 1:0{width}d}")
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
