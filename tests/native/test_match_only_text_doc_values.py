"""``match_only_text`` with ``index: false`` and doc values (ES 9): ``prefix``/``wildcard``/``regexp`` match each
whole value (not its tokens), case-sensitively unless ``case_insensitive``; the expected ids are worked out with
Python's ``re``/``fnmatch`` over the same values. Other queries still report the field as not indexed."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from native.analysis import Analysis
from native.fields import ID_FIELD
from native.mapping import Mapping
from native.query.compile import compile_query
from native.query.errors import QueryShardError
from native.query.parse import parse_query
from native.shard import Shard
from native.writes import WriteOp

VALUES: dict[str, str | list[str]] = {
    "1": "London Heathrow Airport",
    "2": "London Gatwick Airport",
    "3": "Singapore Changi Airport",
    "4": "New York JFK Airport",
    "5": ["london city", "Paris CDG"],
}


def _values(doc_id: str) -> list[str]:
    v = VALUES[doc_id]
    return v if isinstance(v, list) else [v]


def _expected(match: Any) -> set[str]:
    return {doc_id for doc_id in VALUES if any(match(v) for v in _values(doc_id))}


@pytest.fixture(params=["low", "high"])
def shard(tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    spec = {"type": "match_only_text", "index": False, "doc_values": {"cardinality": request.param}}
    shard = Shard(str(tmp_path), Mapping({"properties": {"t": spec}}), Analysis.from_settings({}, index_settings=None))
    for result in shard.write([WriteOp("index", k, orjson.dumps({"t": v})) for k, v in VALUES.items()]):
        assert result.error is None, result.error
    shard.refresh(force=True)
    yield shard
    shard.close()


def _ids(shard: Shard, query: dict[str, Any]) -> set[str]:
    _, searcher = shard.acquire_searcher()
    compiled = compile_query(parse_query(query), shard.compiled, now_millis=0, searcher=searcher)
    return {searcher.doc(addr)[ID_FIELD][0] for _, addr in searcher.search(compiled, 100).hits}


@pytest.mark.parametrize(
    ("query", "match"),
    [
        ({"prefix": {"t": "London"}}, lambda v: v.startswith("London")),
        ({"prefix": {"t": {"value": "london", "case_insensitive": True}}}, lambda v: v.lower().startswith("london")),
        ({"prefix": {"t": "Heathrow"}}, lambda v: v.startswith("Heathrow")),  # a token's prefix: no match
        ({"wildcard": {"t": "*Changi*"}}, lambda v: fnmatch.fnmatchcase(v, "*Changi*")),
        (
            {"wildcard": {"t": {"value": "*CHANGI*", "case_insensitive": True}}},
            lambda v: fnmatch.fnmatchcase(v.lower(), "*changi*"),
        ),
        ({"wildcard": {"t": "? York*"}}, lambda v: fnmatch.fnmatchcase(v, "? York*")),
        ({"regexp": {"t": "London.*"}}, lambda v: re.fullmatch("London.*", v) is not None),
        (
            {"regexp": {"t": {"value": "london.*", "case_insensitive": True}}},
            lambda v: re.fullmatch("london.*", v, re.I) is not None,
        ),
        ({"regexp": {"t": "Paris [A-Z]{3}"}}, lambda v: re.fullmatch("Paris [A-Z]{3}", v) is not None),
    ],
)
def test_pattern_queries_match_whole_values(shard: Shard, query: dict[str, Any], match: Any) -> None:
    assert _ids(shard, query) == _expected(match)


def test_pattern_queries_are_not_vacuous(shard: Shard) -> None:
    assert _ids(shard, {"prefix": {"t": "London"}}) == {"1", "2"}
    assert _ids(shard, {"wildcard": {"t": {"value": "*changi*", "case_insensitive": True}}}) == {"3"}
    assert _ids(shard, {"exists": {"field": "t"}}) == set(VALUES)


@pytest.mark.parametrize("query", [{"match": {"t": "London"}}, {"term": {"t": "London"}}])
def test_other_queries_are_refused(shard: Shard, query: dict[str, Any]) -> None:
    with pytest.raises(QueryShardError, match=r"Cannot search on field \[t\] since it is not indexed"):
        _ids(shard, query)
