"""The ``fields`` and ``docvalue_fields`` search options: per-hit values of mapped fields.

Values are read from ``_source`` (ES reads doc values for ``docvalue_fields``; for the mapped types we
support the result is the same, normalised the same way): dates are rendered in the requested format
(``strict_date_optional_time`` by default), numbers and keywords as-is, always as lists.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping as MappingABC
from typing import Any

from native import dates
from native.mapping import Leaf, Mapping, convert_value
from native.schema import flatten_source


def parse_field_specs(raw: list[Any]) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for item in raw:
        if isinstance(item, str):
            out.append((item, None))
        elif isinstance(item, dict) and "field" in item:
            out.append((str(item["field"]), item.get("format")))
    return out


def _render(leaf: Leaf, value: Any, fmt: str | None) -> Any:
    converted = convert_value(leaf, value, None)
    if converted is None:
        return None
    if leaf.type == "date":
        pattern = fmt or "strict_date_optional_time"
        if pattern.startswith("strict_date_optional_time"):
            pattern = "strict_date_optional_time"
        return dates.format_date(converted, pattern)
    if leaf.type == "ip":
        return str(value)
    return converted


def doc_fields(
    mapping: Mapping, source: MappingABC[str, Any], specs: list[tuple[str, str | None]]
) -> dict[str, list[Any]]:
    if not specs:
        return {}
    flat = flatten_source(source)
    out: dict[str, list[Any]] = {}
    for leaf in mapping.iter_leaves():
        fmt = None
        for pattern, f in specs:
            if fnmatch.fnmatchcase(leaf.path, pattern):
                fmt = f
                break
        else:
            continue
        values = []
        for value in flat.get(leaf.source_path, []):
            try:
                rendered = _render(leaf, value, fmt)
            except Exception:
                continue
            if rendered is not None:
                values.append(rendered)
        if values:
            out[leaf.path] = values
    return out
