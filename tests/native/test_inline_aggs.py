"""Children computed inside the parent histogram's tantivy call (``native.aggs.inline``) equal the per-bucket
path: the same shard partials, for terms, percentiles and stats-family children of histograms and
date_histograms, over a multi-segment shard with multi-valued and missing values."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

import pytest

from native import aggs as native_aggs
from native.aggs import execute, filters, histograms, inline, sketches, terms
from native.aggs.buckets import TooManyBuckets
from native.analysis import Analysis
from native.mapping import Mapping
from native.query import compile_query, parse_query
from native.shard import Shard
from tests.native.conftest import write_in_segments

MAPPING = Mapping({"properties": {"ts": {"type": "date"}, "status": {"type": "long"}, "tag": {"type": "keyword"},
                                  "price": {"type": "double"}, "latency": {"type": "long"},
                                  "duration": {"type": "double"}, "sizes": {"type": "long"}}})  # fmt: skip
N = 20_000
T0 = 1_700_000_000_000
H = 3_600_000


@pytest.fixture(scope="module")
def shard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shard]:
    rng = random.Random(5)
    s = Shard(str(tmp_path_factory.mktemp("inline")), MAPPING, Analysis.from_settings({}))
    docs = []
    for _ in range(N):
        doc: dict[str, Any] = {"ts": T0 + rng.randint(0, 48 * H), "status": rng.choice([200, 200, 200, 404, 500])}
        if rng.random() < 0.9:
            doc["tag"] = rng.choice("abcdefgh") if rng.random() < 0.9 else [rng.choice("abc"), rng.choice("xyz")]
        if rng.random() < 0.95:
            doc["price"] = round(rng.uniform(0, 100), 2)
        doc["latency"] = int(rng.lognormvariate(4, 1))  # repeated small integers: the exact path
        doc["duration"] = rng.lognormvariate(4, 1)  # spread out: tantivy's percentile grid
        if rng.random() < 0.9:  # multi-valued: a document counts once per range holding any of its values
            doc["sizes"] = [rng.randint(0, 100) for _ in range(rng.randint(1, 3))]
        docs.append(doc)
    write_in_segments(s, docs, 3_000, [str(i) for i in range(N)])
    yield s
    s.close()


CHILDREN = {
    "tags": {"terms": {"field": "tag", "size": 3}},
    "statuses": {"terms": {"field": "status", "order": {"_key": "desc"}, "size": 2}},
    "lat": {"percentiles": {"field": "latency", "percents": [50, 95, 99]}},
    "dur": {"percentiles": {"field": "duration", "percents": [1, 50, 99.9]}},
    "price": {"extended_stats": {"field": "price"}},
    "n": {"value_count": {"field": "status"}},
}
PARENTS = {
    "hourly": {"date_histogram": {"field": "ts", "fixed_interval": "1h"}},
    "daily": {"date_histogram": {"field": "ts", "calendar_interval": "day", "time_zone": "+02:00"}},
    "by_price": {"histogram": {"field": "price", "interval": 25}},
    "by_tag": {"terms": {"field": "tag", "size": 4}},
    "by_status": {"terms": {"field": "status", "order": {"_key": "asc"}}},
}


def _run(s: Shard, body: dict[str, Any], query: dict[str, Any] | None) -> tuple[dict[str, Any], int]:
    """The finalized aggregations and how many buckets ran their children the per-bucket way."""
    _, searcher, compiled = s.view()
    q = compile_query(parse_query(query), compiled, now_millis=0, searcher=searcher)
    calls = 0
    real = execute.ShardContext.collect_subs

    def counting(self: Any, node: Any, query: Any, bucket_filter: Any) -> Any:
        nonlocal calls
        calls += node.name == "p"
        return real(self, node, query, bucket_filter)

    execute.ShardContext.collect_subs = counting  # type: ignore[method-assign]
    try:
        tree = native_aggs.parse_aggs(body)
        part = native_aggs.execute_shard(tree, searcher, q, compiled, now_millis=0)
        return native_aggs.finalize(tree, native_aggs.merge_partials(tree, [part])), calls
    finally:
        execute.ShardContext.collect_subs = real  # type: ignore[method-assign]


def _per_bucket(s: Shard, body: dict[str, Any], query: dict[str, Any] | None) -> dict[str, Any]:
    """The same aggregations with every child run per bucket."""
    saved = inline.inline_spec
    try:
        for module in (histograms, terms):
            module.inline_spec = lambda ctx, children: None  # type: ignore[attr-defined]
        return _run(s, body, query)[0]
    finally:
        for module in (histograms, terms):
            module.inline_spec = saved  # type: ignore[attr-defined]


def _close(a: Any, b: Any) -> bool:
    """Equal, floats to 1e-9 relative (sums may add in another order)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


