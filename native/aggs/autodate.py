"""``auto_date_histogram``: a date histogram whose interval is chosen so that there are at most ``buckets``
buckets, with ES's roundings and inner intervals::

    second 1, 5, 10, 30 | minute 1, 5, 10, 30 | hour 1, 3, 12 | day 1, 7 | month 1, 3 | year 1, 5, 10, 20, 50, 100

Per shard the documents' dates (every value, a document counting once per bucket) are rounded with the
finest rounding (not below ``minimum_interval``) whose bucket count between the shard's min and max stays
within ``buckets x`` its largest inner interval. Merging re-rounds the finer partial to the coarser rounding
(calendar units nest, so bucket counts and sub-aggregation partials merge exactly). Finalize does what ES's
reduce does: pick the rounding for the overall min/max, fill empty buckets, coarsen while there are too many,
then merge runs of consecutive buckets by the smallest inner interval that fits; ``interval`` reports
the result (``7d``).

Partial: ``{"r": rounding index, "b": [[key, doc_count, subs], ...] sorted by key}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import tantivy

from native.aggs.docvalues import doc_values
from native.aggs.execute import ShardContext, convert_key, date_format
from native.aggs.partials import Partial, empty_level, finalize_level, merge_level
from native.aggs.readers import _check_keys, _field, _int, _missing_value, _text, _time_zone
from native.aggs.spec import AggNode
from native.doc_count import DOC_COUNT_FIELD
from native.errors import IllegalArgument
from native.fields import SEQ_NO_FIELD

# (calendar unit, abbreviation, inner intervals)
ROUNDINGS: tuple[tuple[str, str, tuple[int, ...]], ...] = (
    ("second", "s", (1, 5, 10, 30)),
    ("minute", "m", (1, 5, 10, 30)),
    ("hour", "h", (1, 3, 12)),
    ("day", "d", (1, 7)),
    ("month", "M", (1, 3)),
    ("year", "y", (1, 5, 10, 20, 50, 100)),
)
_UNIT_INDEX = {unit: i for i, (unit, _, _) in enumerate(ROUNDINGS)}


@dataclass(frozen=True)
class AutoDateHistogramSpec:
    field: str
    buckets: int = 10
    minimum_interval: int = 0  # index into ROUNDINGS
    format: str | None = None
    time_zone: str | None = None
    missing: Any = None


def parse_auto_date_histogram(name: str, kind: str, body: dict[str, Any]) -> AutoDateHistogramSpec:
    _check_keys(kind, body, {"field", "buckets", "minimum_interval", "format", "time_zone", "missing"})
    buckets = _int(kind, "buckets", body.get("buckets", 10))
    if buckets <= 0:
        raise IllegalArgument(f"[buckets] must be greater than 0. Found [{buckets}] in [{name}]")
    minimum = body.get("minimum_interval")
    index = 0
    if minimum is not None:
        if minimum not in _UNIT_INDEX:
            raise IllegalArgument(
                f"minimum_interval must be one of [second, minute, hour, day, month, year] but was [{minimum}]"
            )
        index = _UNIT_INDEX[minimum]
    return AutoDateHistogramSpec(
        _field(kind, body),
        buckets,
        index,
        _text(kind, "format", body.get("format")),
        _time_zone(kind, body.get("time_zone")),
        _missing_value(kind, body.get("missing")),
    )


def _round(millis: int, idx: int, tz: str | None) -> int:
    from native.dates import round_calendar

    return int(round_calendar(int(millis), ROUNDINGS[idx][0], tz))


def _next(millis: int, idx: int, tz: str | None) -> int:
    from native.dates import next_calendar

    return int(next_calendar(int(millis), ROUNDINGS[idx][0], tz))


def _too_many(lo: int, hi: int, idx: int, tz: str | None, limit: int) -> bool:
    """Whether more than ``limit`` buckets of rounding ``idx`` lie between ``lo`` and ``hi``."""
    key, count = _round(lo, idx, tz), 0
    while key <= hi:
        count += 1
        if count > limit:
            return True
        key = _next(key, idx, tz)
    return False


def appropriate_rounding(lo: int, hi: int, idx: int, tz: str | None, target: int) -> int:
    """The first rounding from ``idx`` whose buckets between ``lo`` and ``hi`` fit ``target x`` its largest
    inner interval (ES's ``getAppropriateRounding``)."""
    while idx < len(ROUNDINGS) - 1 and _too_many(lo, hi, idx, tz, target * ROUNDINGS[idx][2][-1]):
        idx += 1
    return idx


def _reround(node: AggNode, rows: list[list[Any]], idx: int, tz: str | None) -> list[list[Any]]:
    merged: dict[int, list[Any]] = {}
    for key, count, subs in rows:
        new_key = _round(key, idx, tz)
        if new_key in merged:
            merged[new_key][1] += count
            merged[new_key][2] = merge_level(node.children, merged[new_key][2], subs)
        else:
            merged[new_key] = [new_key, count, subs]
    return [merged[k] for k in sorted(merged)]


def _fill(rows: list[list[Any]], idx: int, tz: str | None) -> list[list[Any]]:
    if not rows:
        return rows
    present = {row[0]: row for row in rows}
    out, key = [], rows[0][0]
    while key <= rows[-1][0]:
        out.append(present.get(key, [key, 0, {}]))
        key = _next(key, idx, tz)
    return out


class AutoDateHistogramKind:
    def empty(self, node: AggNode) -> Partial:
        return {"r": node.params.minimum_interval, "b": []}

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: AutoDateHistogramSpec = node.params
        info = ctx.field(spec.field)
        if info is None:
            return self.empty(node)
        if info.tantivy_type in (tantivy.FieldType.Text, tantivy.FieldType.IpAddr):
            raise IllegalArgument(
                f"Field [{info.path}] of type [{info.es_type}] is not supported for aggregation [{node.kind}]"
            )
        missing = None if spec.missing is None else int(convert_key(info, spec.missing))
        docs: list[tuple[int, list[int]]] = []
        weights: dict[int, int] = {}  # seq_no → ``_doc_count`` (absent: 1)
        columns = [info.tantivy_name, SEQ_NO_FIELD, *([DOC_COUNT_FIELD] if ctx.weighted else [])]
        for row in doc_values(ctx, query, columns):
            seq = row.get(SEQ_NO_FIELD)
            values = [int(v) for v in row.get(info.tantivy_name, [])]
            if not values and missing is not None:
                values = [missing]
            if seq and values:
                docs.append((int(seq[0]), values))
                if row.get(DOC_COUNT_FIELD):
                    weights[int(seq[0])] = int(row[DOC_COUNT_FIELD][0])
        if not docs:
            return self.empty(node)
        lo = min(min(v) for _, v in docs)
        hi = max(max(v) for _, v in docs)
        idx = appropriate_rounding(lo, hi, spec.minimum_interval, spec.time_zone, spec.buckets)
        groups: dict[int, list[int]] = {}
        for seq_no, values in docs:
            for key in {_round(v, idx, spec.time_zone) for v in values}:
                groups.setdefault(key, []).append(seq_no)
        rows = []
        for key in sorted(groups):
            subs: dict[str, Any] = {}
            if node.children:
                flt = tantivy.Query.term_set_query(ctx.schema, SEQ_NO_FIELD, groups[key])
                subs = ctx.collect_subs(node, query, flt)
            rows.append([key, sum(weights.get(seq_no, 1) for seq_no in groups[key]), subs])
        return {"r": idx, "b": rows, "f": date_format(info, spec.format)}

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        tz = node.params.time_zone
        idx = max(a["r"], b["r"])
        rows = _reround(node, [*a["b"], *b["b"]], idx, tz)
        return {"r": idx, "b": rows, "f": a.get("f") or b.get("f")}

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        spec: AutoDateHistogramSpec = node.params
        tz, target = spec.time_zone, spec.buckets
        idx, rows = p["r"], p["b"]
        interval = 1
        if rows:
            best = appropriate_rounding(rows[0][0], rows[-1][0], idx, tz, target)
            if best != idx:
                idx, rows = best, _reround(node, rows, best, tz)
            rows = _fill(rows, idx, tz)
            while len(rows) > target * ROUNDINGS[idx][2][-1] and idx < len(ROUNDINGS) - 1:
                idx += 1
                rows = _fill(_reround(node, rows, idx, tz), idx, tz)
            if len(rows) > target:
                for inner in ROUNDINGS[idx][2]:
                    if math.ceil(len(rows) / inner) <= target:
                        interval = inner
                        rows = self._consecutive(node, rows, inner)
                        break
        fmt = p.get("f") or spec.format or "strict_date_optional_time"
        from native.aggs.histograms import render_date

        buckets = []
        for key, count, subs in rows:
            bucket = {"key_as_string": render_date(key, fmt, tz), "key": key, "doc_count": count}
            bucket.update(finalize_level(node.children, subs or empty_level(node.children)))
            buckets.append(bucket)
        return {"buckets": buckets, "interval": f"{interval}{ROUNDINGS[idx][1]}"}

    def _consecutive(self, node: AggNode, rows: list[list[Any]], inner: int) -> list[list[Any]]:
        out = []
        for start in range(0, len(rows), inner):
            group = rows[start : start + inner]
            count = sum(r[1] for r in group)
            subs: dict[str, Any] = {}
            for r in group:
                subs = merge_level(node.children, subs, r[2]) if subs else r[2]
            out.append([group[0][0], count, subs])
        return out


KINDS = {"auto_date_histogram": AutoDateHistogramKind()}
