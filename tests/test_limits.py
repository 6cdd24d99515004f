"""ES's resource limits: shards per node, indexing pressure, ``_bulk`` memory, buckets, deep aggregation trees.

Each limit answers with ES's type, status and message, and a request just under it still works.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

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
