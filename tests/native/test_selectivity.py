"""Range queries answered from the inverted index (``native.selectivity``) match what the column scan answers.

The shard is small, so the thresholds are scaled for it (``MIN_DOCS`` 0, a dearer scan) to make narrow
ranges take the inverted index; every range is compared with the column scan's answer and with plain Python.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import tantivy

from native import selectivity
from native.analysis import Analysis
from native.mapping import Mapping
from native.query import compile_query, parse_query
from native.search import query_shard
from native.shard import Shard
from native.writes import WriteOp
from tests.native.conftest import write_in_segments

MAPPING = Mapping({"properties": {"a": {"type": "long"}, "b": {"type": "double"}, "t": {"type": "date"},
                                  "c": {"type": "long"}, "k": {"type": "keyword"}}})  # fmt: skip
N = 3000
T0 = 1_700_000_000_000


def _doc(i: int, rng: random.Random) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": i, "k": rng.choice("abc"), "t": T0 + rng.randint(0, 10**9)}
    if rng.random() > 0.05:
        doc["a"] = rng.randint(0, 5000)
    if rng.random() > 0.05:
        doc["b"] = rng.uniform(-1000, 1000)
    if "a" in doc and rng.random() < 0.05:  # multi-valued: a range matches when any value is inside
        doc["a"] = [doc["a"], rng.randint(0, 5000)]
    doc["c"] = int(rng.lognormvariate(6, 2))  # skewed: most values in the histogram's first buckets
    return doc


@pytest.fixture(scope="module")
def shard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Shard, list[dict[str, Any]]]]:
    rng = random.Random(11)
    docs = [_doc(i, rng) for i in range(N)]
    s = Shard(str(tmp_path_factory.mktemp("selectivity")), MAPPING, Analysis.from_settings({}))
    write_in_segments(s, docs, 700, [str(d["id"]) for d in docs])
    yield s, docs
    s.close()


@pytest.fixture
def choices(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Selectivity scaled for this small shard; records each choice (True: the inverted index)."""
    monkeypatch.setattr(selectivity, "MIN_DOCS", 0)
    monkeypatch.setattr(selectivity, "SCAN_COST_US", 0.05)  # a budget of 150 µs at 3,000 documents
    made: list[bool] = []
    real = selectivity.prefer_inverted

    def spy(*args: Any, **kwargs: Any) -> bool:
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(selectivity, "prefer_inverted", spy)
    return made


def _run(s: Shard, body: dict[str, Any], use_selectivity: bool = True) -> tuple[list[str], int]:
    _, searcher = s.acquire_searcher()
    ast = parse_query(body)
    if use_selectivity:
        query = compile_query(ast, s.compiled, now_millis=0, searcher=searcher)
    else:
        query = compile_query(ast, s.compiled, now_millis=0)  # no searcher: always the column
    result = query_shard(searcher, s.compiled, query, limit=N)
    ids = [_id(searcher.doc(tantivy.DocAddress(hit.segment_ord, hit.doc))) for hit in result.hits]
    return sorted(ids, key=int), int(result.total)


def _id(doc: tantivy.Document) -> str:
    return str(doc.to_dict()["_id"][0])


def _values(doc: dict[str, Any], field: str) -> list[Any]:
    v = doc.get(field)
    return [] if v is None else v if isinstance(v, list) else [v]


def _expected(docs: list[dict[str, Any]], field: str, lo: Any, hi: Any, lo_inc: bool, hi_inc: bool) -> list[str]:
    def inside(v: Any) -> bool:
        if lo is not None and (v < lo or (v == lo and not lo_inc)):
            return False
        return not (hi is not None and (v > hi or (v == hi and not hi_inc)))

    return [str(i) for i, d in enumerate(docs) if any(inside(v) for v in _values(d, field))]


def _ranges(rng: random.Random, docs: list[dict[str, Any]], field: str) -> Iterator[tuple[Any, Any, bool, bool]]:
    values = sorted(v for d in docs for v in _values(d, field))
    for width in (0, 1, 5, 30, 300, 2000, len(values) - 1):
        i = rng.randrange(0, len(values) - width)
        lo, hi = values[i], values[i + width]
        yield lo, hi, True, True
        yield lo, hi, False, rng.random() < 0.5
    yield None, values[20], True, True
    yield values[-20], None, False, True
    yield values[-1] + 1, None, True, True  # nothing


