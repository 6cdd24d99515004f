"""Compiled queries against a real tantivy index; expected hits computed in plain Python."""

from __future__ import annotations

import re
from typing import Any

import pytest

from native.errors import IllegalArgument, TooComplexToDeterminize
from native.query import compile_query, parse_query
from tests.native.conftest import BASE_TS, DAY, NOW, TinyIndex, analyze

ALL = {f"d{i}" for i in range(30)}


def toks(d: dict[str, Any]) -> list[str]:
    return analyze(d.get("title", ""))


def test_match_all_and_none(tiny_index: TinyIndex) -> None:
    assert tiny_index.search(None) == ALL
    assert tiny_index.search({}) == ALL
    assert tiny_index.search({"match_all": {}}) == ALL
    assert tiny_index.search({"match_none": {}}) == set()


def test_match_all_boost_scores(tiny_index: TinyIndex) -> None:
    scores = tiny_index.scored({"match_all": {"boost": 2.5}})
    assert set(scores.values()) == {2.5}


def test_match_or_and_operator(tiny_index: TinyIndex) -> None:
    t = tiny_index
    assert t.search({"match": {"title": "fox DOG"}}) == t.ids(lambda d: {"fox", "dog"} & set(toks(d)))
    expected_and = t.ids(lambda d: {"fox", "dog"} <= set(toks(d)))
    assert t.search({"match": {"title": {"query": "fox dog", "operator": "and"}}}) == expected_and


@pytest.mark.parametrize("msm,need", [("2", 2), ("-1", 2), ("67%", 2), ("100%", 3), ("2<67%", 2), ("1", 1)])
def test_match_minimum_should_match(tiny_index: TinyIndex, msm: str, need: int) -> None:
    t = tiny_index
    words = {"fox", "dog", "quick"}
    got = t.search({"match": {"title": {"query": "fox dog quick", "minimum_should_match": msm}}})
    assert got == t.ids(lambda d: len(words & set(toks(d))) >= need)


def test_match_fuzziness(tiny_index: TinyIndex) -> None:
    t = tiny_index
    # "elefant" is 2 edits from "elephant" (length 7 → AUTO allows 2)
    got = t.search({"match": {"title": {"query": "elefant", "fuzziness": "AUTO"}}})
    assert got == t.ids(lambda d: "elephant" in toks(d)) != set()
    assert t.search({"match": {"title": {"query": "elefant", "fuzziness": 1}}}) == set()
    # "fax" → "fox" with one edit; AUTO gives 1 edit for length 3
    assert t.search({"match": {"title": {"query": "fax", "fuzziness": "AUTO"}}}) == t.ids(lambda d: "fox" in toks(d))


def test_match_zero_terms_and_unmapped(tiny_index: TinyIndex) -> None:
    t = tiny_index
    assert t.search({"match": {"title": "..."}}) == set()
    assert t.search({"match": {"title": {"query": "...", "zero_terms_query": "all"}}}) == ALL
    assert t.search({"match": {"nope": "fox"}}) == set()
    assert t.search({"term": {"nope": "fox"}}) == set()


def test_match_on_numeric_and_keyword(tiny_index: TinyIndex) -> None:
    t = tiny_index
    assert t.search({"match": {"n": "7"}}) == {"d7"}
    assert t.search({"match": {"tag": "Alpha"}}) == t.ids(lambda d: d["tag"] == "Alpha")
    with pytest.raises(IllegalArgument, match='For input string: "abc"'):
        t.search({"match": {"n": "abc"}})
    assert t.search({"match": {"n": {"query": "abc", "lenient": True}}}) == set()


