"""Narrowed numeric sorts (``native.narrowing``) return exactly what ordering every match returns.

The shard here is small, so ``MIN_DOCS`` is lowered to make every eligible sort try a narrowed range; each
answer is compared with the same search with narrowing off and with a plain-Python ordering.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
import tantivy

from native import narrowing, search
from native.analysis import Analysis
from native.mapping import Mapping
from native.search import SortField, query_shard
from native.shard import Shard
from tests.native.conftest import write_in_segments

MAPPING = Mapping({"properties": {"a": {"type": "long"}, "b": {"type": "double"}, "t": {"type": "date"},
                                  "c": {"type": "long"}, "k": {"type": "keyword"}}})  # fmt: skip
N = 3000


@pytest.fixture(scope="module")
def shard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Shard, list[dict[str, Any]]]]:
    rng = random.Random(8)
    docs = []
    for i in range(N):
        doc: dict[str, Any] = {"id": i, "k": rng.choice("abc")}
        if rng.random() > 0.05:
            doc["a"] = rng.randint(0, 400)  # ties
        if rng.random() > 0.05:
            doc["b"] = rng.uniform(-1000, 1000)
        if "a" in doc and rng.random() < 0.05:  # multi-valued: the sort uses one value, the range tests any
            doc["a"] = [doc["a"], rng.randint(0, 400)]
        doc["t"] = 1_700_000_000_000 + rng.randint(0, 10**9)
        doc["c"] = int(rng.lognormvariate(8, 2))  # skewed: most values in the first of the histogram's buckets
        docs.append(doc)
    s = Shard(str(tmp_path_factory.mktemp("narrow")), MAPPING, Analysis.from_settings({}))
    write_in_segments(s, docs, 700, [str(d["id"]) for d in docs])
    yield s, docs
    s.close()


@pytest.fixture
def narrowing_on(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Narrowing tried on this small shard; records whether each try held."""
    monkeypatch.setattr(narrowing, "MIN_DOCS", 0)
    outcomes: list[bool] = []
    real = search._narrowed

    def spy(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        outcomes.append(result is not None)
        return result

    monkeypatch.setattr(search, "_narrowed", spy)
    return outcomes


def _without_narrowing(searcher: tantivy.Searcher, s: Shard, query: tantivy.Query, limit: int,
                       sort: list[SortField], matches_all: bool) -> list[Any]:  # fmt: skip
    saved = narrowing.MIN_DOCS
    narrowing.MIN_DOCS = 10**12
    try:
        result = query_shard(searcher, s.compiled, query, limit=limit, sort=sort, matches_all=matches_all)
        return [(h.sort_values, h.segment_ord, h.doc) for h in result.hits] + [result.total]
    finally:
        narrowing.MIN_DOCS = saved


def _python_top(docs: list[dict[str, Any]], field: str, descending: bool, limit: int, keep: Any) -> list[Any]:
    values = []
    for d in docs:
        if not keep(d) or field not in d:
            continue
        v = d[field]
        values.append(max(v) if isinstance(v, list) and descending else min(v) if isinstance(v, list) else v)
    return sorted(values, reverse=descending)[:limit]


@pytest.mark.parametrize("field", ["a", "b", "t", "c"])
@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("limit", [1, 10, 100])
@pytest.mark.parametrize("filtered", [False, True])
def test_narrowed_sorts_equal_full_ordering(
    shard: tuple[Shard, list[dict[str, Any]]], narrowing_on: list[bool], field: str, descending: bool,
    limit: int, filtered: bool,
) -> None:  # fmt: skip
    s, docs = shard
    _, searcher = s.acquire_searcher()
    sort = [SortField(field, "desc" if descending else "asc"), SortField("_doc", "asc")]
    if filtered:
        query = tantivy.Query.term_query(s.compiled.schema, s.compiled.field("k").tantivy_name, "a")  # type: ignore[union-attr]
        keep = lambda d: d["k"] == "a"  # noqa: E731
    else:
        query, keep = tantivy.Query.all_query(), (lambda d: True)
    got = query_shard(searcher, s.compiled, query, limit=limit, sort=sort, matches_all=not filtered)
    if field == "a":  # multi-valued: keys read from _source (min ascending, max descending, as ES), no narrowing
        assert [h.sort_values[0] for h in got.hits] == _python_top(docs, field, descending, limit, keep)
        assert got.total == sum(1 for d in docs if keep(d))
        return
    assert narrowing_on, "narrowing was not tried"
    if limit <= 10:  # a small page of a broad query: the guessed range held it
        assert narrowing_on == [True]
    full = _without_narrowing(searcher, s, query, limit, sort, not filtered)
    assert [(h.sort_values, h.segment_ord, h.doc) for h in got.hits] + [got.total] == full
    assert got.total == sum(1 for d in docs if keep(d))
    # single-valued: the first sort value is the Python ordering's (doubles to the last bit)
    expected = _python_top(docs, field, descending, limit, keep)
    assert [h.sort_values[0] for h in got.hits] == pytest.approx(expected, rel=1e-15)


def test_narrowing_holds_on_a_broad_query(shard: tuple[Shard, list[dict[str, Any]]], narrowing_on: list[bool]) -> None:
    s, _ = shard
    _, searcher = s.acquire_searcher()
    query_shard(searcher, s.compiled, tantivy.Query.all_query(), limit=10, sort=[SortField("t", "desc")],
                matches_all=True)  # fmt: skip
    assert narrowing_on == [True]  # the guessed range held the top 10: no full ordering was needed


# Single-valued fields: with a multi-valued one, a document whose other value falls past the cursor takes a
# slot of the page and is dropped after (pages come out short, with or without a narrowed range).
@pytest.mark.parametrize("field", ["b", "t", "c"])
@pytest.mark.parametrize("descending", [True, False])
def test_narrowed_search_after_pages_equal_full_ordering(
    shard: tuple[Shard, list[dict[str, Any]]], narrowing_on: list[bool], field: str, descending: bool
) -> None:
    s, _ = shard
    _, searcher = s.acquire_searcher()
    sort = [SortField(field, "desc" if descending else "asc"), SortField("_doc", "asc")]
    query = tantivy.Query.all_query()

    def pages(narrow: bool) -> list[Any]:
        saved = narrowing.MIN_DOCS
        narrowing.MIN_DOCS = 0 if narrow else 10**12
        try:
            out, after = [], None
            for _ in range(6):
                result = query_shard(searcher, s.compiled, query, limit=25, sort=sort, search_after=after,
                                     matches_all=True)  # fmt: skip
                out.append(([h.sort_values for h in result.hits], result.total))
                if not result.hits or any(v is None for v in result.hits[-1].sort_values):
                    break
                after = list(result.hits[-1].sort_values)
            return out
        finally:
            narrowing.MIN_DOCS = saved

    assert pages(True) == pages(False)
    assert True in narrowing_on  # some page came from a narrowed range
