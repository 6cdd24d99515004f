"""Query DSL parsing: AST shapes, ES error types and reasons, limits."""

from __future__ import annotations

import time
from typing import Any

import pytest

from native.errors import IllegalArgument, ParsingError, QuidditchError, ScriptingDisabled, XContentParseError
from native.query import ast as A
from native.query import parse_query
from native.query.msm import resolve_msm


def test_empty_is_match_all() -> None:
    assert parse_query(None) == A.MatchAll()
    assert parse_query({}) == A.MatchAll()


def test_term_forms() -> None:
    assert parse_query({"term": {"f": "v"}}) == A.Term("f", "v")
    assert parse_query({"term": {"f": {"value": 3, "boost": 2, "case_insensitive": True}}}) == A.Term(
        "f", 3, boost=2.0, case_insensitive=True
    )


def test_match_forms() -> None:
    q = parse_query({"match": {"t": {"query": "a b", "operator": "AND", "fuzziness": "auto", "boost": 2}}})
    assert q == A.Match("t", "a b", operator="and", fuzziness="AUTO", boost=2.0)


def test_range_bounds() -> None:
    q = parse_query({"range": {"n": {"gt": 1, "lte": 5, "format": "yyyy", "time_zone": "+01:00"}}})
    assert q == A.Range("n", 1, 5, False, True, format="yyyy", time_zone="+01:00")
    q = parse_query({"range": {"n": {"from": 1, "to": 2, "include_lower": False}}})
    assert q == A.Range("n", 1, 2, False, True)


def test_bool_object_or_list() -> None:
    q = parse_query({"bool": {"must": {"term": {"a": 1}}, "filter": [{"term": {"b": 2}}], "minimum_should_match": 1}})
    assert q == A.Bool(must=(A.Term("a", 1),), filter=(A.Term("b", 2),), minimum_should_match="1")


def test_multi_match_fields() -> None:
    q = parse_query({"multi_match": {"query": "x", "fields": ["title^3", "body"], "type": "most_fields"}})
    assert isinstance(q, A.MultiField)
    assert q.fields == (A.FieldBoost("title", 3.0), A.FieldBoost("body", 1.0))
    assert q.combine == "sum"


@pytest.mark.parametrize(
    "body,exc,reason",
    [
        ({"foo": {}}, ParsingError, "unknown query [foo]"),
        ({"term": "x"}, ParsingError, "[term] query malformed, no start_object after query name"),
        (
            {"match": {"a": "x", "b": "y"}},
            ParsingError,
            "[match] query doesn't support multiple fields, found [a] and [b]",
        ),
        ({"match": {"a": {"query": "x", "foo": 1}}}, ParsingError, "[match] query does not support [foo]"),
        ({"range": {"n": {"gte": 1, "bar": 2}}}, ParsingError, "[range] query does not support [bar]"),
        ({"bool": {"must": [], "bogus": 1}}, ParsingError, "[bool] query does not support [bogus]"),
        ({"match_all": {"x": 1}}, ParsingError, "[match_all] query does not support [x]"),
        (
            {"term": {"a": 1}, "match": {"b": 2}},
            ParsingError,
            "[term] malformed query, expected [END_OBJECT] but found [FIELD_NAME]",
        ),
        ({"bool": {"must": [{}]}}, ParsingError, "query malformed, empty clause found"),
        ({"exists": {}}, IllegalArgument, "[exists] must be provided with a [field]"),
        ({"script": {"script": "1"}}, ScriptingDisabled, "cannot execute [inline] scripts"),
        (
            {"match": {"a": {"query": "x", "boost": "high"}}},
            XContentParseError,
            "[match] failed to parse field [boost]",
        ),
        (
            {"multi_match": {"query": "x", "type": "nope"}},
            ParsingError,
            "failed to parse [multi_match] query type [nope]. unknown type.",
        ),
        ({"terms": {"f": "notalist"}}, ParsingError, "[terms] query does not support [f]"),
    ],
)
def test_parse_errors(body: dict[str, Any], exc: type[QuidditchError], reason: str) -> None:
    with pytest.raises(exc) as info:
        parse_query(body)
    assert info.value.reason == reason
    assert info.value.status == 400


