"""``sampler``, ``diversified_sampler`` and ``random_sampler`` through the HTTP app.

The expected samples are computed in Python from the search hits of the same query (their score order).
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.server.helpers import assert_canonical_error

# "kibana" repeated a varying number of times gives every document its own score
DOCS = [{"body": " ".join(["kibana"] * (1 + i % 7) + ["filler"] * (i % 5)), "author": f"a{i % 4}", "n": i}
        for i in range(40)]  # fmt: skip
QUERY = {"match": {"body": "kibana"}}


async def _load(client: httpx.AsyncClient, shards: int = 1) -> None:
    mappings = {"properties": {"body": {"type": "text"}, "author": {"type": "keyword"}, "n": {"type": "long"}}}
    r = await client.put("/smp", json={"settings": {"number_of_shards": shards}, "mappings": mappings})
    assert r.status_code == 200, r.text
    lines = []
    for i, doc in enumerate(DOCS):
        lines += [json.dumps({"index": {"_id": str(i)}}), json.dumps(doc)]
    r = await client.post("/smp/_bulk?refresh=true", content="\n".join(lines) + "\n",
                          headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text


async def _search(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/smp/_search", json=body)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def _ranked(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every matching document, best score first (index order among equal scores)."""
    hits = (await _search(client, {"query": QUERY, "size": 100}))["hits"]["hits"]
    hits.sort(key=lambda h: (-h["_score"], int(h["_id"])))
    return [h["_source"] for h in hits]


MINMAX = {"lo": {"min": {"field": "n"}}, "hi": {"max": {"field": "n"}}, "c": {"value_count": {"field": "n"}}}


