"""``native.can_match`` on a real on-disk shard: a query is said to match nothing only when it provably does,
which is checked here against the shard's own search of the same query."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from native.analysis import Analysis
from native.can_match import can_match
from native.mapping import Mapping
from native.query import compile_query, parse_query
from native.search import count_matches
from native.shard import Shard
from tests.native.conftest import write_in_segments

MAPPING = Mapping({"properties": {"n": {"type": "long"}, "x": {"type": "double"}, "at": {"type": "date"},
                                  "k": {"type": "keyword"}, "off": {"type": "long", "index": False},
                                  "obj": {"properties": {"a": {"type": "long"}}}}})  # fmt: skip
NOW = 1_710_510_300_000


@pytest.fixture(scope="module")
def shard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shard]:
    docs = [{"n": 10 + i, "x": i / 4, "at": f"2020-02-{1 + i:02d}", "k": f"k{i % 3}", "off": i} for i in range(20)]
    docs.append({"obj": {"a": 5}})
    s = Shard(str(tmp_path_factory.mktemp("canmatch")), MAPPING, Analysis.from_settings({}), index_name="logs-1")
    s.set_index_aliases(frozenset({"logs"}))
    write_in_segments(s, docs, 7, [str(i) for i in range(len(docs))])
    yield s
    s.close()


CASES: list[tuple[dict[str, Any], bool]] = [
    ({"range": {"n": {"gte": 29}}}, True),
    ({"range": {"n": {"gt": 29}}}, False),
    ({"range": {"n": {"lt": 10}}}, False),
    ({"range": {"n": {"lte": 10}}}, True),
    ({"range": {"n": {"gte": 15, "lte": 12}}}, False),
    ({"range": {"x": {"gt": 4.75}}}, False),
    ({"range": {"x": {"gte": 4.75}}}, True),
    ({"range": {"at": {"gte": "2020-02-20"}}}, True),
    ({"range": {"at": {"gt": "2020-02-20"}}}, False),
    ({"range": {"at": {"gte": "2020-02-21||/d"}}}, False),
    ({"range": {"at": {"lt": "2020-02"}}}, False),
    ({"range": {"at": {"lte": "2020-02"}}}, True),  # rounded up to the month's end
    ({"range": {"off": {"gte": 1000}}}, True),  # not indexed: never bounded
    ({"range": {"obj.a": {"gte": 6}}}, False),
    ({"range": {"missing": {"gte": 1}}}, False),
    ({"range": {"n.sub": {"gte": 1}}}, True),  # under a mapped field: left to the query phase
    ({"term": {"missing": "v"}}, False),
    ({"term": {"k": "zzz"}}, True),  # a term is not bounded (only ranges are)
    ({"exists": {"field": "missing"}}, False),
    ({"exists": {"field": "obj"}}, True),
    ({"term": {"_index": "logs-1"}}, True),
    ({"term": {"_index": "logs"}}, True),
    ({"term": {"_index": "logs-2"}}, False),
    ({"prefix": {"_index": "log"}}, True),
    ({"wildcard": {"_index": "*-2"}}, False),
    ({"match_none": {}}, False),
    ({"bool": {"filter": [{"term": {"k": "k1"}}, {"range": {"n": {"gt": 100}}}]}}, False),
    ({"bool": {"must_not": [{"range": {"n": {"gt": 0}}}]}}, True),
    ({"bool": {"should": [{"range": {"n": {"gt": 100}}}, {"match_none": {}}]}}, False),
    ({"bool": {"should": [{"range": {"n": {"gt": 100}}}, {"term": {"k": "k1"}}]}}, True),
    ({"bool": {"must": [{"match_all": {}}], "should": [{"match_none": {}}]}}, True),
    ({"constant_score": {"filter": {"range": {"n": {"gt": 100}}}}}, False),
    ({"dis_max": {"queries": [{"match_none": {}}, {"range": {"n": {"gt": 100}}}]}}, False),
    ({"boosting": {"positive": {"match_none": {}}, "negative": {"match_all": {}}, "negative_boost": 0.5}}, False),
    ({"range": {"n": {"gte": "abc"}}}, True),  # a bad value: the query phase reports it
]


@pytest.mark.parametrize(("query", "expected"), CASES)
def test_can_match_agrees_with_the_search(shard: Shard, query: dict[str, Any], expected: bool) -> None:
    _, searcher, compiled = shard.view(0)
    ast = parse_query(query)
    assert can_match(ast, compiled, searcher, NOW) is expected
    if not expected:  # never a shard that would have matched something
        assert count_matches(searcher, compile_query(ast, compiled, now_millis=NOW, searcher=searcher)) == 0
