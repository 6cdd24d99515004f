"""In one process, a few data nodes (DataNode + LeafService, each in its own tmp dir) that reach each other through
``LocalLeafClient``s, and a small master standing in for allocation: it holds the routing table of one index
and applies ``copy_started``/``fail_copy`` to it (through the real ``MasterShardStateActions`` adapter)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import tantivy

from cluster.leaf import LeafService
from cluster.leaf_client import LeafClient, LocalLeafClient
from cluster.node import DataNode
from cluster.protos import leaf_pb2 as pb
from cluster.shard_state_actions import MasterShardStateActions
from cluster.state import ClusterState, IndexMeta, NodeInfo, ShardCopy, ShardRouting
from cluster.transport import NodeNotConnected
from native.shard import Shard

INDEX, UUID = "idx", "uuid-idx"
MAPPING = {"properties": {"n": {"type": "long"}, "title": {"type": "text"}}}
REF = pb.ShardRef(index=INDEX, uuid=UUID, shard=0)


class Transport:
    """Node id → its in-process client; a node that was stopped (or cut off) is not connected."""

    def __init__(self, local: str, clients: dict[str, LeafClient]) -> None:
        self._local = local
        self._clients = clients

    @property
    def local_node(self) -> str:
        return self._local

    def client(self, node_id: str) -> LeafClient:
        client = self._clients.get(node_id)
        if client is None:
            raise NodeNotConnected(node_id)
        return client


class FakeMaster:
    """The routing table of one single-shard index; every change is published to each node's listeners."""

    def __init__(self) -> None:
        self.meta = IndexMeta(INDEX, UUID, {"index.number_of_shards": "1", "index.number_of_replicas": "1"},
                              MAPPING, 0)  # fmt: skip
        self.state = ClusterState(version=1, indices={INDEX: self.meta})
        self.listeners: dict[str, list[Callable[[ClusterState | None, ClusterState], None]]] = {}
        self.calls: list[tuple[str, str, str]] = []  # (action, allocation id, reason)
        self.fail_error: Exception | None = None  # fail_copy raises it (an unreachable master)
        self.fail_gate: threading.Event | None = None  # fail_copy waits for it
        self.lock = threading.RLock()

    @property
    def routing(self) -> ShardRouting:
        return self.state.routing[UUID][0]

    def set_routing(self, routing: ShardRouting, *, only: list[str] | None = None) -> None:
        with self.lock:
            nodes = {c.node: NodeInfo(c.node, c.node) for c in routing.copies}
            old, self.state = self.state, self.state.changed(routing={UUID: (routing,)},
                                                             nodes={**self.state.nodes, **nodes})  # fmt: skip
            for node_id, listeners in list(self.listeners.items()):
                if only is None or node_id in only:
                    for listener in listeners:
                        listener(old, self.state)

    def copy_started(self, index_uuid: str, shard: int, allocation_id: str) -> None:
        with self.lock:
            self.calls.append(("copy_started", allocation_id, ""))
            routing = self.routing
            copies = tuple(replace(c, state="STARTED") if c.allocation_id == allocation_id else c
                           for c in routing.copies)  # fmt: skip
            self.set_routing(replace(routing, copies=copies, in_sync=(*routing.in_sync, allocation_id)))

    def fail_copy(self, index_uuid: str, shard: int, allocation_id: str, reason: str) -> None:
        if self.fail_gate is not None:
            assert self.fail_gate.wait(30)
        with self.lock:
            self.calls.append(("fail_copy", allocation_id, reason))
            if self.fail_error is not None:
                raise self.fail_error
            routing = self.routing
            copies = tuple(c for c in routing.copies if c.allocation_id != allocation_id)
            in_sync = tuple(a for a in routing.in_sync if a != allocation_id)
            self.set_routing(replace(routing, copies=copies, in_sync=in_sync))


def copy(node: str, primary: bool, state: str = "STARTED") -> ShardCopy:
    return ShardCopy(node, primary, state, allocation_id=f"alloc-{node}")


class Cluster:
    """Data nodes by id, sharing one ``FakeMaster``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.master = FakeMaster()
        self.clients: dict[str, LeafClient] = {}
        self.nodes: dict[str, DataNode] = {}
        self.services: dict[str, LeafService] = {}
        self.actions = MasterShardStateActions(self.master)

    def start(self, node_id: str, *, bind: bool = True) -> LeafService:
        node = DataNode(str(self.root / node_id), node_id=node_id)
        service = LeafService(node, transport=Transport(node_id, self.clients), shard_state_actions=self.actions)
        if bind:
            service.recovery.bind(asyncio.get_running_loop())
        node.apply_state(None, self.master.state)
        service.apply_state(None, self.master.state)
        self.master.listeners[node_id] = [node.apply_state, service.apply_state]
        self.nodes[node_id], self.services[node_id] = node, service
        self.clients[node_id] = LocalLeafClient(service)
        return service

    def stop(self, node_id: str) -> None:
        """The node goes away (its client first: nothing reaches it any more)."""
        self.clients.pop(node_id, None)
        self.master.listeners.pop(node_id, None)
        self.services.pop(node_id).close()
        self.nodes.pop(node_id).close()

    def shard(self, node_id: str) -> Shard:
        return self.nodes[node_id].shard(UUID, 0)

    async def bulk(self, node_id: str, ops: list[dict[str, Any]]) -> pb.BulkResponse:
        request = pb.BulkRequest(shard=REF)
        for op in ops:
            message = request.ops.add(op=op["op"], id=op["id"])
            if "source" in op:
                message.source = orjson.dumps(op["source"])
            if "doc" in op:
                message.update_json = orjson.dumps({"doc": op["doc"]})
            if "if_seq_no" in op:
                message.has_if_seq_no, message.if_seq_no = True, op["if_seq_no"]
                message.if_primary_term = op["if_primary_term"]
        return await self.clients[node_id].bulk(request)

    async def index_columns(self, node_id: str, docs: dict[str, dict[str, Any]]) -> pb.BulkResponse:
        request = pb.BulkRequest(shard=REF)
        request.columns.op = "index"
        request.columns.ids.extend(docs)
        request.columns.sources.extend(orjson.dumps(d) for d in docs.values())
        return await self.clients[node_id].bulk(request)

    async def close(self) -> None:
        for node_id in list(self.services):
            await self.services[node_id].recovery.wait(60)
            self.stop(node_id)


def documents(shard: Shard) -> dict[str, tuple[int, int, int, bytes | None]]:
    """id → (seq_no, version, term, source) of every document, read back after a refresh."""
    shard.refresh(force=True)
    _, searcher = shard.acquire_searcher()
    out = {}
    for _, address in searcher.search(tantivy.Query.all_query(), 1_000_000).hits:
        doc_id = str(searcher.doc(address).to_dict()["_id"][0])
        got = shard.get(doc_id)
        assert got is not None
        out[doc_id] = (got.seq_no, got.version, got.primary_term, got.source)
    return out


def ok(response: pb.BulkResponse) -> pb.BulkResponse:
    assert not response.HasField("error"), response.error
    assert not any(r.HasField("error") for r in response.results), response
    assert not response.columns.failed, response.columns
    return response
