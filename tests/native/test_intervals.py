"""``intervals`` on a real shard: ordering, max_gaps, combinations and every filter, with the expected
documents worked out by hand from the token positions, and Lucene's interval score."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from native.analysis import Analysis
from native.errors import BadRequest
from native.fields import ID_FIELD
from native.mapping import Mapping
from native.query import compile_query, parse_query
from native.shard import Shard
from native.writes import WriteOp

DOCS: dict[str, Any] = {
    "1": "a b c d",
    "2": "b a x c",
    "3": "a x x b",
    "4": "c d a",
    "5": ["a b", "c"],  # "c" is 100 positions after "b" (position_increment_gap)
    "6": "the big wolf",
    "7": "the big bad wolf",
}


@pytest.fixture(scope="module")
def shard(tmp_path_factory: pytest.TempPathFactory) -> Shard:
    s = Shard(str(tmp_path_factory.mktemp("intervals")), Mapping({"properties": {"t": {"type": "text"}}}),
              Analysis.from_settings({}))  # fmt: skip
    s.write([WriteOp("index", doc_id, orjson.dumps({"t": text})) for doc_id, text in DOCS.items()])
    s.refresh(force=True)
    return s


def search(s: Shard, rule: dict[str, Any]) -> dict[str, float]:
    _, searcher = s.acquire_searcher()
    query = compile_query(parse_query({"intervals": {"t": rule}}), s.compiled, now_millis=0, searcher=searcher)
    result = searcher.search(query, 100)
    return {searcher.doc(addr)[ID_FIELD][0]: score for score, addr in result.hits}


def m(text: str, **opts: Any) -> dict[str, Any]:
    return {"match": {"query": text, **opts}}


@pytest.mark.parametrize(("rule", "expected"), [
    (m("a b", ordered=True), {"1", "3", "5"}),
    (m("a b", ordered=True, max_gaps=1), {"1", "5"}),
    (m("a b", max_gaps=0), {"1", "2", "5"}),
    ({"all_of": {"intervals": [m("a"), m("c")], "ordered": True, "max_gaps": 1}}, {"1", "2"}),
    ({"all_of": {"intervals": [m("a"), m("c")]}}, {"1", "2", "4", "5"}),
    ({"all_of": {"intervals": [m("a"), m("d")], "filter": {"containing": m("c")}}}, {"1"}),
    ({"all_of": {"intervals": [m("a"), m("d")], "filter": {"not_containing": m("c")}}}, {"4"}),
    (m("c", filter={"before": m("d")}), {"1", "4"}),
    (m("c", filter={"after": m("d")}), set()),
    ({"all_of": {"intervals": [m("a"), m("c")], "ordered": True, "filter": {"overlapping": m("b")}}}, {"1", "5"}),
    ({"all_of": {"intervals": [m("a"), m("c")], "ordered": True, "filter": {"not_overlapping": m("b")}}}, {"2"}),
    (m("b", filter={"contained_by": {"all_of": {"intervals": [m("a"), m("c")], "ordered": True}}}), {"1", "5"}),
    (m("b", filter={"not_contained_by": {"all_of": {"intervals": [m("a"), m("c")], "ordered": True}}}),
     {"2", "3"}),
    ({"any_of": {"intervals": [m("x"), m("bad")]}}, {"2", "3", "7"}),
    ({"prefix": {"prefix": "wol"}}, {"6", "7"}),
    ({"fuzzy": {"term": "wilf"}}, {"6", "7"}),
])  # fmt: skip
def test_interval_rules(shard: Shard, rule: dict[str, Any], expected: set[str]) -> None:
    assert set(search(shard, rule)) == expected


def test_interval_score_is_lucenes(shard: Shard) -> None:
    rule = {"all_of": {"intervals": [m("the"), {"any_of": {"intervals": [m("big"), m("big bad")]}}, m("wolf")],
                       "ordered": True, "max_gaps": 0}}  # fmt: skip
    got = search(shard, rule)
    # one interval each: width 3 (the big wolf) and 4 (the big bad wolf); score = f / (f + 1), f = 1 / width
    assert got == pytest.approx({"6": (1 / 3) / (1 / 3 + 1), "7": (1 / 4) / (1 / 4 + 1)})


def test_interval_errors(shard: Shard) -> None:
    with pytest.raises(BadRequest):
        parse_query({"intervals": {"t": {"match": {"query": "a", "filter": {"script": {"source": "x"}}}}}})
    with pytest.raises(BadRequest):
        parse_query({"intervals": {"t": {"match": {"query": "a", "filter": {"nearby": m("b")}}}}})
    with pytest.raises(BadRequest):
        parse_query({"intervals": {"t": {"all_of": {"intervals": []}}}})