def test_regex_length_limit() -> None:
    with pytest.raises(IllegalArgument) as info:
        parse_query({"regexp": {"f": "a" * 1001}})
    assert info.value.reason == (
        "The length of regex [1001] used in the Regexp Query request has exceeded the allowed maximum of [1000]. "
        "This maximum can be set by changing the [index.max_regex_length] index level setting."
    )
    parse_query({"regexp": {"f": "a" * 1000}})


def test_terms_count_limit() -> None:
    with pytest.raises(IllegalArgument, match=r"The number of terms \[65537\] used in the Terms Query"):
        parse_query({"terms": {"f": list(range(65537))}})
    with pytest.raises(IllegalArgument, match=r"\[index.max_terms_count\]"):
        parse_query({"terms": {"f": [1, 2, 3]}}, max_terms_count=2)


def nested_bool(depth: int) -> dict[str, Any]:
    query: dict[str, Any] = {"term": {"f": "x"}}
    for _ in range(depth - 1):
        query = {"bool": {"must": [query]}}
    return query


DEPTH_REASON = (
    "The nested depth of the query exceeds the maximum nested depth for queries set in "
    "[indices.query.bool.max_nested_depth]"
)


def test_depth_limit() -> None:
    parse_query(nested_bool(30))
    with pytest.raises(IllegalArgument) as info:
        parse_query(nested_bool(31))
    assert info.value.reason == DEPTH_REASON
    parse_query(nested_bool(31), max_nested_depth=31)


def test_very_deep_json_rejected_without_recursion_error() -> None:
    start = time.monotonic()
    with pytest.raises(IllegalArgument) as info:
        parse_query(nested_bool(5000))
    assert info.value.reason == DEPTH_REASON
    assert time.monotonic() - start < 1.0


def test_clause_count_limit() -> None:
    ok = {"bool": {"should": [{"term": {"f": i}} for i in range(4096)]}}
    parse_query(ok)
    too_many = {"bool": {"should": [{"term": {"f": i}} for i in range(4097)]}}
    with pytest.raises(IllegalArgument) as info:
        parse_query(too_many)
    assert info.value.reason == "Query contains too many nested clauses; maxClauseCount is set to 4096"
    with pytest.raises(IllegalArgument, match="maxClauseCount is set to 10"):
        parse_query({"bool": {"should": [{"term": {"f": i}} for i in range(11)]}}, max_clause_count=10)


def test_query_string_limits() -> None:
    with pytest.raises(IllegalArgument, match="max_nested_depth"):
        parse_query({"query_string": {"query": "(" * 40 + "a" + ")" * 40}})
    with pytest.raises(IllegalArgument, match="maxClauseCount"):
        parse_query({"query_string": {"query": " OR ".join(f"w{i}" for i in range(5000))}})
    # simple_query_string never fails on syntax, even absurd nesting
    parse_query({"simple_query_string": {"query": "(" * 5000 + "a"}})


def test_query_string_shapes() -> None:
    q = parse_query({"query_string": {"query": "title:fox AND n:[1 TO *}"}})
    assert q == A.Bool(
        must=(
            A.Match("title", "fox"),
            A.Range("n", "1", None, True, False),
        )
    )
    q = parse_query({"query_string": {"query": "_exists_:user"}})
    assert q == A.Exists("user")
    with pytest.raises(ParsingError, match="Failed to parse query"):
        parse_query({"query_string": {"query": "title:(fox"}})


@pytest.mark.parametrize(
    "spec,n,expected",
    [
        ("2", 5, 2),
        ("-1", 5, 4),
        ("75%", 4, 3),
        ("-25%", 4, 3),
        ("3<90%", 3, 3),
        ("3<90%", 10, 9),
        ("2<-25% 9<-3", 2, 2),
        ("2<-25% 9<-3", 8, 6),
        ("2<-25% 9<-3", 12, 9),
        ("7", 3, 7),
    ],
)
def test_minimum_should_match(spec: str, n: int, expected: int) -> None:
    assert resolve_msm(spec, n) == expected


def test_query_string_deep_unary_chain_rejected() -> None:
    with pytest.raises(IllegalArgument, match="max_nested_depth"):
        parse_query({"query_string": {"query": "NOT " * 3000 + "b"}})
    nested = "(" * 25 + "a" + ")" * 25
    parse_query({"query_string": {"query": nested}})
