"""Replication, peer recovery and resync with every node reached over a real gRPC channel on loopback."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from cluster.grpc_leaf import GrpcLeafClient, LeafServer, start_leaf_server
from cluster.state import ShardRouting
from tests.cluster.replication_harness import Cluster, copy, documents, ok


async def test_replicas_recovery_and_resync_over_grpc(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path)
    servers: dict[str, LeafServer] = {}
    clients: list[GrpcLeafClient] = []
    try:
        for node_id in ("n0", "n1", "n2"):
            servers[node_id] = await start_leaf_server(cluster.start(node_id), "127.0.0.1", 0)
            client = GrpcLeafClient(f"127.0.0.1:{servers[node_id].port}", node_id=node_id)
            cluster.clients[node_id] = client
            clients.append(client)
        cluster.master.set_routing(ShardRouting(0, 1, (copy("n0", True), copy("n1", False)), ("alloc-n0", "alloc-n1")))
        for batch in range(10):
            written = ok(await cluster.index_columns("n0", {f"d{batch}_{i}": {"n": i} for i in range(200)}))
            assert written.replication.successful == 2
        cluster.shard("n0").refresh()
        ok(await cluster.bulk("n0", [{"op": "delete", "id": "d0_0"}]))
        routing = cluster.master.routing
        cluster.master.set_routing(ShardRouting(0, 1, (*routing.copies, copy("n2", False, "INITIALIZING")),
                                                routing.in_sync))  # fmt: skip
        deadline = time.monotonic() + 30
        while ("copy_started", "alloc-n2", "") not in cluster.master.calls:  # writes go on during the recovery
            assert time.monotonic() < deadline
            ok(await cluster.bulk("n0", [{"op": "index", "id": "live", "source": {"n": time.monotonic()}}]))
            await asyncio.sleep(0.01)
        expected = documents(cluster.shard("n0"))
        assert documents(cluster.shard("n1")) == expected
        assert documents(cluster.shard("n2")) == expected
        # the primary's node goes away: n1 is promoted and resyncs n2
        await servers.pop("n0").stop()
        cluster.master.set_routing(ShardRouting(0, 2, (copy("n1", True), copy("n2", False)), ("alloc-n1", "alloc-n2")))
        await cluster.services["n1"].replication.wait_resyncs()
        after = ok(await cluster.bulk("n1", [{"op": "index", "id": "after", "source": {"n": 1}}]))
        assert (after.results[0].primary_term, after.replication.successful) == (2, 2)
        assert documents(cluster.shard("n2")) == documents(cluster.shard("n1"))
        assert not [c for c in cluster.master.calls if c[0] == "fail_copy"]
    finally:
        for node_id in list(cluster.services):
            await cluster.services[node_id].recovery.wait(30)
        for client in clients:
            await client.close()
        for server in servers.values():
            await server.stop()
        await cluster.close()
