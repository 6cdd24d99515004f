"""Query-defined buckets: ``filter``, ``filters``, ``missing``, ``global``, ``range``, ``date_range``.

Each bucket is the parent query restricted by one filter; its count is a document count (a document
with several values in one range counts once, as in ES).

``nested`` and ``reverse_nested`` are single-bucket kinds too, on nested documents: ``native.aggs.nested``.

Partials:

- single bucket (filter, missing, global; nested and reverse_nested too): ``[doc_count, subs]``;
- filters: ``{"b": [[key, doc_count, subs], ...]}`` in request order, ``_other_`` last;
- range / date_range: ``{"b": [[from, to, key, doc_count, subs], ...], "f": date format}`` with the
  bounds resolved on the shard (date math needs ``now``), sorted by (from, to) as ES does.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import tantivy

from native.aggs.execute import ShardContext, convert_key, date_format, missing_number, resolve_date
from native.aggs.inline import inline_reader, inline_spec
from native.aggs.partials import Partial, empty_level, finalize_level, java_double, merge_level
from native.aggs.spec import AggNode, FiltersSpec, RangeSpec
from native.doc_count import bucket_count, with_weight
from native.errors import IllegalArgument
from native.fields import INTEGRAL_COLUMNS, NUMERIC_COLUMNS


class SingleBucketKind:
    def empty(self, node: AggNode) -> Partial:
        return [0, {}]

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        if node.kind == "global":
            scope = tantivy.Query.all_query()
        elif node.kind == "filter":
            scope = ctx.restrict(query, ctx.compile(node.params.query))
        else:  # missing
            scope = ctx.restrict(query, ctx.missing_filter(ctx.field(node.params.field)))
        return [ctx.count(scope), ctx.collect_subs(node, scope, None)]

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        return [a[0] + b[0], merge_level(node.children, a[1], b[1])]

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        return {"doc_count": p[0], **finalize_level(node.children, p[1] or empty_level(node.children))}


class FiltersKind:
    def empty(self, node: AggNode) -> Partial:
        spec: FiltersSpec = node.params
        keys = [key for key, _ in spec.filters] + ([spec.other_bucket_key] if spec.other_bucket else [])
        return {"b": [[key, 0, {}] for key in keys]}

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: FiltersSpec = node.params
        compiled = [ctx.compile(ast) for _, ast in spec.filters]
        buckets = []
        for (key, _), bucket_filter in zip(spec.filters, compiled, strict=True):
            scope = ctx.restrict(query, bucket_filter)
            buckets.append([key, ctx.count(scope), ctx.collect_subs(node, scope, None)])
        if spec.other_bucket:
            scope = ctx.exclude(query, compiled)
            buckets.append([spec.other_bucket_key, ctx.count(scope), ctx.collect_subs(node, scope, None)])
        return {"b": buckets}

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        return {
            "b": [
                [x[0], x[1] + y[1], merge_level(node.children, x[2], y[2])] for x, y in zip(a["b"], b["b"], strict=True)
            ]
        }

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        spec: FiltersSpec = node.params
        rendered = [
            (key, {"doc_count": n, **finalize_level(node.children, subs or empty_level(node.children))})
            for key, n, subs in p["b"]
        ]
        if spec.keyed:
            return {"buckets": {str(key): body for key, body in rendered}}
        out = []
        for i, (key, body) in enumerate(rendered):
            is_other = spec.other_bucket and i == len(rendered) - 1
            out.append({"key": key, **body} if key is not None and not is_other else body)
        return {"buckets": out}


class RangeKind:
    def empty(self, node: AggNode) -> Partial:
        spec: RangeSpec = node.params
        deferred = spec.is_date or any(isinstance(b, str) for r in spec.ranges for b in (r.lo, r.hi))
        rows: list[list[Any]] = [[r.lo if not deferred else None, r.hi if not deferred else None, r.key, 0, {}]
                for r in spec.ranges]  # fmt: skip
        return {"b": _sorted(rows), "f": None}

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: RangeSpec = node.params
        info = ctx.field(spec.field)
        fmt = date_format(info, spec.format) if (spec.is_date or (info and info.es_type == "date")) else None
        if spec.is_date and fmt is None:
            fmt = "strict_date_optional_time"
        formats = info.date_formats if info is not None else ("strict_date_optional_time", "epoch_millis")
        if spec.format:
            formats = (spec.format, *formats)
        bounds = []
        for item in spec.ranges:
            lo, hi = item.lo, item.hi
            if spec.is_date or (info is not None and info.es_type == "date"):
                lo = resolve_date(lo, ctx.now_millis, spec.time_zone, formats=formats)
                hi = resolve_date(hi, ctx.now_millis, spec.time_zone, formats=formats)
            elif isinstance(lo, str) or isinstance(hi, str):  # a date string on a field that is not a date
                bad = lo if isinstance(lo, str) else hi
                raise IllegalArgument(f'For input string: "{bad}"')
            bounds.append((lo, hi, item.key))
        if info is None:
            empty = tantivy.Query.empty_query()
            unmapped = [[lo, hi, key, 0, ctx.collect_subs(node, empty, None)] for lo, hi, key in bounds]
            if spec.missing is not None:
                _add_missing(ctx, node, query, info, unmapped, formats)
            return {"b": _sorted(unmapped), "f": fmt}
        counted = _one_pass(ctx, node, query, info, bounds)
        rows = []
        for i, (lo, hi, key) in enumerate(bounds):
            if counted is not None and counted[i][1] is not None:
                count, subs = counted[i]
            else:
                scope = ctx.restrict(query, ctx.range_filter(info, lo, hi))
                count = counted[i][0] if counted is not None else ctx.count(scope)
                subs = ctx.collect_subs(node, scope, None)
            rows.append([lo, hi, key, count, subs])
        if spec.missing is not None:
            _add_missing(ctx, node, query, info, rows, formats)
        return {"b": _sorted(rows), "f": fmt}

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        rows = [
            [x[0] if x[0] is not None else y[0], x[1] if x[1] is not None else y[1], x[2], x[3] + y[3],
             merge_level(node.children, x[4], y[4])]
            for x, y in zip(a["b"], b["b"], strict=True)
        ]  # fmt: skip
        return {"b": rows, "f": a["f"] or b["f"]}

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        spec: RangeSpec = node.params
        fmt = p["f"]
        buckets = []
        for lo, hi, key, count, subs in p["b"]:
            lo_text = _bound_text(lo, fmt, spec.time_zone)
            hi_text = _bound_text(hi, fmt, spec.time_zone)
            bucket: dict[str, Any] = {"key": key if key is not None else f"{lo_text}-{hi_text}"}
            if lo is not None:
                bucket["from"] = float(lo)
                if fmt:
                    bucket["from_as_string"] = lo_text
            if hi is not None:
                bucket["to"] = float(hi)
                if fmt:
                    bucket["to_as_string"] = hi_text
            bucket["doc_count"] = count
            bucket.update(finalize_level(node.children, subs or empty_level(node.children)))
            buckets.append(bucket)
        if spec.keyed:
            return {"buckets": {b["key"]: b for b in buckets}}
        return {"buckets": buckets}


def _add_missing(
    ctx: ShardContext, node: AggNode, query: tantivy.Query, info: Any, rows: list[list[Any]], formats: tuple[str, ...]
) -> None:
    """Docs without a value count as having ``missing`` in every range that holds it."""
    spec: RangeSpec = node.params
    value: float | None
    if (info is not None and info.es_type == "date") or spec.is_date:
        value = resolve_date(spec.missing, ctx.now_millis, spec.time_zone, formats=formats)
    elif info is not None:
        value = float(convert_key(info, spec.missing))
    else:
        value = missing_number(spec.missing)
    scope = ctx.restrict(query, ctx.missing_filter(info))
    n = ctx.count(scope)
    if not n or value is None:
        return
    subs = ctx.collect_subs(node, scope, None)
    for row in rows:
        lo, hi = row[0], row[1]
        if (lo is None or value >= lo) and (hi is None or value < hi):
            row[3] += n
            row[4] = merge_level(node.children, row[4], subs) if node.children else row[4]


def _one_pass(
    ctx: ShardContext, node: AggNode, query: tantivy.Query, info: Any, bounds: list[tuple[Any, Any, Any]]
) -> list[tuple[int, Any]] | None:
    """Each range's document count (and its children's partials, or None where they must run per range)
    from one tantivy ``range`` aggregation, which counts a document once per range as ES does, or None when
    it cannot take these ranges (overlapping ones, a non-numeric field): then each range counts its own
    query. Integer columns get the bounds the per-range query uses (``x >= lo`` as ``x >= ceil(lo)``)."""
    if info.tantivy_type not in NUMERIC_COLUMNS or info.es_type == "boolean":
        return None
    if "bound_type" in info.extra:
        return None
    integral = info.tantivy_type in INTEGRAL_COLUMNS
    edges: list[tuple[float | None, float | None]] = []
    for lo, hi, _ in bounds:
        lo_v = None if lo is None else (math.ceil(lo) if integral else float(lo))
        hi_v = None if hi is None else (math.ceil(hi) if integral else float(hi))
        if lo_v is not None and hi_v is not None and hi_v <= lo_v:
            return None  # an empty range: the per-range queries answer it
        edges.append((lo_v, hi_v))
    spans = sorted((-math.inf if lo is None else lo, math.inf if hi is None else hi) for lo, hi in edges)
    if any(a[1] > b[0] for a, b in itertools.pairwise(spans)):
        return None  # overlapping ranges: tantivy refuses them
    ranges = []
    for i, (lo_v, hi_v) in enumerate(edges):
        r: dict[str, Any] = {"key": f"r{i}"}
        if lo_v is not None:
            r["from"] = lo_v
        if hi_v is not None:
            r["to"] = hi_v
        ranges.append(r)
    inline = inline_spec(ctx, node.children) if node.children else None
    request: dict[str, Any] = {"range": {"field": info.tantivy_name, "ranges": ranges, "keyed": True}}
    try:
        aggs = with_weight(inline, ctx.weighted)
        got = ctx.aggregate(query, {"r": {**request, **({"aggs": aggs} if aggs else {})}})["r"]["buckets"]
    except (IllegalArgument, ValueError):
        return None
    read = inline_reader(ctx, node.children) if inline is not None else None
    out: list[tuple[int, Any]] = []
    for i in range(len(edges)):
        bucket = got.get(f"r{i}", {})
        subs = {} if not node.children else read(bucket) if read is not None and bucket else None
        out.append((bucket_count(bucket, ctx.weighted), subs))
    return out


def _sorted(rows: list[list[Any]]) -> list[list[Any]]:
    def key(row: list[Any]) -> tuple[float, float]:
        lo = -math.inf if row[0] is None else float(row[0])
        hi = math.inf if row[1] is None else float(row[1])
        return (lo, hi)

    return sorted(rows, key=key)


def _bound_text(value: Any, fmt: str | None, time_zone: str | None) -> str:
    if value is None:
        return "*"
    if fmt:
        from native.dates import format_date

        return format_date(int(value), fmt, time_zone)
    return java_double(float(value))


KINDS = {
    "filter": SingleBucketKind(),
    "missing": SingleBucketKind(),
    "global": SingleBucketKind(),
    "filters": FiltersKind(),
    "range": RangeKind(),
    "date_range": RangeKind(),
}
