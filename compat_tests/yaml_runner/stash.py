"""The stash (values saved by ``set`` and the last response body) and dotted-path lookup.

Semantics follow the reference (Java) runner:

* a string ``$name`` or ``$name.sub.path`` is a reference to a stashed value (which may be any
  JSON value); ``$body`` is the last response body (parsed JSON, or text);
* ``${name}`` inside a longer string is interpolated with the value's string form;
* references are replaced in request parameters, bodies, headers and expected values, in
  mapping keys too (``stash_in_key``), and in single path segments (``stash_in_path``,
  ``embedded_stash_key``);
* a path is split on ``.`` (``\\.`` is a literal dot), numeric segments index lists and
  ``_arbitrary_key_`` picks the first key of a mapping (the key itself is the result).

Looking up a missing path gives ``None`` ("undefined"), as in the spec.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["Stash", "StashError", "evaluate_path", "java_str", "parse_path"]

_EXTENDED_KEY = re.compile(r"\$\{([^}]+)\}")
ARBITRARY_KEY = "_arbitrary_key_"


class StashError(Exception):
    """A stash reference could not be resolved."""


def java_str(value: Any) -> str:
    """The string form the Java runner would produce (``true``, ``null``, JSON for containers)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def parse_path(path: str) -> list[str]:
    """Split a dotted path; ``\\.`` (or ``\\\\.``) escapes a literal dot and empty segments are dropped."""
    parts: list[str] = []
    current: list[str] = []
    escape = False
    for char in path:
        if char == "\\":  # as ES's ObjectPath: backslashes before a dot (``\\.`` in YAML too) escape it
            escape = True
            continue
        if char == "\\" and escape:  # ES's ObjectPath: a run of backslashes escapes as one ("50\\\\.0")
            continue
        if char == "." and not escape:
            if current:
                parts.append("".join(current))
                current = []
            continue
        if escape and char != ".":
            current.append("\\")
        escape = False
        current.append(char)
    if escape:
        current.append("\\")
    if current:
        parts.append("".join(current))
    return parts


def _step(obj: Any, key: str) -> Any:
    if isinstance(obj, dict):
        if key == ARBITRARY_KEY and key not in obj:
            return next(iter(obj), None)
        return obj.get(key)
    if isinstance(obj, list):
        try:
            index = int(key)
        except ValueError:
            return None
        if 0 <= index < len(obj):
            return obj[index]
        return None
    return None


def evaluate_path(obj: Any, path: str, stash: Stash | None = None) -> Any:
    """Value at ``path`` inside ``obj`` (``None`` when any level is missing)."""
    current = obj
    for part in parse_path(path):
        key = part
        if stash is not None and Stash.is_reference(part):
            key = java_str(stash.get(part))
        current = _step(current, key)
        if current is None:
            return None
    return current


class Stash:
    """Values saved during one test; reset before each test."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}

    def clear(self) -> None:
        self._values.clear()

    def set(self, key: str, value: Any) -> None:
        self._values[key] = value

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def snapshot(self) -> dict[str, Any]:
        return dict(self._values)

    @staticmethod
    def is_reference(value: Any) -> bool:
        """Whether ``value`` is a string that refers to the stash (``$x`` or contains ``${x}``)."""
        if not isinstance(value, str) or not value:
            return False
        return value.startswith("$") or _EXTENDED_KEY.search(value) is not None

    def _unstash(self, key: str) -> Any:
        value = evaluate_path(self._values, key, self)
        if value is None:
            raise StashError(f"stashed value not found for key [{key}]")
        return value

    def get(self, reference: str) -> Any:
        """Resolve ``$path`` to the stashed value itself, or interpolate every ``${path}``."""
        if reference.startswith("$") and not reference.startswith("${"):
            return self._unstash(reference[1:])
        if _EXTENDED_KEY.search(reference) is None:
            raise StashError(f"doesn't contain any stash keys [{reference}]")
        return _EXTENDED_KEY.sub(lambda m: java_str(self._unstash(m.group(1))), reference)

    def resolve(self, value: Any) -> Any:
        """Deep copy of ``value`` with every reference (in values and mapping keys) replaced."""
        if isinstance(value, str):
            return self.get(value) if self.is_reference(value) else value
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, item in value.items():
                new_key = java_str(self.get(key)) if self.is_reference(key) else key
                out[new_key] = self.resolve(item)
            return out
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value