def test_match_phrase_and_prefix(tiny_index: TinyIndex) -> None:
    t = tiny_index

    def has_phrase(d: dict[str, Any], a: str, b: str) -> bool:
        words = toks(d)
        return any(words[i] == a and words[i + 1] == b for i in range(len(words) - 1))

    pairs = [(a, b) for d in t.docs for a, b in zip(toks(d), toks(d)[1:], strict=False)]
    a, b = pairs[0]
    assert t.search({"match_phrase": {"title": f"{a} {b}"}}) == t.ids(lambda d: has_phrase(d, a, b))
    got = t.search({"match_phrase_prefix": {"title": f"{a} {b[:2]}"}})
    assert got == t.ids(
        lambda d: any(x == a and y.startswith(b[:2]) for x, y in zip(toks(d), toks(d)[1:], strict=False))
    )
    assert t.search({"match_phrase": {"title": "fox"}}) == t.ids(lambda d: "fox" in toks(d))


def test_multi_match(tiny_index: TinyIndex) -> None:
    t = tiny_index
    got = t.search({"multi_match": {"query": "beta fox", "fields": ["title^2", "tag"]}})
    assert got == t.ids(lambda d: "fox" in toks(d) or d["tag"] == "beta fox" or False)
    got = t.search({"multi_match": {"query": "beta", "fields": ["title", "tag*"], "type": "most_fields"}})
    assert got == t.ids(lambda d: d["tag"].lower() == "beta")
    # numeric field in the list with a word query: lenient through the wildcard pattern
    assert t.search({"multi_match": {"query": "fox", "fields": ["*"]}}) == t.ids(lambda d: "fox" in toks(d))


def test_term_and_terms(tiny_index: TinyIndex) -> None:
    t = tiny_index
    assert t.search({"term": {"tag": "Alpha"}}) == t.ids(lambda d: d["tag"] == "Alpha")
    assert t.search({"term": {"tag": {"value": "alpha", "case_insensitive": True}}}) == t.ids(
        lambda d: d["tag"].lower() == "alpha"
    )
    assert t.search({"term": {"tag_lc": "ALPHA"}}) == t.ids(lambda d: d["tag"].lower() == "alpha")
    assert t.search({"term": {"n": 5}}) == {"d5"}
    assert t.search({"term": {"n": "5"}}) == {"d5"}
    assert t.search({"term": {"n": 5.5}}) == set()
    assert t.search({"term": {"price": 4.5}}) == {"d3"}
    assert t.search({"term": {"flag": "true"}}) == t.ids(lambda d: d["flag"])
    assert t.search({"term": {"flag": False}}) == t.ids(lambda d: not d["flag"])
    assert t.search({"term": {"ts": "2024-01-03T02:00:00Z"}}) == {"d2"}
    assert t.search({"term": {"_id": "d4"}}) == {"d4"}
    assert t.search({"term": {"tag": "x" * 30}}) == set()  # longer than ignore_above
    assert t.search({"terms": {"n": [1, "2", 99]}}) == {"d1", "d2"}
    assert t.search({"terms": {"tag": ["beta", "Gamma"]}}) == t.ids(lambda d: d["tag"] in ("beta", "Gamma"))
    with pytest.raises(IllegalArgument, match='failed to create query: For input string: "abc"'):
        t.search({"term": {"n": "abc"}})


def test_terms_scores_constant(tiny_index: TinyIndex) -> None:
    scores = tiny_index.scored({"terms": {"tag": ["beta"], "boost": 3}})
    assert set(scores.values()) == {3.0}


@pytest.mark.parametrize(
    "spec,pred",
    [
        ({"gte": 5, "lt": 9}, lambda n: 5 <= n < 9),
        ({"gt": 5, "lte": 9}, lambda n: 5 < n <= 9),
        ({"gt": "27"}, lambda n: n > 27),
        ({"gte": 4.5, "lte": 6.5}, lambda n: 5 <= n <= 6),
        ({"gt": 4.5}, lambda n: n >= 5),
        ({"from": 3, "to": 6, "include_upper": False}, lambda n: 3 <= n < 6),
        ({"gt": 9, "lt": 3}, lambda n: False),
    ],
)
def test_range_long(tiny_index: TinyIndex, spec: dict[str, Any], pred: Any) -> None:
    assert tiny_index.search({"range": {"n": spec}}) == tiny_index.ids(lambda d: pred(d["n"]))


