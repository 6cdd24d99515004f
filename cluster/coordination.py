"""The coordination service on the master of a ``--state-store local`` cluster.

The cluster state lives in the master's local store; the other processes reach it here (gRPC, beside the
leaf service on the master's transport port):

- **membership with a lease**: a node ``Join``s with its ``NodeInfo`` and ``Heartbeat``s at least every
  ``lease_seconds``; one that stops (killed, or SIGSTOPped) is dropped when its lease expires, well within
  the 5 s that discovery promises. Every change of the member set goes to ``Master.set_nodes`` (which
  reallocates shards and publishes the state that lists the members);
- **state publication**: ``Subscribe`` streams every new cluster state (the newest one: states are whole
  snapshots, so a slow subscriber skips intermediate versions instead of queueing them); a subscriber that
  reconnects names the version it has and gets the latest at once;
- **forwarded master actions** (``MasterAction``): any node's ``MasterClient`` sends a state-writing
  ``Master`` method by name (``cluster.master_actions``); errors come back with their ES type and status.

Master methods are blocking (validation, an fsynced save, listeners that open shards): they run in worker
threads, never on the event loop that also serves searches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import grpc
import orjson

from cluster.master_actions import run_action
from cluster.protos import coordination_pb2 as cpb
from cluster.protos import coordination_pb2_grpc as cpb_grpc
from cluster.protos import leaf_pb2 as pb
from cluster.state import ClusterState, NodeInfo

log = logging.getLogger(__name__)

LEASE_S = 3.0  # a member that has not heartbeaten for this long is dropped
HEARTBEAT_S = 0.75  # how often members heartbeat (several tries per lease)
_REAP_S = 0.25


class Membership:
    """The live members and their lease deadlines; the master's own node never expires."""

    def __init__(self, local: NodeInfo, *, lease_s: float = LEASE_S, clock: Callable[[], float] = time.monotonic):
        self.local = local
        self.lease_s = lease_s
        self._clock = clock
        self._members: dict[str, tuple[NodeInfo, float]] = {local.id: (local, float("inf"))}

    def join(self, node: NodeInfo) -> bool:
        """Add or renew ``node``; True when the member set (or a member's description) changed."""
        known = self._members.get(node.id)
        self._members[node.id] = (node, self._clock() + self.lease_s)
        return known is None or known[0] != node

    def renew(self, node_id: str) -> bool:
        """Extend a member's lease; False when it is not a member (its lease ran out: it joins again)."""
        known = self._members.get(node_id)
        if known is None:
            return False
        if node_id != self.local.id:
            self._members[node_id] = (known[0], self._clock() + self.lease_s)
        return True

    def leave(self, node_id: str) -> bool:
        return node_id != self.local.id and self._members.pop(node_id, None) is not None

    def expire(self) -> list[str]:
        """Drop the members whose lease ran out; their ids."""
        now = self._clock()
        gone = [node_id for node_id, (_, deadline) in self._members.items() if deadline < now]
        for node_id in gone:
            del self._members[node_id]
        return gone

    def nodes(self) -> list[NodeInfo]:
        return sorted((info for info, _ in self._members.values()), key=lambda n: n.id)


def apply_members(master: Any, nodes: Sequence[NodeInfo], master_node: str) -> None:
    """Hand the member set to the master: ``Master.set_nodes`` reallocates and publishes; a master without it
    (before allocation existed) records the members in the state itself."""
    set_nodes = getattr(master, "set_nodes", None)
    if set_nodes is not None:
        set_nodes(list(nodes), master_node=master_node)
        return
    with master._lock:
        state: ClusterState = master.state
        members = {n.id: n for n in nodes}
        if dict(state.nodes) != members:
            master._publish(state.changed(nodes=members, master_node=master_node))


