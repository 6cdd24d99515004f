"""terms_set, pinned, wrapper, spans, intervals, more_like_this, distance_feature; composite and histogram
``format`` aggregations — against a real shard, compared with plain-Python answers."""

from __future__ import annotations

import base64
import random
from typing import Any

import orjson
import pytest

from native import aggs as A
from native.aggs.number_format import format_number
from native.analysis import Analysis
from native.errors import BadRequest
from native.fields import ID_FIELD
from native.mapping import Mapping
from native.query import compile_query, parse_query
from native.shard import Shard
from native.writes import WriteOp

WORDS = ["quick", "brown", "fox", "lazy", "dog", "jumps"]


@pytest.fixture(scope="module")
def shard(tmp_path_factory: pytest.TempPathFactory) -> tuple[Shard, dict[str, Any]]:
    mapping = {"properties": {"tags": {"type": "keyword"}, "need": {"type": "integer"}, "body": {"type": "text"},
                              "n": {"type": "integer"}, "ts": {"type": "date"}}}  # fmt: skip
    s = Shard(str(tmp_path_factory.mktemp("more")), Mapping(mapping), Analysis.from_settings({}))
    rnd = random.Random(3)
    docs: dict[str, Any] = {}
    for i in range(200):
        doc: dict[str, Any] = {"tags": rnd.sample(list("abcdef"), rnd.randint(1, 4)), "n": rnd.randint(0, 9),
                               "body": " ".join(rnd.choice(WORDS) for _ in range(6)),
                               "ts": 1_700_000_000_000 + i * 3_600_000}  # fmt: skip
        if i % 9:
            doc["need"] = rnd.randint(0, 4)
        if i % 17 == 0:
            doc.pop("tags")
        docs[f"d{i}"] = doc
    s.write([WriteOp("index", k, orjson.dumps(v)) for k, v in docs.items()])
    s.refresh(force=True)
    return s, docs


def hits(s: Shard, body: dict[str, Any]) -> list[tuple[str, float]]:
    _, searcher = s.acquire_searcher()
    q = compile_query(parse_query(body), s.compiled, now_millis=0, searcher=searcher)
    return [(searcher.doc(a)[ID_FIELD][0], score) for score, a in searcher.search(q, 1000).hits]


def ids(s: Shard, body: dict[str, Any]) -> set[str]:
    return {d for d, _ in hits(s, body)}


def test_terms_set_field_and_scripts(shard):
    s, docs = shard
    terms = ["a", "b", "c"]

    def matched(v: dict[str, Any]) -> int:
        return len(set(v.get("tags", [])) & set(terms))

    want = {d for d, v in docs.items() if "need" in v and matched(v) >= max(1, v["need"])}
    assert ids(s, {"terms_set": {"tags": {"terms": terms, "minimum_should_match_field": "need"}}}) == want
    script = {"source": "Math.min(params.num_terms, doc['need'].value)"}
    want = {d for d, v in docs.items() if "need" in v and matched(v) >= max(1, min(3, v["need"]))}
    assert ids(s, {"terms_set": {"tags": {"terms": terms, "minimum_should_match_script": script}}}) == want
    want = {d for d, v in docs.items() if matched(v) == 3}
    body = {"terms_set": {"tags": {"terms": terms, "minimum_should_match_script": {"source": "params.num_terms"}}}}
    assert ids(s, body) == want
    with pytest.raises(BadRequest, match="inline"):
        parse_query({"terms_set": {"tags": {"terms": terms, "minimum_should_match_script": {"source": "1 + 1"}}}})


def test_pinned_wrapper_spans_intervals(shard):
    s, docs = shard
    got = hits(s, {"pinned": {"ids": ["d7", "d3", "missing"], "organic": {"term": {"tags": "a"}}}})
    assert [d for d, _ in got[:2]] == ["d7", "d3"]
    assert {d for d, _ in got} == {"d7", "d3"} | {d for d, v in docs.items() if "a" in v.get("tags", [])}
    wrapped = base64.b64encode(orjson.dumps({"term": {"tags": "b"}})).decode()
    assert ids(s, {"wrapper": {"query": wrapped}}) == {d for d, v in docs.items() if "b" in v.get("tags", [])}

    def adjacent(text: str, a: str, b: str, gap: int) -> bool:
        words = text.split()
        return any(w == a and b in words[i + 1 : i + 2 + gap] for i, w in enumerate(words))

    span = {"span_near": {"clauses": [{"span_term": {"body": "quick"}}, {"span_term": {"body": "fox"}}],
                          "slop": 0, "in_order": True}}  # fmt: skip
    assert ids(s, span) == {d for d, v in docs.items() if adjacent(v["body"], "quick", "fox", 0)}
    body = {"intervals": {"body": {"match": {"query": "lazy dog", "max_gaps": 0, "ordered": True}}}}
    assert ids(s, body) == {d for d, v in docs.items() if adjacent(v["body"], "lazy", "dog", 0)}
    body = {
        "intervals": {"body": {"any_of": {"intervals": [{"match": {"query": "quick"}}, {"prefix": {"prefix": "jum"}}]}}}
    }
    assert ids(s, body) == {d for d, v in docs.items() if {"quick", "jumps"} & set(v["body"].split())}
    with pytest.raises(BadRequest):
        parse_query({"span_first": {"match": {"span_term": {"body": "x"}}, "end": 3}})