def test_range_double_and_keyword(tiny_index: TinyIndex) -> None:
    t = tiny_index
    got = t.search({"range": {"price": {"gt": 10, "lte": 30.0}}})
    assert got == t.ids(lambda d: "price" in d and 10 < d["price"] <= 30)
    assert t.search({"range": {"tag": {"gte": "B", "lt": "b"}}}) == t.ids(lambda d: "B" <= d["tag"] < "b")
    assert t.search({"range": {"tag": {"gt": "alpha"}}}) == t.ids(lambda d: d["tag"] > "alpha")
    assert t.search({"range": {"tag": {"lte": "beta"}}}) == t.ids(lambda d: d["tag"] <= "beta")


def test_range_date_math(tiny_index: TinyIndex) -> None:
    t = tiny_index
    assert t.search({"range": {"ts": {"gte": "2024-01-10", "lt": "2024-01-12"}}}) == t.ids(
        lambda d: BASE_TS + 9 * DAY <= d["ts"] < BASE_TS + 11 * DAY
    )
    # lte with a date-only value rounds up to the end of that day, as ES does
    assert t.search({"range": {"ts": {"lte": "2024-01-03"}}}) == t.ids(lambda d: d["ts"] < BASE_TS + 3 * DAY)
    # gt with rounding excludes the whole day
    assert t.search({"range": {"ts": {"gt": "2024-01-03||/d"}}}) == t.ids(lambda d: d["ts"] >= BASE_TS + 3 * DAY)
    now = BASE_TS + 20 * DAY + 5 * 3_600_000
    got = t.search({"range": {"ts": {"gte": "now-3d/d", "lt": "now/d"}}}, now=now)
    assert got == t.ids(lambda d: BASE_TS + 17 * DAY <= d["ts"] < BASE_TS + 20 * DAY)
    got = t.search({"range": {"ts": {"gte": "03/01/2024", "format": "dd/MM/yyyy"}}})
    assert got == t.ids(lambda d: d["ts"] >= BASE_TS + 2 * DAY)
    got = t.search({"range": {"ts": {"gte": "2024-01-05T00:00:00", "time_zone": "+05:00"}}})
    assert got == t.ids(lambda d: d["ts"] >= BASE_TS + 4 * DAY - 5 * 3_600_000)
    assert NOW > BASE_TS


def test_exists(tiny_index: TinyIndex) -> None:
    t = tiny_index
    assert t.search({"exists": {"field": "price"}}) == t.ids(lambda d: "price" in d)
    assert t.search({"exists": {"field": "title"}}) == t.ids(lambda d: "title" in d)
    assert t.search({"exists": {"field": "user"}}) == t.ids(lambda d: "user" in d)
    assert t.search({"exists": {"field": "user.*"}}) == t.ids(lambda d: "user" in d)
    assert t.search({"exists": {"field": "missing"}}) == set()


def test_ids_prefix_wildcard_regexp(tiny_index: TinyIndex) -> None:
    t = tiny_index
    assert t.search({"ids": {"values": ["d1", "d3", "zz"]}}) == {"d1", "d3"}
    assert t.search({"prefix": {"tag": "Al"}}) == t.ids(lambda d: d["tag"].startswith("Al"))
    assert t.search({"prefix": {"tag": {"value": "al", "case_insensitive": True}}}) == t.ids(
        lambda d: d["tag"].lower().startswith("al")
    )
    assert t.search({"prefix": {"title": "qu"}}) == t.ids(lambda d: any(w.startswith("qu") for w in toks(d)))
    assert t.search({"wildcard": {"tag": "*ta*"}}) == t.ids(lambda d: "ta" in d["tag"])
    assert t.search({"wildcard": {"tag": {"value": "?eta"}}}) == t.ids(lambda d: re.fullmatch(".eta", d["tag"]))
    assert t.search({"wildcard": {"tag": "delta-?"}}) == t.ids(lambda d: d["tag"].startswith("delta-"))
    assert t.search({"regexp": {"tag": "[a-z]+"}}) == t.ids(lambda d: re.fullmatch("[a-z]+", d["tag"]))
    assert t.search({"regexp": {"tag": "del.*1"}}) == t.ids(lambda d: d["tag"] == "delta-1")
    assert t.search({"regexp": {"tag": "(alpha|beta)"}}) == t.ids(lambda d: d["tag"] in ("alpha", "beta"))
    assert t.search({"regexp": {"tag": "@-1"}}) == t.ids(lambda d: d["tag"].endswith("-1"))
    assert t.search({"regexp": {"tag": "delta-<0-5>"}}) == {d["_id"] for d in t.docs if d["tag"] == "delta-1"}
    with pytest.raises(IllegalArgument, match="Can only use wildcard queries on keyword and text fields"):
        t.search({"wildcard": {"n": "1*"}})


