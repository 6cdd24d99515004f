"""``unsigned_long`` is a u64 column: values up to 2^64-1 are indexed, matched, sorted and aggregated exactly."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import httpx

BIG = 2**63
VALUES = [BIG, BIG, 2**64 - 1, 12345678901234567890, 12345678901234567890, 0, 5, 2**63 - 1]


async def _load(client: httpx.AsyncClient) -> None:
    r = await client.put("/ul", json={"settings": {"number_of_shards": 2},
                                      "mappings": {"properties": {"u": {"type": "unsigned_long"}}}})  # fmt: skip
    assert r.status_code == 200, r.text
    lines = []
    for i, v in enumerate(VALUES):
        lines += [json.dumps({"index": {"_id": str(i)}}), json.dumps({"u": v})]
    r = await client.post("/ul/_bulk?refresh=true", content="\n".join(lines) + "\n",
                          headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text


async def _search(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/ul/_search", json=body)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def test_terms_keys_are_exact(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    got = await _search(asgi_client, {"size": 0, "aggs": {
        "t": {"terms": {"field": "u", "size": 20}},
        "k": {"terms": {"field": "u", "size": 20, "order": {"_key": "asc"}}},
    }})  # fmt: skip
    counts = Counter(VALUES)
    expected = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    assert [(b["key"], b["doc_count"]) for b in got["aggregations"]["t"]["buckets"]] == expected
    assert [b["key"] for b in got["aggregations"]["k"]["buckets"]] == sorted(counts)


async def test_queries_and_sort_past_2_63(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    got = await _search(asgi_client, {"query": {"term": {"u": 12345678901234567890}}})
    assert sorted(h["_id"] for h in got["hits"]["hits"]) == ["3", "4"]
    got = await _search(asgi_client, {"query": {"range": {"u": {"gte": BIG}}}, "size": 20})
    assert sorted(int(h["_id"]) for h in got["hits"]["hits"]) == [i for i, v in enumerate(VALUES) if v >= BIG]
    got = await _search(asgi_client, {"query": {"range": {"u": {"lt": BIG}}}, "size": 20})
    assert sorted(int(h["_id"]) for h in got["hits"]["hits"]) == [i for i, v in enumerate(VALUES) if v < BIG]
    got = await _search(asgi_client, {"sort": [{"u": "desc"}], "size": 20})
    assert [h["_source"]["u"] for h in got["hits"]["hits"]] == sorted(VALUES, reverse=True)
    got = await _search(asgi_client, {"size": 0, "aggs": {
        "r": {"range": {"field": "u", "ranges": [{"to": BIG}, {"from": BIG}]}},
        "mx": {"max": {"field": "u"}},
    }})  # fmt: skip
    aggs = got["aggregations"]
    assert [b["doc_count"] for b in aggs["r"]["buckets"]] == [
        sum(v < BIG for v in VALUES), sum(v >= BIG for v in VALUES)
    ]
    assert aggs["mx"]["value"] == float(2**64 - 1)


async def test_out_of_range_values_are_refused(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    for bad in (-1, 2**64):
        r = await asgi_client.put("/ul/_doc/bad", json={"u": bad})
        assert r.status_code == 400, (bad, r.text)


async def test_search_after_and_cardinality_past_2_63(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    got = await _search(asgi_client, {"sort": [{"u": "asc"}], "search_after": [BIG], "size": 20})
    assert [h["sort"][0] for h in got["hits"]["hits"]] == sorted(v for v in VALUES if v > BIG)
    got = await _search(asgi_client, {"size": 0, "aggs": {"c": {"cardinality": {"field": "u"}}}})
    assert got["aggregations"]["c"]["value"] == len(set(VALUES))


async def test_multi_valued_sort_keys_stay_exact(asgi_client: httpx.AsyncClient) -> None:
    r = await asgi_client.put("/um", json={"settings": {"number_of_shards": 1},
                                           "mappings": {"properties": {"u": {"type": "unsigned_long"}}}})  # fmt: skip
    assert r.status_code == 200, r.text
    docs = {"a": [7, 2**64 - 2], "b": 2**64 - 1, "c": [5, 9]}
    for doc_id, value in docs.items():
        await asgi_client.put(f"/um/_doc/{doc_id}", json={"u": value})
    await asgi_client.post("/um/_refresh")
    r = await asgi_client.post("/um/_search", json={"sort": [{"u": "desc"}]})
    assert r.status_code == 200 and r.json()["_shards"]["failed"] == 0, r.text
    assert [(h["_id"], h["sort"][0]) for h in r.json()["hits"]["hits"]] == [
        ("b", 2**64 - 1), ("a", 2**64 - 2), ("c", 9)
    ]
    r = await asgi_client.post("/um/_search", json={"sort": [{"u": {"order": "asc", "mode": "min"}}]})
    assert [(h["_id"], h["sort"][0]) for h in r.json()["hits"]["hits"]] == [("c", 5), ("a", 7), ("b", 2**64 - 1)]
