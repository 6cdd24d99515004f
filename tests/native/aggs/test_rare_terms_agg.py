"""``rare_terms`` through the HTTP app on three shards, against counts computed in plain Python."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import httpx

from tests.server.helpers import assert_canonical_error

# term i appears i % 5 + 1 times (spread over the shards by _id), so several counts sit around the cut-off
DOCS = [{"k": f"t{i}", "n": i, "w": j} for i in range(30) for j in range(i % 5 + 1)]


async def _load(client: httpx.AsyncClient) -> None:
    mappings = {"properties": {"k": {"type": "keyword"}, "n": {"type": "long"}, "w": {"type": "long"},
                               "body": {"type": "text"}}}  # fmt: skip
    r = await client.put("/rt", json={"settings": {"number_of_shards": 3}, "mappings": mappings})
    assert r.status_code == 200, r.text
    lines = []
    for i, doc in enumerate(DOCS):
        lines += [json.dumps({"index": {"_id": str(i)}}), json.dumps(doc)]
    r = await client.post("/rt/_bulk?refresh=true", content="\n".join(lines) + "\n",
                          headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text


async def _aggs(client: httpx.AsyncClient, aggs: dict[str, Any], query: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"size": 0, "aggs": aggs}
    if query is not None:
        body["query"] = query
    r = await client.post("/rt/_search", json=body)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()["aggregations"]
    return result


def _expected(field: str, max_doc_count: int, docs: list[dict[str, Any]]) -> list[tuple[Any, int]]:
    counts = Counter(d[field] for d in docs)
    return sorted(((k, n) for k, n in counts.items() if n <= max_doc_count), key=lambda kn: (kn[1], kn[0]))


async def test_rare_keywords_and_longs_across_shards(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    for field in ("k", "n"):
        for max_doc_count in (1, 2, 3):
            got = await _aggs(asgi_client, {"r": {"rare_terms": {"field": field, "max_doc_count": max_doc_count}}})
            assert [(b["key"], b["doc_count"]) for b in got["r"]["buckets"]] == _expected(field, max_doc_count, DOCS)


async def test_rare_terms_under_a_query_with_sub_aggregation(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    docs = [d for d in DOCS if d["w"] >= 1]
    got = await _aggs(asgi_client, {"r": {"rare_terms": {"field": "k", "max_doc_count": 2},
                                          "aggs": {"m": {"max": {"field": "w"}}}}},
                      query={"range": {"w": {"gte": 1}}})  # fmt: skip
    want = _expected("k", 2, docs)
    assert [(b["key"], b["doc_count"]) for b in got["r"]["buckets"]] == want
    for bucket in got["r"]["buckets"]:
        assert bucket["m"]["value"] == max(d["w"] for d in docs if d["k"] == bucket["key"])


async def test_rare_terms_include_exclude_and_missing(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    got = await _aggs(asgi_client, {"r": {"rare_terms": {"field": "k", "include": "t1.*", "exclude": ["t10"]}}})
    want = [(k, n) for k, n in _expected("k", 1, DOCS) if k.startswith("t1") and k != "t10"]
    assert [(b["key"], b["doc_count"]) for b in got["r"]["buckets"]] == want
    got = await _aggs(asgi_client, {"r": {"rare_terms": {"field": "absent", "missing": "none", "max_doc_count": 100}}})
    assert got["r"]["buckets"] == [{"key": "none", "doc_count": len(DOCS)}]
    # each shard alone sees the key at most 50 times; merged it is too frequent and is dropped
    got = await _aggs(asgi_client, {"r": {"rare_terms": {"field": "absent", "missing": "none", "max_doc_count": 50}}})
    assert got["r"]["buckets"] == []


async def test_rare_terms_refusals(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    r = await asgi_client.post(
        "/rt/_search", json={"aggs": {"r": {"rare_terms": {"field": "k", "max_doc_count": 101}}}}
    )
    assert_canonical_error(r, 400, "illegal_argument_exception")
    r = await asgi_client.post("/rt/_search", json={"aggs": {"r": {"rare_terms": {"field": "k", "precision": 0}}}})
    assert_canonical_error(r, 400, "illegal_argument_exception")
    r = await asgi_client.post("/rt/_search", json={"aggs": {"r": {"rare_terms": {"field": "k", "size": 3}}}})
    assert_canonical_error(r, 400, "x_content_parse_exception")
    r = await asgi_client.post("/rt/_search", json={"aggs": {"r": {"rare_terms": {"field": "body"}}}})
    assert r.status_code == 400 and "Fielddata is disabled on [body] in [rt]" in r.text, r.text
