"""One process of a multi-process cluster: ``quidditch serve --roles … --transport-port … --seed-hosts …``.

A ``ClusterNode`` is an ``EmbeddedCluster`` (same root, write coordinator, registries and hooks that ``server/``
uses) whose master and transport are the cluster's:

- **``--state-store local``**: the master-eligible node is the master: it runs ``Master`` over its
  ``LocalStateStore`` and the coordination service (``cluster.coordination``) on its transport port, where the
  other nodes (``--seed-hosts``) join, heartbeat, stream the published states and forward master actions
  (``cluster.master_client.MasterClient``); member changes go to ``Master.set_nodes`` (reallocation);
- **``--state-store etcd://…``**: every node registers in etcd and applies the states it watches there
  (``StoreMasterClient``); master-eligible nodes campaign for the master lease, and the holder runs ``Master``
  over the store (its saves are fenced once the lease is lost) and serves forwarded actions until it steps down;
- **data role**: its ``LeafService`` is served on the transport port (``cluster.grpc_leaf``); its ``DataNode``
  opens the copies the routing table assigns to it;
- **every node**: a ``ClusterTransport`` reaches each member's leaf through a ``GrpcLeafClient`` built from the
  member's ``transport_address`` (its own shards in-process), and closes the clients of departed members.

A node's id is kept in ``<data>/node_id`` so a restarted node is the same member and finds its shard copies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import grpc
import grpc.aio

from cluster.config import ClusterConfig
from cluster.coordination import CoordinationService, add_coordination, apply_members
from cluster.embedded import EmbeddedCluster
from cluster.leaf_client import LeafClient
from cluster.master import Master
from cluster.master_client import MasterClient, StoreMasterClient
from cluster.node_identity import persistent_node_id
from cluster.shard_state_actions import MasterShardStateActions
from cluster.state import ROLES, ClusterState, LocalStateStore, NodeInfo
from cluster.transport import NodeNotConnected
from native.errors import QuidditchError

log = logging.getLogger(__name__)

CAMPAIGN_S = 0.25  # how often a master-eligible node of an etcd cluster tries for (or checks) the master lease
MASTER_TTL_S = 2.0  # the master lease: a dead master's successor is elected within this plus ``CAMPAIGN_S``
FIRST_STATE_TIMEOUT_S = 60.0  # how long a starting node looks for its master before it gives up
STATE_WAIT_S = 10.0  # a write that reaches this data node before the state it was made with waits this long


def parse_roles(text: str) -> tuple[str, ...]:
    """``"master,data"`` → ``("master", "data")``; an empty text is every role; unknown roles are refused."""
    roles = tuple(dict.fromkeys(r.strip() for r in text.split(",") if r.strip())) if text.strip() else ROLES
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown role [{unknown[0]}]: roles are {', '.join(ROLES)}")
    return roles


def parse_seed_hosts(text: str) -> list[str]:
    hosts = [h.strip() for h in text.split(",") if h.strip()]
    for host in hosts:
        name, _, port = host.rpartition(":")
        if not name or not port.isdigit():
            raise ValueError(f"seed host [{host}] is not host:port")
    return hosts


class ClusterTransport:
    """``Transport`` of a cluster node: one ``GrpcLeafClient`` per member, made on first use from the member's
    ``transport_address`` in the latest state; this node's own shards through its in-process client."""

    def __init__(self, local_node: str, local_client: LeafClient | None, state: Callable[[], ClusterState]) -> None:
        self._local_node = local_node
        self._local_client = local_client
        self._state = state
        self._clients: dict[str, tuple[str, Any]] = {}  # node id → (address, client)

    @property
    def local_node(self) -> str:
        return self._local_node

    def client(self, node_id: str) -> LeafClient:
        if node_id == self._local_node and self._local_client is not None:
            return self._local_client
        node = self._state().nodes.get(node_id)
        if node is None or not node.transport_address:
            raise NodeNotConnected(node_id)
        known = self._clients.get(node_id)
        if known is not None and known[0] == node.transport_address:
            client: LeafClient = known[1]
            return client
        from cluster.grpc_leaf import GrpcLeafClient

        made = GrpcLeafClient(node.transport_address, node_id=node_id)
        self._clients[node_id] = (node.transport_address, made)
        if known is not None:
            asyncio.get_running_loop().create_task(known[1].close())
        return made

    async def prune(self) -> None:
        """Close the clients of nodes that left (or moved to another address)."""
        nodes = self._state().nodes
        for node_id, (address, client) in list(self._clients.items()):
            member = nodes.get(node_id)
            if member is None or member.transport_address != address:
                del self._clients[node_id]
                with contextlib.suppress(Exception):
                    await client.close()

    async def close(self) -> None:
        clients, self._clients = self._clients, {}
        for _, client in clients.values():
            with contextlib.suppress(Exception):
                await client.close()


