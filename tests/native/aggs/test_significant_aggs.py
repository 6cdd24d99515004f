"""``significant_terms`` / ``significant_text`` through the HTTP app on two shards, scored in plain Python."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pytest

from tests.server.helpers import assert_canonical_error

WORDS = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta"]
# class "x" documents favour the first words, the others spread evenly
DOCS = [
    {"cls": "x" if i % 3 == 0 else "y",
     "tags": [WORDS[((i // 3 if i % 3 == 0 else i) * k) % (4 if i % 3 == 0 else 8)] for k in (1, 2, 5)],
     "text": " ".join(WORDS[((i // 3 if i % 3 == 0 else i) * k) % (4 if i % 3 == 0 else 8)] for k in (1, 2, 5)),
     "n": i % (4 if i % 3 == 0 else 9)}
    for i in range(60)
]  # fmt: skip


async def _load(client: httpx.AsyncClient, docs: list[dict[str, Any]] = DOCS) -> None:
    mappings = {"properties": {"cls": {"type": "keyword"}, "tags": {"type": "keyword"}, "text": {"type": "text"},
                               "n": {"type": "long"}}}  # fmt: skip
    r = await client.put("/sig", json={"settings": {"number_of_shards": 2}, "mappings": mappings})
    assert r.status_code == 200, r.text
    lines = []
    for i, doc in enumerate(docs):
        lines += [json.dumps({"index": {"_id": str(i)}}), json.dumps(doc)]
    r = await client.post("/sig/_bulk?refresh=true", content="\n".join(lines) + "\n",
                          headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text


def _jlh(a: int, b: int, c: int, d: int) -> float:
    p, q = a / b, max(c, 1) / d
    return (p - q) * (p / q) if p > q else 0.0


def _nxy(a: int, b: int, c: int, d: int) -> tuple[float, ...]:
    n11, n01, n10 = a, b - a, c - a
    n00 = d - c - n01
    return float(n00), float(n01), float(n10), float(n11), float(d)


def _mi(a: int, b: int, c: int, d: int) -> float:
    n00, n01, n10, n11, n = _nxy(a, b, c, d)
    if n11 / (n01 + n11) < n10 / (n00 + n10):
        return -math.inf
    total = 0.0
    for nxy, nx, ny in ((n00, n00 + n01, n00 + n10), (n01, n00 + n01, n01 + n11), (n10, n10 + n11, n00 + n10),
                        (n11, n10 + n11, n01 + n11)):  # fmt: skip
        if nxy:
            total += nxy / n * math.log(n * nxy / (nx * ny))
    return total / math.log(2)


def _chi(a: int, b: int, c: int, d: int) -> float:
    n00, n01, n10, n11, n = _nxy(a, b, c, d)
    if n11 / (n01 + n11) < n10 / (n00 + n10):
        return -math.inf
    return n * (n11 * n00 - n01 * n10) ** 2 / ((n01 + n11) * (n10 + n11) * (n00 + n01) * (n00 + n10))


def _gnd(a: int, b: int, c: int, d: int) -> float:
    if a == 0:
        return 0.0
    if c == b == a:
        return 1.0
    num = max(math.log(c), math.log(b)) - math.log(a)
    return math.exp(-num / (math.log(d) - min(math.log(c), math.log(b))))


SCORES = {"jlh": _jlh, "mutual_information": _mi, "chi_square": _chi, "gnd": _gnd,
          "percentage": lambda a, b, c, d: a / c}  # fmt: skip


def _expected(heuristic: str, values: str, subset: list[dict[str, Any]], background: list[dict[str, Any]],
              min_doc_count: int = 3, size: int = 10) -> list[tuple[Any, int, int, float]]:  # fmt: skip
    def terms(d: dict[str, Any]) -> set[Any]:
        v = d[values]
        return set(v.split()) if values == "text" else set(v if isinstance(v, list) else [v])

    keys = set().union(*(terms(d) for d in subset))
    rows = []
    for key in keys:
        a = sum(key in terms(d) for d in subset)
        c = sum(key in terms(d) for d in background)
        score = SCORES[heuristic](a, len(subset), c, len(background))
        if a >= min_doc_count and score > 0:
            rows.append((key, a, c, score))
    rows.sort(key=lambda r: (-r[3], str(r[0])))
    return rows[:size]


async def _sig(client: httpx.AsyncClient, kind: str, spec: dict[str, Any], query: Any) -> dict[str, Any]:
    body = {"size": 0, "query": query, "aggs": {"s": {kind: spec}}}
    r = await client.post("/sig/_search", json=body)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()["aggregations"]["s"]
    return result


def _rows(got: dict[str, Any]) -> list[tuple[Any, int, int, float]]:
    return [(b["key"], b["doc_count"], b["bg_count"], b["score"]) for b in got["buckets"]]


def _same(got: list[tuple[Any, int, int, float]], want: list[tuple[Any, int, int, float]]) -> None:
    assert sorted(g[:3] for g in got) == sorted(w[:3] for w in want)
    assert [g[3] for g in got] == pytest.approx([w[3] for w in want], rel=1e-9)


@pytest.mark.parametrize("heuristic", sorted(SCORES))
async def test_significant_terms_heuristics(asgi_client: httpx.AsyncClient, heuristic: str) -> None:
    await _load(asgi_client)
    subset = [d for d in DOCS if d["cls"] == "x"]
    for field in ("tags", "n"):
        spec = {"field": field, heuristic: {}, "size": 5, "shard_size": 100}
        got = await _sig(asgi_client, "significant_terms", spec, {"term": {"cls": "x"}})
        assert (got["doc_count"], got["bg_count"]) == (len(subset), len(DOCS))
        _same(_rows(got), _expected(heuristic, field, subset, DOCS, size=5))


async def test_significant_text_and_background_filter(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    subset = [d for d in DOCS if d["cls"] == "x"]
    got = await _sig(asgi_client, "significant_text", {"field": "text", "min_doc_count": 2, "shard_size": 100},
                     {"term": {"cls": "x"}})  # fmt: skip
    _same(_rows(got), _expected("jlh", "text", subset, DOCS, min_doc_count=2))
    background = [d for d in DOCS if d["n"] < 5]
    spec = {"field": "tags", "background_filter": {"range": {"n": {"lt": 5}}}, "shard_size": 100}
    got = await _sig(asgi_client, "significant_terms", spec, {"term": {"cls": "x"}})
    assert got["bg_count"] == len(background)
    _same(_rows(got), _expected("jlh", "tags", subset, background))


async def test_significant_terms_missing(asgi_client: httpx.AsyncClient) -> None:
    # (a fresh index: replacing documents would leave deleted ones in the term statistics, as in ES)
    docs = [{k: v for k, v in d.items() if k != "tags" or d["n"] % 2} for d in DOCS]
    await _load(asgi_client, docs)
    filled = [{**d, "tags": d.get("tags", "none")} for d in docs]
    subset = [d for d in filled if d["cls"] == "x"]
    spec = {"field": "tags", "missing": "none", "shard_size": 100, "percentage": {}}
    got = await _sig(asgi_client, "significant_terms", spec, {"term": {"cls": "x"}})
    want = _expected("percentage", "tags", subset, filled)
    assert any(w[0] == "none" for w in want)
    _same(_rows(got), want)


async def test_significant_terms_under_terms_buckets(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    body = {
        "size": 0,
        "aggs": {
            "c": {"terms": {"field": "cls"}, "aggs": {"s": {"significant_terms": {"field": "tags", "shard_size": 100}}}}
        },
    }
    r = await asgi_client.post("/sig/_search", json=body)
    assert r.status_code == 200, r.text
    for bucket in r.json()["aggregations"]["c"]["buckets"]:
        subset = [d for d in DOCS if d["cls"] == bucket["key"]]
        _same(_rows(bucket["s"]), _expected("jlh", "tags", subset, DOCS))


async def test_significant_refusals(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    r = await asgi_client.post(
        "/sig/_search", json={"aggs": {"s": {"significant_terms": {"field": "tags", "jlp": {}}}}}
    )
    assert_canonical_error(r, 400, "x_content_parse_exception")
    assert "[significant_terms] unknown field [jlp] did you mean [jlh]?" in r.text
    r = await asgi_client.post("/sig/_search", json={"aggs": {"s": {"significant_terms": {
        "field": "tags", "script_heuristic": {"script": "1"}}}}})  # fmt: skip
    assert r.status_code == 400, r.text
    r = await asgi_client.post("/sig/_search", json={"aggs": {"s": {"significant_terms": {"field": "text"}}}})
    assert r.status_code == 400 and "Fielddata is disabled on [text] in [sig]" in r.text, r.text
    r = await asgi_client.post("/sig/_search", json={"aggs": {"s": {"terms": {"field": "text"}}}})
    assert r.status_code == 400 and "Fielddata is disabled on [text] in [sig]" in r.text, r.text
    composite = {"composite": {"sources": [{"t": {"terms": {"field": "text"}}}]}}
    r = await asgi_client.post("/sig/_search", json={"aggs": {"s": composite}})
    assert r.status_code == 400 and "Fielddata is disabled on [text] in [sig]" in r.text, r.text
    r = await asgi_client.post(
        "/sig/_search", json={"aggs": {"s": {"significant_terms": {"field": "tags", "gnd": {"x": 1}}}}}
    )
    assert_canonical_error(r, 400, "x_content_parse_exception")
