"""``profile: true`` through the real HTTP app: ES's shape, with measured (positive, bounded) times."""

from __future__ import annotations

import httpx

from tests.server.test_pit_slices import _make


async def test_profile_shape_and_measures(asgi_client: httpx.AsyncClient) -> None:
    docs = await _make(asgi_client, "pr", 3, 40)
    aggs = {"g": {"terms": {"field": "g"}}}
    body = {"profile": True, "size": 5, "query": {"range": {"n": {"gte": 10}}}, "aggs": aggs}
    r = await asgi_client.post("/pr/_search", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    shards = out["profile"]["shards"]
    assert [s["shard_id"] for s in shards] == [0, 1, 2]
    assert all(s["index"] == "pr" and s["node_id"] in s["id"] and "[pr]" in s["id"] for s in shards)
    with_hits = {h["_index"] for h in out["hits"]["hits"]}
    assert with_hits == {"pr"}
    total_ns = 0
    for shard in shards:
        (search,) = shard["searches"]
        (query,) = search["query"]
        assert query["type"] == "RangeQuery"
        assert query["time_in_nanos"] > 0
        assert query["breakdown"]["create_weight_count"] == 1
        # the matches counted on the shard add up to the total
        assert query["time_in_nanos"] == query["breakdown"]["create_weight"] + query["breakdown"]["next_doc"]
        assert search["collector"][0]["time_in_nanos"] == query["breakdown"]["next_doc"]
        (agg,) = shard["aggregations"]
        assert agg["description"] == "g" and agg["time_in_nanos"] > 0
        total_ns += query["time_in_nanos"] + agg["time_in_nanos"]
        if "fetch" in shard:
            fetch = shard["fetch"]
            assert fetch["breakdown"]["load_stored_fields_count"] >= 1
            assert [c["type"] for c in fetch["children"]] == ["FetchSourcePhase", "StoredFieldsPhase"]
    assert sum(s["searches"][0]["query"][0]["breakdown"]["next_doc_count"] for s in shards) == sum(
        1 for d in docs.values() if d["n"] >= 10
    )
    # measured, not made up: the shards' times fit in the request's wall time (shards run in parallel: x3)
    assert total_ns <= (out["took"] + 1) * 1_000_000 * 3
    fetched = sum(s["fetch"]["breakdown"]["load_stored_fields_count"] for s in shards if "fetch" in s)
    assert fetched == len(out["hits"]["hits"])


async def test_profile_off_and_stored_fields_none(asgi_client: httpx.AsyncClient) -> None:
    await _make(asgi_client, "pr", 1, 3)
    assert "profile" not in (await asgi_client.post("/pr/_search", json={})).json()
    out = (await asgi_client.post("/pr/_search", json={"profile": True, "stored_fields": "_none_"})).json()
    fetch = out["profile"]["shards"][0]["fetch"]
    assert fetch["debug"]["stored_fields"] == [] and "children" not in fetch
    assert not out["profile"]["shards"][0]["aggregations"]
    r = await asgi_client.post("/pr/_search", json={"profile": "yes"})
    assert r.status_code == 400
