"""Query values read according to the mapped type of the field they target.

A value that cannot be read raises ``BadValue`` (an IllegalArgument with ES's
``failed to create query: …`` reason); compilers skip the field instead when the query is lenient.
``NO_MATCH`` is returned for values that are valid but can never match (``5.5`` on a ``long``).
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import replace
from typing import Any

from native.date_nanos import parse_date_math_nanos
from native.dates import DateParseError, parse_date_math
from native.errors import IllegalArgument
from native.fields import NUMERIC_FLOAT_TYPES, NUMERIC_INT_TYPES, FieldInfo

__all__ = ["NO_MATCH", "BadValue", "bool_value", "ip_value", "numeric_bound", "term_value"]

NO_MATCH: Any = object()

_INT_RANGES = {
    "byte": (-(2**7), 2**7 - 1),
    "short": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
    "unsigned_long": (0, 2**64 - 1),  # a u64 column
}


class BadValue(IllegalArgument):
    pass


def _number(value: Any) -> float | int:
    if isinstance(value, bool):
        raise BadValue(f"failed to create query: Can't parse value [{value}] as number")
    if isinstance(value, int | float):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        raise BadValue(f'failed to create query: For input string: "{value}"') from None
    if math.isnan(number):
        raise BadValue(f'failed to create query: For input string: "{value}"')
    return number


def _check_int_range(info: FieldInfo, number: int) -> int:
    lo, hi = _INT_RANGES.get(info.es_type, _INT_RANGES["long"])
    if not lo <= number <= hi:
        raise BadValue(f"failed to create query: Value [{number}] is out of range for {info.es_type}")
    return number


def bool_value(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    if value == "":
        return False
    raise BadValue(f"failed to create query: Can't parse boolean value [{value}], expected [true] or [false]")


def ip_value(value: Any) -> str:
    """An IP as tantivy stores it (IPv4 → IPv4-mapped IPv6 text)."""
    try:
        addr = ipaddress.ip_address(str(value).strip())
    except ValueError:
        raise BadValue(f"failed to create query: '{value}' is not an IP string literal.") from None
    if isinstance(addr, ipaddress.IPv4Address):
        return f"::ffff:{addr}"
    return str(addr)


def ip_network_bounds(value: str) -> tuple[str, str]:
    try:
        net = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise BadValue(f"failed to create query: '{value}' is not an IP string literal.") from None
    return ip_value(net.network_address), ip_value(net.broadcast_address)


def nanos_column(info: FieldInfo) -> FieldInfo:
    """A date_nanos field as its hidden epoch-nanosecond column (``native.date_nanos``); ``date_value`` reads
    bounds for it in nanoseconds."""
    extra = {k: v for k, v in info.extra.items() if k != "nanos"}
    return replace(info, tantivy_name=str(info.extra["nanos"]), extra={**extra, "column_nanos": True})


def date_value(
    info: FieldInfo,
    value: Any,
    now_millis: int,
    *,
    round_up: bool = False,
    fmt: str | None = None,
    time_zone: str | None = None,
) -> int:
    if info.extra.get("column_nanos"):
        try:
            nanos = parse_date_math_nanos(
                value, now_millis=now_millis, round_up=round_up, formats=fmt or info.date_formats, time_zone=time_zone
            )
        except DateParseError as exc:
            raise BadValue(f"failed to create query: {exc}") from None
        return max(-(2**63), min(nanos, 2**63 - 1))  # the column's range; outside it nothing is stored
    try:
        millis = parse_date_math(
            value,
            now_millis=now_millis,
            round_up=round_up,
            formats=fmt or info.date_formats,
            time_zone=time_zone,
        )
    except DateParseError as exc:
        raise BadValue(f"failed to create query: {exc}") from None
    if not -(2**63) <= millis < 2**63:
        raise BadValue(f"failed to create query: date [{value}] is out of range")
    return millis


def _scaled(info: FieldInfo, units: float) -> float:
    return float(units) / float(info.scaling_factor or 1.0)


def term_value(info: FieldInfo, value: Any, now_millis: int) -> Any:
    """The tantivy term value for an exact match on ``info`` (or NO_MATCH)."""
    es_type = info.es_type
    if es_type in NUMERIC_INT_TYPES:
        number = _number(value)
        if isinstance(number, float):
            if not number.is_integer():
                return NO_MATCH
            number = int(number)
        return _check_int_range(info, number)
    if es_type in NUMERIC_FLOAT_TYPES:
        number = float(_number(value))
        if es_type == "scaled_float" and info.scaling_factor:
            return _scaled(info, round(number * info.scaling_factor))
        return number
    if es_type == "date":
        return date_value(info, value, now_millis)
    if es_type == "boolean":
        return bool_value(value)
    if es_type == "ip":
        return ip_value(value)
    text = "true" if value is True else "false" if value is False else str(value)
    if es_type == "keyword":
        if info.ignore_above is not None and len(text) > info.ignore_above:
            return NO_MATCH
        if info.analyze is not None:
            tokens = info.analyze(text)
            text = tokens[0] if len(tokens) == 1 else "".join(tokens)
    return text


def numeric_bound(info: FieldInfo, value: Any, *, lower: bool, inclusive: bool) -> tuple[int | float, bool] | None:
    """A range bound on a numeric field, rounded as ES rounds it; None = the side can never match."""
    number = _number(value)
    if info.es_type in NUMERIC_INT_TYPES:
        if isinstance(number, float):
            if math.isinf(number):
                return None if (number > 0) == lower else (_INT_RANGES["long"][0 if lower else 1], True)
            if not number.is_integer():
                return (math.ceil(number) if lower else math.floor(number)), True
            number = int(number)
        lo, hi = _INT_RANGES.get(info.es_type, _INT_RANGES["long"])
        if number > hi:
            return None if lower else (hi, True)
        if number < lo:
            return (lo, True) if lower else None
        return number, inclusive
    number = float(number)
    if info.es_type == "scaled_float" and info.scaling_factor:
        units = number * info.scaling_factor
        if lower:
            rounded = math.floor(units) + 1 if (not inclusive and units.is_integer()) else math.ceil(units)
        else:
            rounded = math.ceil(units) - 1 if (not inclusive and units.is_integer()) else math.floor(units)
        return _scaled(info, rounded), True
    return number, inclusive
