"""``variable_width_histogram``: at most ``buckets`` buckets of numeric values clustered by proximity; each
bucket reports its centroid (``key``), ``min``, ``max`` and ``doc_count`` (values, as ES counts them).

Per shard the values start as one cluster per distinct value; the two neighbouring clusters with the
closest centroids are merged (weighted centroid, min/max, counts added) until at most ``shard_size``
remain. The root merges the shards' clusters the same way down to ``buckets`` — ES's reduce. With fewer
values than ``initial_buffer`` per shard, which ES keeps in one buffer before clustering, this is ES's
result; past it ES's shard-side k-means differs in detail, not in kind. Sub-aggregations of a cluster run
on the documents with a value in ``[min, max]``.

Partial: ``{"b": [[centroid, min, max, doc_count, subs], ...]}`` sorted by centroid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import tantivy

from native.aggs.docvalues import all_values, doc_values
from native.aggs.execute import ShardContext
from native.aggs.partials import Partial, empty_level, finalize_level, merge_level
from native.aggs.readers import _check_keys, _field, _int, _text
from native.aggs.spec import AggNode
from native.aggs.weighted import numeric_info
from native.doc_count import DOC_COUNT_FIELD
from native.errors import IllegalArgument
from native.fields import FieldInfo


@dataclass(frozen=True)
class VariableWidthSpec:
    field: str
    buckets: int = 10
    shard_size: int = 500
    initial_buffer: int = 5000
    format: str | None = None


def parse_variable_width(name: str, kind: str, body: dict[str, Any]) -> VariableWidthSpec:
    _check_keys(kind, body, {"field", "buckets", "shard_size", "initial_buffer", "format"})
    buckets = _int(kind, "buckets", body.get("buckets", 10))
    if buckets <= 0:
        raise IllegalArgument(f"[buckets] must be greater than 0. Found [{buckets}] in [{name}]")
    shard_size = _int(kind, "shard_size", body.get("shard_size", buckets * 50))
    initial_buffer = _int(kind, "initial_buffer", body.get("initial_buffer", min(shard_size * 10, 50000)))
    if shard_size < buckets:
        raise IllegalArgument(
            f"shard_size must be greater than [num_buckets] for [{name}]"  # ES: "must be greater than numBuckets"
        )
    if initial_buffer < buckets:
        raise IllegalArgument(f"initial_buffer must be at least buckets for [{name}]")
    return VariableWidthSpec(
        _field(kind, body), buckets, shard_size, initial_buffer, _text(kind, "format", body.get("format"))
    )


def _merge_closest(node: AggNode, rows: list[list[Any]], limit: int) -> list[list[Any]]:
    """Merge neighbouring clusters with the smallest centroid gap until at most ``limit`` remain."""
    rows = sorted(rows, key=lambda r: r[0])
    while len(rows) > limit:
        gaps = np.diff(np.array([r[0] for r in rows], dtype=np.float64))
        i = int(np.argmin(gaps))
        a, b = rows[i], rows[i + 1]
        count = a[3] + b[3]
        centroid = (a[0] * a[3] + b[0] * b[3]) / count
        rows[i : i + 2] = [[centroid, min(a[1], b[1]), max(a[2], b[2]), count, merge_level(node.children, a[4], b[4])]]
    return rows


def _weighted_values(ctx: ShardContext, info: FieldInfo, query: tantivy.Query) -> tuple[np.ndarray, np.ndarray]:
    """Every value of the matching docs and its weight: the doc's ``_doc_count`` (1 without one)."""
    if not ctx.weighted:
        values = np.asarray(all_values(ctx, info, query), dtype=np.float64)
        return values, np.ones(values.size, dtype=np.float64)
    vals: list[float] = []
    weights: list[float] = []
    for row in doc_values(ctx, query, [info.tantivy_name, DOC_COUNT_FIELD]):
        weight = float(row[DOC_COUNT_FIELD][0]) if row.get(DOC_COUNT_FIELD) else 1.0
        for v in row.get(info.tantivy_name, ()):
            vals.append(float(v))
            weights.append(weight)
    return np.asarray(vals, dtype=np.float64), np.asarray(weights, dtype=np.float64)


class VariableWidthKind:
    def empty(self, node: AggNode) -> Partial:
        return {"b": []}

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: VariableWidthSpec = node.params
        info = numeric_info(ctx, spec.field, node.kind)
        if info is None:
            return self.empty(node)
        values, weights = _weighted_values(ctx, info, query)
        if values.size == 0:
            return self.empty(node)
        uniq, inverse = np.unique(values, return_inverse=True)
        counts = np.bincount(inverse, weights=weights).astype(np.int64)
        rows: list[list[Any]] = [[float(v), float(v), float(v), int(c), {}] for v, c in zip(uniq, counts, strict=True)]
        if not node.children:
            return {"b": _merge_closest(node, rows, spec.shard_size)}
        # cluster first (without subs), then run the sub-aggregations once per final cluster
        clustered = _merge_closest(node, rows, spec.shard_size)
        for row in clustered:
            row[4] = ctx.collect_subs(node, query, ctx.range_filter(info, row[1], row[2], include_upper=True))
        return {"b": clustered}

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        return {"b": sorted([*a["b"], *b["b"]], key=lambda r: r[0])}

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        spec: VariableWidthSpec = node.params
        rows = _merge_closest(node, [list(r) for r in p["b"]], spec.buckets)
        buckets = []
        for centroid, lo, hi, count, subs in rows:
            bucket: dict[str, Any] = {"min": lo, "key": centroid, "max": hi, "doc_count": count}
            if spec.format:
                from native.aggs.number_format import format_number

                bucket = {
                    "min": lo, "min_as_string": format_number(lo, spec.format),
                    "key": centroid, "key_as_string": format_number(centroid, spec.format),
                    "max": hi, "max_as_string": format_number(hi, spec.format),
                    "doc_count": count,
                }  # fmt: skip
            bucket.update(finalize_level(node.children, subs or empty_level(node.children)))
            buckets.append(bucket)
        return {"buckets": buckets}


KINDS = {"variable_width_histogram": VariableWidthKind()}
