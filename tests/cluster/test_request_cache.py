"""The shard request cache and the single-shard fast paths, against plain-Python answers over the same docs."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import _starlette_of

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon"]


def _docs(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "k": rng.choice(WORDS[:4]),
            "n": rng.randint(0, 30),
            "msg": " ".join(rng.choices(WORDS, k=3)),
            "ts": f"2024-01-{rng.randint(1, 28):02d}",
        }
        for _ in range(n)
    ]


async def _index(
    client: httpx.AsyncClient, name: str, shards: int, docs: list[dict[str, Any]], **settings: Any
) -> None:
    body = {
        "settings": {"number_of_shards": shards, **settings},
        "mappings": {
            "properties": {
                "k": {"type": "keyword"},
                "n": {"type": "long"},
                "msg": {"type": "text"},
                "ts": {"type": "date"},
            }
        },
    }
    assert (await client.put(f"/{name}", json=body)).status_code == 200
    await _add(client, name, docs, start=0)


async def _add(client: httpx.AsyncClient, name: str, docs: list[dict[str, Any]], start: int) -> None:
    lines = []
    for i, doc in enumerate(docs, start):
        lines += [orjson.dumps({"index": {"_id": str(i)}}), orjson.dumps(doc)]
    r = await client.post(f"/{name}/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                          headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text


def _terms(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    counts = Counter(d["k"] for d in docs)
    return [{"key": k, "doc_count": n} for k, n in sorted(counts.items(), key=lambda kn: (-kn[1], kn[0]))]


AGG = {"size": 0, "aggs": {"t": {"terms": {"field": "k"}}, "m": {"max": {"field": "n"}}}}


def _service(client: httpx.AsyncClient) -> Any:
    app = client._transport.app  # type: ignore[attr-defined]
    return _starlette_of(app).state.cluster.leaf_service


async def test_size_zero_results_are_cached_per_reader_and_refresh_invalidates(
    asgi_client: httpx.AsyncClient,
) -> None:
    docs = _docs(300, 1)
    await _index(asgi_client, "c", 1, docs)
    cache = _service(asgi_client).request_cache
    first = (await asgi_client.post("/c/_search", json=AGG)).json()
    hits_before = cache.hits
    second = (await asgi_client.post("/c/_search", json=AGG)).json()
    assert cache.hits == hits_before + 1
    for body in (first, second):
        assert body["hits"]["total"] == {"value": 300, "relation": "eq"}
        assert body["aggregations"]["t"]["buckets"] == _terms(docs)
        assert body["aggregations"]["m"]["value"] == max(d["n"] for d in docs)
    assert {k: v for k, v in first.items() if k != "took"} == {k: v for k, v in second.items() if k != "took"}
    stats = (await asgi_client.get("/c/_stats/request_cache")).json()["indices"]["c"]["primaries"]["request_cache"]
    assert stats["hit_count"] == 1 and stats["miss_count"] == 1 and stats["memory_size_in_bytes"] > 0
    # a refresh with new documents: the next answer is computed on the new reader
    more = _docs(50, 2)
    await _add(asgi_client, "c", more, start=300)
    third = (await asgi_client.post("/c/_search", json=AGG)).json()
    assert third["hits"]["total"]["value"] == 350
    assert third["aggregations"]["t"]["buckets"] == _terms(docs + more)


async def test_requests_with_hits_or_now_or_the_setting_off_are_not_cached(asgi_client: httpx.AsyncClient) -> None:
    docs = _docs(120, 3)
    await _index(asgi_client, "off", 1, docs, **{"index.requests.cache.enable": False})
    await _index(asgi_client, "on", 1, docs)
    cache = _service(asgi_client).request_cache
    with_now = {"size": 0, "query": {"range": {"ts": {"lte": "now"}}}, "aggs": AGG["aggs"]}
    with_hits = {"size": 3, "aggs": AGG["aggs"]}
    for body, index in ((AGG, "off"), (with_hits, "on"), (with_now, "on")):
        for _ in range(2):
            hits_before = cache.hits
            r = await asgi_client.post(f"/{index}/_search", json=body)
            assert r.status_code == 200, r.text
            assert r.json()["aggregations"]["t"]["buckets"] == _terms(docs)
            assert cache.hits == hits_before


async def test_the_request_cache_url_parameter_overrides_the_index_setting(asgi_client: httpx.AsyncClient) -> None:
    docs = _docs(100, 6)
    await _index(asgi_client, "on", 1, docs)
    await _index(asgi_client, "off", 1, docs, **{"index.requests.cache.enable": False})
    cache = _service(asgi_client).request_cache
    for index, param, cached in (("on", "false", False), ("off", "true", True)):
        answers = []
        for _ in range(2):
            hits_before = cache.hits
            r = await asgi_client.post(f"/{index}/_search?request_cache={param}", json=AGG)
            assert r.status_code == 200, r.text
            answers.append(r.json()["aggregations"]["t"]["buckets"])
        assert cache.hits == hits_before + (1 if cached else 0), (index, param)
        assert answers == [_terms(docs)] * 2


async def test_cached_answers_stay_per_index_and_per_query(asgi_client: httpx.AsyncClient) -> None:
    a, b = _docs(200, 4), _docs(150, 5)
    await _index(asgi_client, "a", 1, a)
    await _index(asgi_client, "b", 1, b)
    for _ in range(2):
        for name, docs in (("a", a), ("b", b)):
            got = (await asgi_client.post(f"/{name}/_search", json=AGG)).json()
            assert got["aggregations"]["t"]["buckets"] == _terms(docs)
            filtered = {"size": 0, "query": {"term": {"k": "beta"}}, "aggs": AGG["aggs"]}
            got = (await asgi_client.post(f"/{name}/_search", json=filtered)).json()
            assert got["hits"]["total"]["value"] == sum(d["k"] == "beta" for d in docs)
            assert got["aggregations"]["t"]["buckets"] == _terms([d for d in docs if d["k"] == "beta"])


@pytest.mark.parametrize("shards", [1, 3])
async def test_sorted_pages_and_totals_match_python(asgi_client: httpx.AsyncClient, shards: int) -> None:
    """One shard skips the root's merge sort and counts in the ordered pass: same pages as Python's order."""
    docs = _docs(400, 6)
    await _index(asgi_client, "s", shards, docs)
    order = sorted(range(len(docs)), key=lambda i: (-docs[i]["n"], i))  # ties: insertion order
    r = await asgi_client.post("/s/_search", json={"size": 25, "sort": [{"n": "desc"}]})
    body = r.json()
    assert body["hits"]["total"] == {"value": 400, "relation": "eq"}
    assert [h["sort"] for h in body["hits"]["hits"]] == [[docs[i]["n"]] for i in order[:25]]
    if shards == 1:  # one shard: ties come back in insertion order, as Lucene's doc ids
        assert [h["_id"] for h in body["hits"]["hits"]] == [str(i) for i in order[:25]]
    after = docs[order[24]]["n"]
    r = await asgi_client.post(
        "/s/_search",
        json={"size": 10, "sort": [{"n": "asc"}], "search_after": [after], "query": {"term": {"k": "gamma"}}},
    )
    body = r.json()
    matching = [d for d in docs if d["k"] == "gamma"]
    assert body["hits"]["total"]["value"] == len(matching)
    assert [h["sort"][0] for h in body["hits"]["hits"]] == sorted(d["n"] for d in matching if d["n"] > after)[:10]
    r = await asgi_client.post("/s/_search", json={"size": 5, "query": {"match": {"msg": "alpha"}}})
    body = r.json()
    assert body["hits"]["total"]["value"] == sum("alpha" in d["msg"].split() for d in docs)
    scores = [h["_score"] for h in body["hits"]["hits"]]
    assert scores == sorted(scores, reverse=True) and body["hits"]["max_score"] == scores[0]
