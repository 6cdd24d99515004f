"""How a hit's ``sort`` values are rendered: a field sort's ``format`` and ``numeric_type`` (root side).

Shards return raw sort values (date keys in epoch milliseconds, date_nanos keys in nanoseconds); the root
renders them per sort field and per index mapping, as ES's ``DocValueFormat`` does: ``format`` on a date
field formats the date (``epoch_millis`` included, as a string), on a numeric field it is a DecimalFormat
pattern; ``numeric_type`` ``date_nanos`` gives nanoseconds, ``date`` milliseconds (both converted on the
shards, so that keys of date and date_nanos indices merge in one unit), ``long`` an integer and ``double`` a
float. A missing value stays null.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from native.aggs.number_format import format_number
from native.date_formats import format_date
from native.date_nanos import format_date_nanos
from native.mapping import Mapping
from native.search import SortField

__all__ = ["needs_rendering", "render_sort_values"]

_DATE_TYPES = ("date", "date_nanos")
_NUMERIC = ("long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long")


def needs_rendering(sort: Sequence[SortField]) -> bool:
    return any(s.format is not None or s.numeric_type is not None for s in sort)


def render_sort_values(values: Sequence[Any], sort: Sequence[SortField], mapping: Mapping) -> list[Any]:
    out = list(values)
    for i, (value, spec) in enumerate(zip(values, sort, strict=False)):
        if value is None or (spec.format is None and spec.numeric_type is None):
            continue
        leaf = mapping.leaf(spec.field)
        es_type = leaf.type if leaf is not None else None
        if spec.format is not None and (es_type in _DATE_TYPES or spec.numeric_type in _DATE_TYPES):
            # shards give date_nanos keys in nanoseconds, date keys in milliseconds, either converted to the
            # ``numeric_type``'s unit when it is a date type (``native.date_nanos.sort_unit_scale``)
            unit = spec.numeric_type if spec.numeric_type in _DATE_TYPES else es_type
            if unit == "date_nanos":
                out[i] = format_date_nanos(int(value), spec.format)
            else:
                out[i] = format_date(int(value), spec.format)
            continue
        if spec.numeric_type is not None and isinstance(value, int | float):
            value = _numeric(value, es_type, spec.numeric_type)
        if spec.format is not None and es_type in _NUMERIC and isinstance(value, int | float):
            value = format_number(value, spec.format)
        out[i] = value
    return out


def _numeric(value: float | int, es_type: str | None, numeric_type: str) -> Any:
    if numeric_type in _DATE_TYPES:  # the shards converted date keys already
        return int(value)
    if numeric_type == "long":
        return int(value) if math.isfinite(value) else value
    return float(value)
