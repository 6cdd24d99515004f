"""Per-field parts of ``_stats``: the ``completion`` and ``fielddata`` sections and their ``fields`` maps.

``fields`` names the fields (comma-separated, ``*`` wildcards) reported one by one in both sections;
``completion_fields`` / ``fielddata_fields`` override it for one section, as ES does. ``completion`` sizes
are measured on the shards (``native.completion_stats``). ``fielddata``: a Diagon shard never loads
fielddata into memory (terms aggregations and sorts read tantivy's columnar fast fields or the term
dictionary; there are no global ordinals), so memory, evictions and the global ordinals build time are 0
and the per-field map, when asked for, lists no field: what ES reports for fields without loaded fielddata.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

__all__ = ["completion_section", "field_patterns", "fielddata_section"]


def field_patterns(params: Mapping[str, str], name: str) -> list[str] | None:
    """The field patterns of ``name`` (``completion_fields`` / ``fielddata_fields``), else of ``fields``;
    None when neither is given."""
    raw = params.get(name, params.get("fields"))
    if raw is None:
        return None
    return [p.strip() for p in raw.split(",") if p.strip()]


def _matches(field: str, patterns: list[str]) -> bool:
    return any(p in ("*", "_all") or fnmatch.fnmatchcase(field, p) for p in patterns)


def completion_section(sizes: Mapping[str, int], patterns: list[str] | None) -> dict[str, Any]:
    """``{"size_in_bytes": total[, "fields": {field: {"size_in_bytes": n}}]}``."""
    out: dict[str, Any] = {"size_in_bytes": sum(sizes.values())}
    if patterns is not None:
        out["fields"] = {f: {"size_in_bytes": n} for f, n in sorted(sizes.items()) if _matches(f, patterns)}
    return out


def fielddata_section(patterns: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"memory_size_in_bytes": 0, "evictions": 0, "global_ordinals": {"build_time_in_millis": 0}}
    if patterns is not None:
        out["fields"] = {}
    return out