@pytest.mark.parametrize("field", ["a", "b", "t", "c"])
def test_ranges_equal_the_column_scan_and_python(
    shard: tuple[Shard, list[dict[str, Any]]], choices: list[bool], field: str
) -> None:
    s, docs = shard
    rng = random.Random(field)
    for lo, hi, lo_inc, hi_inc in _ranges(rng, docs, field):
        bounds: dict[str, Any] = {}
        if lo is not None:
            bounds["gte" if lo_inc else "gt"] = lo
        if hi is not None:
            bounds["lte" if hi_inc else "lt"] = hi
        for body in ({"range": {field: bounds}},
                     {"bool": {"must": [{"term": {"k": "a"}}], "filter": [{"range": {field: bounds}}]}}):  # fmt: skip
            got = _run(s, body)
            assert got == _run(s, body, use_selectivity=False), body
            expected = _expected(docs, field, lo, hi, lo_inc, hi_inc)
            if "bool" in body:
                expected = [i for i in expected if docs[int(i)]["k"] == "a"]
            assert got == (expected, len(expected)), body
    assert True in choices and False in choices  # narrow ranges took the terms, wide ones the column


def test_the_choice_follows_what_the_range_holds(
    shard: tuple[Shard, list[dict[str, Any]]], choices: list[bool]
) -> None:
    s, _ = shard
    _run(s, {"range": {"a": {"gte": 100, "lte": 102}}})  # ~2 documents over 3 values
    _run(s, {"range": {"t": {"gte": T0, "lte": T0 + 10**9}}})  # every document, as many distinct values
    _run(s, {"range": {"c": {"lte": 3}}})  # within the skewed field's crowded first bucket, but 4 values
    _run(s, {"range": {"c": {"lte": 2000}}})  # most documents, over 2,001 values
    assert choices == [True, False, True, False]


def test_documents_added_after_the_histogram_count_against_the_terms(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A histogram a little stale counts the documents added since as inside the range: a range they crowd
    is not sent to the terms on the old histogram's word."""
    monkeypatch.setattr(selectivity, "MIN_DOCS", 0)
    monkeypatch.setattr(selectivity, "SCAN_COST_US", 0.05)
    monkeypatch.setattr(selectivity, "REFRESH_GROWTH", 10.0)  # keep the first histogram
    s = Shard(str(tmp_path), MAPPING, Analysis.from_settings({}))
    try:
        s.write([WriteOp("index", str(i), orjson.dumps({"a": i})) for i in range(1000)])
        s.refresh()
        assert _choice(s, 5000, 8000) is True  # nothing there yet
        s.write([WriteOp("index", str(1000 + i), orjson.dumps({"a": 5000 + i})) for i in range(2000)])
        s.refresh()
        assert _choice(s, 5000, 8000) is False
        assert _run(s, {"range": {"a": {"gte": 5000, "lte": 8000}}})[1] == 2000
    finally:
        s.close()


def _choice(s: Shard, lo: int, hi: int) -> bool:
    _, searcher = s.acquire_searcher()
    info = s.compiled.field("a")
    assert info is not None
    return selectivity.prefer_inverted(searcher, s.compiled.schema, info, lo, hi, s.compiled.schema)


def test_bucket_overlap_matches_a_plain_walk() -> None:
    """``_overlap`` (bisect) against a walk over every bucket."""
    rng = random.Random(2)
    for _ in range(300):
        width = rng.choice([1.0, 2.5, 10.0])
        starts = [k * width for k in sorted(rng.sample(range(-60, 60), rng.randint(1, 40)))]  # gaps allowed
        counts = [rng.choice([0, 1, 5, 100]) for _ in starts]
        lo = rng.choice([None, rng.uniform(-600, 600)])
        hi = rng.choice([None, rng.uniform(-600, 600)])
        inside, edges = 0, []
        for start, count in zip(starts, counts, strict=True):
            if (hi is not None and start > hi) or (lo is not None and start + width <= lo):
                continue
            if (lo is None or start >= lo) and (hi is None or start + width <= hi):
                inside += count
            elif count:
                edges.append((start, count))
        got_inside, got_edges = selectivity._overlap((starts, counts, width), lo, hi)
        assert (got_inside, sorted(got_edges)) == (inside, sorted(edges))
