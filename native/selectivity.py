"""Which of tantivy's two range queries answers a numeric or date range faster: the fast column or the terms.

tantivy answers ``field in [lo, hi]`` either by scanning the field's fast column for every document of the
shard (``range_query``'s default) or by walking the inverted index's terms in ``[lo, hi]`` and their
postings (``use_inverted_index=True``), as Lucene answers it from its points. The scan costs the same for
any range (7 ms at 1M documents with scattered values, 0.5 ms when the column is sorted and tantivy skips
most of it); the term walk costs what the range holds (0.3 ms for 10k documents over 127 distinct values,
200 ms for every document of a millisecond timestamp). So a range picks the terms when what it holds,
estimated from a histogram of the field, costs less than even the cheapest scan, and the column otherwise.

The choice never changes an answer, only its cost, so the histograms may be a little stale: each shard keeps
the last one per field and computes a new one only when the shard's document count moved by more than
``REFRESH_GROWTH`` (or ``REFRESH_AGE_S`` passed since), counting every document added since as if it fell in
the range (the pessimistic side: the column).
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import OrderedDict

import tantivy

from native import narrowing
from native.fields import INTEGRAL_COLUMNS, NUMERIC_COLUMNS, FieldInfo

# Measured on the bench's 1M-document shard (µs): the term walk costs about this per distinct value in
# range and per matching document; the cheapest column scan (a sorted column) about this per document.
TERM_COST_US = 0.2
POSTING_COST_US = 0.02
SCAN_COST_US = 0.0005
# Below this many documents the scan is cheap anyway (and a histogram is not worth computing).
MIN_DOCS = narrowing.MIN_DOCS
REFRESH_GROWTH = 0.01
REFRESH_AGE_S = 30.0
_CACHED = 64

Histogram = narrowing.Histogram
# (owner id, field) → (histogram, num_docs it counted, time computed, edge-bucket refinements)
_Entry = tuple[Histogram, int, float, dict[float, Histogram | None]]
_lock = threading.Lock()
_recent: OrderedDict[tuple[int, str], _Entry] = OrderedDict()


def prefer_inverted(
    searcher: tantivy.Searcher | None,
    schema: tantivy.Schema,
    info: FieldInfo,
    lower: int | float | None,
    upper: int | float | None,
    owner: object,
) -> bool:
    """Whether ``lower <= info <= upper`` (None: unbounded) should walk the inverted index rather than scan
    the fast column of ``searcher``'s shard; ``owner`` identifies the shard (its tantivy schema object)."""
    if searcher is None or info.tantivy_type not in NUMERIC_COLUMNS:
        return False
    if info.es_type == "boolean" or (lower is None and upper is None):
        return False
    num_docs = int(searcher.num_docs)
    if num_docs < MIN_DOCS:
        return False
    entry = _entry(searcher, info, owner, num_docs)
    if entry is None:
        return False
    histogram, counted, _, _ = entry
    budget = SCAN_COST_US * num_docs
    unseen = max(num_docs - counted, 0)  # added since the histogram: assume all of them in range

    def cost(docs: float) -> float:
        terms = docs
        if info.tantivy_type in INTEGRAL_COLUMNS and lower is not None and upper is not None:
            terms = min(docs, float(upper) - float(lower) + 1)
        return TERM_COST_US * terms + POSTING_COST_US * docs

    inside, edges = _overlap(histogram, lower, upper)
    if cost(inside + sum(count for _, count in edges) + unseen) < budget:
        return True
    if cost(inside + unseen) >= budget:
        return False
    # The partly covered edge buckets decide: count them at a finer grain.
    refined = inside + unseen
    for start, count in edges:
        finer = _refinement(searcher, schema, info, entry, start)
        if finer is None:
            refined += count
        else:
            inner, inner_edges = _overlap(finer, lower, upper)
            refined += inner + sum(c for _, c in inner_edges)
        if cost(refined) >= budget:
            return False
    return True


def _overlap(
    histogram: Histogram, lower: int | float | None, upper: int | float | None
) -> tuple[int, list[tuple[float, int]]]:
    """Documents of buckets wholly inside the range, and (start, count) of those it covers only in part
    (at most the first and the last bucket it meets)."""
    starts, counts, width = histogram
    first = 0 if lower is None else bisect.bisect_right(starts, lower - width)  # (start + width > lower)
    stop = len(starts) if upper is None else bisect.bisect_right(starts, upper)  # (start <= upper)
    if first >= stop:
        return 0, []
    edges: list[tuple[float, int]] = []
    for i in sorted({first, stop - 1}):
        start = starts[i]
        if ((lower is not None and start < lower) or (upper is not None and start + width > upper)) and counts[i]:
            edges.append((start, counts[i]))
    return sum(counts[first:stop]) - sum(count for _, count in edges), edges


def _entry(searcher: tantivy.Searcher, info: FieldInfo, owner: object, num_docs: int) -> _Entry | None:
    key = (id(owner), info.tantivy_name)
    now = time.monotonic()
    with _lock:
        entry = _recent.get(key)
        if entry is not None:
            _recent.move_to_end(key)
            _, counted, at, _ = entry
            moved = abs(num_docs - counted) > REFRESH_GROWTH * max(counted, 1)
            if not moved and (num_docs == counted or now - at < REFRESH_AGE_S):
                return entry
    histogram = narrowing.field_histogram(searcher, info)
    if histogram is None:
        return None
    fresh: _Entry = (histogram, num_docs, now, {})
    with _lock:
        _recent[key] = fresh
        while len(_recent) > _CACHED:
            _recent.popitem(last=False)
    return fresh


def _refinement(
    searcher: tantivy.Searcher, schema: tantivy.Schema, info: FieldInfo, entry: _Entry, start: float
) -> Histogram | None:
    refinements = entry[3]
    if start not in refinements:
        refinements[start] = narrowing.sub_histogram(searcher, schema, info, start, entry[0][2])
    return refinements[start]
