"""Point in time and sliced searches through the real HTTP app, on real on-disk shards."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest

from tests.server.helpers import assert_canonical_error


async def _bulk(client: httpx.AsyncClient, index: str, docs: dict[str, dict[str, Any]], refresh: bool = True) -> None:
    lines = []
    for doc_id, doc in docs.items():
        lines += [orjson.dumps({"index": {"_id": doc_id}}), orjson.dumps(doc)]
    r = await client.post(f"/{index}/_bulk?refresh={str(refresh).lower()}", content=b"\n".join(lines) + b"\n",
                          headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text


async def _make(client: httpx.AsyncClient, index: str, shards: int, count: int) -> dict[str, dict[str, Any]]:
    mappings = {"properties": {"n": {"type": "long"}, "g": {"type": "long"}}}
    r = await client.put(f"/{index}", json={"settings": {"number_of_shards": shards}, "mappings": mappings})
    assert r.status_code == 200, r.text
    docs = {f"d{i}": {"n": i, "g": i % 7} for i in range(count)}
    await _bulk(client, index, docs)
    return docs


async def _open(client: httpx.AsyncClient, index: str, keep_alive: str = "1m") -> str:
    r = await client.post(f"/{index}/_pit?keep_alive={keep_alive}")
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


async def _scroll_all(client: httpx.AsyncClient, index: str, body: dict[str, Any]) -> list[str]:
    r = await client.post(f"/{index}/_search?scroll=1m", json=body)
    assert r.status_code == 200, r.text
    page = r.json()
    ids = [h["_id"] for h in page["hits"]["hits"]]
    while page["hits"]["hits"]:
        page = (await client.post("/_search/scroll", json={"scroll": "1m", "scroll_id": page["_scroll_id"]})).json()
        ids += [h["_id"] for h in page["hits"]["hits"]]
    return ids


@pytest.mark.parametrize(("shards", "slices"), [(1, 3), (3, 2), (3, 3), (2, 5), (5, 2)])
async def test_sliced_scroll_partitions_the_documents(asgi_client: httpx.AsyncClient, shards: int, slices: int) -> None:
    docs = await _make(asgi_client, "sl", shards, 60)
    seen: list[list[str]] = []
    for i in range(slices):
        ids = await _scroll_all(asgi_client, "sl", {"size": 7, "sort": ["_doc"], "slice": {"id": i, "max": slices}})
        assert len(ids) == len(set(ids))
        seen.append(ids)
    union = [d for ids in seen for d in ids]
    assert sorted(union) == sorted(docs)  # every document once: the slices are disjoint and cover the index
    if shards == 1:
        assert all(seen), "a single shard is split by document, every slice gets some of 60"


async def test_sliced_scroll_on_a_numeric_field(asgi_client: httpx.AsyncClient) -> None:
    docs = await _make(asgi_client, "sl", 1, 50)
    totals = []
    union: list[str] = []
    for i in range(3):
        body = {"size": 100, "slice": {"field": "g", "id": i, "max": 3}, "aggs": {"s": {"sum": {"field": "n"}}}}
        r = (await asgi_client.post("/sl/_search?scroll=1m", json=body)).json()
        ids = [h["_id"] for h in r["hits"]["hits"]]
        assert r["hits"]["total"]["value"] == len(ids)
        # the slice filter applies to aggregations too
        assert r["aggregations"]["s"]["value"] == sum(docs[d]["n"] for d in ids)
        # documents with the same value of the slice field are in the same slice
        groups = {docs[d]["g"] for d in ids}
        assert all(docs[d]["g"] in groups for d in ids)
        totals.append(len(ids))
        union += ids
    assert sorted(union) == sorted(docs)
    for group in range(7):
        holders = {i for i in range(3) for d in union if docs[d]["g"] == group}
        assert holders


async def test_slice_validation(asgi_client: httpx.AsyncClient) -> None:
    await _make(asgi_client, "sl", 1, 3)
    r = await asgi_client.post("/sl/_search", json={"slice": {"id": 0, "max": 2}})
    assert_canonical_error(r, 400, "action_request_validation_exception")
    r = await asgi_client.post("/sl/_search?scroll=1m", json={"slice": {"id": 2, "max": 2}})
    assert_canonical_error(r, 400, "illegal_argument_exception")
    r = await asgi_client.post("/sl/_search?scroll=1m", json={"slice": {"id": 0, "max": 2000}})
    assert r.status_code == 400 and "max_slices_per_scroll" in r.text
    r = await asgi_client.post("/sl/_search?scroll=1m", json={"slice": {"id": 0, "max": 2, "bogus": 1}})
    assert r.status_code == 400


async def test_pit_reads_the_view_of_its_opening(asgi_client: httpx.AsyncClient) -> None:
    docs = await _make(asgi_client, "p", 3, 30)
    pit = await _open(asgi_client, "p")
    # writes after the opening: new documents, an update, deletes, all refreshed
    await _bulk(asgi_client, "p", {f"new{i}": {"n": 1000 + i, "g": 0} for i in range(5)})
    await _bulk(asgi_client, "p", {"d0": {"n": -5, "g": 0}})
    for doc_id in ("d1", "d2"):
        assert (await asgi_client.delete(f"/p/_doc/{doc_id}?refresh=true")).status_code == 200
    body = {"size": 100, "pit": {"id": pit, "keep_alive": "1m"}, "aggs": {"s": {"sum": {"field": "n"}}}}
    r = (await asgi_client.post("/_search", json=body)).json()
    assert r["pit_id"] == pit
    assert sorted(h["_id"] for h in r["hits"]["hits"]) == sorted(docs)
    assert r["aggregations"]["s"]["value"] == sum(d["n"] for d in docs.values())
    by_id = {h["_id"]: h["_source"] for h in r["hits"]["hits"]}
    assert by_id["d0"] == docs["d0"]
    now = (await asgi_client.post("/p/_search", json={"size": 0})).json()
    assert now["hits"]["total"]["value"] == 30 + 5 - 2


async def test_pit_pages_with_search_after_and_shard_doc(asgi_client: httpx.AsyncClient) -> None:
    docs = await _make(asgi_client, "p", 3, 47)
    pit = await _open(asgi_client, "p")
    await _bulk(asgi_client, "p", {"late": {"n": 1, "g": 1}})
    seen: list[str] = []
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {"size": 10, "sort": [{"g": "asc"}], "pit": {"id": pit, "keep_alive": "1m"}}
        if after is not None:
            body["search_after"] = after
        r = (await asgi_client.post("/_search", json=body)).json()
        hits = r["hits"]["hits"]
        if not hits:
            break
        for h in hits:
            assert len(h["sort"]) == 2  # the explicit key and the implicit _shard_doc tiebreaker
        seen += [h["_id"] for h in hits]
        after = hits[-1]["sort"]
    assert sorted(seen) == sorted(docs)
    assert len(seen) == len(set(seen))
    assert [docs[d]["g"] for d in seen] == sorted(docs[d]["g"] for d in seen)
    # _shard_doc alone, descending: the same documents once each
    seen = []
    after = None
    while True:
        body = {"size": 9, "sort": [{"_shard_doc": "desc"}], "pit": {"id": pit}}
        if after is not None:
            body["search_after"] = after
        hits = (await asgi_client.post("/_search", json=body)).json()["hits"]["hits"]
        if not hits:
            break
        values = [h["sort"][0] for h in hits]
        assert values == sorted(values, reverse=True)
        seen += [h["_id"] for h in hits]
        after = hits[-1]["sort"]
    assert sorted(seen) == sorted(docs)


async def test_sliced_pit_partitions(asgi_client: httpx.AsyncClient) -> None:
    docs = await _make(asgi_client, "p", 2, 40)
    pit = await _open(asgi_client, "p")
    union: list[str] = []
    for i in range(4):
        body = {"size": 100, "slice": {"id": i, "max": 4}, "pit": {"id": pit}}
        union += [h["_id"] for h in (await asgi_client.post("/_search", json=body)).json()["hits"]["hits"]]
    assert sorted(union) == sorted(docs)


async def test_pit_errors_and_close(asgi_client: httpx.AsyncClient) -> None:
    await _make(asgi_client, "p", 1, 3)
    r = await asgi_client.post("/p/_pit")
    assert_canonical_error(r, 400, "action_request_validation_exception")
    pit = await _open(asgi_client, "p")
    r = await asgi_client.post("/p/_search", json={"pit": {"id": pit}})
    assert_canonical_error(r, 400, "action_request_validation_exception")
    r = await asgi_client.post("/p/_search", json={"sort": ["_shard_doc"]})
    assert r.status_code == 400
    r = await asgi_client.request("DELETE", "/_pit", json={"id": pit})
    assert r.status_code == 200 and r.json() == {"succeeded": True, "num_freed": 1}
    r = await asgi_client.post("/_search", json={"pit": {"id": pit}})
    assert_canonical_error(r, 404, "search_phase_execution_exception", root_type="search_context_missing_exception")
    r = await asgi_client.request("DELETE", "/_pit", json={"id": pit})
    assert r.json() == {"succeeded": True, "num_freed": 0}


async def test_pit_expires(asgi_client: httpx.AsyncClient) -> None:
    await _make(asgi_client, "p", 1, 3)
    pit = await _open(asgi_client, "p", keep_alive="1s")
    assert (await asgi_client.post("/_search", json={"pit": {"id": pit}})).status_code == 200
    await asyncio.sleep(1.3)
    r = await asgi_client.post("/_search", json={"pit": {"id": pit}})
    assert_canonical_error(r, 404, "search_phase_execution_exception", root_type="search_context_missing_exception")


async def test_pit_survives_a_mapping_rebuild_and_many_refreshes(asgi_client: httpx.AsyncClient) -> None:
    docs = await _make(asgi_client, "p", 2, 20)
    pit = await _open(asgi_client, "p")
    for round_ in range(8):  # more refreshes than a shard keeps readers for, the first adds a new field
        await _bulk(asgi_client, "p", {f"x{round_}": {"n": 500 + round_, "g": 0, f"fresh{round_}": "yes"}})
    mapping = (await asgi_client.get("/p/_mapping")).json()["p"]["mappings"]["properties"]
    assert "fresh0" in mapping
    body = {"size": 100, "sort": [{"n": "asc"}], "pit": {"id": pit, "keep_alive": "1m"}}
    hits = (await asgi_client.post("/_search", json=body)).json()["hits"]["hits"]
    assert [h["_source"]["n"] for h in hits] == sorted(d["n"] for d in docs.values())