class ClusterNode(EmbeddedCluster):
    def __init__(
        self,
        data_dir: str,
        *,
        cluster_name: str = "quidditch",
        node_name: str = "quidditch-0",
        config: ClusterConfig | None = None,
        roles: Sequence[str] = ROLES,
        transport_host: str = "127.0.0.1",
        transport_port: int = 0,
        seed_hosts: Sequence[str] = (),
        http_address: str = "",
        state_store: str = "local",
    ) -> None:
        self.node_id = persistent_node_id(data_dir)
        self.node_name = node_name
        self.roles = tuple(roles)
        self.transport_host = transport_host
        self.transport_port = transport_port
        self.http_address = http_address
        self.is_master = "master" in self.roles  # master-eligible (with a local store: the master)
        self.store: Any = None  # the etcd store, when the cluster state lives there
        self._elected: Master | None = None
        self._campaign: threading.Thread | None = None
        self._stopping = threading.Event()
        self._unwatch_members: Any = None
        master: Master
        if state_store.startswith("etcd://"):
            from cluster.state_store import store_from_url

            self.store = store_from_url(state_store, data_dir, cluster_name)
            master = StoreMasterClient(self.store, self._describe(0), cluster_name=cluster_name)
        elif self.is_master:
            master = Master(LocalStateStore(data_dir))
        else:
            master = MasterClient(seed_hosts, self._describe(0), cluster_name=cluster_name)
        super().__init__(data_dir, cluster_name=cluster_name, node_name=node_name, config=config, master=master,
                         transport=self._cluster_transport)  # fmt: skip
        self.leaf_service.state_wait_s = STATE_WAIT_S
        # replication and peer recovery: replicas and primaries on other nodes, shard states to the master
        self.leaf_service.transport = self.transport
        self.leaf_service.shard_state_actions = MasterShardStateActions(self.master)
        self.coordination: CoordinationService | None = None
        self._server: grpc.aio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.master.subscribe(self._members_changed)

    def _cluster_transport(self, leaf: LeafClient) -> ClusterTransport:
        return ClusterTransport(self.node_id, leaf if "data" in self.roles else None, lambda: self.master.state)

    def _describe(self, port: int) -> NodeInfo:
        return NodeInfo(id=self.node_id, name=self.node_name, roles=self.roles,
                        transport_address=f"{self.transport_host}:{port}" if port else "",
                        http_address=self.http_address)  # fmt: skip

    @property
    def local(self) -> NodeInfo:
        return self._describe(self.transport_port)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.leaf_service.recovery.bind(self._loop)
        if self.master.state.version > 0:  # (a master over its own store: the recoveries it owes, on this loop)
            self.leaf_service.apply_state(None, self.master.state)
        await self._start_transport()
        if isinstance(self.master, MasterClient):
            self.master.local = self.local
            self.master.start()
            if isinstance(self.master, StoreMasterClient) and self.is_master:
                self._campaign = threading.Thread(target=self._campaign_loop, name="master-campaign", daemon=True)
                self._campaign.start()
            if not await asyncio.to_thread(self.master.wait_first_state, FIRST_STATE_TIMEOUT_S):
                raise RuntimeError(f"no master found at {self.master.seeds} in {FIRST_STATE_TIMEOUT_S:.0f}s")
        else:
            assert self.coordination is not None
            await self.coordination.start()
            await self.coordination.wait_members_applied()
        await super().start()

    async def _start_transport(self) -> None:
        """One gRPC server on the transport port: the leaf (data role) and coordination (master role)."""
        from cluster.grpc_leaf import _SERVER_OPTIONS as SERVER_OPTIONS
        from cluster.grpc_leaf import LeafServicer
        from cluster.protos import leaf_pb2_grpc

        server = grpc.aio.server(options=SERVER_OPTIONS)
        if "data" in self.roles:
            leaf_pb2_grpc.add_LeafServicer_to_server(LeafServicer(self.leaf_service), server)
        port = server.add_insecure_port(f"{self.transport_host}:{self.transport_port}")
        if port == 0:
            raise OSError(f"cannot bind the transport to [{self.transport_host}:{self.transport_port}]")
        self.transport_port = port
        if self.is_master:  # (with etcd its master is set while this node is the elected one)
            master = None if self.store is not None else self.master
            self.coordination = CoordinationService(master, self.local, cluster_name=self.cluster_name)
            add_coordination(server, self.coordination)
        await server.start()
        self._server = server
        log.info("transport listening", extra={"address": self.local.transport_address, "node": self.node_id})

    def _members_changed(self, old: ClusterState, new: ClusterState) -> None:
        """Any thread: close the clients of departed members on the event loop."""
        loop = self._loop
        if loop is None or loop.is_closed() or old.nodes == new.nodes:
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(lambda: loop.create_task(self._prune()))

    async def _prune(self) -> None:
        if isinstance(self.transport, ClusterTransport):
            await self.transport.prune()

    # -- election (etcd) --------------------------------------------------------------------------------------------
    def _campaign_loop(self) -> None:
        """A master-eligible node of an etcd cluster: campaign for the master lease until won, run ``Master`` over
        the store while it is held, step down when it is lost (a stale master's saves are fenced by the store)."""
        while not self._stopping.wait(CAMPAIGN_S):
            try:
                if self._elected is None:
                    if self.store.campaign(self.node_id, MASTER_TTL_S):
                        self._become_master()
                elif self.store.leader() != self.node_id:
                    self._step_down()
            except QuidditchError as exc:  # etcd unreachable: try again
                log.warning("master campaign failed: %s", exc.reason)
            except Exception:
                log.exception("master campaign failed")

    def _become_master(self) -> None:
        master = Master(self.store)  # the newest saved state
        self._elected = master
        log.warning("elected master", extra={"node": self.node_id, "version": master.state.version})
        client = self.master
        assert isinstance(client, StoreMasterClient)
        client.local_master = master
        if self.coordination is not None:
            self.coordination.master = master

        def members(nodes: list[NodeInfo]) -> None:
            if self._elected is master:
                try:
                    apply_members(master, nodes, self.node_id)
                except QuidditchError as exc:  # fenced: the lease is gone, the campaign loop steps down
                    log.warning("member update refused: %s", exc.reason)

        self._unwatch_members = self.store.watch_members(members)

    def _step_down(self) -> None:
        log.warning("no longer the elected master", extra={"node": self.node_id})
        self._elected = None
        if self._unwatch_members is not None:
            self._unwatch_members()
            self._unwatch_members = None
        client = self.master
        if isinstance(client, StoreMasterClient):
            client.local_master = None
        if self.coordination is not None:
            self.coordination.master = None

    async def stop(self) -> None:
        self._stopping.set()
        if self._campaign is not None:
            await asyncio.to_thread(self._campaign.join, 5.0)
        if self._elected is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.store.resign)
        if isinstance(self.master, MasterClient):
            await asyncio.to_thread(self.master.stop)
        if self.coordination is not None:
            await self.coordination.stop()
        if self._server is not None:
            await self._server.stop(grace=1.0)
        if isinstance(self.transport, ClusterTransport):
            await self.transport.close()
        await super().stop()
