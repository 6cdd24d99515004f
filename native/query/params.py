"""Shared helpers for reading the body of one query clause with ES-like errors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from native.errors import IllegalArgument, ParsingError, XContentParseError

__all__ = [
    "as_bool",
    "as_float",
    "as_int",
    "as_str",
    "check_params",
    "expect_object",
    "fuzziness",
    "single_field",
]

COMMON = frozenset({"boost", "_name"})


def expect_object(name: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ParsingError(f"[{name}] query malformed, no start_object after query name")
    return body


def single_field(name: str, body: Any) -> tuple[str, Any]:
    """The one ``{field: value}`` pair of a term-level or match-style clause."""
    body = expect_object(name, body)
    keys = list(body)
    if not keys:
        raise IllegalArgument("field name is null or empty")
    if len(keys) > 1:
        raise ParsingError(f"[{name}] query doesn't support multiple fields, found [{keys[0]}] and [{keys[1]}]")
    if not keys[0]:
        raise IllegalArgument("field name is null or empty")
    return keys[0], body[keys[0]]


def check_params(name: str, body: dict[str, Any], allowed: Iterable[str]) -> None:
    allowed_set = set(allowed) | COMMON
    for key in body:
        if key not in allowed_set:
            raise ParsingError(f"[{name}] query does not support [{key}]")


def as_float(name: str, key: str, value: Any) -> float:
    if isinstance(value, bool):
        raise XContentParseError(f"[{name}] failed to parse field [{key}]")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise XContentParseError(f"[{name}] failed to parse field [{key}]") from None


def as_int(name: str, key: str, value: Any) -> int:
    if isinstance(value, bool):
        raise XContentParseError(f"[{name}] failed to parse field [{key}]")
    try:
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError(value)
            return int(value)
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise XContentParseError(f"[{name}] failed to parse field [{key}]") from None


def as_bool(name: str, key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise XContentParseError(f"[{name}] failed to parse field [{key}]")


def as_str(name: str, key: str, value: Any) -> str:
    if isinstance(value, dict | list) or value is None:
        raise XContentParseError(f"[{name}] failed to parse field [{key}]")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def fuzziness(name: str, value: Any) -> str | int:
    """``AUTO``, ``AUTO:3,6``, ``0``/``1``/``2`` (edits; larger values are capped at compile time)."""
    if isinstance(value, bool) or value is None:
        raise XContentParseError(f"[{name}] failed to parse field [fuzziness]")
    if isinstance(value, int | float):
        return max(0, int(value))
    text = str(value).strip()
    upper = text.upper()
    if upper == "AUTO" or upper.startswith("AUTO:"):
        if upper.startswith("AUTO:"):
            parts = upper[5:].split(",")
            if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
                raise ParsingError(f"failed to find low and high distance values in [{text}]")
        return upper
    try:
        return max(0, int(float(text)))
    except ValueError:
        raise ParsingError(f"[{name}] failed to parse fuzziness [{text}]") from None
