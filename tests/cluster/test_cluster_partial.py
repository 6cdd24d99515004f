"""Partial results with real processes (``number_of_replicas: 0``): a stopped data node's shards are reported
as failed shards with a 200, ``allow_partial_search_results=false`` gets ES's error, and a SIGSTOPped node costs
a search at most its timeout while requests that do not touch it answer at once."""

from __future__ import annotations

import threading
import time

import pytest

from tests.cluster.cluster_procs import ProcCluster, proc_cluster  # noqa: F401 (a fixture)


def _docs(index: str, n: int) -> bytes:
    lines = []
    for i in range(n):
        lines.append(b'{"index":{"_index":"%s","_id":"%d"}}' % (index.encode(), i))
        lines.append(b'{"n":%d,"tag":"t%d"}' % (i, i % 3))
    return b"\n".join(lines) + b"\n"


def _shards_by_node(cluster: ProcCluster, index: str) -> dict[str, list[int]]:
    state = cluster.request("GET", f"/_cluster/state/routing_table,nodes/{index}").json()
    names = {node_id: node["name"] for node_id, node in state["nodes"].items()}
    out: dict[str, list[int]] = {}
    for shard_id, copies in state["routing_table"]["indices"][index]["shards"].items():
        for copy in copies:
            if copy["primary"] and copy["state"] == "STARTED":
                out.setdefault(names[copy["node"]], []).append(int(shard_id))
    return out


@pytest.fixture
def three_data_nodes(proc_cluster: ProcCluster) -> ProcCluster:  # noqa: F811
    master = proc_cluster.start_node("m1", roles="master")
    for name in ("d1", "d2", "d3"):
        proc_cluster.start_node(name, roles="data", seeds=[master.transport])
    proc_cluster.until(lambda: len(proc_cluster.request("GET", "/_cat/nodes?format=json").json()) == 4, 10, "members")
    body = {"settings": {"number_of_shards": 6, "number_of_replicas": 0}}
    assert proc_cluster.request("PUT", "/logs", json=body).status_code == 200
    proc_cluster.until(lambda: sorted(s for ids in _shards_by_node(proc_cluster, "logs").values() for s in ids)
                       == list(range(6)), 10, "every shard started")  # fmt: skip
    done = proc_cluster.request("POST", "/_bulk?refresh=true", content=_docs("logs", 300),
                                headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert done.status_code == 200 and not done.json()["errors"]
    proc_cluster.until(lambda: len(_shards_by_node(proc_cluster, "logs")) == 3, 10, "shards on all three nodes")
    return proc_cluster


@pytest.mark.slow
def test_a_stopped_node_is_reported_per_shard(three_data_nodes: ProcCluster) -> None:
    cluster = three_data_nodes
    placed = _shards_by_node(cluster, "logs")
    lost = sorted(placed["d2"])
    cluster.kill("d2")
    body = cluster.request("GET", "/logs/_search?size=1000&timeout=5s").json()
    assert body["_shards"]["total"] == 6
    assert body["_shards"]["failed"] == len(lost), body["_shards"]
    assert body["_shards"]["successful"] == 6 - len(lost)
    assert sorted(f["shard"] for f in body["_shards"]["failures"]) == lost
    assert all(f["index"] == "logs" for f in body["_shards"]["failures"])
    # the hits are exactly the documents of the shards that answered
    count = cluster.request("GET", "/logs/_count").json()
    assert len(body["hits"]["hits"]) == body["hits"]["total"]["value"] == count["count"] < 300
    refused = cluster.request("GET", "/logs/_search?allow_partial_search_results=false")
    # (ES's status is its shard failures': 503 once the shards are unassigned, 500 while the node is unreachable)
    assert refused.status_code in (500, 503), refused.text
    assert refused.json()["error"]["type"] == "search_phase_execution_exception"


@pytest.mark.slow
def test_a_hung_node_costs_at_most_the_timeout(three_data_nodes: ProcCluster) -> None:
    cluster = three_data_nodes
    placed = _shards_by_node(cluster, "logs")
    assert cluster.request("PUT", "/other", json={"settings": {"number_of_shards": 1, "number_of_replicas": 0}}
                           ).status_code == 200  # fmt: skip
    cluster.until(lambda: bool(_shards_by_node(cluster, "other")), 10, "other started")
    other_node = next(iter(_shards_by_node(cluster, "other")))
    hung = next(name for name in ("d1", "d2", "d3") if name != other_node and placed.get(name))
    cluster.pause(hung)
    try:
        results: dict[str, float] = {}

        def slow_search() -> None:
            t0 = time.monotonic()
            body = cluster.request("GET", "/logs/_search?timeout=2s", timeout=30).json()
            results["slow"] = time.monotonic() - t0
            results["failed"] = body["_shards"]["failed"] + (body["_shards"]["total"] - body["_shards"]["successful"])

        thread = threading.Thread(target=slow_search)
        thread.start()
        time.sleep(0.2)
        t0 = time.monotonic()
        quick = cluster.request("GET", "/other/_search", timeout=30)
        quick_s = time.monotonic() - t0
        thread.join(timeout=30)
        assert quick.status_code == 200 and quick_s < 1.0, quick_s
        assert results["slow"] < 2.0 + 1.5, results
        assert results["failed"] >= len(placed[hung])
    finally:
        cluster.resume(hung)
