"""Rollover conditions, evaluated as ES evaluates them against the alias's write index.

``max_*`` conditions say when to roll over, ``min_*`` conditions hold it back: with conditions, the rollover
happens when **at least one** ``max_*`` holds and **every** ``min_*`` holds; ``min_*`` alone is ES's
validation error. Sizes and counts are the write index's primaries: ``*_docs``/``*_size`` over all of them,
``*_primary_shard_*`` of its largest primary shard; ``*_age`` is the time since the index was created.
Each condition is reported as ``"[<name>: <value as given>]": true|false``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from native.dates import parse_time_value
from native.errors import ActionRequestValidation, ParsingError

__all__ = ["IndexFacts", "RolloverCondition", "evaluate", "parse_conditions"]

_BYTE_UNITS = {"b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40, "pb": 1 << 50}
_BYTES = re.compile(r"^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|pb)$", re.IGNORECASE)
# condition name -> (kind of value, fact it is compared with)
_CONDITIONS = {
    "max_age": ("time", "age_ms"), "max_docs": ("count", "docs"), "max_size": ("bytes", "size"),
    "max_primary_shard_size": ("bytes", "max_shard_size"), "max_primary_shard_docs": ("count", "max_shard_docs"),
    "min_age": ("time", "age_ms"), "min_docs": ("count", "docs"), "min_size": ("bytes", "size"),
    "min_primary_shard_size": ("bytes", "max_shard_size"), "min_primary_shard_docs": ("count", "max_shard_docs"),
}  # fmt: skip


@dataclass(frozen=True)
class IndexFacts:
    """What the conditions are checked against: the write index's age and primary sizes."""

    age_ms: int
    docs: int
    size: int
    max_shard_size: int
    max_shard_docs: int


@dataclass(frozen=True)
class RolloverCondition:
    name: str
    given: str  # the value as the request wrote it (the key of the ``conditions`` answer)
    threshold: int  # milliseconds, bytes or documents

    @property
    def is_min(self) -> bool:
        return self.name.startswith("min_")

    def holds(self, facts: IndexFacts) -> bool:
        return int(getattr(facts, _CONDITIONS[self.name][1])) >= self.threshold


def _threshold(name: str, kind: str, value: Any) -> int:
    if kind == "count":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ParsingError(f"[conditions] failed to parse field [{name}]")
        try:
            return int(value)
        except ValueError:
            raise ParsingError(f"[conditions] failed to parse field [{name}]") from None
    if kind == "time":
        try:
            return int(parse_time_value(str(value)) * 1000)
        except ValueError:
            raise ParsingError(f"[conditions] failed to parse field [{name}]") from None
    match = _BYTES.match(str(value).strip())
    if match is None:
        raise ParsingError(f"[conditions] failed to parse field [{name}]")
    return int(float(match.group(1)) * _BYTE_UNITS[match.group(2).lower()])


def parse_conditions(raw: Any) -> list[RolloverCondition]:
    if raw is None:
        return []
    if not isinstance(raw, Mapping):
        raise ParsingError("[rollover] conditions doesn't support values of type: VALUE_STRING")
    out: list[RolloverCondition] = []
    for name, value in raw.items():
        if name not in _CONDITIONS:
            raise ParsingError(f"[conditions] unknown field [{name}]")
        given = str(value).lower() if isinstance(value, bool) else str(value)
        out.append(RolloverCondition(name, given, _threshold(name, _CONDITIONS[name][0], value)))
    if out and all(c.is_min for c in out):
        raise ActionRequestValidation(
            "Validation Failed: 1: at least one max_* rollover condition must be set when using min_* conditions;"
        )
    return out


def evaluate(conditions: list[RolloverCondition], facts: IndexFacts) -> tuple[dict[str, bool], bool]:
    """Each condition's result (keyed as ES keys it) and whether the rollover happens."""
    results = {f"[{c.name}: {c.given}]": c.holds(facts) for c in conditions}
    if not conditions:
        return results, True
    any_max = any(c.holds(facts) for c in conditions if not c.is_min)
    all_min = all(c.holds(facts) for c in conditions if c.is_min)
    return results, any_max and all_min
