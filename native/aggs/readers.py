"""Readers for aggregation body fields: typed values with ES's parse errors, shared by the kind parsers."""

from __future__ import annotations

import math
from typing import Any

from native.aggs.spec import Order
from native.errors import IllegalArgument, ParsingError, XContentParseError


def _check_keys(kind: str, body: dict[str, Any], allowed: set[str]) -> None:
    for key in body:
        if key not in allowed:
            raise XContentParseError(f"[{kind}] unknown field [{key}]")


def _field(kind: str, body: dict[str, Any]) -> str:
    value = body.get("field")
    if value is None:
        raise IllegalArgument("Required one of fields [field, script], but none were specified.")
    if not isinstance(value, str):
        raise XContentParseError(f"[{kind}] field [field] must be a string")
    return value


_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


def _int(kind: str, key: str, value: Any, minimum: int | None = None, *, long: bool = False) -> int:
    """A Java ``int`` field (``long``: a ``long`` one): a number or numeric string in its range (ES: "out of range
    of int")."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise XContentParseError(f"[{kind}] failed to parse field [{key}]")
    try:
        number = int(value)
    except (ValueError, OverflowError) as exc:
        raise XContentParseError(f"[{kind}] failed to parse field [{key}]") from exc
    low, high = (_LONG_MIN, _LONG_MAX) if long else (_INT_MIN, _INT_MAX)
    if not low <= number <= high:
        raise XContentParseError(
            f"[{kind}] failed to parse field [{key}]",
            caused_by=IllegalArgument(f"Numeric value ({value}) out of range of {'long' if long else 'int'}"),
        )
    if minimum is not None and number < minimum:
        raise IllegalArgument(f"[{key}] must be greater than or equal to {minimum}. Found [{number}] in [{kind}]")
    return number


def _float(kind: str, key: str, value: Any) -> float:
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError
        number = float(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise XContentParseError(f"[{kind}] failed to parse field [{key}]") from exc
    if not math.isfinite(number):
        raise XContentParseError(f"[{kind}] failed to parse field [{key}]")
    return number


def _text(kind: str, key: str, value: Any) -> str | None:
    """An optional string field (``format``, ``time_zone``)."""
    if value is not None and not isinstance(value, str):
        raise XContentParseError(f"[{kind}] {key} doesn't support values of type: {_token(value)}")
    return value


def _time_zone(kind: str, value: Any) -> str | None:
    """``time_zone``: a zone id or offset that resolves (an unknown one is a 400 at parse time)."""
    from native.date_calendar import DateParseError, resolve_time_zone

    zone = _text(kind, "time_zone", value)
    try:
        resolve_time_zone(zone)
    except (DateParseError, ValueError) as exc:
        raise XContentParseError(
            f"[{kind}] failed to parse field [time_zone]", caused_by=IllegalArgument(str(exc))
        ) from None
    return zone


def _missing_value(kind: str, value: Any) -> Any:
    """``missing``: any scalar (read as the field's type at the shard); an object or array is refused."""
    if isinstance(value, dict | list):
        raise XContentParseError(f"[{kind}] missing doesn't support values of type: {_token(value)}")
    return value


def _token(value: Any) -> str:
    return "START_OBJECT" if isinstance(value, dict) else "START_ARRAY" if isinstance(value, list) else "VALUE"


def _order(name: str, value: Any, default: tuple[Order, ...]) -> tuple[Order, ...]:
    if value is None:
        return default
    items = value if isinstance(value, list) else [value]
    orders: list[Order] = []
    for item in items:
        if not isinstance(item, dict) or len(item) != 1:
            raise ParsingError(f"Unexpected token in [order] of aggregation [{name}]")
        ((path, direction),) = item.items()
        if str(direction).lower() not in ("asc", "desc"):
            raise ParsingError(f"Unknown order direction [{direction}]")
        path = "_key" if path == "_term" else path
        orders.append(Order(path, str(direction).lower() == "asc"))
    if not any(o.path == "_key" for o in orders):
        orders.append(Order("_key", True))  # ES's tie-breaker
    return tuple(orders)


def _bounds(kind: str, key: str, value: Any) -> tuple[Any, Any] | None:
    """``extended_bounds`` / ``hard_bounds``: doubles for ``histogram``; for ``date_histogram`` epoch millis
    in the 64-bit range (ES reads them as Java longs) or date strings, resolved at the shard."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise XContentParseError(f"[{kind}] failed to parse field [{key}]")
    for name in value:
        if name not in ("min", "max"):
            raise XContentParseError(f"[{key}] unknown field [{name}]")
    out: list[Any] = []
    for name in ("min", "max"):
        bound = value.get(name)
        if bound is None:
            out.append(None)
        elif kind == "histogram":
            out.append(_float(key, name, bound))
        else:
            out.append(_date_bound(key, name, bound))
    lo, hi = out
    if kind == "histogram" and lo is not None and hi is not None and lo > hi:
        raise IllegalArgument(f"[{key}.min][{lo}] cannot be greater than [{key}.max][{hi}].")
    return (lo, hi)


def _date_bound(kind: str, key: str, value: Any) -> Any:
    """A date bound: a date string (resolved at the shard) or epoch millis in the 64-bit range (a Java long)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise XContentParseError(f"[{kind}] failed to parse field [{key}]")
    if (isinstance(value, float) and not math.isfinite(value)) or not _LONG_MIN <= value <= _LONG_MAX:
        raise XContentParseError(
            f"[{kind}] failed to parse field [{key}]",
            caused_by=IllegalArgument(f"Numeric value ({value}) out of range of long"),
        )
    return int(value)


def _include(value: Any) -> str | tuple[Any, ...] | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        return tuple(value)
    raise IllegalArgument("Unsupported include/exclude value")


def _partition(value: Any) -> tuple[int, int] | None:
    if not isinstance(value, dict):
        return None
    for key in value:
        if key not in ("partition", "num_partitions"):
            raise XContentParseError(f"[include] unknown field [{key}]")
    if "num_partitions" not in value or "partition" not in value:
        raise IllegalArgument("Missing [num_partitions] or [partition] in [include]")
    num = _int("terms", "num_partitions", value["num_partitions"], 1)
    part = _int("terms", "partition", value["partition"], 0)
    if part >= num:
        raise IllegalArgument(f"[partition] must be less than [num_partitions] ({num}). Found [{part}]")
    return (part, num)
