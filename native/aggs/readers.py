"""Readers for aggregation body fields: typed values with ES's parse errors, shared by the kind parsers."""

from __future__ import annotations

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


def _int(kind: str, key: str, value: Any, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise XContentParseError(f"[{kind}] failed to parse field [{key}]")
    try:
        number = int(value)
    except ValueError as exc:
        raise XContentParseError(f"[{kind}] failed to parse field [{key}]") from exc
    if minimum is not None and number < minimum:
        raise IllegalArgument(f"[{key}] must be greater than or equal to {minimum}. Found [{number}] in [{kind}]")
    return number


def _float(kind: str, key: str, value: Any) -> float:
    try:
        if isinstance(value, bool):
            raise ValueError
        return float(value)
    except (TypeError, ValueError) as exc:
        raise XContentParseError(f"[{kind}] failed to parse field [{key}]") from exc


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
    if value is None:
        return None
    if not isinstance(value, dict):
        raise XContentParseError(f"[{kind}] failed to parse field [{key}]")
    return (value.get("min"), value.get("max"))


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
