"""``_stats``: per-field completion sizes, the fielddata section, and the measured write/search loads."""

from __future__ import annotations

import math

import httpx

from cluster.load_stats import EwmRate, weighted_average

DOCS = [
    {"s": ["Hello World", {"input": "abc", "weight": 3}], "k": "x"},
    {"s": {"input": ["Über Straße", "z"], "weight": 2}, "k": "y"},
    {"t": "no completion value here"},
]


def _expected_bytes(docs: list[dict]) -> int:
    """The ``simple`` analyzer (lowercased letter runs, joined by a space) + 4 bytes of weight per input."""
    import re

    total = 0
    for doc in docs:
        values = doc.get("s")
        if values is None:
            continue
        for item in values if isinstance(values, list) else [values]:
            inputs = [item] if isinstance(item, str) else item["input"]
            for text in inputs if isinstance(inputs, list) else [inputs]:
                analyzed = " ".join(t.lower() for t in re.findall(r"[^\W\d_]+", text))
                total += len(analyzed.encode()) + 4
    return total


async def _index(c: httpx.AsyncClient) -> None:
    await c.put("/cf", json={"settings": {"number_of_shards": 2, "number_of_replicas": 0},
                             "mappings": {"properties": {"s": {"type": "completion"}, "k": {"type": "keyword"},
                                                         "t": {"type": "text", "fields": {
                                                             "c": {"type": "completion"}}}}}})  # fmt: skip
    for i, doc in enumerate(DOCS):
        await c.put(f"/cf/_doc/{i}", json=doc)
    await c.post("/cf/_refresh")


async def test_completion_sizes_per_field(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await _index(c)
    s_bytes = _expected_bytes(DOCS)
    c_bytes = len(b"no completion value here") + 4
    body = (await c.get("/cf/_stats")).json()
    completion = body["_all"]["total"]["completion"]
    assert completion == {"size_in_bytes": s_bytes + c_bytes}  # no ``fields`` unless asked for
    assert "fields" not in body["_all"]["total"]["fielddata"]
    body = (await c.get("/cf/_stats/completion", params={"fields": "s"})).json()
    assert body["_all"]["total"] == {"completion": {"size_in_bytes": s_bytes + c_bytes,
                                                    "fields": {"s": {"size_in_bytes": s_bytes}}}}  # fmt: skip
    body = (await c.get("/cf/_stats", params={"completion_fields": "*", "fielddata_fields": "k"})).json()
    total = body["_all"]["total"]
    assert total["completion"]["fields"] == {"s": {"size_in_bytes": s_bytes}, "t.c": {"size_in_bytes": c_bytes}}
    # no sort loaded any fielddata: the per-field map is asked for and empty
    assert total["fielddata"] == {"memory_size_in_bytes": 0, "evictions": 0,
                                  "global_ordinals": {"build_time_in_millis": 0}, "fields": {}}  # fmt: skip
    # per shard: the shards' sizes add up to the index's
    body = (await c.get("/cf/_stats/completion", params={"level": "shards", "fields": "*"})).json()
    per_shard = [copies[0]["completion"]["size_in_bytes"] for copies in body["indices"]["cf"]["shards"].values()]
    assert sum(per_shard) == s_bytes + c_bytes
    # a new document grows the size once refreshed
    await c.put("/cf/_doc/9", json={"s": "more"}, params={"refresh": "true"})
    body = (await c.get("/cf/_stats/completion")).json()
    assert body["_all"]["total"]["completion"]["size_in_bytes"] == s_bytes + c_bytes + len(b"more") + 4


async def test_write_and_search_load(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/wl", json={"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    body = (await c.get("/wl/_stats/indexing,search", params={"level": "shards"})).json()
    indexing = body["indices"]["wl"]["shards"]["0"][0]["indexing"]
    assert (indexing["write_load"], indexing["recent_write_load"], indexing["peak_write_load"]) == (0.0, 0.0, 0.0)
    assert body["_all"]["total"]["search"]["recent_search_load"] == 0.0
    for i in range(3):
        await c.put(f"/wl/_doc/{i}", json={"a": i})
    await c.post("/wl/_refresh")
    await c.post("/wl/_search", json={"query": {"match_all": {}}})
    body = (await c.get("/wl/_stats/indexing,search", params={"level": "shards"})).json()
    for section in (body["_all"]["total"], body["indices"]["wl"]["total"], body["indices"]["wl"]["shards"]["0"][0]):
        assert 0.0 < section["indexing"]["write_load"] < 1.0
        assert 0.0 < section["indexing"]["recent_write_load"] <= section["indexing"]["peak_write_load"]
        assert 0.0 < section["search"]["recent_search_load"] < 1.0


def test_ewm_rate_matches_closed_form() -> None:
    half_life = 10.0
    rate = EwmRate(0.0, half_life)
    rate.add(2.0, 5.0)
    rate.add(1.0, 15.0)
    lam = math.log(2) / half_life
    at = 20.0
    decayed = 2.0 * math.exp(-lam * 15.0) + 1.0 * math.exp(-lam * 5.0)
    window = (1 - math.exp(-lam * at)) / lam
    assert math.isclose(rate.rate(at), decayed / window)
    # a constant load of 0.5 (0.5 s busy every second) converges to 0.5
    steady = EwmRate(0.0, half_life)
    for second in range(1, 200):
        steady.add(0.5, float(second))
    assert math.isclose(steady.rate(199.0), 0.5, rel_tol=0.05)
    assert weighted_average([(1.0, 1.0), (0.0, 3.0)]) == 0.25 and weighted_average([]) == 0.0


async def test_closed_index_stats(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/cl", json={"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    for i in range(3):
        await c.put(f"/cl/_doc/{i}", json={"a": i})
    body = (await c.get("/cl/_stats/translog")).json()
    assert body["indices"]["cl"]["primaries"]["translog"]["operations"] == 3  # not yet committed
    await c.post("/cl/_refresh")
    open_segments = (await c.get("/cl/_stats/segments")).json()["indices"]["cl"]["primaries"]["segments"]["count"]
    assert open_segments > 0
    await c.post("/cl/_close")
    params = {"expand_wildcards": "all", "forbid_closed_indices": "false"}
    body = (await c.get("/_stats/translog,docs,segments", params=params)).json()
    closed = body["indices"]["cl"]
    assert closed["status"] == "close"
    assert closed["primaries"]["translog"]["operations"] == 0
    assert closed["primaries"]["docs"]["count"] == 3
    assert closed["primaries"]["segments"]["count"] == 0  # nothing loaded
    body = (await c.get("/_stats/segments", params={**params, "include_unloaded_segments": "true"})).json()
    assert body["indices"]["cl"]["primaries"]["segments"]["count"] == open_segments
    body = (await c.get("/_stats/translog", params={"expand_wildcards": "all"})).json()
    assert body["indices"]["cl"]["primaries"] == {}  # forbid_closed_indices defaults to true


async def test_vector_value_counts(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/vd", json={"settings": {"number_of_shards": 2, "number_of_replicas": 0}, "mappings": {"properties": {
        "v": {"type": "dense_vector", "dims": 2}, "w": {"type": "dense_vector", "dims": 2, "index": False},
        "s": {"type": "sparse_vector"}}}})  # fmt: skip
    docs = [{"v": [1, 2], "w": [1, 1], "s": {"a": 1.0}}, {"v": [3, 4]}, {"s": {"b": 2.0, "c": 1.0}}, {"x": 1},
            {"s": {}}]  # fmt: skip
    for i, doc in enumerate(docs):
        await c.put(f"/vd/_doc/{i}", json=doc)
    await c.post("/vd/_refresh")
    dense = sum(1 for d in docs if d.get("v"))  # ``w`` is not indexed: not counted
    sparse = sum(1 for d in docs if d.get("s"))
    body = (await c.get("/vd/_stats/dense_vector,sparse_vector")).json()
    assert body["_all"]["total"] == {"dense_vector": {"value_count": dense}, "sparse_vector": {"value_count": sparse}}
    indices = (await c.get("/_cluster/stats")).json()["indices"]
    assert indices["dense_vector"] == {"value_count": dense} and indices["sparse_vector"] == {"value_count": sparse}
    await c.delete("/vd/_doc/1", params={"refresh": "true"})
    body = (await c.get("/vd/_stats/dense_vector")).json()
    assert body["_all"]["total"]["dense_vector"]["value_count"] == dense - 1


