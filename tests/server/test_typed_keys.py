"""``typed_keys`` and ``took`` through the real HTTP app."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.server.test_pit_slices import _bulk


async def test_typed_keys_names_every_aggregation_by_result_type(asgi_client: httpx.AsyncClient) -> None:
    props = {"tag": {"type": "keyword"}, "n": {"type": "long"}, "x": {"type": "double"}}
    assert (await asgi_client.put("/t", json={"mappings": {"properties": props}})).status_code == 200
    docs = {str(i): {"tag": "ab"[i % 2], "n": i % 3, "x": i / 2} for i in range(12)}
    await _bulk(asgi_client, "t", docs)
    aggs = {
        "by_tag": {"terms": {"field": "tag"}, "aggs": {"avg_n": {"avg": {"field": "n"}}}},
        "by_n": {"terms": {"field": "n"}},
        "by_x": {"terms": {"field": "x", "size": 1}},
        "only_a": {"filter": {"term": {"tag": "a"}}, "aggs": {"mx": {"max": {"field": "x"}}}},
        "pct": {"percentiles": {"field": "x"}},
    }
    plain = (await asgi_client.post("/t/_search", json={"size": 0, "aggs": aggs})).json()["aggregations"]
    assert set(plain) == set(aggs)
    typed = (await asgi_client.post("/t/_search?typed_keys", json={"size": 0, "aggs": aggs})).json()["aggregations"]
    assert set(typed) == {"sterms#by_tag", "lterms#by_n", "dterms#by_x", "filter#only_a", "tdigest_percentiles#pct"}
    for bucket in typed["sterms#by_tag"]["buckets"]:
        assert set(bucket) == {"key", "doc_count", "avg#avg_n"}
        ns = [d["n"] for d in docs.values() if d["tag"] == bucket["key"]]
        assert bucket["avg#avg_n"]["value"] == sum(ns) / len(ns)
    assert typed["filter#only_a"]["max#mx"]["value"] == max(d["x"] for d in docs.values() if d["tag"] == "a")
    # msearch passes it to every search
    body = b'{"index": "t"}\n{"size": 0, "aggs": {"c": {"value_count": {"field": "n"}}}}\n'
    r = await asgi_client.post("/_msearch?typed_keys=true", content=body,
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.json()["responses"][0]["aggregations"] == {"value_count#c": {"value": 12}}
    assert isinstance(r.json()["took"], int)


async def test_bulk_took_is_the_wall_time(asgi_client: httpx.AsyncClient) -> None:
    from tests.conftest import _starlette_of

    writes = _starlette_of(asgi_client._transport.app).state.cluster.writes  # type: ignore[attr-defined]
    original = writes.write

    async def slow_write(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.3)
        return await original(*args, **kwargs)

    writes.write = slow_write
    try:
        for query in ("", "?pretty"):  # the streamed and the rendered response
            body = b'{"index": {"_index": "b", "_id": "1"}}\n{"n": 1}\n'
            r = await asgi_client.post(f"/_bulk{query}", content=body, headers={"content-type": "application/x-ndjson"})
            assert r.status_code == 200 and r.json()["errors"] is False, r.text
            assert 300 <= r.json()["took"] < 30_000
    finally:
        writes.write = original
