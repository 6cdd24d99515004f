"""``histogram`` and ``date_histogram``.

Per shard, fixed-width buckets come from tantivy's ``histogram`` (``min_doc_count: 1``, exact counts);
calendar buckets (month, quarter, year, ... in a time zone) are computed as calendar boundaries between
the shard's min and max (``native.dates.round_calendar`` / ``next_calendar``) and counted with tantivy's
``range`` aggregation, so months and DST days have their true lengths. Sub-aggregations of a bucket run
on the query restricted to ``[key, next_key)``.

Partial: ``{"b": [[key, doc_count, subs]], "o": effective offset, "f": date format, "xb": extended
bounds, "hb": hard bounds}``. Empty buckets (``min_doc_count: 0``) are filled at finalize only, between
the global min and max keys widened by ``extended_bounds`` and clipped by ``hard_bounds``.

Fixed intervals in a named time zone use the zone's offset at ``now`` for the whole histogram (ES
shifts per bucket across DST changes); fixed-offset zones are exact.

Range fields (``integer_range`` ... ``date_range``): a document counts once in every bucket its inclusive
``[gte, lte]`` overlaps, after clipping the range to ``hard_bounds`` (as ES's range histogram aggregators
do; a range entirely outside the hard bounds counts nowhere). Bounds are read per shard from the two hidden
fast fields (``FieldInfo.extra["gte"]`` / ``["lte"]``) and the buckets are produced by a sweep over
bucket-start / bucket-end events, so the work is the number of non-empty buckets, not the span. A bucket's
sub-aggregations run on the query restricted to ``gte < bucket end AND lte >= bucket start``.
Limitation: a multi-valued range field keeps its bounds in two separate columns, so the pairing of a
lower bound with its upper bound is positional (values are read in insertion order and paired by index
when both lists have the same length; otherwise the document counts as its hull ``[min gte, max lte]``),
and the sub-aggregation filter of such a document matches when *any* lower bound is before the bucket end
and *any* upper bound after its start, which may include it in a bucket between two of its ranges.
``missing`` is ignored for range fields.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import tantivy

from native.aggs import buckets as bucket_limit
from native.aggs.execute import ShardContext, convert_key, date_format, resolve_date
from native.aggs.inline import inline_reader, inline_spec
from native.aggs.partials import (
    Partial,
    bucket_metric,
    empty_level,
    finalize_level,
    merge_level,
    sort_key_for,
)
from native.aggs.spec import AggNode, DateHistogramSpec, HistogramSpec, Order
from native.doc_count import bucket_count, with_weight
from native.errors import IllegalArgument
from native.fields import FieldInfo


class _Base:
    def empty(self, node: AggNode) -> Partial:
        return {"b": [], "o": None, "f": None, "xb": None, "hb": None}

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        merged: dict[Any, list[Any]] = {k: [k, n, subs] for k, n, subs in a["b"]}
        for key, count, subs in b["b"]:
            cur = merged.get(key)
            if cur is None:
                merged[key] = [key, count, subs]
            else:
                cur[1] += count
                cur[2] = merge_level(node.children, cur[2], subs)
        return {
            "b": list(merged.values()),
            **{k: a[k] if a[k] is not None else b[k] for k in ("o", "f", "xb", "hb")},
        }

    def _collect_range(
        self,
        ctx: ShardContext,
        node: AggNode,
        query: tantivy.Query,
        info: FieldInfo,
        out: Partial,
        clip: tuple[Any, Any] | list[Any] | None,
        *,
        bucket_of: Callable[[Any], Any],
        succ: Callable[[Any], Any],
        key_of: Callable[[Any], Any],
    ) -> Partial:
        """Buckets of a range field: each doc once in every bucket its (clipped) range overlaps.

        ``bucket_of`` maps a value to an ordered bucket token, ``succ`` gives the next token and ``key_of``
        the bucket key of a token.
        """
        counts = range_bucket_counts(_range_bounds(ctx, info, query), clip, bucket_of, succ)
        buckets = []
        for token in sorted(counts):
            start, end = key_of(token), key_of(succ(token))
            subs = ctx.collect_subs(node, query, _overlap_filter(ctx, info, start, end)) if node.children else {}
            count = counts[token]
            if ctx.weighted:  # ``_doc_count``: one weighted count per non-empty bucket
                count = ctx.count(ctx.restrict(query, _overlap_filter(ctx, info, start, end)))
            buckets.append([start, count, subs])
        out["b"] = buckets
        return out

    # hooks for the two kinds
    def _key_of(self, node: AggNode, p: Partial, value: float) -> float:
        raise NotImplementedError

    def _next_key(self, node: AggNode, p: Partial, key: float) -> float:
        raise NotImplementedError

    def _render(self, node: AggNode, p: Partial, key: float) -> dict[str, Any]:
        raise NotImplementedError

    def _render_many(self, node: AggNode, p: Partial, keys: list[Any]) -> list[dict[str, Any]]:
        return [self._render(node, p, key) for key in keys]

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        spec = node.params
        buckets: dict[Any, list[Any]] = {k: [k, n, subs] for k, n, subs in p["b"]}
        if spec.min_doc_count == 0 and (buckets or p["xb"]):
            self._fill(node, p, buckets)
        min_count = max(spec.min_doc_count, 0)
        rows = [b for b in buckets.values() if b[1] >= min_count]
        children = node.children
        if children:
            empty = empty_level(children)
            subs = [finalize_level(children, b[2] or empty) for b in rows]
        else:
            subs = [{}] * len(rows)
        if spec.order == _KEY_ASC:
            order = sorted(range(len(rows)), key=lambda i: rows[i][0])
        else:
            order = sorted(
                range(len(rows)), key=lambda i: _order_key(spec.order, rows[i][0], rows[i][1], subs[i], node)
            )
        out_buckets = self._render_many(node, p, [rows[i][0] for i in order])
        for bucket, i in zip(out_buckets, order, strict=True):
            bucket["doc_count"] = rows[i][1]
            if children:
                bucket.update(subs[i])
        if spec.keyed:
            return {"buckets": {b.get("key_as_string", _float_text(b["key"])): b for b in out_buckets}}
        return {"buckets": out_buckets}

    def _fill(self, node: AggNode, p: Partial, buckets: dict[Any, list[Any]]) -> None:
        keys = list(buckets)
        xb, hb = p["xb"], p["hb"]
        if xb is not None:
            if xb[0] is not None:
                keys.append(self._key_of(node, p, xb[0]))
            if xb[1] is not None:
                keys.append(self._key_of(node, p, xb[1]))
        if not keys:
            return
        lo, hi = min(keys), max(keys)
        if hb is not None:
            if hb[0] is not None:
                lo = max(lo, self._key_of(node, p, hb[0]))
            if hb[1] is not None:
                hi = min(hi, hb[1])
        key, n = lo, 0
        while key <= hi:
            if key not in buckets:
                buckets[key] = [key, 0, {}]
            n += 1
            bucket_limit.check(n)
            key = self._next_key(node, p, key)


class HistogramKind(_Base):
    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: HistogramSpec = node.params
        offset = math.fmod(spec.offset, spec.interval)
        if offset < 0:
            offset += spec.interval
        out = {"b": [], "o": offset, "f": spec.format, "xb": spec.extended_bounds, "hb": spec.hard_bounds}
        info = ctx.field(spec.field)
        if info is None:
            return out
        if _is_range(info):
            if info.extra.get("bound_type") == "ip":
                raise IllegalArgument(
                    f"Field [{spec.field}] of type [{info.es_type}] is not supported for aggregation [histogram]"
                )
            interval = spec.interval
            clip = None if spec.hard_bounds is None else [_opt_float(v) for v in spec.hard_bounds]
            return self._collect_range(
                ctx, node, query, info, out, clip,
                bucket_of=lambda v: _bucket_index(v, offset, interval),
                succ=lambda t: t + 1,
                key_of=lambda t: t * interval + offset,
            )  # fmt: skip
        hist: dict[str, Any] = {
            "field": info.tantivy_name, "interval": spec.interval, "offset": offset, "min_doc_count": 1,
        }  # fmt: skip
        if spec.hard_bounds is not None:
            hist["hard_bounds"] = {
                "min": _num(spec.hard_bounds[0], -1e308),
                "max": _num(spec.hard_bounds[1], 1e308),
            }
        result, inline = _aggregate(ctx, query, "h", {"histogram": hist}, _inline(ctx, node))
        raw = {float(b["key"]): b for b in result["buckets"] if b["doc_count"]}
        for key in raw:  # tantivy numbers buckets with an i64 that saturates: such keys would be silently wrong
            if abs((key - offset) / spec.interval) >= _MAX_BUCKET_INDEX:
                raise IllegalArgument(f"[interval] [{spec.interval}] is too small: bucket keys of field "
                                      f"[{spec.field}] overflow")  # fmt: skip
        counts = {k: bucket_count(b, ctx.weighted) for k, b in raw.items()}
        if spec.missing is not None:
            n_missing = ctx.count(ctx.restrict(query, ctx.missing_filter(info)))
            if n_missing:
                key = self._key_of(node, out, float(convert_key(info, spec.missing)))
                counts[key] = counts.get(key, 0) + n_missing
                raw.pop(key, None)
        width = spec.interval
        out["b"] = _bucket_rows(ctx, node, query, inline, counts, raw, lambda k: ctx.range_filter(info, k, k + width))
        return out

    def _key_of(self, node: AggNode, p: Partial, value: float) -> float:
        interval = node.params.interval
        offset = p["o"] or 0.0
        return _bucket_index(value, offset, interval) * interval + offset

    def _next_key(self, node: AggNode, p: Partial, key: float) -> float:
        # recompute from the bucket index so filled keys equal the keys tantivy produced
        interval = node.params.interval
        offset = p["o"] or 0.0
        index = round((key - offset) / interval)
        return (index + 1) * interval + offset

    def _render(self, node: AggNode, p: Partial, key: float) -> dict[str, Any]:
        if p.get("f"):
            from native.aggs.number_format import format_number

            return {"key_as_string": format_number(float(key), p["f"]), "key": float(key)}
        return {"key": float(key)}


class DateHistogramKind(_Base):
    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: DateHistogramSpec = node.params
        info = ctx.field(spec.field)
        formats = info.date_formats if info is not None else ("strict_date_optional_time", "epoch_millis")
        out: Partial = {
            "b": [],
            "o": self._offset(spec, ctx.now_millis),
            "f": date_format(info, spec.format) or "strict_date_optional_time",
            "xb": _resolve_bounds(spec.extended_bounds, ctx.now_millis, spec.time_zone, formats),
            "hb": _resolve_bounds(spec.hard_bounds, ctx.now_millis, spec.time_zone, formats),
        }
        if info is None:
            return out
        if _is_range(info):
            if info.extra.get("bound_type") != "date":
                raise IllegalArgument(f"Expected date range type but found range type [{info.extra.get('bound_type')}]")
            memo: dict[int, int] = {}

            def bucket_of(value: Any) -> int:
                value = int(value)
                key = memo.get(value)
                if key is None:
                    key = memo[value] = int(self._key_of(node, out, value))
                return key

            return self._collect_range(
                ctx, node, query, info, out, out["hb"],
                bucket_of=bucket_of,
                succ=lambda k: int(self._next_key(node, out, k)),
                key_of=lambda k: k,
            )  # fmt: skip
        inline = _inline(ctx, node)
        # Seconds and minutes have one length in every zone (offsets are whole minutes): a sparse fixed
        # histogram, instead of enumerating every calendar bucket between min and max.
        width = spec.fixed_ms if spec.fixed_ms is not None else _FIXED_CALENDAR.get(spec.calendar or "")
        if width is not None:
            hist: dict[str, Any] = {
                "field": info.tantivy_name, "interval": width, "offset": out["o"] % width, "min_doc_count": 1,
            }  # fmt: skip
            result, inline = _aggregate(ctx, query, "h", {"histogram": hist}, inline)
            raw = {int(b["key"]): b for b in result["buckets"] if b["doc_count"]}
            counts = {k: bucket_count(b, ctx.weighted) for k, b in raw.items()}
            edges = {k: k + width for k in counts}
        else:
            counts, edges, raw, inline = self._calendar_counts(ctx, node, out, info, query, inline)
        if out["hb"] is not None:
            counts = {k: n for k, n in counts.items() if _within(k, out["hb"])}
        if spec.missing is not None:
            n_missing = ctx.count(ctx.restrict(query, ctx.missing_filter(info)))
            if n_missing:
                key = int(self._key_of(node, out, float(convert_key(info, spec.missing))))
                counts[key] = counts.get(key, 0) + n_missing
                edges.setdefault(key, int(self._next_key(node, out, key)))
                raw.pop(key, None)
        out["b"] = _bucket_rows(ctx, node, query, inline, counts, raw, lambda k: ctx.range_filter(info, k, edges[k]))
        return out

    @staticmethod
    def _offset(spec: DateHistogramSpec, now_millis: int) -> int:
        if spec.fixed_ms is None:
            return spec.offset_ms
        from native.dates import resolve_time_zone

        tz_offset = resolve_time_zone(spec.time_zone).offset_at_utc(now_millis) if spec.time_zone else 0
        return (spec.offset_ms - tz_offset) % spec.fixed_ms

    def _calendar_counts(
        self,
        ctx: ShardContext,
        node: AggNode,
        p: Partial,
        info: Any,
        query: tantivy.Query,
        inline: dict[str, Any] | None,
    ) -> tuple[dict[int, int], dict[int, int], dict[int, Any], dict[str, Any] | None]:
        stats = ctx.aggregate(query, {"s": {"stats": {"field": info.tantivy_name}}})["s"]
        if not stats.get("count"):
            return {}, {}, {}, inline
        lo, hi = int(stats["min"]), int(stats["max"])
        starts = [int(self._key_of(node, p, lo))]
        while True:
            nxt = int(self._next_key(node, p, starts[-1]))
            if nxt > hi:
                break
            starts.append(nxt)
            bucket_limit.check(len(starts))
        ends = [*starts[1:], int(self._next_key(node, p, starts[-1]))]
        ranges = [{"key": str(i), "from": s, "to": e} for i, (s, e) in enumerate(zip(starts, ends, strict=True))]
        request = {"range": {"field": info.tantivy_name, "ranges": ranges, "keyed": True}}
        result, inline = _aggregate(ctx, query, "r", request, inline)
        got = result["buckets"]
        counts: dict[int, int] = {}
        edges: dict[int, int] = {}
        raw: dict[int, Any] = {}
        for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
            bucket = got.get(str(i), {})
            n = bucket_count(bucket, ctx.weighted)
            if n:
                counts[start] = n
                edges[start] = end
                raw[start] = bucket
        return counts, edges, raw, inline

    def _key_of(self, node: AggNode, p: Partial, value: float) -> float:
        spec: DateHistogramSpec = node.params
        offset = p["o"] or 0
        if spec.fixed_ms is not None:
            return (int(value) - offset) // spec.fixed_ms * spec.fixed_ms + offset
        from native.dates import round_calendar

        return round_calendar(int(value) - offset, spec.calendar or "day", spec.time_zone) + offset

    def _next_key(self, node: AggNode, p: Partial, key: float) -> float:
        spec: DateHistogramSpec = node.params
        if spec.fixed_ms is not None:
            return int(key) + spec.fixed_ms
        from native.dates import next_calendar

        offset = p["o"] or 0
        return next_calendar(int(key) - offset, spec.calendar or "day", spec.time_zone) + offset

    def _render(self, node: AggNode, p: Partial, key: float) -> dict[str, Any]:
        return {"key_as_string": render_date(int(key), p["f"], node.params.time_zone), "key": int(key)}

    def _render_many(self, node: AggNode, p: Partial, keys: list[Any]) -> list[dict[str, Any]]:
        ints = [int(k) for k in keys]
        texts = render_dates(ints, p["f"], node.params.time_zone)
        return [{"key_as_string": text, "key": key} for text, key in zip(texts, ints, strict=True)]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_FAST_MILLIS = 253402300799999  # 9999-12-31T23:59:59.999Z
_UTC_NAMES = frozenset({None, "UTC", "Z", "+00:00", "Etc/UTC", "GMT"})


_FIXED_CALENDAR = {"second": 1000, "minute": 60_000}


def render_date(millis: int, fmt: str | None, time_zone: str | None) -> str:
    """``format_date`` with a fast path for the default format in UTC (the common histogram key)."""
    if fmt in ("strict_date_optional_time", "date_optional_time") and time_zone in _UTC_NAMES:
        if 0 <= millis <= _MAX_FAST_MILLIS:
            d = _EPOCH + timedelta(milliseconds=millis)
            day = f"{d.year:04d}-{d.month:02d}-{d.day:02d}"
            return f"{day}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}.{millis % 1000:03d}Z"
    from native.dates import format_date

    return format_date(millis, fmt or "strict_date_optional_time", time_zone)


def render_dates(millis: list[int], fmt: str | None, time_zone: str | None) -> list[str]:
    """``render_date`` of many keys; the default format in UTC is rendered by numpy in one call."""
    if (
        millis
        and fmt in ("strict_date_optional_time", "date_optional_time")
        and time_zone in _UTC_NAMES
        and 0 <= min(millis)
        and max(millis) <= _MAX_FAST_MILLIS
    ):
        texts = np.datetime_as_string(np.array(millis, dtype=np.int64).astype("datetime64[ms]"), unit="ms")
        return [f"{t}Z" for t in texts.tolist()]
    return [render_date(m, fmt, time_zone) for m in millis]


def _is_range(info: FieldInfo) -> bool:
    return "gte" in info.extra and "lte" in info.extra and "bound_type" in info.extra


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _range_bounds(ctx: ShardContext, info: FieldInfo, query: tantivy.Query) -> list[list[tuple[Any, Any]]]:
    """The ``(gte, lte)`` pairs of every doc matching ``query`` that has a value in the range field."""
    lo_name, hi_name = str(info.extra["gte"]), str(info.extra["lte"])
    with_value = ctx.restrict(query, tantivy.Query.exists_query(lo_name))
    docs = ctx.docs(with_value)
    if not docs:
        return []
    n_values = ctx.aggregate(with_value, {"c": {"value_count": {"field": lo_name}}})["c"].get("value") or 0
    if int(n_values) == len(docs):  # single-valued: one column read per bound
        los = ctx.searcher.fast_field_values(lo_name, docs)
        his = ctx.searcher.fast_field_values(hi_name, docs)
        return [[(lo, hi)] for lo, hi in zip(los, his, strict=True) if lo is not None and hi is not None]
    # Multi-valued docs: every value of both columns (insertion order) through tantivy's top_hits.
    request = {"top_hits": {"size": len(docs), "sort": [], "docvalue_fields": [lo_name, hi_name]}}
    out: list[list[tuple[Any, Any]]] = []
    for hit in ctx.aggregate(with_value, {"t": request})["t"]["hits"]:
        values = hit.get("docvalue_fields") or {}
        los, his = list(values.get(lo_name) or []), list(values.get(hi_name) or [])
        if not los or not his:
            continue
        if len(los) == len(his):
            out.append(list(zip(los, his, strict=True)))
        else:  # pairing unknowable: the hull of the doc's ranges
            out.append([(min(los), max(his))])  # type: ignore[type-var]
    return out


def range_bucket_counts(
    docs: list[list[tuple[Any, Any]]],
    clip: tuple[Any, Any] | list[Any] | None,
    bucket_of: Callable[[Any], Any],
    succ: Callable[[Any], Any],
) -> dict[Any, int]:
    """Bucket token → number of docs (each a list of inclusive ranges) overlapping the bucket.

    Ranges are clipped to ``clip`` (hard bounds, either side None) first; a doc whose ranges overlap
    each other or share a bucket counts once there. Raises the too-many-buckets error past ``search.max_buckets``.
    """
    clip_lo, clip_hi = clip if clip is not None else (None, None)
    events: dict[Any, int] = {}
    try:
        for ranges in docs:
            spans = []
            for lo, hi in ranges:
                if clip_lo is not None and lo < clip_lo:
                    lo = clip_lo
                if clip_hi is not None and hi > clip_hi:
                    hi = clip_hi
                if lo <= hi:
                    spans.append([bucket_of(lo), bucket_of(hi)])
            spans.sort()
            merged: list[list[Any]] = []
            for span in spans:
                if merged and span[0] <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], span[1])
                else:
                    merged.append(span)
            for first, last in merged:
                events[first] = events.get(first, 0) + 1
                after = succ(last)
                events[after] = events.get(after, 0) - 1
    except (OverflowError, ValueError) as exc:  # unbounded ranges (±max) without hard bounds
        raise bucket_limit.TooManyBuckets(bucket_limit.current_limit()) from exc
    counts: dict[Any, int] = {}
    points = sorted(events)
    running = 0
    for i, point in enumerate(points):
        running += events[point]
        if running <= 0:
            continue
        stop = points[i + 1]
        token = point
        while token < stop:
            counts[token] = running
            bucket_limit.check(len(counts))
            token = succ(token)
    return counts


def _overlap_filter(ctx: ShardContext, info: FieldInfo, start: Any, end: Any) -> tantivy.Query:
    """Docs whose range overlaps the bucket ``[start, end)``: ``gte < end AND lte >= start``."""
    lo_name, hi_name = str(info.extra["gte"]), str(info.extra["lte"])
    if info.extra.get("bound_type") in ("float", "double"):
        ftype = tantivy.FieldType.Float
        lo_q = tantivy.Query.range_query(ctx.schema, lo_name, ftype, None, float(end), True, False)
        hi_q = tantivy.Query.range_query(ctx.schema, hi_name, ftype, float(start), None, True, True)
    else:  # integer columns: x < end <=> x < ceil(end); x >= start <=> x >= ceil(start)
        ftype = tantivy.FieldType.Integer
        lo_q = tantivy.Query.range_query(ctx.schema, lo_name, ftype, None, math.ceil(end), True, False)
        hi_q = tantivy.Query.range_query(ctx.schema, hi_name, ftype, math.ceil(start), None, True, True)
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, lo_q), (tantivy.Occur.Must, hi_q)])


def _inline(ctx: ShardContext, node: AggNode) -> dict[str, Any] | None:
    return inline_spec(ctx, node.children) if node.children else None


def _with_aggs(inline: dict[str, Any] | None) -> dict[str, Any]:
    return {"aggs": inline} if inline else {}


def _bucket_rows(
    ctx: ShardContext,
    node: AggNode,
    query: tantivy.Query,
    inline: dict[str, Any] | None,
    counts: dict[Any, int],
    raw: dict[Any, Any],
    bucket_filter: Callable[[Any], tantivy.Query],
) -> list[list[Any]]:
    """``[key, count, subs]`` per bucket in key order (subs read from ``raw`` when inlined)."""
    keys = sorted(counts)
    if not node.children:
        return [[k, counts[k], {}] for k in keys]
    read = inline_reader(ctx, node.children) if inline is not None else None
    rows = []
    for k in keys:
        bucket = raw.get(k)
        subs = read(bucket) if read is not None and bucket is not None else None
        if subs is None:
            subs = ctx.collect_subs(node, query, bucket_filter(k))
        rows.append([k, counts[k], subs])
    return rows


def _aggregate(
    ctx: ShardContext, query: tantivy.Query, name: str, request: dict[str, Any], inline: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``ctx.aggregate`` of the histogram ``request`` with the inlined children; when they make tantivy
    exceed its bucket limit (a ``terms`` child of many values in many buckets), without them (they then
    run per bucket). Returns the result and the inline spec it was computed with."""
    try:
        return ctx.aggregate(query, {name: {**request, **_with_aggs(with_weight(inline, ctx.weighted))}})[name], inline
    except (IllegalArgument, bucket_limit.TooManyBuckets):
        if not inline:
            raise
        return ctx.aggregate(query, {name: {**request, **_with_aggs(with_weight(None, ctx.weighted))}})[name], None


