"""Value comparison used by the assertion operators.

Every check returns ``None`` on success or a short message describing the mismatch.

* ``match``: deep equality; numbers compare by value (``1 == 1.0``), booleans only equal
  booleans; mappings must have the same keys.  A string ``/.../`` (after trimming) is a regular
  expression in extended mode (whitespace and ``#`` comments ignored), searched in the string
  form of the actual value - at the top level and, leniently, nested inside mappings/lists.
* truthiness (``is_true``/``is_false``): ``None``, ``""``, ``"false"`` (any case), ``0`` are false.
* ``length`` of a list, mapping or string; ``gt``/``gte``/``lt``/``lte`` on numbers (or strings);
  ``contains`` for lists (element equality, or a mapping subset) and strings (substring);
  ``close_to`` with ``{value, error}``.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from .stash import java_str

__all__ = [
    "check_close_to",
    "check_compare",
    "check_contains",
    "check_is_after",
    "check_length",
    "check_match",
    "is_regex",
    "is_truthy",
    "regex_search",
]


def _short(value: Any, limit: int = 300) -> str:
    text = java_str(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def is_regex(expected: Any) -> bool:
    if not isinstance(expected, str):
        return False
    text = expected.strip()
    return len(text) > 2 and text.startswith("/") and text.endswith("/")


def regex_search(expected: str, actual: Any, flags: int = re.VERBOSE) -> bool:
    pattern = expected.strip()[1:-1]
    return re.search(pattern, java_str(actual), flags) is not None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_match(actual: Any, expected: Any, path: str = "") -> str | None:
    where = path or "$body"
    if is_regex(expected):
        if actual is None:
            return f"[{where}] is missing, expected to match {expected.strip()}"
        try:
            ok = regex_search(expected, actual)
        except re.error as exc:
            return f"[{where}] invalid regex {expected.strip()}: {exc}"
        return None if ok else f"[{where}] {_short(actual)} does not match {expected.strip()}"
    if expected is None:
        return None if actual is None else f"[{where}] expected null but was {_short(actual)}"
    if actual is None:
        return f"[{where}] is missing (null), expected {_short(expected)}"
    if isinstance(expected, bool) or isinstance(actual, bool):
        if isinstance(expected, bool) and isinstance(actual, bool) and expected == actual:
            return None
        return f"[{where}] expected {_short(expected)} but was {_short(actual)}"
    if _is_number(expected) and _is_number(actual):
        if float(actual) == float(expected):
            return None
        return f"[{where}] expected {_short(expected)} but was {_short(actual)}"
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"[{where}] expected an object but was {_short(actual)}"
        missing = [k for k in expected if k not in actual]
        extra = [k for k in actual if k not in expected]
        for key, value in expected.items():
            if key in actual:
                problem = check_match(actual[key], value, f"{path}.{key}" if path else key)
                if problem:
                    return problem
        if missing or extra:
            return f"[{where}] keys differ: missing {missing}, unexpected {extra}"
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"[{where}] expected a list but was {_short(actual)}"
        if len(actual) != len(expected):
            return f"[{where}] expected {len(expected)} elements but was {len(actual)}: {_short(actual)}"
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            problem = check_match(a, e, f"{path}.{index}" if path else str(index))
            if problem:
                return problem
        return None
    if type(actual) is not type(expected) or actual != expected:
        return f"[{where}] expected {_short(expected)} but was {_short(actual)}"
    return None


def is_truthy(value: Any) -> bool:
    if value is None:
        return False
    text = java_str(value)
    return not (text == "" or text == "0" or text.lower() == "false")


def check_length(actual: Any, expected: Any, path: str) -> str | None:
    try:
        want = int(expected)
    except (TypeError, ValueError):
        return f"[{path}] length expects an integer, got {_short(expected)}"
    if isinstance(actual, list | dict | str):
        size = len(actual)
    elif actual is None:
        return f"[{path}] is missing, expected length {want}"
    else:
        size = len(java_str(actual))
    return None if size == want else f"[{path}] expected length {want} but was {size}: {_short(actual)}"


def _as_comparable(value: Any) -> Any:
    if _is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


_OPERATORS = {
    "gt": (lambda a, b: a > b, ">"),
    "gte": (lambda a, b: a >= b, ">="),
    "lt": (lambda a, b: a < b, "<"),
    "lte": (lambda a, b: a <= b, "<="),
}


def check_compare(kind: str, actual: Any, expected: Any, path: str) -> str | None:
    op, symbol = _OPERATORS[kind]
    if actual is None:
        return f"[{path}] is missing, expected {symbol} {_short(expected)}"
    a, b = _as_comparable(actual), _as_comparable(expected)
    try:
        ok = op(a, b)
    except TypeError:
        return f"[{path}] cannot compare {_short(actual)} {symbol} {_short(expected)}"
    return None if ok else f"[{path}] expected {symbol} {_short(expected)} but was {_short(actual)}"


def _element_contains(element: Any, expected: Any) -> bool:
    if isinstance(expected, dict) and isinstance(element, dict):
        return all(k in element and check_match(element[k], v) is None for k, v in expected.items())
    return check_match(element, expected) is None


def check_contains(actual: Any, expected: Any, path: str) -> str | None:
    if isinstance(actual, list):
        if any(_element_contains(item, expected) for item in actual):
            return None
        return f"[{path}] {_short(actual)} does not contain {_short(expected)}"
    if isinstance(actual, str):
        needle = java_str(expected)
        return None if needle in actual else f"[{path}] {_short(actual)} does not contain {needle!r}"
    if actual is None:
        return f"[{path}] is missing, expected it to contain {_short(expected)}"
    return f"[{path}] expected a list or a string but was {_short(actual)}"


def check_close_to(actual: Any, expected: Any, path: str) -> str | None:
    if not isinstance(expected, dict) or "value" not in expected or "error" not in expected:
        return f"[{path}] close_to expects {{value, error}}, got {_short(expected)}"
    if not _is_number(actual):
        return f"[{path}] expected a number but was {_short(actual)}"
    value, error = float(expected["value"]), float(expected["error"])
    if math.isclose(float(actual), value, rel_tol=0.0, abs_tol=error) or abs(float(actual) - value) <= error:
        return None
    return f"[{path}] expected {value} +/- {error} but was {actual}"


def _parse_instant(value: Any) -> datetime:
    text = java_str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def check_is_after(actual: Any, expected: Any, path: str) -> str | None:
    try:
        a, b = _parse_instant(actual), _parse_instant(expected)
    except ValueError as exc:
        return f"[{path}] cannot parse instants: {exc}"
    return None if a > b else f"[{path}] {java_str(actual)} is not after {java_str(expected)}"
