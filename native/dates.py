"""Dates as int epoch milliseconds (UTC), the way Elasticsearch parses, formats and rounds them.

Everything in Diagon that holds a date holds an ``int`` of epoch milliseconds. This module turns ES
date strings (built-in named formats, Java ``DateTimeFormatter``-style patterns, ``||`` alternatives)
into millis and back, evaluates date math (``now-1d/d``, ``2024-01-01||+1M/M``) and rounds to calendar
units in a time zone (fixed offsets or IANA names, DST-correct through ``zoneinfo``).

This module is the public face: it holds intervals and date math and re-exports the rest. Formats live
in ``native.date_formats``; civil arithmetic, time zones and calendar rounding in ``native.date_calendar``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from native.date_calendar import (
    CALENDAR_UNITS,
    MS_DAY,
    MS_HOUR,
    MS_MINUTE,
    MS_SECOND,
    DateParseError,
    _add_local,
    _round_local,
    _Zone,
    next_calendar,
    resolve_time_zone,
    round_calendar,
)
from native.date_formats import DEFAULT_FORMATS, format_date, parse_date

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

# --------------------------------------------------------------------------------------------------
# intervals and date math

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