def _resolve_bounds(
    bounds: tuple[Any, Any] | None, now_millis: int, time_zone: str | None, formats: tuple[str, ...]
) -> list[int | None] | None:
    if bounds is None:
        return None
    return [
        resolve_date(bounds[0], now_millis, time_zone, formats=formats),
        resolve_date(bounds[1], now_millis, time_zone, formats=formats),
    ]


_MAX_BUCKET_INDEX = 2.0**62  # well inside tantivy's i64 bucket position


def _bucket_index(value: float, offset: float, interval: float) -> int:
    """``floor((value - offset) / interval)``; an interval so small that the quotient overflows is a 400."""
    quotient = (value - offset) / interval
    if not math.isfinite(quotient):
        raise IllegalArgument(f"[interval] [{interval}] is too small: the bucket of value [{value}] overflows")
    return math.floor(quotient)


def _num(value: Any, default: float) -> float:
    return default if value is None else float(value)


def _within(key: float, bounds: list[Any] | tuple[Any, Any]) -> bool:
    lo, hi = bounds
    return (lo is None or key >= float(lo) - 1e-9 * abs(float(lo))) and (hi is None or key <= float(hi))


def _float_text(value: Any) -> str:
    return repr(float(value))


_KEY_ASC = (Order("_key", True),)


def _order_key(
    orders: tuple[Order, ...], key: Any, count: int, rendered: dict[str, Any], node: AggNode
) -> tuple[Any, ...]:
    parts: list[Any] = []
    for order in orders:
        if order.path == "_count":
            parts.append(sort_key_for(count, order.asc))
        elif order.path == "_key":
            parts.append(sort_key_for(key, order.asc))
        else:
            parts.append(sort_key_for(bucket_metric(node.children, rendered, order.path), order.asc))
    return tuple(parts)


KINDS = {"histogram": HistogramKind(), "date_histogram": DateHistogramKind()}
