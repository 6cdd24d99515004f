"""Sorts whose first key has few values: the documents tied with the k-th one are searched for by the
remaining keys (``native.search._tie_order``) instead of read whole, with the same answer as reading them
whole and as plain Python."""

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

MAPPING = Mapping({"properties": {"status": {"type": "long"}, "ts": {"type": "date"}, "k": {"type": "keyword"},
                                  "x": {"type": "double"}, "name": {"type": "keyword"}}})  # fmt: skip
N = 3000


@pytest.fixture(scope="module")
def shard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Shard, list[dict[str, Any]]]]:
    rng = random.Random(4)
    docs = []
    for _ in range(N):
        doc: dict[str, Any] = {"status": rng.choice([200, 200, 404, 500]), "k": rng.choice("ab"),
                               "ts": 1_700_000_000_000 + rng.randint(0, 5_000)}  # fmt: skip
        if rng.random() < 0.9:
            doc["x"] = rng.choice([1.5, 2.5, 3.5])
        if rng.random() < 0.95:  # 300 names, a few documents with two
            doc["name"] = f"n{rng.randint(0, 299):03d}"
            if rng.random() < 0.03:
                doc["name"] = [doc["name"], f"n{rng.randint(0, 299):03d}"]
        docs.append(doc)
    s = Shard(str(tmp_path_factory.mktemp("ties")), MAPPING, Analysis.from_settings({}))
    write_in_segments(s, docs, 800, [str(i) for i in range(N)])
    yield s, docs
    s.close()


def _hits(s: Shard, sort: list[SortField], limit: int, whole: bool) -> list[tuple[Any, ...]]:
    saved = search.TIES_READ_WHOLE
    search.TIES_READ_WHOLE = 10**9 if whole else 0
    try:
        _, searcher, compiled = s.view()
        result = query_shard(searcher, compiled, tantivy.Query.all_query(), limit=limit, sort=sort, matches_all=True)
        return [(h.sort_values, h.tiebreak) for h in result.hits] + [result.total]
    finally:
        search.TIES_READ_WHOLE = saved


@pytest.mark.parametrize(
    "sort",
    [
        [SortField("status", "desc")],
        [SortField("status", "asc"), SortField("ts", "desc")],
        [SortField("k", "asc"), SortField("status", "desc"), SortField("ts", "asc")],
        [SortField("x", "desc"), SortField("ts", "asc")],  # missing values last: ties among the missing too
        [SortField("x", "asc", missing="_first")],  # not eligible for tantivy's ordering: the general path
    ],
    ids=lambda sort: "-".join(f"{s.field}:{s.order}" for s in sort),
)
@pytest.mark.parametrize("limit", [1, 10, 500, 2900])
def test_many_ties_give_what_reading_them_whole_gives(
    shard: tuple[Shard, list[dict[str, Any]]], sort: list[SortField], limit: int
) -> None:
    s, docs = shard
    got = _hits(s, sort, limit, whole=False)
    assert got == _hits(s, sort, limit, whole=True)
    if sort[0].field == "status" and len(sort) == 1:  # one key: ties in index order (seq_no)
        expected = sorted(range(N), key=lambda i: (-docs[i]["status"], i))[:limit]
        assert [h[1] for h in got[:-1]] == expected


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("limit", [1, 10, 100, 2500])
@pytest.mark.parametrize("filtered", [False, True])
def test_keyword_sorts_from_their_first_terms_equal_full_ordering(
    shard: tuple[Shard, list[dict[str, Any]]], descending: bool, limit: int, filtered: bool
) -> None:
    s, _ = shard
    _, searcher, compiled = s.view()
    query = tantivy.Query.all_query()
    if filtered:
        query = tantivy.Query.term_query(compiled.schema, compiled.field("k").tantivy_name, "a")  # type: ignore[union-attr]
    sort = [SortField("name", "desc" if descending else "asc")]

    def run(narrow: bool) -> list[Any]:
        saved = narrowing.MIN_DOCS
        narrowing.MIN_DOCS = 0 if narrow else 10**12
        try:
            result = query_shard(searcher, compiled, query, limit=limit, sort=sort, matches_all=not filtered)
            return [(h.sort_values, h.tiebreak) for h in result.hits] + [result.total]
        finally:
            narrowing.MIN_DOCS = saved

    assert run(True) == run(False)


def test_a_small_keyword_page_is_narrowed(
    shard: tuple[Shard, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    s, _ = shard
    _, searcher, compiled = s.view()
    monkeypatch.setattr(narrowing, "MIN_DOCS", 0)
    held: list[bool] = []
    real = search._narrowed_keyword

    def spy(*args: Any) -> Any:
        result = real(*args)
        held.append(result is not None)
        return result

    monkeypatch.setattr(search, "_narrowed_keyword", spy)
    # "k" is single-valued ("name" has a few documents with two values: those sort by their smallest, from _source)
    query_shard(searcher, compiled, tantivy.Query.all_query(), limit=10, sort=[SortField("k")], matches_all=True)
    assert held == [True]


def test_many_ties_are_searched_for_not_read(
    shard: tuple[Shard, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    s, docs = shard
    _, searcher, compiled = s.view()
    orderings: list[int] = []
    real = search._top_by_first_key

    def spy(*args: Any, **kwargs: Any) -> Any:
        orderings.append(args[5])  # the limit
        return real(*args, **kwargs)

    monkeypatch.setattr(search, "_top_by_first_key", spy)
    query_shard(searcher, compiled, tantivy.Query.all_query(), limit=10, sort=[SortField("status", "desc")],
                matches_all=True)  # fmt: skip
    ties = sum(1 for d in docs if d["status"] == 500)
    assert ties > search.TIES_READ_WHOLE + 20
    assert orderings == [10, 10]  # the page, then the first 10 of the ~750 documents tied at 500