def test_more_like_this_and_distance_feature(shard):
    s, docs = shard
    got = ids(s, {"more_like_this": {"fields": ["body"], "like": "lazy lazy dog dog", "min_doc_freq": 1,
                                     "minimum_should_match": "100%"}})  # fmt: skip
    assert got == {d for d, v in docs.items() if {"lazy", "dog"} <= set(v["body"].split())}
    liked = ids(s, {"more_like_this": {"fields": ["body"], "like": [{"_id": "d1"}], "min_term_freq": 1,
                                       "min_doc_freq": 1, "minimum_should_match": "1"}})  # fmt: skip
    assert "d1" not in liked and liked
    origin = 1_700_000_000_000 + 100 * 3_600_000
    scored = dict(hits(s, {"distance_feature": {"field": "ts", "origin": origin, "pivot": "10h", "boost": 2}}))
    assert len(scored) == len(docs)
    for i in (0, 50, 95, 100, 130):  # exact: a few hundred documents hold the field
        exact = 2 * 10 / (10 + abs(i - 100))
        assert scored[f"d{i}"] == pytest.approx(exact, rel=1e-6)


def run_aggs(s: Shard, body: dict[str, Any]) -> dict[str, Any]:
    _, searcher = s.acquire_searcher()
    tree = A.parse_aggs(body)
    q = compile_query(parse_query(None), s.compiled, now_millis=0)
    return A.finalize(tree, A.merge_partials(tree, [A.execute_shard(tree, searcher, q, s.compiled, now_millis=0)]))


def test_composite_pages_through_the_cross_product(shard):
    s, docs = shard
    expected: dict[tuple[Any, ...], int] = {}
    for v in docs.values():
        for tag in v.get("tags") or [None]:
            key = (tag, float(v["n"] // 3 * 3))
            expected[key] = expected.get(key, 0) + 1
    order = sorted(expected, key=lambda k: (k[0] is not None, k[0] or "", -k[1]))
    sources = [{"t": {"terms": {"field": "tags", "missing_bucket": True}}},
               {"h": {"histogram": {"field": "n", "interval": 3, "order": "desc"}}}]  # fmt: skip
    seen: list[tuple[Any, ...]] = []
    after = None
    for _ in range(50):
        body: dict[str, Any] = {"size": 4, "sources": sources}
        if after is not None:
            body["after"] = after
        out = run_aggs(s, {"c": {"composite": body}})["c"]
        if not out["buckets"]:
            break
        for b in out["buckets"]:
            key = (b["key"]["t"], b["key"]["h"])
            assert b["doc_count"] == expected[key]
            seen.append(key)
        after = out["after_key"]
    assert seen == order
    with pytest.raises(BadRequest):
        A.parse_aggs({"c": {"composite": {"sources": []}}})


def test_composite_date_histogram_and_histogram_format(shard):
    s, docs = shard
    out = run_aggs(s, {"c": {"composite": {"size": 100, "sources": [
        {"d": {"date_histogram": {"field": "ts", "calendar_interval": "day", "format": "yyyy-MM-dd"}}}]}}})  # fmt: skip
    days: dict[str, int] = {}
    from datetime import UTC, datetime

    for v in docs.values():
        day = datetime.fromtimestamp(v["ts"] / 1000, UTC).strftime("%Y-%m-%d")
        days[day] = days.get(day, 0) + 1
    assert [(b["key"]["d"], b["doc_count"]) for b in out["c"]["buckets"]] == sorted(days.items())
    hist = run_aggs(s, {"h": {"histogram": {"field": "n", "interval": 5, "format": "##0.0"}}})["h"]["buckets"]
    assert [b["key_as_string"] for b in hist] == ["0.0", "5.0"]


@pytest.mark.parametrize(
    ("value", "pattern", "text"),
    [(1900.0, "##0.0", "1900.0"), (1234567.891, "#,##0.00", "1,234,567.89"), (0.5, "0%", "50%"),
     (-3.14159, "0.00", "-3.14"), (2.5, "0", "2"), (3.5, "0", "4"), (12345, "0.0E0", "1.2E4"),
     (5, "$0.00", "$5.00"), (0.001, "0.###", "0.001"), (7, "000", "007")],
)  # fmt: skip
def test_number_format(value, pattern, text):
    assert format_number(value, pattern) == text
