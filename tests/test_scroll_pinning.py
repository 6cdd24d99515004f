"""A scroll reads the snapshot of its first page even after many more refreshes than the reader LRU keeps."""

from __future__ import annotations

import asyncio

import httpx
import orjson

from native.shard import _PINNED_SEARCHERS
from tests.conftest import _starlette_of


async def _bulk(client: httpx.AsyncClient, start: int, count: int) -> None:
    lines = []
    for i in range(start, start + count):
        lines += [orjson.dumps({"index": {"_id": str(i)}}), orjson.dumps({"n": i})]
    r = await client.post(
        "/snap/_bulk?refresh=true", content=b"\n".join(lines) + b"\n", headers={"content-type": "application/x-ndjson"}
    )
    assert not r.json()["errors"]


async def test_scroll_survives_many_refreshes(asgi_client: httpx.AsyncClient) -> None:
    r = await asgi_client.put(
        "/snap", json={"settings": {"number_of_shards": 2}, "mappings": {"properties": {"n": {"type": "long"}}}}
    )
    assert r.status_code == 200
    await _bulk(asgi_client, 0, 50)
    first = (await asgi_client.post("/snap/_search?scroll=1m", json={"size": 10, "sort": ["_doc"]})).json()
    seen = [h["_id"] for h in first["hits"]["hits"]]
    # more refreshes (each adds and updates documents) than the shard keeps readers for
    for round_ in range(_PINNED_SEARCHERS + 4):
        await _bulk(asgi_client, 1000 + round_ * 5, 5)
    for _ in range(10):
        page = (
            await asgi_client.post("/_search/scroll", json={"scroll": "1m", "scroll_id": first["_scroll_id"]})
        ).json()
        if not page["hits"]["hits"]:
            break
        seen += [h["_id"] for h in page["hits"]["hits"]]
    assert sorted(seen, key=int) == [str(i) for i in range(50)]  # the snapshot: no later document, none twice


async def test_scroll_and_fetch_survive_a_mapping_rebuild(asgi_client: httpx.AsyncClient) -> None:
    """A new field rebuilds the shard into a new index generation; a scroll opened before reads on."""
    r = await asgi_client.put(
        "/snap", json={"settings": {"number_of_shards": 2}, "mappings": {"properties": {"n": {"type": "long"}}}}
    )
    assert r.status_code == 200
    await _bulk(asgi_client, 0, 60)
    first = (await asgi_client.post("/snap/_search?scroll=1m", json={"size": 7, "sort": [{"n": "asc"}]})).json()
    seen = [h["_source"]["n"] for h in first["hits"]["hits"]]
    # delete and re-add documents, then a new field: every shard rebuilds its index
    lines = [orjson.dumps({"delete": {"_id": str(i)}}) for i in range(0, 60, 3)]
    lines += [orjson.dumps({"index": {"_id": "new"}}), orjson.dumps({"n": -1, "tag": "fresh"})]
    r = await asgi_client.post("/snap/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert not r.json()["errors"]
    mapping = (await asgi_client.get("/snap/_mapping")).json()["snap"]["mappings"]["properties"]
    assert "tag" in mapping
    for _ in range(20):
        page = (
            await asgi_client.post("/_search/scroll", json={"scroll": "1m", "scroll_id": first["_scroll_id"]})
        ).json()
        if not page["hits"]["hits"]:
            break
        seen += [h["_source"]["n"] for h in page["hits"]["hits"]]
    assert seen == list(range(60))  # the snapshot's documents, in order, none from after it


async def test_an_idle_shard_releases_its_earlier_readers(asgi_client: httpx.AsyncClient) -> None:
    """The node's refresh loop retires replaced readers even where nothing is written (refresh -1)."""
    settings = {"number_of_shards": 1, "refresh_interval": "-1"}
    assert (await asgi_client.put("/snap", json={"settings": settings})).status_code == 200
    await _bulk(asgi_client, 0, 5)
    cluster = _starlette_of(asgi_client._transport.app).state.cluster  # type: ignore[attr-defined]
    shard = next(iter(cluster.node.shards.values()))
    old_gen, old = shard.acquire_searcher()
    await _bulk(asgi_client, 5, 5)
    new_gen, new = shard.acquire_searcher()
    assert new_gen != old_gen and shard.searcher(old_gen) is old  # kept for fetch phases
    shard._readers.retire_after_s = 0.0
    for _ in range(50):  # the refresh loop ticks every ~100 ms
        await asyncio.sleep(0.05)
        if shard.searcher(old_gen) is new:
            break
    assert shard.searcher(old_gen) is new  # released: falls back to the current reader
