"""Finalize-time driver: ``apply_level`` runs after one level of aggregations is rendered.

``native.aggs.partials.finalize_level`` renders a level bottom-up (every bucket's sub-aggregations,
including their own pipelines, are done before their parent returns), then calls ``apply_level``:

1. for each rendered aggregation whose children hold parent pipelines, run those over its buckets in
   dependency order (a ``bucket_script`` that reads a ``derivative`` runs after it);
2. then the sibling pipelines of the level, in dependency order.
"""

from __future__ import annotations

from typing import Any

from native.aggs.pipeline.parent import PARENT_FUNCTIONS, Entry
from native.aggs.pipeline.sibling import sibling_result
from native.aggs.pipeline.spec import PARENT_KINDS, PIPELINE_KINDS, SIBLING_KINDS
from native.aggs.pipeline.validate import pipeline_order
from native.aggs.spec import AggNode


def has_pipelines(nodes: tuple[AggNode, ...]) -> bool:
    return any(n.kind in PIPELINE_KINDS or any(c.kind in PARENT_KINDS for c in n.children) for n in nodes)


def apply_level(nodes: tuple[AggNode, ...], partials: dict[str, Any], out: dict[str, Any]) -> None:
    for node in nodes:
        if node.kind in PIPELINE_KINDS or not isinstance(out.get(node.name), dict):
            continue
        if any(c.kind in PARENT_KINDS for c in node.children):
            _apply_parent(node, out[node.name], partials.get(node.name) if isinstance(partials, dict) else None)
    for node in pipeline_order(nodes):
        if node.kind in SIBLING_KINDS:
            result = sibling_result(node, nodes, out)
            out[node.name] = {"meta": node.meta, **result} if node.meta is not None else result


def _apply_parent(agg: AggNode, rendered: dict[str, Any], partial: Any) -> None:
    buckets = rendered.get("buckets")
    if buckets is None:
        return
    keyed = isinstance(buckets, dict)
    entries: list[Entry] = list(buckets.items()) if keyed else [(None, b) for b in buckets]
    for node in pipeline_order(agg.children):
        if node.kind in PARENT_KINDS:
            entries = PARENT_FUNCTIONS[node.kind](agg, node, entries, partial)
    rendered["buckets"] = {k: b for k, b in entries} if keyed else [b for _, b in entries]
