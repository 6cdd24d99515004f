"""The fan-out over real gRPC channels: three leaf servicers on loopback ports, the root reaching each through a
``GrpcLeafClient``. A stopped node's shards are read from their replicas (complete answers), and without
replicas they are failed shards (``node_not_connected_exception``) in a 200; writes reach the primaries.

The documents are loaded before the switch to gRPC, through the harness's in-process clients (the leaves
replicate them to the replica copies in process).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from cluster.grpc_leaf import GrpcLeafClient, LeafServer, start_leaf_server
from cluster.routing import shard_for
from cluster.search_request import parse_search
from cluster.writes import WriteItem
from tests.cluster.fanout_harness import NODES, ThreeNodes

SHARDS = 5
DOCS = 120
Cluster = tuple[ThreeNodes, dict[str, LeafServer], int]


@contextlib.asynccontextmanager
async def _started(base: Path, replicas: int) -> AsyncIterator[Cluster]:
    nodes = ThreeNodes(str(base))
    servers: dict[str, LeafServer] = {}
    clients: list[GrpcLeafClient] = []
    try:
        nodes.master.create_index("g", {"settings": {"number_of_shards": SHARDS, "number_of_replicas": replicas}})
        nodes.route("g", [[NODES[s % 3], NODES[(s + 1) % 3]][: 1 + replicas] for s in range(SHARDS)])
        items = [WriteItem("index", "g", str(i), source=orjson.dumps({"n": i})) for i in range(DOCS)]
        results = await nodes.writes.write(items, refresh=True)
        assert all(r.status == 201 for r in results), results[0].body
        await nodes.writes.refresh([nodes.master.index("g")])  # every copy, replicas too
        for n in NODES:
            servers[n] = await start_leaf_server(nodes.services[n], "127.0.0.1", 0)
            client = GrpcLeafClient(servers[n].address, node_id=n, default_timeout_s=5.0)
            nodes.transport.clients[n] = client
            clients.append(client)
        yield nodes, servers, replicas
    finally:
        for client in clients:
            await client.close()
        for server in servers.values():
            await server.stop(None)
        nodes.close()


@pytest.fixture(params=[0, 1], ids=["no-replicas", "one-replica"])
async def cluster(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Cluster]:
    async with _started(tmp_path, request.param) as started:
        yield started


async def _search(nodes: ThreeNodes, body: dict[str, Any]) -> dict[str, Any]:
    response, _ = await nodes.root.search([nodes.master.index("g")], parse_search(body, {}))
    return response


async def test_a_stopped_node_over_grpc(cluster: Cluster) -> None:
    nodes, servers, replicas = cluster
    body = {"query": {"match_all": {}}, "size": DOCS, "sort": [{"n": "asc"}], "track_total_hits": True}
    complete = await _search(nodes, body)
    assert [h["_id"] for h in complete["hits"]["hits"]] == [str(i) for i in range(DOCS)]
    await servers["node-b"].stop(None)
    for _ in range(3):
        answer = await _search(nodes, body)
        if replicas:
            assert answer["_shards"]["failed"] == 0 and answer["hits"] == complete["hits"]
        else:
            lost = [s for s in range(SHARDS) if NODES[s % 3] == "node-b"]
            assert sorted(f["shard"] for f in answer["_shards"]["failures"]) == lost
            assert {f["reason"]["type"] for f in answer["_shards"]["failures"]} == {"node_not_connected_exception"}
            kept = [str(i) for i in range(DOCS) if shard_for(str(i), SHARDS) not in lost]
            assert [h["_id"] for h in answer["hits"]["hits"]] == kept


async def test_writes_and_gets_over_grpc(tmp_path: Path) -> None:
    async with _started(tmp_path, 0) as (nodes, _, _):
        await _write_and_read(nodes)


async def _write_and_read(nodes: ThreeNodes) -> None:
    items = [WriteItem("index", "g", f"new-{i}", source=orjson.dumps({"n": 1000 + i})) for i in range(30)]
    results = await nodes.writes.write(items, refresh=True)
    assert all(r.status == 201 for r in results)
    meta = nodes.master.index("g")
    for i in range(30):
        doc = await nodes.writes.get(meta, f"new-{i}")
        assert doc.found and orjson.loads(doc.source) == {"n": 1000 + i}
    answer = await _search(nodes, {"query": {"range": {"n": {"gte": 1000}}}, "track_total_hits": True})
    assert answer["hits"]["total"]["value"] == 30