def test_regex_too_complex(tiny_index: TinyIndex) -> None:
    with pytest.raises(TooComplexToDeterminize):
        tiny_index.search({"regexp": {"tag": "[a-z]{1000}{1000}"}})


def test_fuzzy(tiny_index: TinyIndex) -> None:
    t = tiny_index
    assert t.search({"fuzzy": {"tag": "Alpho"}}) == t.ids(lambda d: d["tag"] == "Alpha")
    got = t.search({"fuzzy": {"tag": {"value": "alpho", "fuzziness": 2}}})
    assert got == t.ids(lambda d: d["tag"] in ("Alpha", "alpha"))
    got = t.search({"fuzzy": {"tag": {"value": "alpho", "fuzziness": 2, "prefix_length": 1}}})
    assert got == t.ids(lambda d: d["tag"] == "alpha")
    assert t.search({"fuzzy": {"title": {"value": "elephent", "fuzziness": 5}}}) == t.ids(
        lambda d: "elephant" in toks(d)
    )


def test_bool_semantics(tiny_index: TinyIndex) -> None:
    t = tiny_index
    q = {"bool": {"must": {"match": {"title": "fox"}}, "should": {"term": {"tag": "beta"}}}}
    assert t.search(q) == t.ids(lambda d: "fox" in toks(d))
    q = {"bool": {"should": [{"term": {"tag": "beta"}}, {"term": {"n": 3}}]}}
    assert t.search(q) == t.ids(lambda d: d["tag"] == "beta" or d["n"] == 3)
    q = {"bool": {"filter": [{"range": {"n": {"lt": 10}}}], "should": [{"term": {"flag": True}}],
                  "minimum_should_match": 1}}  # fmt: skip
    assert t.search(q) == t.ids(lambda d: d["n"] < 10 and d["flag"])
    q = {"bool": {"must_not": [{"term": {"tag": "beta"}}, {"range": {"n": {"gte": 20}}}]}}
    assert t.search(q) == t.ids(lambda d: d["tag"] != "beta" and d["n"] < 20)
    assert t.search({"bool": {}}) == ALL
    q = {"bool": {"should": [{"term": {"n": 1}}, {"term": {"n": 2}}], "minimum_should_match": 3}}
    assert t.search(q) == set()
    q = {"bool": {"should": [{"match": {"title": "fox"}}, {"match": {"title": "dog"}}, {"term": {"flag": True}}],
                  "minimum_should_match": "2"}}  # fmt: skip
    expect = t.ids(lambda d: ("fox" in toks(d)) + ("dog" in toks(d)) + d["flag"] >= 2)
    assert t.search(q) == expect


def test_filter_does_not_score(tiny_index: TinyIndex) -> None:
    scores = tiny_index.scored({"bool": {"filter": {"term": {"tag": "beta"}}}})
    assert scores and set(scores.values()) == {0.0}
    plain = tiny_index.scored({"match": {"title": "fox"}})
    with_filter = tiny_index.scored(
        {"bool": {"must": {"match": {"title": "fox"}}, "filter": {"exists": {"field": "n"}}}}
    )
    assert with_filter == pytest.approx(plain)


