"""The fast aggregation paths give exactly what the general paths give, and are the ones taken.

- ``terms`` on a keyword field from tantivy's terms aggregation (vs the term-dictionary walk);
- ``cardinality`` of a keyword field from tantivy's terms aggregation (vs the term-dictionary walk);
- ``percentiles`` from tantivy's sketch on a rank grid (vs the exact values);
- ``date_histogram`` keys rendered in bulk (vs one at a time).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tantivy

from native.aggs import execute_shard, finalize, merge_partials, parse_aggs, sketches, terms
from native.aggs.histograms import render_date, render_dates
from tests.native.test_aggs import NOW, T0, Shard, shard_of

PATHS = ("tag", "tags", "n", "price", "ts")


class Guarded:
    """A searcher that fails on the methods a fast path must not call."""

    def __init__(self, searcher: tantivy.Searcher, *forbidden: str) -> None:
        self._searcher = searcher
        self._forbidden = set(forbidden)

    def __getattr__(self, name: str) -> Any:
        if name in self._forbidden:
            raise AssertionError(f"slow path taken: {name}")
        return getattr(self._searcher, name)


def _docs(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    # a few heavy keys, then a long tail with many tied counts
    keys = [f"k{i:03d}" for i in range(300)]
    weights = [1000 if i < 3 else (40 if i < 30 else rng.choice((1, 2, 3, 5))) for i in range(300)]
    docs = []
    for i in range(n):
        doc: dict[str, Any] = {"id": f"d{i}", "n": rng.randrange(1000), "price": rng.lognormvariate(4, 1.0),
                               "ts": T0 + rng.randrange(7 * 86_400_000)}  # fmt: skip
        if rng.random() < 0.95:
            doc["tag"] = rng.choices(keys, weights)[0]
        doc["tags"] = rng.choices(keys[:40], k=rng.randrange(4))  # multi-valued, with repeats
        docs.append(doc)
    return docs


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Shard], list[Shard]]:
    root: Path = tmp_path_factory.mktemp("perfpaths")
    docs = _docs(12_000, 7)
    parts: list[list[dict[str, Any]]] = [[] for _ in range(5)]
    for doc in docs:
        parts[shard_of(doc["id"])].append(doc)
    one = [Shard(root / "one", docs, PATHS)]
    five = [Shard(root / f"s{i}", part, PATHS) for i, part in enumerate(parts)]
    return one, five


def _run(shards: list[Shard], body: dict[str, Any], query: tantivy.Query | None = None) -> dict[str, Any]:
    tree = parse_aggs(body)
    parts = [
        execute_shard(tree, s.searcher, query or tantivy.Query.all_query(), s.resolver, now_millis=NOW) for s in shards
    ]
    return finalize(tree, merge_partials(tree, parts))


TERMS_CASES: list[dict[str, Any]] = [
    {"field": "tag"},
    {"field": "tag", "size": 1},
    {"field": "tag", "size": 3, "show_term_doc_count_error": True},
    {"field": "tag", "size": 5, "shard_size": 5, "show_term_doc_count_error": True},
    {"field": "tag", "size": 40, "shard_size": 45},
    {"field": "tag", "size": 500},
    {"field": "tag", "size": 4, "order": {"_key": "asc"}},
    {"field": "tag", "size": 4, "order": {"_key": "desc"}},
    {"field": "tag", "size": 6, "order": [{"_count": "desc"}, {"_key": "desc"}]},
    {"field": "tags", "size": 7, "show_term_doc_count_error": True},
    {"field": "tags", "size": 100},
]


@pytest.mark.parametrize("params", TERMS_CASES, ids=lambda p: str(sorted(p.items())))
@pytest.mark.parametrize("layout", ["one", "five"])
def test_terms_fast_path_equals_term_dictionary_walk(
    layouts: tuple[list[Shard], list[Shard]], params: dict[str, Any], layout: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shards = layouts[0] if layout == "one" else layouts[1]
    body = {"t": {"terms": params, "aggs": {"m": {"max": {"field": "n"}}}}}
    narrow = tantivy.Query.range_query(shards[0].schema, "f_n", tantivy.FieldType.Integer, 100, 700)
    fast = [_run(shards, body), _run(shards, body, narrow)]
    monkeypatch.setattr(terms, "_tantivy_top", lambda *a: None)
    slow = [_run(shards, body), _run(shards, body, narrow)]
    assert fast == slow


def test_terms_fast_path_is_taken_for_the_default_request(layouts: tuple[list[Shard], list[Shard]]) -> None:
    shard = layouts[0][0]
    tree = parse_aggs({"t": {"terms": {"field": "tag", "size": 3}}})
    guarded = Guarded(shard.searcher, "terms_with_prefix")
    part = execute_shard(tree, guarded, tantivy.Query.all_query(), shard.resolver, now_millis=NOW)  # type: ignore[arg-type]
    result = finalize(tree, merge_partials(tree, [part]))["t"]
    counts = [b["doc_count"] for b in result["buckets"]]
    assert len(counts) == 3 and counts == sorted(counts, reverse=True) and result["sum_other_doc_count"] > 0


@pytest.mark.parametrize("field", ["tag", "tags"])
@pytest.mark.parametrize("threshold", [10, 3000])
def test_cardinality_keyword_fast_path_equals_term_dictionary_walk(
    layouts: tuple[list[Shard], list[Shard]], field: str, threshold: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {"c": {"cardinality": {"field": field, "precision_threshold": threshold}}}
    one, five = layouts
    guarded = Guarded(one[0].searcher, "terms_with_prefix")
    tree = parse_aggs(body)
    part = execute_shard(tree, guarded, tantivy.Query.all_query(), one[0].resolver, now_millis=NOW)  # type: ignore[arg-type]
    fast = [finalize(tree, part), _run(five, body)]
    monkeypatch.setattr(sketches, "_distinct_keywords", lambda *a: None)
    slow = [_run(one, body), _run(five, body)]
    assert fast == slow
    exact = len({d for s in one for d, _ in s.searcher.terms_with_prefix(f"f_{field}", "")})
    if threshold > exact:
        assert fast[0]["c"]["value"] == exact


def test_percentiles_use_the_tantivy_sketch_and_stay_within_a_tenth_of_a_rank(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    prices = rng.lognormal(5, 1.2, 30_000)
    docs = [{"id": f"p{i}", "price": float(v)} for i, v in enumerate(prices)]
    shard = Shard(tmp_path / "p", docs, ("price",))
    percents = [0.1, 1, 5, 25, 50, 75, 95, 99, 99.9]
    tree = parse_aggs({"p": {"percentiles": {"field": "price", "percents": percents}}})
    guarded = Guarded(shard.searcher, "fast_field_values")
    part = execute_shard(tree, guarded, tantivy.Query.all_query(), shard.resolver, now_millis=NOW)  # type: ignore[arg-type]
    values = finalize(tree, part)["p"]["values"]
    ordered = np.sort(prices)
    for key, value in values.items():
        assert abs(np.searchsorted(ordered, value) / ordered.size * 100 - float(key)) <= 0.1, (key, value)


def test_bulk_date_keys_render_like_single_keys() -> None:
    rng = random.Random(3)
    keys = [0, 1, 999, 1000, 951782400000, 253402300799999] + [rng.randrange(253402300799999) for _ in range(2000)]
    cases = [("strict_date_optional_time", None), ("strict_date_optional_time", "UTC"), ("date_optional_time", "Z"),
             ("yyyy-MM-dd", None), ("strict_date_optional_time", "+01:00")]  # fmt: skip
    for fmt, zone in cases:
        assert render_dates(keys[:300], fmt, zone) == [render_date(k, fmt, zone) for k in keys[:300]]
    fmt = "strict_date_optional_time"
    assert render_dates(keys, fmt, None) == [render_date(k, fmt, None) for k in keys]
    assert render_dates([-1, 5], fmt, None) == [render_date(-1, fmt, None), render_date(5, fmt, None)]


@pytest.mark.parametrize("order", [None, {"_key": "desc"}, {"_count": "desc"}])
def test_date_histogram_finalize_orders(layouts: tuple[list[Shard], list[Shard]], order: Any) -> None:
    params: dict[str, Any] = {"field": "ts", "fixed_interval": "6h"}
    if order is not None:
        params["order"] = order
    res = _run(layouts[1], {"h": {"date_histogram": params, "aggs": {"a": {"avg": {"field": "n"}}}}})["h"]["buckets"]
    docs = _docs(12_000, 7)
    width = 6 * 3_600_000
    expected: dict[int, list[int]] = {}
    for d in docs:
        expected.setdefault((d["ts"] - 0) // width * width, []).append(d["n"])
    keys = sorted(expected)
    if order == {"_key": "desc"}:
        keys.reverse()
    elif order == {"_count": "desc"}:
        keys.sort(key=lambda k: (-len(expected[k]), k))
    assert [b["key"] for b in res] == keys
    for b in res:
        assert b["key_as_string"] == render_date(b["key"], "strict_date_optional_time", None)
        assert b["doc_count"] == len(expected[b["key"]])
        assert b["a"]["value"] == pytest.approx(sum(expected[b["key"]]) / len(expected[b["key"]]))


def test_merge_of_one_partial_is_that_partial(layouts: tuple[list[Shard], list[Shard]]) -> None:
    tree = parse_aggs({"t": {"terms": {"field": "tag"}}})
    part = layouts[0][0].run(tree)
    assert merge_partials(tree, [part]) is part
