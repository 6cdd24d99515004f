"""Health and the admin APIs over a hand-built 3-node cluster state, through the HTTP app.

The process is one member (``quidditch-node-0``, master and data); two more data members are put into cluster
state by hand (they need not answer: these APIs read cluster state). Copies are started and nodes removed
through the master's hooks, the way the node processes will report them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cluster.embedded import EmbeddedCluster
from cluster.state import NodeInfo
from server.app import cluster_config, create_app
from server.settings import load_settings
from tests.conftest import _starlette_of

LOCAL = "quidditch-node-0"
OTHERS = [NodeInfo("node-b-id", "node-b", ("data",), "127.0.0.2:9300", "127.0.0.2:9200"),
          NodeInfo("node-c-id", "node-c", ("data", "master"), "127.0.0.3:9300", "")]  # fmt: skip


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, EmbeddedCluster]]:
    settings = load_settings({"data_dir": str(tmp_path / "data"), "node_name": "node-a"})
    cluster = EmbeddedCluster(settings.data_dir, node_name="node-a", config=cluster_config(settings))
    app = create_app(settings, cluster)
    starlette_app = _starlette_of(app)
    try:
        async with starlette_app.router.lifespan_context(starlette_app):
            me = cluster.master.state.nodes[LOCAL]
            cluster.master.set_nodes([me, *OTHERS])
            transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://q.test", timeout=30) as client:
                yield client, cluster
    finally:
        await cluster.stop()


async def _json(c: httpx.AsyncClient, path: str) -> Any:
    response = await c.get(path)
    assert response.status_code == 200, response.text
    return response.json()


def _start_replicas(cluster: EmbeddedCluster) -> None:
    state = cluster.master.state
    for index_uuid, table in state.routing.items():
        for r in table:
            for copy in r.copies:
                if copy.state == "INITIALIZING":
                    cluster.master.copy_started(index_uuid, r.shard, copy.allocation_id)


async def test_nodes_listed_everywhere(setup: tuple[httpx.AsyncClient, EmbeddedCluster]) -> None:
    c, _ = setup
    rows = await _json(c, "/_cat/nodes?format=json&full_id=true&h=id,name,master,node.role,ip")
    assert sorted((r["id"], r["name"], r["master"], r["node.role"]) for r in rows) == [
        ("node-b-id", "node-b", "-", "di"), ("node-c-id", "node-c", "-", "dim"), (LOCAL, "node-a", "*", "dim")]
    assert {r["ip"] for r in rows if r["name"] != "node-a"} == {"127.0.0.2", "127.0.0.3"}
    short = await _json(c, "/_cat/nodes?format=json&h=id")
    assert sorted(r["id"] for r in short) == ["node", "node", "quid"]  # four characters, as ES
    master = await _json(c, "/_cat/master?format=json")
    assert master == [{"id": LOCAL, "host": "127.0.0.1", "ip": "127.0.0.1", "node": "node-a"}]
    info = await _json(c, "/_nodes")
    assert info["_nodes"]["total"] == 3 and set(info["nodes"]) == {LOCAL, "node-b-id", "node-c-id"}
    assert info["nodes"]["node-b-id"]["roles"] == ["data", "ingest"]
    assert info["nodes"]["node-b-id"]["http"]["publish_address"] == "127.0.0.2:9200"
    assert "os" in info["nodes"][LOCAL] and "os" not in info["nodes"]["node-b-id"]
    assert set((await _json(c, "/_nodes/node-b*"))["nodes"]) == {"node-b-id"}
    assert set((await _json(c, "/_nodes/master:true"))["nodes"]) == {LOCAL, "node-c-id"}
    assert set((await _json(c, "/_nodes/_local"))["nodes"]) == {LOCAL}
    stats = await _json(c, "/_nodes/stats")
    assert set(stats["nodes"]) == {LOCAL, "node-b-id", "node-c-id"}
    assert stats["nodes"]["node-c-id"]["name"] == "node-c"
    state = await _json(c, "/_cluster/state/nodes,master_node,metadata")
    assert state["master_node"] == LOCAL and set(state["nodes"]) == {LOCAL, "node-b-id", "node-c-id"}
    assert state["metadata"]["cluster_coordination"]["last_committed_config"] == sorted([LOCAL, "node-c-id"])
    health = await _json(c, "/_cluster/health")
    assert (health["number_of_nodes"], health["number_of_data_nodes"]) == (3, 3)
    counts = (await _json(c, "/_cluster/stats"))["nodes"]["count"]
    assert counts == {"total": 3, "coordinating_only": 0, "data": 3, "ingest": 3, "master": 2}


async def test_health_yellow_to_green_and_shards_listed(setup: tuple[httpx.AsyncClient, EmbeddedCluster]) -> None:
    c, cluster = setup
    created = await c.put("/logs", json={"settings": {"number_of_shards": 3, "number_of_replicas": 1}})
    assert created.status_code == 200
    health = await _json(c, "/_cluster/health/logs")
    assert health["status"] == "yellow"
    assert (health["active_primary_shards"], health["active_shards"], health["initializing_shards"],
            health["unassigned_shards"]) == (3, 3, 3, 0)  # fmt: skip
    shards = await _json(c, "/_cat/shards/logs?format=json&h=index,shard,prirep,state,node,id")
    assert len(shards) == 6
    assert sorted(r["prirep"] + r["state"] for r in shards) == ["pSTARTED"] * 3 + ["rINITIALIZING"] * 3
    for shard in ("0", "1", "2"):  # a primary and its replica never share a node
        nodes = [r["node"] for r in shards if r["shard"] == shard]
        assert len(set(nodes)) == 2 and set(nodes) <= {"node-a", "node-b", "node-c"}
    assert {r["node"] for r in shards} == {"node-a", "node-b", "node-c"}

    # wait_for_status=green is met once the recoveries report, not before
    waiter = asyncio.create_task(c.get("/_cluster/health?wait_for_status=green&timeout=10s"))
    await asyncio.sleep(0.2)
    assert not waiter.done()
    _start_replicas(cluster)
    green = await asyncio.wait_for(waiter, 15)
    assert green.status_code == 200 and green.json()["status"] == "green"
    assert green.json()["active_shards"] == 6 and green.json()["active_shards_percent_as_number"] == 100.0
    timed_out = await c.get("/_cluster/health?wait_for_nodes=4&timeout=100ms")
    assert timed_out.status_code == 408 and timed_out.json()["timed_out"] is True

    routing = (await _json(c, "/_cluster/state/routing_table,metadata/logs"))
    copies = routing["routing_table"]["indices"]["logs"]["shards"]["0"]
    assert sorted(c["state"] for c in copies) == ["STARTED", "STARTED"]
    in_sync = routing["metadata"]["indices"]["logs"]["in_sync_allocations"]["0"]
    assert sorted(c["allocation_id"]["id"] for c in copies) == in_sync
    allocation = await _json(c, "/_cat/allocation?format=json&h=shards,node")
    assert sorted((r["node"], r["shards"]) for r in allocation) == [("node-a", "2"), ("node-b", "2"),
                                                                    ("node-c", "2")]  # fmt: skip


async def test_node_loss_promotes_then_red_without_copies(setup: tuple[httpx.AsyncClient, EmbeddedCluster]) -> None:
    c, cluster = setup
    await c.put("/rep", json={"settings": {"number_of_shards": 3, "number_of_replicas": 1}})
    await c.put("/solo", json={"settings": {"number_of_shards": 3, "number_of_replicas": 0}})
    _start_replicas(cluster)
    assert (await _json(c, "/_cluster/health"))["status"] == "green"
    state = cluster.master.state
    lost = state.indices["rep"].uuid
    victim = next(r.primary.node for r in state.routing[lost] if r.primary and r.primary.node != LOCAL)
    term_before = {r.shard: r.primary_term for r in state.routing[lost]}
    cluster.master.set_nodes([n for n in cluster.master.state.nodes.values() if n.id != victim])

    health = await _json(c, "/_cluster/health?level=indices")
    assert health["number_of_nodes"] == 2
    assert health["indices"]["rep"]["status"] == "yellow"  # promoted; a new replica recovers
    assert health["indices"]["rep"]["active_primary_shards"] == 3
    assert health["indices"]["solo"]["status"] == "red"  # its primary was on the lost node
    assert health["status"] == "red" and health["unassigned_primary_shards"] == 1
    terms = (await _json(c, "/_cluster/state/metadata/rep"))["metadata"]["indices"]["rep"]["primary_terms"]
    assert sorted(int(t) - term_before[int(s)] for s, t in terms.items()) == [0, 0, 1]
    unassigned = [r for r in await _json(c, "/_cat/shards/solo?format=json&h=prirep,state,unassigned.reason")
                  if r["state"] == "UNASSIGNED"]  # fmt: skip
    assert unassigned == [{"prirep": "p", "state": "UNASSIGNED", "unassigned.reason": "NODE_LEFT"}]
    explain = await _json(c, "/_cluster/allocation/explain")
    assert explain["index"] == "solo" and explain["primary"] is True
    assert explain["can_allocate"] == "no_valid_shard_copy"

    # the node comes back with its copy: the primary returns to it (term + 1) and health is green again
    cluster.master.set_nodes([*cluster.master.state.nodes.values(), next(n for n in OTHERS if n.id == victim)])
    _start_replicas(cluster)
    final = await _json(c, "/_cluster/health")
    assert final["status"] == "green" and final["number_of_nodes"] == 3


async def test_reroute_moves_cancels_and_retries(setup: tuple[httpx.AsyncClient, EmbeddedCluster]) -> None:
    c, cluster = setup
    await c.put("/mv", json={"settings": {"number_of_shards": 1, "number_of_replicas": 1}})
    uuid = cluster.master.state.indices["mv"].uuid
    routing = cluster.master.state.routing[uuid][0]
    primary, replica = routing.primary, routing.replicas[0]
    assert primary is not None
    names = {LOCAL: "node-a", "node-b-id": "node-b", "node-c-id": "node-c"}

    # a dry run changes nothing; the answer shows what it would make
    dry = await c.post("/_cluster/reroute?dry_run=true&metric=routing_table", json={"commands": [
        {"cancel": {"index": "mv", "shard": 0, "node": names[replica.node]}}]})  # fmt: skip
    assert dry.status_code == 200, dry.text
    assert cluster.master.state.routing[uuid][0].copy(replica.allocation_id) is not None
    # cancelling the recovering replica: it goes, and allocation places a new one
    done = await c.post("/_cluster/reroute?metric=none", json={"commands": [
        {"cancel": {"index": "mv", "shard": 0, "node": names[replica.node]}}]})  # fmt: skip
    assert done.status_code == 200, done.text
    after = cluster.master.state.routing[uuid][0]
    assert after.copy(replica.allocation_id) is None and len(after.replicas) == 1
    _start_replicas(cluster)

    # moving the primary: RELOCATING until its target starts, then it lives on the target
    target = next(n for n in names if all(cp.node != n for cp in cluster.master.state.routing[uuid][0].copies))
    command = {"move": {"index": "mv", "shard": 0, "from_node": names[primary.node], "to_node": names[target]}}
    moved = await c.post("/_cluster/reroute?metric=none", json={"commands": [command]})
    assert moved.status_code == 200, moved.text
    rows = await _json(c, "/_cat/shards/mv?format=json&h=prirep,state,node")
    relocating = [r for r in rows if r["state"] == "RELOCATING"]
    assert len(relocating) == 1 and relocating[0]["prirep"] == "p"
    assert relocating[0]["node"].startswith(f"{names[primary.node]} -> ")
    assert relocating[0]["node"].endswith(f"{target} {names[target]}")
    health = await c.get("/_cluster/health?wait_for_no_relocating_shards=true&timeout=50ms")
    assert health.status_code == 408 and health.json()["relocating_shards"] == 1
    _start_replicas(cluster)
    final = cluster.master.state.routing[uuid][0]
    assert final.primary is not None and final.primary.node == target and final.primary_term == 1
    assert (await _json(c, "/_cluster/health?wait_for_no_relocating_shards=true&timeout=1s"))["status"] == "green"

    # refusals keep ES's reasons
    same = await c.post("/_cluster/reroute", json={"commands": [
        {"allocate_replica": {"index": "mv", "shard": 0, "node": "node-a"}}]})  # fmt: skip
    assert same.status_code == 400 and "already assigned" in same.json()["error"]["reason"]
    holder = names[final.primary.node]
    bad_move = await c.post("/_cluster/reroute", json={"commands": [
        {"move": {"index": "mv", "shard": 0, "from_node": holder, "to_node": holder}}]})  # fmt: skip
    assert "a copy of this shard is already allocated to this node" in bad_move.json()["error"]["reason"]
    assert (await c.post("/_cluster/reroute?retry_failed=true&metric=none")).status_code == 200


class _Members:
    """A transport to in-process members: each has its own DataNode and leaf, reached by node id."""

    def __init__(self, clients: dict[str, Any]) -> None:
        self.clients = clients

    def client(self, node_id: str) -> Any:
        from cluster.transport import NodeNotConnected

        if node_id not in self.clients:
            raise NodeNotConnected(node_id)
        return self.clients[node_id]


async def test_stats_of_other_members_come_through_their_leaf(
    setup: tuple[httpx.AsyncClient, EmbeddedCluster], tmp_path: Path
) -> None:
    from cluster.leaf import LeafService
    from cluster.leaf_client import LocalLeafClient
    from cluster.node import DataNode

    c, cluster = setup
    other = DataNode(str(tmp_path / "b"), node_id="node-b-id")
    other.apply_state(None, cluster.master.state)
    cluster.master.subscribe(other.apply_state)
    service = LeafService(other)
    cluster.transport = _Members({"node-b-id": LocalLeafClient(service)})  # type: ignore[attr-defined]
    try:
        await c.put("/spread", json={"settings": {"number_of_shards": 6, "number_of_replicas": 0}})
        uuid = cluster.master.state.indices["spread"].uuid
        table = cluster.master.state.routing[uuid]
        on_b = sorted(r.shard for r in table if r.primary and r.primary.node == "node-b-id")
        assert on_b and sorted(s for (u, s) in other.shards if u == uuid) == on_b  # that node opened them
        stats = await _json(c, "/_nodes/node-b-id/stats/indices")
        assert stats["nodes"]["node-b-id"]["indices"]["shard_stats"]["total_count"] == len(on_b)
        assert "indices" not in (await _json(c, "/_nodes/node-c-id/stats/indices"))["nodes"]["node-c-id"]
        rows = await _json(c, "/_cat/shards/spread?format=json&h=shard,node,docs")
        assert all(r["docs"] == "0" for r in rows if r["node"] in ("node-a", "node-b"))  # measured where they live
        assert all(r["docs"] is None for r in rows if r["node"] == "node-c")  # unreachable: not measured
    finally:
        service.close()
        other.close()


async def test_recovery_lists_peer_recoveries(setup: tuple[httpx.AsyncClient, EmbeddedCluster]) -> None:
    c, cluster = setup
    await c.put("/rec", json={"settings": {"number_of_shards": 1, "number_of_replicas": 1}})
    routing = cluster.master.state.routing[cluster.master.state.indices["rec"].uuid][0]
    assert routing.primary is not None
    names = {LOCAL: "node-a", "node-b-id": "node-b", "node-c-id": "node-c"}
    active = (await _json(c, "/rec/_recovery?active_only=true"))["rec"]["shards"]
    assert [(s["type"], s["stage"], s["primary"], s["source"]["name"], s["target"]["name"]) for s in active] == [
        ("PEER", "INDEX", False, names[routing.primary.node], names[routing.replicas[0].node])]
    rows = await _json(c, "/_cat/recovery/rec?format=json&h=type,stage,source_node,target_node")
    assert sorted(r["type"] + "/" + r["stage"] for r in rows) == ["empty_store/done", "peer/index"]
    _start_replicas(cluster)
    assert (await _json(c, "/rec/_recovery?active_only=true")) == {}
    done = (await _json(c, "/rec/_recovery"))["rec"]["shards"]
    assert sorted((s["type"], s["stage"]) for s in done) == [("EMPTY_STORE", "DONE"), ("PEER", "DONE")]


async def test_excluding_a_node_through_cluster_settings_drains_it(
    setup: tuple[httpx.AsyncClient, EmbeddedCluster],
) -> None:
    c, cluster = setup
    await c.put("/drain", json={"settings": {"number_of_shards": 3, "number_of_replicas": 0}})
    put = await c.put("/_cluster/settings", json={"persistent": {"cluster.routing.allocation.exclude._name": "node-c"}})
    assert put.status_code == 200, put.text
    assert (await _json(c, "/_cluster/health"))["relocating_shards"] == 1
    _start_replicas(cluster)
    rows = await _json(c, "/_cat/allocation?format=json&h=node,shards")
    assert {r["node"]: r["shards"] for r in rows}["node-c"] == "0"
    uuid = cluster.master.state.indices["drain"].uuid
    await c.put("/_cluster/settings", json={"persistent": {"cluster.routing.allocation.enable": "none"}})
    await c.put("/late", json={"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    explain = await _json(c, "/_cluster/allocation/explain")
    assert explain["index"] == "late" and explain["can_allocate"] == "no"
    deciders = {d["decider"] for n in explain["node_allocation_decisions"] for d in n["deciders"]}
    assert {"enable", "filter"} <= deciders
    assert all(c.node != "node-c-id" for r in cluster.master.state.routing[uuid] for c in r.copies)


async def test_routing_nodes_and_search_shards_name_the_holders(
    setup: tuple[httpx.AsyncClient, EmbeddedCluster],
) -> None:
    c, cluster = setup
    await c.put("/held", json={"settings": {"number_of_shards": 2, "number_of_replicas": 1}})
    _start_replicas(cluster)
    state = await _json(c, "/_cluster/state/routing_nodes")
    per_node = {n: len(copies) for n, copies in state["routing_nodes"]["nodes"].items()}
    assert set(per_node) == {LOCAL, "node-b-id", "node-c-id"} and sum(per_node.values()) == 4
    assert state["routing_nodes"]["unassigned"] == []
    shards = await _json(c, "/held/_search_shards")
    holders = {copy["node"] for group in shards["shards"] for copy in group}
    assert len(shards["shards"]) == 2 and all(len(group) == 2 for group in shards["shards"])
    assert holders <= set(shards["nodes"]) and len(holders) >= 2
    for group in shards["shards"]:
        assert sorted(copy["primary"] for copy in group) == [False, True]
        assert len({copy["node"] for copy in group}) == 2
