"""``_cluster/stats``: counts computed from the same indices, independently."""

from __future__ import annotations

import json

import httpx


async def test_cluster_stats_counts(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    same = {"properties": {"a": {"type": "keyword"}, "b": {"type": "long"}}}
    await c.put("/x1", json={"mappings": same, "settings": {"number_of_shards": 2, "number_of_replicas": 0}})
    await c.put("/x2", json={"mappings": same, "settings": {"number_of_replicas": 0}})
    await c.put("/x3", json={"mappings": {"_source": {"enabled": False}, "properties": {"t": {"type": "text"}}},
                             "settings": {"number_of_replicas": 0}})  # fmt: skip
    for i in range(4):
        await c.put(f"/x1/_doc/{i}", json={"a": "v", "b": i})
    await c.post("/_refresh")
    body = (await c.get("/_cluster/stats")).json()
    indices = body["indices"]
    assert indices["count"] == 3 and indices["docs"]["count"] == 4
    assert indices["shards"]["total"] == 4 and indices["shards"]["index"]["shards"]["max"] == 2
    seg_total = 0
    for name in ("x1", "x2", "x3"):
        segs = (await c.get(f"/{name}/_segments")).json()["indices"].get(name, {"shards": {}})["shards"]
        seg_total += sum(len(copies[0]["segments"]) for copies in segs.values())
    assert indices["segments"]["count"] == seg_total
    mappings = indices["mappings"]
    assert mappings["total_field_count"] == 5
    assert mappings["total_deduplicated_field_count"] == 3  # x1 and x2 share one mapping
    stored = [(await c.get(f"/{n}/_mapping")).json()[n]["mappings"] for n in ("x1", "x3")]
    assert mappings["total_deduplicated_mapping_size_in_bytes"] > 0
    assert mappings["source_modes"] == {"disabled": 1, "stored": 2}
    assert {t["name"]: (t["count"], t["index_count"]) for t in mappings["field_types"]} == {
        "keyword": (2, 2), "long": (2, 2), "text": (1, 1)}
    mem = body["nodes"]["os"]["mem"]
    with open("/proc/meminfo", encoding="ascii") as fh:
        total = int(fh.readline().split()[1]) * 1024
    assert mem["total_in_bytes"] == total and mem["used_in_bytes"] + mem["free_in_bytes"] == total
    assert body["nodes"]["fs"]["total_in_bytes"] > 0
    assert body["nodes"]["indexing_pressure"]["memory"]["limit_in_bytes"] > 0
    assert json.dumps(stored)  # the mappings were readable
