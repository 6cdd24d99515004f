"""``top_hits`` hits carry the search query's ``matched_queries`` and, with ``explain``, an ``_explanation``
whose value is the hit's score (tantivy's BM25 explained in Lucene's vocabulary)."""

from __future__ import annotations

import math
from typing import Any

import httpx

DOCS: list[dict[str, Any]] = [
    {"text": "the quick brown fox", "page": 1},
    {"text": "jumped over the lazy dog", "page": 1},
    {"text": "the snack of the dog", "page": 2},
    {"text": "a snack only", "page": 2},
]


async def _load(client: httpx.AsyncClient) -> None:
    # (a geo_point's hidden ``_lat``/``_lon`` columns are in the schema the explanation names fields from)
    mappings = {"properties": {"text": {"type": "text"}, "page": {"type": "integer"}, "loc": {"type": "geo_point"}}}
    r = await client.put("/th", json={"settings": {"number_of_shards": 1}, "mappings": mappings})
    assert r.status_code == 200, r.text
    for i, doc in enumerate(DOCS):
        r = await client.put(f"/th/_doc/{i}", json=doc)
        assert r.status_code == 201, r.text
    await client.post("/th/_refresh")


async def _search(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/th/_search", json=body)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def test_top_hits_report_matched_queries(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    query = {"bool": {"should": [{"match": {"text": {"query": "the", "_name": "the"}}},
                                 {"match": {"text": {"query": "snack", "_name": "snack"}}}]}}  # fmt: skip
    aggs = {"page": {"terms": {"field": "page"}, "aggs": {"top": {"top_hits": {"size": 5}}}}}
    got = await _search(asgi_client, {"size": 0, "query": query, "aggs": aggs})
    seen = {}
    for bucket in got["aggregations"]["page"]["buckets"]:
        for hit in bucket["top"]["hits"]["hits"]:
            seen[hit["_id"]] = hit.get("matched_queries")
    words = [set(d["text"].split()) for d in DOCS]
    expected = {str(i): [n for n in ("the", "snack") if n in w] for i, w in enumerate(words) if w & {"the", "snack"}}
    assert seen == expected
    # without named clauses nothing is added
    got = await _search(asgi_client, {"size": 0, "query": {"match": {"text": "the"}}, "aggs": aggs})
    hits = [h for b in got["aggregations"]["page"]["buckets"] for h in b["top"]["hits"]["hits"]]
    assert hits and all("matched_queries" not in h for h in hits)


async def test_top_hits_explain(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    aggs = {"page": {"terms": {"field": "page"}, "aggs": {"top": {"top_hits": {"explain": True}}}}}
    got = await _search(asgi_client, {"size": 0, "query": {"match": {"text": "the"}}, "aggs": aggs})
    hits = [h for b in got["aggregations"]["page"]["buckets"] for h in b["top"]["hits"]["hits"]]
    assert len(hits) == 3
    for hit in hits:
        explanation = hit["_explanation"]
        assert math.isclose(explanation["value"], hit["_score"], rel_tol=1e-5)
        assert explanation["description"].startswith("weight(text:the in "), explanation
        assert explanation["details"]
    got = await _search(asgi_client, {"size": 0, "query": {"match": {"text": "the"}},
                                      "aggs": {"top": {"top_hits": {}}}})  # fmt: skip
    assert all("_explanation" not in h for h in got["aggregations"]["top"]["hits"]["hits"])


def test_hidden_column_names_decode() -> None:
    from cluster.explain import decode_tantivy_name
    from native.schema import tantivy_name

    for path in ("a.b", "x_y", "loc", "é-z"):
        assert decode_tantivy_name(tantivy_name(path)) == path
    assert decode_tantivy_name(tantivy_name("loc") + "_lat") == "loc_lat"
    assert decode_tantivy_name(tantivy_name("a.b") + "_gte") == "a.b_gte"