@pytest.mark.parametrize("parent", list(PARENTS))
@pytest.mark.parametrize("query", [None, {"range": {"status": {"gte": 404}}}])
def test_inlined_children_equal_the_per_bucket_path(shard: Shard, parent: str, query: dict[str, Any] | None) -> None:
    body = {"p": {**PARENTS[parent], "aggs": CHILDREN}}
    got, per_bucket_calls = _run(shard, body, query)
    assert _close(got, _per_bucket(shard, body, query))
    buckets = got["p"]["buckets"]
    small = sum(1 for b in buckets if b["doc_count"] <= sketches.EXACT_VALUES_LIMIT)
    # buckets too small for the percentile grid (or whose values it cannot resolve) ran per bucket (a terms
    # parent computes the children of its shard_size candidates, more than it returns)
    assert buckets and small <= per_bucket_calls
    assert per_bucket_calls <= len(buckets) or "terms" in PARENTS[parent]
    no_percentiles = {"p": {**PARENTS[parent], "aggs": {k: v for k, v in CHILDREN.items() if k not in ("lat", "dur")}}}
    got, per_bucket_calls = _run(shard, no_percentiles, query)
    assert _close(got, _per_bucket(shard, no_percentiles, query)) and per_bucket_calls == 0


def test_large_buckets_read_percentiles_from_the_grid(shard: Shard) -> None:
    body = {"p": {**PARENTS["daily"], "aggs": {"dur": CHILDREN["dur"]}}}
    got, per_bucket_calls = _run(shard, body, None)
    assert _close(got, _per_bucket(shard, body, None))
    assert per_bucket_calls < len(got["p"]["buckets"])  # a ~10k-document day took tantivy's grid


def test_a_bucket_limit_error_falls_back_to_the_per_bucket_path(shard: Shard, monkeypatch: pytest.MonkeyPatch) -> None:
    """tantivy refuses a histogram whose inlined terms would make too many buckets: the children then run
    per bucket, with the same answer."""
    real = execute.ShardContext.aggregate

    def refuse_nested(self: Any, query: Any, spec: dict[str, Any]) -> dict[str, Any]:
        if any("aggs" in request for request in spec.values()):
            raise TooManyBuckets(65536)
        return real(self, query, spec)

    body = {"p": {**PARENTS["hourly"], "aggs": {"tags": CHILDREN["tags"]}}}
    expected = _per_bucket(shard, body, None)
    monkeypatch.setattr(execute.ShardContext, "aggregate", refuse_nested)
    got, calls = _run(shard, body, None)
    assert got == expected and calls == len(got["p"]["buckets"])


def test_children_tantivy_cannot_give_exactly_run_per_bucket(shard: Shard) -> None:
    """A child with its own children, or ``missing``, is not inlined; small buckets' percentiles read
    their values."""
    for children in ({"tags": {"terms": {"field": "tag"}, "aggs": {"p": {"avg": {"field": "price"}}}}},
                     {"tags": {"terms": {"field": "tag", "missing": "none"}}},
                     {"lat": {"percentiles": {"field": "latency"}}}):  # fmt: skip
        body = {"p": {"date_histogram": {"field": "ts", "fixed_interval": "10m"}, "aggs": children}}
        got, _ = _run(shard, body, None)
        assert _close(got, _per_bucket(shard, body, None))


RANGES = {
    "long, fractional bounds, unsorted": {"range": {"field": "latency", "ranges": [
        {"from": 100.5, "to": 200}, {"to": 50.2}, {"from": 200}, {"from": 50.2, "to": 100.5}]}},
    "double, keyed, with gaps": {"range": {"field": "price", "keyed": True, "ranges": [
        {"key": "cheap", "to": 10}, {"key": "mid", "from": 20, "to": 60.5}, {"key": "dear", "from": 90}]}},
    "multi-valued long": {"range": {"field": "sizes", "ranges": [{"to": 10}, {"from": 10, "to": 50}, {"from": 50}]}},
    "date_range": {"date_range": {"field": "ts", "format": "epoch_millis", "ranges": [
        {"to": str(T0 + 10 * H)}, {"from": str(T0 + 10 * H), "to": str(T0 + 20 * H)}]}},
    "overlapping (per range)": {"range": {"field": "latency", "ranges": [{"to": 100}, {"from": 50, "to": 150}]}},
}


@pytest.mark.parametrize("name", list(RANGES))
@pytest.mark.parametrize("with_children", [False, True])
def test_range_aggregations_in_one_pass_equal_the_per_range_path(
    shard: Shard, monkeypatch: pytest.MonkeyPatch, name: str, with_children: bool
) -> None:
    children = {k: v for k, v in CHILDREN.items() if k not in ("lat", "dur")}  # (percentiles: see above)
    body = {"p": {**RANGES[name], **({"aggs": children} if with_children else {})}}
    got, _ = _run(shard, body, {"range": {"status": {"gte": 404}}})
    monkeypatch.setattr(filters, "_one_pass", lambda *args: None)
    assert _close(got, _per_bucket(shard, body, {"range": {"status": {"gte": 404}}}))
