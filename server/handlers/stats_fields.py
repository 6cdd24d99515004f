"""Per-field parts of ``_stats``: the ``completion`` and ``fielddata`` sections and their ``fields`` maps.

``fields`` names the fields (comma-separated, ``*`` wildcards) reported one by one in both sections;
``completion_fields`` / ``fielddata_fields`` override it for one section, as ES does. ``completion`` sizes
are measured on the shards (``native.completion_stats``), and so is ``fielddata``: the bytes of the text
fields' fielddata loaded on the shards' current searchers (``native.fielddata``; sorts load it). There are no
global ordinals (terms aggregations read the term dictionary), so their build time is 0.
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


def fielddata_section(sizes: Mapping[str, int], patterns: list[str] | None) -> dict[str, Any]:
    """``{"memory_size_in_bytes": total, "evictions": 0, ...[, "fields": {field: {"memory_size_in_bytes": n}}]}``:
    ``sizes`` are the bytes of the fielddata loaded on the shards' searchers (``native.fielddata``)."""
    out: dict[str, Any] = {"memory_size_in_bytes": sum(sizes.values()), "evictions": 0,
                           "global_ordinals": {"build_time_in_millis": 0}}  # fmt: skip
    if patterns is not None:
        out["fields"] = {f: {"memory_size_in_bytes": n} for f, n in sorted(sizes.items()) if _matches(f, patterns)}
    return out


def indexing_pressure_section(pressure: Any) -> dict[str, Any]:
    """``indexing_pressure`` of ``_nodes/stats`` and ``_cluster/stats``: one node, where every write is both the
    coordinating and the primary stage (``cluster.indexing_pressure``)."""
    return {"memory": {
        "current": {"combined_coordinating_and_primary_in_bytes": pressure.current,
                    "coordinating_in_bytes": pressure.current, "primary_in_bytes": pressure.current,
                    "replica_in_bytes": 0, "all_in_bytes": pressure.current},
        "total": {"combined_coordinating_and_primary_in_bytes": pressure.total,
                  "coordinating_in_bytes": pressure.total, "primary_in_bytes": pressure.total,
                  "replica_in_bytes": 0, "all_in_bytes": pressure.total,
                  "coordinating_rejections": pressure.rejections, "primary_rejections": 0,
                  "replica_rejections": 0},
        "limit_in_bytes": pressure.limit,
    }}  # fmt: skip
