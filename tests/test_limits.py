"""ES's resource limits: shards per node, indexing pressure, ``_bulk`` memory, buckets, deep aggregation trees.

Each limit answers with ES's type, status and message, and a request just under it still works.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from native.aggs.buckets import count_response
from tests.server.helpers import assert_canonical_error

NDJSON = {"content-type": "application/x-ndjson"}


def _shard_limit_reason(adding: int, used: int, limit: int) -> str:
    return (f"Validation Failed: 1: this action would add [{adding}] shards, but this cluster currently has "
            f"[{used}]/[{limit}] maximum normal shards open;")  # fmt: skip


async def _set_cluster(client: httpx.AsyncClient, **settings: Any) -> None:
    response = await client.put("/_cluster/settings", json={"persistent": settings})
    assert response.status_code == 200, response.text


# -- cluster.max_shards_per_node ---------------------------------------------------------------------------------


async def test_default_shard_limit_refuses_1024_shards_fast(asgi_client: httpx.AsyncClient) -> None:
    start = time.monotonic()
    response = await asgi_client.put("/big", json={"settings": {"number_of_shards": 1024}})
    assert_canonical_error(response, 400, "validation_exception")
    assert response.json()["error"]["reason"] == _shard_limit_reason(2048, 0, 1000)
    assert time.monotonic() - start < 2.0  # refused before any shard is opened
    assert (await asgi_client.head("/big")).status_code == 404
    # past ES's own per-index maximum it is the setting that is refused
    response = await asgi_client.put("/big", json={"settings": {"number_of_shards": 1025, "number_of_replicas": 0}})
    assert_canonical_error(response, 400, "illegal_argument_exception")
    assert response.json()["error"]["reason"] == (
        "Failed to parse value [1025] for setting [index.number_of_shards] must be <= 1024"
    )


async def test_shard_limit_on_create_replicas_open_and_auto_create(asgi_client: httpx.AsyncClient) -> None:
    await _set_cluster(asgi_client, cluster={"max_shards_per_node": 5})
    # 2 primaries x (1 + 1 replica) = 4 copies, then 1 more: exactly at the limit, still accepted
    ok = await asgi_client.put("/a", json={"settings": {"number_of_shards": 2, "number_of_replicas": 1}})
    assert ok.status_code == 200, ok.text
    ok = await asgi_client.put("/b", json={"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    assert ok.status_code == 200, ok.text

    response = await asgi_client.put("/c", json={"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    assert_canonical_error(response, 400, "validation_exception")
    assert response.json()["error"]["reason"] == _shard_limit_reason(1, 5, 5)

    # auto-create through a write goes through the same check
    response = await asgi_client.put("/d/_doc/1", json={"x": 1})
    assert_canonical_error(response, 400, "validation_exception")
    assert response.json()["error"]["reason"] == _shard_limit_reason(2, 5, 5)

    # adding a replica to "b" adds one copy
    response = await asgi_client.put("/b/_settings", json={"index": {"number_of_replicas": 1}})
    assert_canonical_error(response, 400, "validation_exception")
    assert response.json()["error"]["reason"] == _shard_limit_reason(1, 5, 5)
    # removing replicas frees room; a closed index does not count, and opening it is checked
    ok = await asgi_client.put("/a/_settings", json={"index": {"number_of_replicas": 0}})
    assert ok.status_code == 200, ok.text
    assert (await asgi_client.post("/a/_close")).status_code == 200
    ok = await asgi_client.put("/c", json={"settings": {"number_of_shards": 2, "number_of_replicas": 1}})
    assert ok.status_code == 200, ok.text
    response = await asgi_client.post("/a/_open")
    assert_canonical_error(response, 400, "validation_exception")
    assert response.json()["error"]["reason"] == _shard_limit_reason(2, 5, 5)

    # the limit is dynamic: raising it lets the same request through
    await _set_cluster(asgi_client, **{"cluster.max_shards_per_node": 7})
    assert (await asgi_client.post("/a/_open")).status_code == 200


async def test_shard_limit_setting_is_validated(asgi_client: httpx.AsyncClient) -> None:
    for value, reason in ((0, "Failed to parse value [0] for setting [cluster.max_shards_per_node] must be >= 1"),
                          ("x", "Failed to parse value [x] for setting [cluster.max_shards_per_node]")):  # fmt: skip
        body = {"persistent": {"cluster.max_shards_per_node": value}}
        response = await asgi_client.put("/_cluster/settings", json=body)
        assert_canonical_error(response, 400, "illegal_argument_exception")
        assert response.json()["error"]["reason"] == reason


# -- search.max_buckets ------------------------------------------------------------------------------------------


def _too_many_reason(limit: int) -> str:
    return (f"Trying to create too many buckets. Must be less than or equal to: [{limit}] but this number of "
            "buckets was exceeded. This limit can be set by changing the [search.max_buckets] cluster level setting.")


def _assert_too_many(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    root = body["error"]["root_cause"][0]
    assert root["type"] == "too_many_buckets_exception", body
    assert root["reason"] == _too_many_reason(limit)
    assert root["max_buckets"] == limit
    assert body["status"] == 400


@pytest.fixture
async def docs(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    """40 documents over 2 shards: tag t0..t9 (4 each), n 0..39, day 0..39 of 2024."""
    mappings = {"properties": {"tag": {"type": "keyword"}, "n": {"type": "long"}, "day": {"type": "date"}}}
    response = await asgi_client.put("/b", json={"settings": {"number_of_shards": 2}, "mappings": mappings})
    assert response.status_code == 200, response.text
    lines = []
    for i in range(40):
        lines.append(b'{"index":{}}')
        lines.append(f'{{"tag":"t{i % 10}","n":{i},"day":{1704067200000 + i * 86400000}}}'.encode())
    response = await asgi_client.post("/b/_bulk?refresh=true", content=b"\n".join(lines) + b"\n", headers=NDJSON)
    assert response.status_code == 200 and not response.json()["errors"], response.text
    return asgi_client


async def _search(client: httpx.AsyncClient, aggs: dict[str, Any]) -> httpx.Response:
    return await client.post("/b/_search", json={"size": 0, "aggs": aggs})


async def test_max_buckets_counts_every_bucket_aggregation(docs: httpx.AsyncClient) -> None:
    await _set_cluster(docs, search={"max_buckets": 50})
    terms = {"terms": {"field": "tag", "size": 10}}  # 10 buckets
    histo = {"histogram": {"field": "n", "interval": 10}}  # 4 buckets
    day = {"date_histogram": {"field": "day", "calendar_interval": "day"}}  # 40 buckets
    ranges = {"range": {"field": "n", "ranges": [{"to": 10}, {"from": 10, "to": 20}, {"from": 20}]}}  # 3
    filters = {"filters": {"filters": {"a": {"term": {"tag": "t1"}}, "b": {"term": {"tag": "t2"}}}}}  # 2
    # just under, and exactly at, the limit: answered
    for aggs, expected in (({"t": terms, "d": day}, 50), ({"h": {**histo, "aggs": {"t": terms}}}, 4 + 40),
                           ({"r": {**ranges, "aggs": {"f": filters}}, "d": day}, 3 + 6 + 40)):  # fmt: skip
        response = await _search(docs, aggs)
        assert response.status_code == 200, response.text
        assert count_response(response.json()["aggregations"]) == expected
    # one more bucket anywhere in the response, nested buckets multiplying
    for aggs in ({"t": terms, "d": day, "r2": {"range": {"field": "n", "ranges": [{"to": 5}]}}},
                 {"t": {**terms, "aggs": {"h": {"histogram": {"field": "n", "interval": 1}}}}, "h": histo},
                 {"d": {**day, "aggs": {"f": filters}}},
                 {"c": {"composite": {"size": 51, "sources": [{"n": {"terms": {"field": "n"}}}]}},
                  "t": terms, "h": histo}):  # fmt: skip
        _assert_too_many(await _search(docs, aggs), 50)
    # the setting is dynamic and a reset restores the default
    await _set_cluster(docs, search={"max_buckets": None})
    response = await _search(docs, {"t": {**terms, "aggs": {"h": {"histogram": {"field": "n", "interval": 1}}}}})
    assert response.status_code == 200, response.text


async def test_huge_range_aggregation_is_refused_before_running(docs: httpx.AsyncClient) -> None:
    ranges = [{"from": i, "to": i + 1} for i in range(70_000)]
    start = time.monotonic()
    response = await _search(docs, {"r": {"range": {"field": "n", "ranges": ranges}}})
    elapsed = time.monotonic() - start
    _assert_too_many(response, 65536)
    assert elapsed < 5.0, elapsed  # refused before running (running takes far longer)
    # filters nested under a range multiply before running too
    await _set_cluster(docs, search={"max_buckets": 100})
    filters = {"filters": {"filters": [{"term": {"tag": f"t{i}"}} for i in range(10)]}}
    aggs = {"r": {"range": {"field": "n", "ranges": ranges[:10]}, "aggs": {"f": filters}}}
    _assert_too_many(await _search(docs, aggs), 100)
    aggs = {"r": {"range": {"field": "n", "ranges": ranges[:9]}, "aggs": {"f": filters}}}  # 9 + 90 = 99
    response = await _search(docs, aggs)
    assert response.status_code == 200, response.text
    assert len(response.json()["aggregations"]["r"]["buckets"]) == 9


async def test_max_buckets_setting_is_validated(asgi_client: httpx.AsyncClient) -> None:
    response = await asgi_client.put("/_cluster/settings", json={"persistent": {"search.max_buckets": -1}})
    assert_canonical_error(response, 400, "illegal_argument_exception")
    reason = "Failed to parse value [-1] for setting [search.max_buckets] must be >= 0"
    assert response.json()["error"]["reason"] == reason