async def test_sampler_keeps_the_best_scoring_documents(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    ranked = await _ranked(asgi_client)
    for shard_size in (1, 5, 13, 100):
        body = {"query": QUERY, "size": 0, "aggs": {"s": {"sampler": {"shard_size": shard_size}, "aggs": MINMAX}}}
        got = (await _search(asgi_client, body))["aggregations"]["s"]
        sample = [d["n"] for d in ranked[:shard_size]]
        assert got["doc_count"] == len(sample)
        assert (got["lo"]["value"], got["hi"]["value"], got["c"]["value"]) == (min(sample), max(sample), len(sample))


async def test_diversified_sampler_caps_documents_per_value(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    ranked = await _ranked(asgi_client)
    for per_value, shard_size in ((1, 100), (2, 100), (3, 5)):
        kept: list[int] = []
        seen: dict[str, int] = {}
        for doc in ranked:
            if seen.get(doc["author"], 0) < per_value and len(kept) < shard_size:
                seen[doc["author"]] = seen.get(doc["author"], 0) + 1
                kept.append(doc["n"])
        spec = {"field": "author", "max_docs_per_value": per_value, "shard_size": shard_size}
        body = {"query": QUERY, "size": 0, "aggs": {"s": {"diversified_sampler": spec, "aggs": MINMAX}}}
        got = (await _search(asgi_client, body))["aggregations"]["s"]
        assert got["doc_count"] == len(kept)
        assert (got["lo"]["value"], got["hi"]["value"]) == (min(kept), max(kept))


async def test_random_sampler_scales_counts_and_is_seeded(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client, shards=2)
    aggs = {"s": {"random_sampler": {"probability": 1.0}, "aggs": {"a": {"avg": {"field": "n"}}, **MINMAX}}}
    got = (await _search(asgi_client, {"size": 0, "aggs": aggs}))["aggregations"]["s"]
    assert got["doc_count"] == len(DOCS) and got["probability"] == 1.0
    assert got["a"]["value"] == sum(d["n"] for d in DOCS) / len(DOCS)
    aggs = {"s": {"random_sampler": {"probability": 0.25, "seed": 7},
                  "aggs": {"c": {"value_count": {"field": "n"}}, "t": {"terms": {"field": "author"}}}}}  # fmt: skip
    first = (await _search(asgi_client, {"size": 0, "aggs": aggs}))["aggregations"]["s"]
    again = (await _search(asgi_client, {"size": 0, "aggs": aggs}))["aggregations"]["s"]
    assert first == again and first["seed"] == 7
    assert first["doc_count"] % 4 == 0 and 0 < first["doc_count"] < 4 * len(DOCS)
    assert first["c"]["value"] == first["doc_count"]  # every document has n: the scaled counts agree
    assert sum(b["doc_count"] for b in first["t"]["buckets"]) == first["doc_count"]


async def test_sampler_refusals(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    cases = [
        ({"s": {"random_sampler": {"probability": 0.7}, "aggs": MINMAX}}, "must be between 0.0 and 0.5"),
        ({"s": {"random_sampler": {"probability": 0.1}}}, "must have sub-aggregations"),
        ({"t": {"terms": {"field": "author"}, "aggs": {"s": {"random_sampler": {"probability": 0.1}, "aggs": MINMAX}}}},
         "cannot have a parent aggregation"),
        ({"s": {"random_sampler": {"probability": 0.1}, "aggs": {"u": {"cardinality": {"field": "n"}}}}},
         "does not support sampling [cardinality] aggregation [u]"),
        ({"s": {"sampler": {"shard_size": 0}, "aggs": MINMAX}}, "[shard_size] must be greater than 0"),
        ({"s": {"diversified_sampler": {"field": "author", "max_docs_per_value": 0}, "aggs": MINMAX}},
         "[max_docs_per_value] must be greater than 0"),
    ]  # fmt: skip
    for aggs, reason in cases:
        r = await asgi_client.post("/smp/_search", json={"size": 0, "aggs": aggs})
        assert_canonical_error(r, 400, "illegal_argument_exception")
        assert reason in r.text, r.text
    r = await asgi_client.post("/smp/_search", json={"aggs": {"s": {"sampler": {"bogus": 1}}}})
    assert_canonical_error(r, 400, "x_content_parse_exception")


async def test_diversified_sampler_reads_past_the_first_window(asgi_client: httpx.AsyncClient) -> None:
    # 600 high-scoring documents by two authors, then 100 lower-scoring ones by a third: the third author's
    # best document lies past the first window of hits the sampler reads
    mappings = {"properties": {"tags": {"type": "keyword"}, "author": {"type": "keyword"}, "n": {"type": "long"}}}
    r = await asgi_client.put("/div", json={"settings": {"number_of_shards": 1}, "mappings": mappings})
    assert r.status_code == 200, r.text
    docs = [{"tags": ["a", "b"] if i < 600 else ["a"], "author": ("x", "y")[i % 2] if i < 600 else "z", "n": i}
            for i in range(700)]  # fmt: skip
    lines = []
    for i, doc in enumerate(docs):
        lines += [json.dumps({"index": {"_id": str(i)}}), json.dumps(doc)]
    r = await asgi_client.post("/div/_bulk?refresh=true", content="\n".join(lines) + "\n",
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text
    query = {"bool": {"should": [{"term": {"tags": "a"}}, {"term": {"tags": "b"}}]}}
    hits = (await asgi_client.post("/div/_search", json={"query": query, "size": 700})).json()["hits"]["hits"]
    hits.sort(key=lambda h: (-h["_score"], int(h["_id"])))
    first: dict[str, int] = {}
    for h in hits:
        first.setdefault(h["_source"]["author"], h["_source"]["n"])
    aggs = {"s": {"diversified_sampler": {"field": "author", "shard_size": 3}, "aggs": MINMAX}}
    r = await asgi_client.post("/div/_search", json={"query": query, "size": 0, "aggs": aggs})
    got = r.json()["aggregations"]["s"]
    assert got["doc_count"] == 3
    assert (got["lo"]["value"], got["hi"]["value"]) == (min(first.values()), max(first.values()))
    assert max(first.values()) >= 600