def test_constant_score_dis_max_boosting(tiny_index: TinyIndex) -> None:
    t = tiny_index
    scores = t.scored({"constant_score": {"filter": {"match": {"title": "fox"}}, "boost": 1.5}})
    assert set(scores) == t.ids(lambda d: "fox" in toks(d)) and set(scores.values()) == {1.5}
    q = {"dis_max": {"queries": [{"term": {"n": 1}}, {"term": {"tag": "beta"}}], "tie_breaker": 0.3}}
    assert t.search(q) == t.ids(lambda d: d["n"] == 1 or d["tag"] == "beta")
    q = {"boosting": {"positive": {"term": {"flag": True}}, "negative": {"term": {"tag": "beta"}},
                      "negative_boost": 0.5}}  # fmt: skip
    scores = t.scored(q)
    assert set(scores) == t.ids(lambda d: d["flag"])
    for doc in t.docs:
        if doc["flag"]:
            assert scores[doc["_id"]] == pytest.approx(0.5 if doc["tag"] == "beta" else 1.0)


def test_query_string(tiny_index: TinyIndex) -> None:
    t = tiny_index
    assert t.search({"query_string": {"query": "fox"}}) == t.ids(lambda d: "fox" in toks(d))
    got = t.search({"query_string": {"query": "title:fox AND tag:beta"}})
    assert got == t.ids(lambda d: "fox" in toks(d) and d["tag"] == "beta")
    got = t.search({"query_string": {"query": "title:(fox OR dog) -tag:beta"}})
    assert got == t.ids(lambda d: bool({"fox", "dog"} & set(toks(d))) and d["tag"] != "beta")
    got = t.search({"query_string": {"query": "n:[3 TO 6} OR n:>=28"}})
    assert got == t.ids(lambda d: 3 <= d["n"] < 6 or d["n"] >= 28)
    assert t.search({"query_string": {"query": "_exists_:price"}}) == t.ids(lambda d: "price" in d)
    assert t.search({"query_string": {"query": "NOT tag:beta"}}) == t.ids(lambda d: d["tag"] != "beta")
    got = t.search({"query_string": {"query": "fox dog", "default_operator": "AND"}})
    assert got == t.ids(lambda d: {"fox", "dog"} <= set(toks(d)))
    got = t.search({"query_string": {"query": "tag:Al*"}})
    assert got == t.ids(lambda d: d["tag"].startswith("Al"))
    got = t.search({"query_string": {"query": '"lazy dog"', "default_field": "title"}})
    assert got == t.search({"match_phrase": {"title": "lazy dog"}})
    assert t.search({"query_string": {"query": "*"}}) == ALL
    # wildcard terms go through the field's normalizer, as Lucene's query parser does
    got = t.search({"query_string": {"query": "title:QU*"}})
    assert got == t.ids(lambda d: any(w.startswith("qu") for w in toks(d))) != set()
    assert t.search({"query_string": {"query": "title:f?x"}}) == t.ids(lambda d: "fox" in toks(d))


def test_simple_query_string(tiny_index: TinyIndex) -> None:
    t = tiny_index
    got = t.search({"simple_query_string": {"query": "fox + dog", "fields": ["title"]}})
    assert got == t.ids(lambda d: {"fox", "dog"} <= set(toks(d)))
    got = t.search({"simple_query_string": {"query": "fox | dog", "fields": ["title"]}})
    assert got == t.ids(lambda d: bool({"fox", "dog"} & set(toks(d))))
    got = t.search({"simple_query_string": {"query": "fox -dog", "fields": ["title"], "default_operator": "and"}})
    assert got == t.ids(lambda d: "fox" in toks(d) and "dog" not in toks(d))
    got = t.search({"simple_query_string": {"query": "qu*", "fields": ["title"]}})
    assert got == t.ids(lambda d: any(w.startswith("qu") for w in toks(d)))
    # broken syntax never raises
    t.search({"simple_query_string": {"query": '((fox" | ) -', "fields": ["title"]}})


def test_too_many_expanded_clauses_at_compile(tiny_index: TinyIndex) -> None:
    ast = parse_query({"match": {"title": " ".join(["fox"] * 5000)}})
    with pytest.raises(IllegalArgument, match="maxClauseCount is set to 4096"):
        compile_query(ast, tiny_index.resolver, now_millis=NOW)
