"""``_nodes`` info filtered by node and metric, hot threads, reload_secure_settings, health waits."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.server.helpers import assert_canonical_error

IDENTITY = {"name", "transport_address", "host", "ip", "version", "transport_version", "index_version",
            "build_flavor", "build_type", "build_hash", "roles", "attributes"}  # fmt: skip


async def test_nodes_info_metrics(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    (full,) = (await c.get("/_nodes")).json()["nodes"].values()
    assert {"settings", "os", "process", "jvm", "thread_pool", "transport", "http", "plugins", "modules",
            "ingest", "aggregations", "indices", "total_indexing_buffer"} <= set(full)  # fmt: skip
    (os_only,) = (await c.get("/_nodes/os")).json()["nodes"].values()
    assert set(os_only) == IDENTITY | {"os"}
    (two,) = (await c.get("/_nodes/_local/settings,jvm")).json()["nodes"].values()
    assert set(two) == IDENTITY | {"settings", "jvm"}
    (none,) = (await c.get("/_nodes/_all/_none")).json()["nodes"].values()
    assert set(none) == IDENTITY
    (plugins,) = (await c.get("/_nodes/_master/info/plugins")).json()["nodes"].values()
    assert set(plugins) == IDENTITY | {"plugins", "modules"}
    (aggs,) = (await c.get("/_nodes/aggregations")).json()["nodes"].values()
    assert aggs["aggregations"]["filter"] == {"types": ["other"]}
    (flat,) = (await c.get("/_nodes/settings?flat_settings=true")).json()["nodes"].values()
    assert flat["settings"]["client.type"] == "node"
    assert_canonical_error(await c.get("/_nodes/_all/os,bogus"), 400, "illegal_argument_exception")


async def test_nodes_info_node_filter(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    for ids in ("_all", "_local", "_master", "quidditch-node-*", "master:true", "data:true"):
        body = (await c.get(f"/_nodes/{ids}")).json()
        assert body["_nodes"]["total"] == 1 and len(body["nodes"]) == 1, ids
    for ids in ("other-node", "ml:true", "master:false"):
        body = (await c.get(f"/_nodes/{ids}")).json()
        assert body["_nodes"] == {"total": 0, "successful": 0, "failed": 0} and body["nodes"] == {}, ids


async def test_hot_threads_measures_a_busy_thread(asgi_client: httpx.AsyncClient) -> None:
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            sum(range(1000))

    worker = threading.Thread(target=spin, name="busy-spinner", daemon=True)
    worker.start()
    try:
        text = (await asgi_client.get("/_nodes/hot_threads?threads=20&interval=300ms")).text
    finally:
        stop.set()
        worker.join()
    assert text.startswith(":::") and "Hot threads at" in text and "interval=300ms" in text
    assert "cpu usage by thread 'busy-spinner'" in text
    assert "spin(test_admin_nodes.py" in text  # its stack is the real one
    wait = (await asgi_client.get("/_nodes/hot_threads?type=wait")).text
    assert "Hot threads at" in wait and "not measured" in wait
    bad = await asgi_client.get("/_nodes/hot_threads?type=gpu")
    assert_canonical_error(bad, 400, "illegal_argument_exception")
    assert bad.json()["error"]["reason"] == "type not supported [gpu]"


async def test_reload_secure_settings(asgi_client: httpx.AsyncClient) -> None:
    ok = (await asgi_client.post("/_nodes/reload_secure_settings")).json()
    (node,) = ok["nodes"].values()
    assert "reload_exception" not in node
    wrong = (await asgi_client.post("/_nodes/_local/reload_secure_settings",
                                    json={"secure_settings_password": "x"})).json()  # fmt: skip
    (node,) = wrong["nodes"].values()
    assert node["reload_exception"]["type"] == "security_exception"


@pytest.mark.parametrize(("query", "status"), [
    ("wait_for_nodes=10&timeout=1ms", 408), ("wait_for_nodes=>=1&timeout=1ms", 200),
    ("wait_for_nodes=lt(1)&timeout=1ms", 408), ("wait_for_active_shards=5&timeout=1ms", 408),
    ("wait_for_active_shards=0&timeout=1ms", 200), ("wait_for_status=green&timeout=1ms", 200),
])  # fmt: skip
async def test_health_waits(asgi_client: httpx.AsyncClient, query: str, status: int) -> None:
    started = time.monotonic()
    response = await asgi_client.get(f"/_cluster/health?{query}")
    assert response.status_code == status, response.text
    assert response.json()["timed_out"] is (status == 408)
    assert time.monotonic() - started < 5


async def test_health_yellow_with_an_unassigned_replica_and_expand_wildcards(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/rep", json={"settings": {"number_of_replicas": 1}})
    timed_out = await c.get("/_cluster/health/rep?wait_for_status=green&timeout=50ms")
    assert timed_out.status_code == 408 and timed_out.json()["status"] == "yellow"  # never green with a lost copy
    await c.put("/ix-1", json={"settings": {"number_of_replicas": 0}})
    await c.put("/ix-2", json={"settings": {"number_of_shards": 2, "number_of_replicas": 0}})
    await c.post("/ix-2/_close")
    opened = (await c.get("/_cluster/health/ix-*?level=indices&expand_wildcards=open")).json()
    assert set(opened["indices"]) == {"ix-1"} and opened["active_shards"] == 1
    closed = (await c.get("/_cluster/health/ix-*?level=indices&expand_wildcards=closed")).json()
    assert set(closed["indices"]) == {"ix-2"} and closed["active_shards"] == 2


async def test_nodes_usage_counts_rest_handlers(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/u1")
    await c.get("/u1/_search")
    await c.get("/u1/_search")
    usage = (await c.get("/_nodes/usage")).json()
    (node,) = usage["nodes"].values()
    assert node["rest_actions"]["search"] == 2 and node["rest_actions"]["create_index"] == 1
    assert node["since"] <= node["timestamp"]
    again = (await c.get("/_nodes/_local/usage/rest_actions")).json()
    (node,) = again["nodes"].values()
    assert node["rest_actions"]["nodes_usage"] == 1  # the previous usage call, counted once it was served
    assert (await c.get("/_nodes/usage/aggregations")).status_code == 400
    assert (await c.get("/_nodes/other/usage")).json()["nodes"] == {}