class CoordinationService(cpb_grpc.CoordinationServicer):
    """The servicer; ``start`` runs its lease reaper, ``stop`` ends it and every subscription."""

    def __init__(self, master: Any, local: NodeInfo, *, cluster_name: str, lease_s: float = LEASE_S) -> None:
        self.master = master
        self.cluster_name = cluster_name
        self.membership = Membership(local, lease_s=lease_s)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed = asyncio.Event()
        self._encoded: tuple[int, bytes] = (-1, b"")
        self._dirty = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        if master is not None:  # (with etcd, only forwarded actions come here: ``master`` is set when elected)
            master.subscribe(self._published)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._dirty = asyncio.Event()
        self._dirty.set()  # record the master itself as the first member
        self._tasks = [asyncio.create_task(self._reap_loop()), asyncio.create_task(self._members_loop())]

    async def stop(self) -> None:
        self._stopping = True
        self._wake()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def wait_members_applied(self, timeout_s: float = 10.0) -> None:
        """Until the member set the master holds is the one this service knows (bounded)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self._dirty.is_set() and set(self.master.state.nodes) == {n.id for n in self.membership.nodes()}:
                return
            await asyncio.sleep(0.02)

    # -- state publication ----------------------------------------------------------------------------------
    def _published(self, old: ClusterState, new: ClusterState) -> None:
        """A master listener (any thread): wake the subscription streams."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._wake)
        except RuntimeError:  # the loop closed meanwhile
            pass

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _encode(self, state: ClusterState) -> bytes:
        version, data = self._encoded
        if version != state.version:
            data = orjson.dumps(state.to_json())
            self._encoded = (state.version, data)
        return data

    async def Subscribe(
        self, request: cpb.SubscribeRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[cpb.PublishedState]:
        sent = request.known_version
        while not self._stopping:
            changed = self._changed  # taken before the state is read: a publish in between wakes us
            state: ClusterState = self.master.state
            if state.version != sent:  # (a smaller one too: the subscriber knew a state of an older master)
                yield cpb.PublishedState(version=state.version, state_json=self._encode(state))
                sent = state.version
                continue
            await changed.wait()

    # -- membership -----------------------------------------------------------------------------------------
    async def Join(self, request: cpb.JoinRequest, context: grpc.aio.ServicerContext) -> cpb.JoinResponse:
        response = cpb.JoinResponse(lease_seconds=self.membership.lease_s, master_node=self.membership.local.id)
        if request.cluster_name != self.cluster_name:
            response.error.CopyFrom(pb.Error(status=400, es_type="illegal_state_exception",
                                             reason=f"node of cluster [{request.cluster_name}] cannot join "
                                                    f"cluster [{self.cluster_name}]"))  # fmt: skip
            return response
        node = NodeInfo.from_json(orjson.loads(request.node_json))
        if self.membership.join(node):
            log.info("node joined", extra={"node": node.id, "node_name": node.name})
            self._dirty.set()
        return response

    async def Heartbeat(
        self, request: cpb.HeartbeatRequest, context: grpc.aio.ServicerContext
    ) -> cpb.HeartbeatResponse:
        return cpb.HeartbeatResponse(known=self.membership.renew(request.node_id))

    async def Leave(self, request: cpb.LeaveRequest, context: grpc.aio.ServicerContext) -> cpb.LeaveResponse:
        if self.membership.leave(request.node_id):
            log.info("node left", extra={"node": request.node_id})
            self._dirty.set()
        return cpb.LeaveResponse()

    async def _reap_loop(self) -> None:
        while True:
            await asyncio.sleep(_REAP_S)
            gone = self.membership.expire()
            if gone:
                log.warning("nodes dropped: lease expired", extra={"nodes": gone})
                self._dirty.set()

    async def _members_loop(self) -> None:
        """Hands each new member set to the master, one at a time (a change during a hand-over is sent next)."""
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                await asyncio.to_thread(apply_members, self.master, self.membership.nodes(), self.membership.local.id)
            except Exception:
                log.exception("applying the member set failed; retrying")
                await asyncio.sleep(0.5)
                self._dirty.set()

    # -- forwarded master actions -----------------------------------------------------------------------------
    async def MasterAction(self, request: cpb.ActionRequest, context: grpc.aio.ServicerContext) -> cpb.ActionResponse:
        return await asyncio.to_thread(run_action, self.master, request)


def add_coordination(server: grpc.aio.Server, service: CoordinationService) -> None:
    cpb_grpc.add_CoordinationServicer_to_server(service, server)
