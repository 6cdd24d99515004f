"""The ``_doc_count`` metadata field: bucket counts weigh documents by it; ``hits.total`` does not."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import httpx

DOCS: list[dict[str, Any]] = [
    {"k": f"k{i % 3}", "n": i % 4, **({"_doc_count": 1 + i % 5} if i % 2 else {})} for i in range(30)
]


async def _load(client: httpx.AsyncClient, shards: int = 2) -> None:
    mappings = {"properties": {"k": {"type": "keyword"}, "n": {"type": "long"}}}
    r = await client.put("/dc", json={"settings": {"number_of_shards": shards}, "mappings": mappings})
    assert r.status_code == 200, r.text
    lines = []
    for i, doc in enumerate(DOCS):
        lines += [json.dumps({"index": {"_id": str(i)}}), json.dumps(doc)]
    r = await client.post("/dc/_bulk?refresh=true", content="\n".join(lines) + "\n",
                          headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text


def _weight(doc: dict[str, Any]) -> int:
    return int(doc.get("_doc_count", 1))


def _weighted(field: str, docs: list[dict[str, Any]]) -> Counter[Any]:
    counts: Counter[Any] = Counter()
    for doc in docs:
        counts[doc[field]] += _weight(doc)
    return counts


async def _search(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/dc/_search", json={"size": 0, **body})
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def test_terms_filters_and_composite_weigh_documents(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    aggs = {
        "k": {"terms": {"field": "k"}},
        "n": {"terms": {"field": "n", "order": {"_key": "asc"}}},
        "f": {"filters": {"filters": {"low": {"range": {"n": {"lt": 2}}}}}},
        "c": {"composite": {"sources": [{"k": {"terms": {"field": "k"}}}]}},
        "r": {"rare_terms": {"field": "n", "max_doc_count": 100}},
    }
    body = await _search(asgi_client, {"aggs": aggs})
    assert body["hits"]["total"]["value"] == len(DOCS)  # documents, not weights
    got = body["aggregations"]
    k = _weighted("k", DOCS)
    assert [(b["key"], b["doc_count"]) for b in got["k"]["buckets"]] == sorted(
        k.items(), key=lambda kv: (-kv[1], kv[0])
    )
    assert [(b["key"], b["doc_count"]) for b in got["n"]["buckets"]] == sorted(_weighted("n", DOCS).items())
    assert got["f"]["buckets"]["low"]["doc_count"] == sum(_weight(d) for d in DOCS if d["n"] < 2)
    assert [(b["key"]["k"], b["doc_count"]) for b in got["c"]["buckets"]] == sorted(k.items())
    assert {b["key"]: b["doc_count"] for b in got["r"]["buckets"]} == dict(_weighted("n", DOCS))


async def test_doc_count_stays_in_source_and_is_validated(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client, shards=1)
    r = await asgi_client.get("/dc/_doc/1")
    assert r.json()["_source"] == DOCS[1]
    mapping = (await asgi_client.get("/dc/_mapping")).json()["dc"]["mappings"]
    assert "_doc_count" not in mapping.get("properties", {})
    for bad in (0, -3, [2], "x", 1.5):
        r = await asgi_client.put("/dc/_doc/bad", json={"k": "z", "_doc_count": bad})
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"]["type"] == "document_parsing_exception", r.text


async def test_doc_count_under_strict_dynamic_mapping(asgi_client: httpx.AsyncClient) -> None:
    mappings = {"dynamic": "strict", "properties": {"k": {"type": "keyword"}}}
    assert (await asgi_client.put("/strict", json={"mappings": mappings})).status_code == 200
    r = await asgi_client.put("/strict/_doc/1?refresh=true", json={"k": "a", "_doc_count": 7})
    assert r.status_code == 201, r.text
    r = await asgi_client.post("/strict/_search", json={"size": 0, "aggs": {"k": {"terms": {"field": "k"}}}})
    assert r.json()["aggregations"]["k"]["buckets"] == [{"key": "a", "doc_count": 7}]
    r = await asgi_client.put("/strict/_doc/2", json={"k": "a", "_doc_count": 0})
    assert "Field [_doc_count] must be a positive integer. Value [0] is not allowed." in r.text
