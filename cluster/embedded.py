"""Every role in one process: master, data node, leaf and root over ``LocalLeafClient``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from cluster.async_search import AsyncSearchRegistry
from cluster.config import ClusterConfig
from cluster.disk import DiskWatermarks
from cluster.leaf import LeafService
from cluster.leaf_client import LeafClient, LocalLeafClient
from cluster.master import Master
from cluster.node import DataNode
from cluster.node_identity import EMBEDDED_NODE_ID, persistent_node_id
from cluster.pit import PitRegistry
from cluster.root import Root
from cluster.scroll import ScrollRegistry
from cluster.settings import allow_expensive_queries_of, max_buckets_of
from cluster.state import ROLES, ClusterState, LocalStateStore, NodeInfo
from cluster.state_changes import StateChanges
from cluster.transport import LocalTransport, Transport
from cluster.writes import WriteCoordinator

if TYPE_CHECKING:
    from cluster.grpc_leaf import LeafServer

log = logging.getLogger(__name__)


class EmbeddedCluster:
    def __init__(
        self,
        data_dir: str,
        *,
        cluster_name: str = "quidditch",
        node_name: str = "quidditch-0",
        config: ClusterConfig | None = None,
        master: Master | None = None,
        transport: Callable[[LeafClient], Transport] | None = None,
    ) -> None:
        self.config = config or ClusterConfig()
        self.data_dir = data_dir
        self.cluster_name = cluster_name
        self.node_name = node_name
        if master is None:
            self.store = LocalStateStore(data_dir)
            self.master = Master(self.store)
            self.node_id = persistent_node_id(data_dir, first=EMBEDDED_NODE_ID)
            # the one member: master, data and coordinating; registering it allocates every primary here
            self.master.set_nodes([NodeInfo(self.node_id, node_name, ROLES)], master_node=self.node_id)
        else:  # a cluster node (``cluster.cluster_node``): the master over its store, or the elected one's client
            self.master = master
            self.node_id = persistent_node_id(data_dir)
        self.node = DataNode(data_dir, node_id=self.node_id,
                             default_refresh_interval=self.config.default_refresh_interval)  # fmt: skip
        if master is None or self.master.state.version > 0:  # (a master client has no state before it joins)
            self.node.apply_state(None, self.master.state)
        self.master.subscribe(self.node.apply_state)
        self.state_changes = StateChanges(lambda: self.master.state)
        self.master.subscribe(self.state_changes.notify)
        self.leaf_service = LeafService(self.node, config=self.config)
        # the routing table replication reads (``cluster.replication``): the embedded node routes no replica, and
        # a cluster node adds a transport, ShardStateActions and ``leaf_service.recovery.bind(loop)``
        self.leaf_service.apply_state(None, self.master.state)
        self.master.subscribe(self.leaf_service.apply_state)
        self.leaf: LeafClient = LocalLeafClient(self.leaf_service)
        self.leaf_server: LeafServer | None = None  # with ``leaf_transport = "grpc"``, from ``start``
        # (a cluster node's ``transport`` reaches every member; ``root.leaf = …`` below repoints the embedded one)
        self.transport: Transport = (LocalTransport(self.node_id, self.leaf) if transport is None
                                     else transport(self.leaf))  # fmt: skip
        self.root = Root(self.transport, self.config, state=lambda: self.master.state)
        self.root.node_of = self.node_of
        self.writes = WriteCoordinator(self.master, self.transport, config=self.config)
        self.disk = DiskWatermarks(self.master, data_dir)
        self.writes.disk = self.disk
        self.root.attach_documents(self.master.index, self.writes.get)
        self._apply_search_settings(None, self.master.state)
        self.master.subscribe(self._apply_search_settings)
        self.scrolls = ScrollRegistry()
        self.pits = PitRegistry()
        self.async_searches = AsyncSearchRegistry()
        self._refresher: asyncio.Task[None] | None = None
        self._disk_monitor: asyncio.Task[None] | None = None

    def node_of(self, index_uuid: str, shard: int) -> str:
        """The node whose copy of a shard a request reads (the primary's, as the routing table places it)."""
        routing = self.master.state.shard_routing(index_uuid, shard)
        primary = routing.primary if routing is not None else None
        return primary.node if primary is not None else self.node_id

    def _apply_search_settings(self, old: ClusterState | None, new: ClusterState) -> None:
        """``search.max_buckets`` and ``search.allow_expensive_queries`` are dynamic: the root and the leaf read
        them from every new state."""
        limit = max_buckets_of(new)
        self.root.max_buckets = self.leaf_service.max_buckets = limit
        self.root.allow_expensive_queries = allow_expensive_queries_of(new)

    async def start(self) -> None:
        if self.config.leaf_transport == "grpc":
            await self._leaf_over_grpc()
        self._refresher = asyncio.create_task(self._refresh_loop())
        self._disk_monitor = asyncio.create_task(self._disk_loop())

    async def _leaf_over_grpc(self) -> None:
        """Serve this node's leaf on a loopback port and reach it through a ``GrpcLeafClient``, so every leaf
        call crosses the wire as it does in a cluster (``ClusterConfig.leaf_transport = "grpc"``). Requests
        arrive only after ``start``, so the root and the write coordinator are repointed here."""
        from cluster.grpc_leaf import GrpcLeafClient, start_leaf_server

        self.leaf_server = await start_leaf_server(self.leaf_service, "127.0.0.1", 0)
        client = GrpcLeafClient(self.leaf_server.address, node_id=self.node_name)
        self.leaf = self.root.leaf = self.writes.leaf = client
        self.transport = LocalTransport(self.node_id, client)

    async def _disk_loop(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.disk.check)
            except Exception:
                log.exception("disk watermark check failed")
            await asyncio.sleep(self.disk.update_interval())

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(0.1)
            try:
                await asyncio.to_thread(self.node.refresh_due)
            except Exception:
                log.exception("periodic refresh failed")

    async def stop(self) -> None:
        for task in (self._refresher, self._disk_monitor):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.leaf_server is not None:
            close = getattr(self.leaf, "close", None)
            if close is not None:
                await close()
            await self.leaf_server.stop(None)
            self.leaf_server = None
        await asyncio.to_thread(self.node.close)
        self.leaf_service.close()
