"""Small HTTP helpers for the aggregation tests that run through the in-process app (``asgi_client``)."""

from __future__ import annotations

from typing import Any

import httpx
import orjson


async def make_index(client: httpx.AsyncClient, name: str, properties: dict[str, Any], shards: int = 3) -> None:
    body = {"settings": {"number_of_shards": shards, "number_of_replicas": 0}, "mappings": {"properties": properties}}
    r = await client.put(f"/{name}", json=body)
    assert r.status_code == 200, r.text


async def bulk(client: httpx.AsyncClient, name: str, docs: list[dict[str, Any]]) -> None:
    lines = []
    for i, doc in enumerate(docs):
        lines += [orjson.dumps({"index": {"_id": str(i)}}), orjson.dumps(doc)]
    r = await client.post(
        f"/{name}/_bulk?refresh=true",
        content=b"\n".join(lines) + b"\n",
        headers={"content-type": "application/x-ndjson"},
    )
    assert r.status_code == 200 and not r.json()["errors"], r.text[:2000]


async def aggs(client: httpx.AsyncClient, name: str, body: dict[str, Any], query: Any = None) -> dict[str, Any]:
    request: dict[str, Any] = {"size": 0, "aggs": body}
    if query is not None:
        request["query"] = query
    r = await client.post(f"/{name}/_search", json=request)
    assert r.status_code == 200, r.text[:2000]
    return dict(r.json()["aggregations"])


async def search_error(client: httpx.AsyncClient, name: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post(f"/{name}/_search", json={"size": 0, "aggs": body})
