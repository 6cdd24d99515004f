"""Three data "nodes" in one process for the fan-out tests: three ``DataNode`` + ``LeafService`` in their own data
dirs, each behind a ``LocalLeafClient`` that a test can make unreachable or hang, a ``Transport`` naming them,
one ``Master`` whose routing table the test writes by hand, and a ``Root`` + ``WriteCoordinator`` over them.

Each node opens only the copies the routing table places on it, and its leaf replicates its primaries' writes
to their replica copies (``cluster.replication``) through plain in-process clients (not the test's flaky
ones: a node "down" for the coordinator still takes its replica writes).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from cluster.config import ClusterConfig
from cluster.leaf import LeafService
from cluster.leaf_client import LeafClient, LocalLeafClient
from cluster.master import Master
from cluster.node import DataNode
from cluster.protos import leaf_pb2 as pb
from cluster.root import Root
from cluster.shard_state_actions import MasterShardStateActions
from cluster.state import ClusterState, LocalStateStore, NodeInfo, ShardCopy, ShardRouting
from cluster.transport import NodeNotConnected
from cluster.writes import WriteCoordinator

NODES = ("node-a", "node-b", "node-c")


class FlakyClient:
    """A node's ``LocalLeafClient`` that the test can make unreachable (``down``) or hang (``hang``: searches and
    fetches wait until ``release`` is set, as a SIGSTOPped node). ``calls`` counts the searches it got,
    ``fetches`` the fetches."""

    def __init__(self, node_id: str, inner: LeafClient) -> None:
        self.node_id = node_id
        self.inner = inner
        self.down = False
        self.fetch_down = False  # only its fetches fail: lost between the query and the fetch phase
        self.hang = False
        self.hang_fetch = False  # only its fetches hang
        self.release = asyncio.Event()
        self.calls = 0
        self.fetches = 0

    def _check(self) -> None:
        if self.down:
            raise NodeNotConnected(self.node_id)

    async def _hold(self) -> None:
        if self.hang:
            await self.release.wait()

    async def search(self, request: pb.SearchRequest) -> pb.SearchResponse:
        self._check()
        self.calls += 1
        await self._hold()
        return await self.inner.search(request)

    async def fetch(self, request: pb.FetchRequest) -> pb.FetchResponse:
        self._check()
        self.fetches += 1
        if self.fetch_down:
            raise NodeNotConnected(self.node_id)
        if self.hang_fetch:
            await self.release.wait()
        await self._hold()
        return await self.inner.fetch(request)

    async def bulk(self, request: pb.BulkRequest, parsed: Sequence[dict[str, Any] | None] | None = None
                   ) -> pb.BulkResponse:  # fmt: skip
        self._check()
        return await self.inner.bulk(request, parsed)

    async def get(self, request: pb.GetRequest) -> pb.StoredDoc:
        self._check()
        return await self.inner.get(request)

    async def refresh(self, request: pb.RefreshRequest) -> pb.RefreshResponse:
        self._check()
        return await self.inner.refresh(request)

    async def stats(self, request: pb.StatsRequest) -> pb.StatsResponse:
        self._check()
        return await self.inner.stats(request)

    async def forcemerge(self, request: pb.ForcemergeRequest) -> pb.ForcemergeResponse:
        self._check()
        return await self.inner.forcemerge(request)


class MapTransport:
    """Node id → client; ``local_node`` is the coordinator's own node."""

    def __init__(self, local: str, clients: dict[str, LeafClient]) -> None:
        self._local = local
        self.clients = clients

    @property
    def local_node(self) -> str:
        return self._local

    def client(self, node_id: str) -> LeafClient:
        found = self.clients.get(node_id)
        if found is None:
            raise NodeNotConnected(node_id)
        return found


class ThreeNodes:
    def __init__(self, base: str, *, config: ClusterConfig | None = None) -> None:
        self.config = config or ClusterConfig()
        self.master = Master(LocalStateStore(os.path.join(base, "master")))
        self.data = {n: DataNode(os.path.join(base, n), node_id=n, default_refresh_interval="-1") for n in NODES}
        for node in self.data.values():
            node.apply_state(None, self.master.state)
            self.master.subscribe(node.apply_state)
        self.local: dict[str, LeafClient] = {}
        actions = MasterShardStateActions(self.master)
        self.services = {n: LeafService(d, config=self.config, transport=MapTransport(n, self.local),
                                        shard_state_actions=actions) for n, d in self.data.items()}  # fmt: skip
        for service in self.services.values():
            service.apply_state(None, self.master.state)
            self.master.subscribe(service.apply_state)
        self.local.update({n: LocalLeafClient(s) for n, s in self.services.items()})
        self.clients: dict[str, FlakyClient] = {n: FlakyClient(n, self.local[n]) for n in NODES}
        self.transport = MapTransport(NODES[0], dict(self.clients))
        self.root = Root(self.transport, self.config, state=lambda: self.master.state)
        self.writes = WriteCoordinator(self.master, self.transport, config=self.config)
        self.root.attach_documents(self.master.index, self.writes.get)
        nodes = {n: NodeInfo(id=n, name=f"name-{n}") for n in NODES}
        # the master allocates nothing (``route`` places the copies): no copy of its own, no recovery started
        persistent = {**self.master.state.persistent, "cluster.routing.allocation.enable": "none"}
        self.force(replace(self.master.state.changed(nodes=nodes, persistent=persistent), master_node=NODES[0]))

    def force(self, new: ClusterState) -> None:
        """Publish ``new`` as it is: the master's own publication would run allocation over the hand-made
        routing table (the tests place the copies themselves)."""
        master: Any = self.master
        old = master.state
        master.store.save(new, old.version)
        master._state = new
        for listener in master._listeners:
            listener(old, new)

    def route(self, index: str, placement: Sequence[Sequence[str]], *, primary_term: int = 1) -> None:
        """The routing of ``index``: per shard, the nodes of its copies, the primary first."""
        meta = self.master.index(index)

        def shard(s: int, nodes: Sequence[str]) -> ShardRouting:
            ids = [f"{index}-{s}-{j}" for j in range(len(nodes))]
            copies = tuple(ShardCopy(node=n, primary=j == 0, allocation_id=ids[j]) for j, n in enumerate(nodes))
            return ShardRouting(shard=s, primary_term=primary_term, copies=copies, in_sync=tuple(ids))

        table = tuple(shard(s, nodes) for s, nodes in enumerate(placement))
        state: ClusterState = self.master.state
        self.force(state.changed(routing={**state.routing, meta.uuid: table}))

    def close(self) -> None:
        for client in self.clients.values():
            client.release.set()
        for node in self.data.values():
            node.close()
        for service in self.services.values():
            service.close()
