"""Cluster APIs: settings, state, stats, pending tasks, health levels."""

from __future__ import annotations

import httpx


async def test_cluster_settings_round_trip_and_reset(asgi_client: httpx.AsyncClient) -> None:
    response = await asgi_client.put("/_cluster/settings", json={
        "persistent": {"search": {"max_buckets": 20000}}, "transient": {"cluster.routing.allocation.enable": "all"},
    })  # fmt: skip
    assert response.json() == {"acknowledged": True, "persistent": {"search": {"max_buckets": "20000"}},
                               "transient": {"cluster": {"routing": {"allocation": {"enable": "all"}}}}}  # fmt: skip
    flat = (await asgi_client.get("/_cluster/settings?flat_settings=true")).json()
    assert flat == {"persistent": {"search.max_buckets": "20000"},
                    "transient": {"cluster.routing.allocation.enable": "all"}}  # fmt: skip
    await asgi_client.put("/_cluster/settings", json={"transient": {"cluster.routing.*": None}})
    assert (await asgi_client.get("/_cluster/settings")).json()["transient"] == {}
    bad = await asgi_client.put("/_cluster/settings", json={"persistent": {"no.such.thing": 1}})
    assert bad.status_code == 400 and "not recognized" in bad.json()["error"]["reason"]


async def test_auto_create_index_setting_is_honoured(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/_cluster/settings", json={"persistent": {"action.auto_create_index": "false"}})
    response = await asgi_client.put("/auto/_doc/1", json={"a": 1})
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "index_not_found_exception"


async def test_cluster_state_metadata_and_metric_filter(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/s1", json={"settings": {"number_of_shards": 2}, "aliases": {"sa": {}}})
    state = (await asgi_client.get("/_cluster/state")).json()
    meta = state["metadata"]["indices"]["s1"]
    assert meta["state"] == "open" and meta["aliases"] == ["sa"]
    assert meta["settings"]["index"]["number_of_shards"] == "2"
    assert set(state["routing_table"]["indices"]["s1"]["shards"]) == {"0", "1"}
    only = (await asgi_client.get("/_cluster/state/metadata/s1")).json()
    assert set(only) == {"cluster_name", "cluster_uuid", "metadata"}
    assert (await asgi_client.get("/_cluster/pending_tasks")).json() == {"tasks": []}
    stats = (await asgi_client.get("/_cluster/stats")).json()
    assert stats["indices"]["count"] == 1 and stats["nodes"]["count"]["total"] == 1


async def test_health_levels(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/h1", json={"settings": {"number_of_replicas": 0, "number_of_shards": 2}})
    indices = (await asgi_client.get("/_cluster/health?level=indices")).json()["indices"]
    assert indices["h1"]["status"] == "green" and "shards" not in indices["h1"]
    shards = (await asgi_client.get("/_cluster/health?level=shards")).json()["indices"]["h1"]["shards"]
    assert set(shards) == {"0", "1"}