async def test_node_stats_fields_and_levels(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await _index(c)
    await c.put("/other", json={"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    await c.put("/other/_doc/1", json={"q": 1}, params={"refresh": "true"})
    await c.post("/cf/_search", json={"stats": ["g1"], "query": {"match_all": {}}})
    nodes = (await c.get("/_nodes/stats/indices", params={"fields": "s", "groups": "g*", "level": "indices"})).json()
    indices = next(iter(nodes["nodes"].values()))["indices"]
    s_bytes = _expected_bytes(DOCS)
    assert indices["completion"]["fields"] == {"s": {"size_in_bytes": s_bytes}}
    assert indices["fielddata"]["fields"] == {}
    assert indices["search"]["groups"]["g1"]["query_total"] == 2  # one query phase per shard of cf
    assert set(indices["indices"]) == {"cf", "other"}
    assert indices["indices"]["other"]["docs"]["count"] == 1 and indices["indices"]["cf"]["docs"]["count"] == 3
    assert indices["docs"]["count"] == 4
    # each index keeps its own loads; the node's are averaged, weighted by elapsed time (all equal here)
    loads = [indices["indices"][n]["indexing"]["write_load"] for n in ("cf", "other")]
    assert indices["indices"]["cf"]["indexing"] is not indices["indexing"]
    assert min(loads) <= indices["indexing"]["write_load"] <= max(loads) + 1e-9
    nodes = (await c.get("/_nodes/stats/indices/docs", params={"level": "shards"})).json()
    shards = next(iter(nodes["nodes"].values()))["indices"]["shards"]
    assert sorted(shards) == ["cf", "other"] and len(shards["cf"]) == 2
    assert sum(next(iter(row.values()))["docs"]["count"] for row in shards["cf"]) == 3
