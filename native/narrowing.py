"""Narrowing a numeric sort: the top k by a numeric field from a range of that field's top values.

tantivy orders by a fast field by reading the field for every matching document (5 ms at 1M documents),
where Lucene skips non-competitive documents with its points index. We get most of that back by guessing a
threshold ``T`` that some small multiple of k matching documents exceed (from a histogram of the field,
computed once per searcher: 1,000 buckets between its min and max) and ordering only
``query AND field >= T`` (``<= T`` ascending), through the inverted index (0.3 ms for 8k documents over
few values) or the fast column, whichever ``native.selectivity`` finds cheaper.

The guess never decides the answer: when the restricted search returns k hits and the k-th one's value is
itself beyond ``T``, every document outside the range (all of whose values are short of ``T``) sorts after
it, so those k hits and their ties are exactly the top k. Otherwise the caller orders the full query.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import tantivy

from native.fields import INTEGRAL_COLUMNS, NUMERIC_COLUMNS, FieldInfo

# Below this many documents ordering the whole shard is already cheap.
MIN_DOCS = 50_000
# The range aims at this many times k documents (assuming the query and the sort field independent).
OVERSHOOT = 8
# A range expected to hold more than this many times what it aims at is not worth it.
TOO_WIDE = 20
# Histogram buckets between the field's min and max, computed once per (searcher, field).
BUCKETS = 1000
_CACHED = 64  # entries of ~2,000 numbers each: ~4 MB at most

_lock = threading.Lock()
Histogram = tuple[list[float], list[int], float]  # bucket starts ascending, their doc counts, bucket width
# (id of the searcher, field) → its histogram; (…, bucket start, width) → a bucket's own histogram. A recycled
# id only makes a worse guess (see above).
_histograms: OrderedDict[tuple[Any, ...], Histogram] = OrderedDict()


def threshold(
    searcher: tantivy.Searcher,
    schema: tantivy.Schema,
    info: FieldInfo,
    *,
    descending: bool,
    want: int,
    matching: int,
    after: float | None = None,
) -> int | float | None:
    """A value of ``info`` that about ``OVERSHOOT * want`` of ``matching`` documents pass (are ``>=`` it when
    ``descending``, ``<=`` otherwise), counting only from ``after`` on (``search_after``), or None when
    narrowing is not worth it or not possible."""
    if info.tantivy_type not in NUMERIC_COLUMNS or info.es_type == "boolean":
        return None
    num_docs = int(searcher.num_docs)
    fraction = OVERSHOOT * want / max(matching, 1)
    if num_docs < MIN_DOCS or fraction > 0.25:
        return None
    histogram = field_histogram(searcher, info)
    if histogram is None:
        return None
    target = fraction * num_docs  # documents of the whole shard the range should hold

    def walk(hist: Histogram, target: float, refine: bool) -> tuple[float | None, int]:
        """The bucket edge where ``target`` documents past the cursor are reached, and the count seen."""
        starts, counts, width = hist
        seen = 0
        for i in range(len(starts) - 1, -1, -1) if descending else range(len(starts)):
            lo, hi = starts[i], starts[i] + width
            if after is not None and (lo > after if descending else hi <= after):
                continue  # wholly on the side the cursor has paged past
            holds_cursor = after is not None and lo <= after < hi
            if refine and (holds_cursor or counts[i] > TOO_WIDE * max(target - seen, 1.0)):
                finer = sub_histogram(searcher, schema, info, lo, width)
                if finer is not None:  # a dense bucket, or the cursor's: its own 1,000 buckets
                    value, counted = walk(finer, target - seen, refine=False)
                    if value is not None:
                        return value, seen + counted
                    seen += counted
                    continue
            if holds_cursor:
                continue  # its documents lie on both sides of the cursor: none counted
            seen += counts[i]
            if seen >= target:
                return (lo if descending else hi), seen
        return None, seen

    value, seen = walk(histogram, target, refine=True)
    if value is None or not math.isfinite(value) or seen > TOO_WIDE * target:
        return None  # (a skewed field's buckets can hold far more than asked: the range would cost more)
    if info.tantivy_type in INTEGRAL_COLUMNS:  # round outwards: the range only grows
        return math.floor(value) if descending else math.ceil(value)
    return value


def range_from(
    schema: tantivy.Schema,
    info: FieldInfo,
    bound: int | float,
    *,
    descending: bool,
    after: int | float | None = None,
    after_inclusive: bool = False,
    inverted: bool = True,
) -> tantivy.Query:
    """``field >= bound`` (descending) or ``field <= bound``, and up to ``after`` when given (``search_after``),
    through the inverted index, or the fast column when not ``inverted`` (``native.selectivity`` tells which
    is cheaper: the terms of a millisecond timestamp's range cost more than its sorted column)."""
    at_edge = after_inclusive or after is None  # an unbounded side is inclusive for tantivy
    name, kind = info.tantivy_name, info.tantivy_type
    if descending:
        return tantivy.Query.range_query(schema, name, kind, bound, after, True, at_edge, use_inverted_index=inverted)
    return tantivy.Query.range_query(schema, name, kind, after, bound, at_edge, True, use_inverted_index=inverted)


def beyond(cutoff: Any, bound: int | float, *, descending: bool) -> bool:
    """Whether the k-th hit's sort value ``cutoff`` is within the range: then the narrowed top k is exact."""
    if cutoff is None or (isinstance(cutoff, float) and math.isnan(cutoff)):
        return False
    return bool(cutoff >= bound if descending else cutoff <= bound)


def field_histogram(searcher: tantivy.Searcher, info: FieldInfo) -> Histogram | None:
    """``BUCKETS`` buckets between the field's min and max over the whole shard."""
    everything = tantivy.Query.all_query()

    def compute() -> Histogram | None:
        stats = searcher.aggregate(everything, {"s": {"stats": {"field": info.tantivy_name}}})["s"]
        low, high = stats.get("min"), stats.get("max")
        if low is None or high is None or not high > low:
            return None
        return _histogram(searcher, everything, info.tantivy_name, float(low), (float(high) - float(low)) / BUCKETS)

    return _cached((id(searcher), info.tantivy_name), compute)


def sub_histogram(
    searcher: tantivy.Searcher, schema: tantivy.Schema, info: FieldInfo, low: float, width: float
) -> Histogram | None:
    """``BUCKETS`` buckets within one bucket ``[low, low + width)`` of the field's histogram."""

    def compute() -> Histogram | None:
        lower, upper = _typed(info, low, math.floor), _typed(info, low + width, math.ceil)
        inside = tantivy.Query.range_query(schema, info.tantivy_name, info.tantivy_type, lower, upper, True, False)
        return _histogram(searcher, inside, info.tantivy_name, low, width / BUCKETS)

    return _cached((id(searcher), info.tantivy_name, low, width), compute)


def _typed(info: FieldInfo, value: float, rounding: Callable[[float], int]) -> int | float:
    return rounding(value) if info.tantivy_type in INTEGRAL_COLUMNS else value


def _histogram(
    searcher: tantivy.Searcher, query: tantivy.Query, field: str, low: float, width: float
) -> Histogram | None:
    if not width > 0:
        return None
    request = {"h": {"histogram": {"field": field, "interval": width, "offset": low % width}}}
    buckets = searcher.aggregate(query, request)["h"]["buckets"]
    starts = [float(b["key"]) for b in buckets]
    return (starts, [int(b["doc_count"]) for b in buckets], width) if starts else None


def _cached(key: tuple[Any, ...], compute: Callable[[], Histogram | None]) -> Histogram | None:
    with _lock:
        found = _histograms.get(key)
        if found is not None:
            _histograms.move_to_end(key)
            return found
    try:
        histogram = compute()
    except (ValueError, KeyError, TypeError, ZeroDivisionError):
        histogram = None
    if histogram is not None:
        with _lock:
            _histograms[key] = histogram
            while len(_histograms) > _CACHED:
                _histograms.popitem(last=False)
    return histogram
