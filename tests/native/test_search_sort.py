"""Shard-level sorting and search_after against an independent Python ordering (ties and missing values)."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest
import tantivy

from native.analysis import Analysis
from native.mapping import Mapping
from native.search import SortField, query_shard
from native.shard import Shard
from native.writes import WriteOp

MAPPING = Mapping({"properties": {"a": {"type": "long"}, "b": {"type": "double"}, "k": {"type": "keyword"}}})


@pytest.fixture(scope="module")
def shard(tmp_path_factory: pytest.TempPathFactory) -> tuple[Shard, list[dict[str, Any]]]:
    rng = random.Random(3)
    docs = []
    for i in range(600):
        doc: dict[str, Any] = {"id": i}
        if rng.random() > 0.1:
            doc["a"] = rng.randint(0, 20)  # many ties
        if rng.random() > 0.1:
            doc["b"] = round(rng.uniform(0, 5), 1)
        doc["k"] = rng.choice("abcdef")
        docs.append(doc)
    shard = Shard(str(tmp_path_factory.mktemp("sort")), MAPPING, Analysis.from_settings({}))
    for start in range(0, 600, 150):  # several segments
        shard.write([WriteOp("index", str(d["id"]), orjson.dumps(d)) for d in docs[start : start + 150]])
        shard.refresh()
    return shard, docs


def _expected(docs: list[dict[str, Any]], sort: list[SortField]) -> list[tuple[Any, ...]]:
    rows = [tuple(d.get(s.field) for s in sort) for d in docs]
    for pos in reversed(range(len(sort))):
        present = [r for r in rows if r[pos] is not None]
        missing = [r for r in rows if r[pos] is None]
        present.sort(key=lambda r, p=pos: r[p], reverse=sort[pos].reverse)
        rows = present + missing  # ES default: missing last in both directions
    return rows


@pytest.mark.parametrize(
    "sort",
    [
        [SortField("a", "desc")],
        [SortField("a", "asc"), SortField("b", "desc")],
        [SortField("b", "desc"), SortField("a", "asc")],
        [SortField("k", "asc"), SortField("a", "desc"), SortField("b", "asc")],
    ],
)
def test_paging_with_search_after_visits_the_python_order(shard, sort):
    s, docs = shard
    _gen, searcher = s.acquire_searcher()
    expected = [r for r in _expected(docs, sort)]
    seen: list[tuple[Any, ...]] = []
    after = None
    for _ in range(100):
        result = query_shard(searcher, s.compiled, tantivy.Query.all_query(), limit=37, sort=sort, search_after=after)
        assert result.total == 600
        if not result.hits:
            break
        seen += [h.sort_values for h in result.hits]
        if any(v is None for v in result.hits[-1].sort_values):
            break  # ES cannot page past a missing value with search_after either
        after = list(result.hits[-1].sort_values)
    # search_after skips rows equal to the previous page's last key, as ES does: compare the distinct keys
    assert sorted(set(seen), key=expected.index) == list(dict.fromkeys(expected[: expected.index(seen[-1]) + 1]))
    first_page = query_shard(searcher, s.compiled, tantivy.Query.all_query(), limit=50, sort=sort)
    assert [h.sort_values for h in first_page.hits] == expected[:50]
