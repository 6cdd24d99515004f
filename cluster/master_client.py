"""``MasterClient``: the master as a node that does not hold it sees it (``--state-store local``).

It has ``Master``'s method names: reads (``state``, ``index``, ``cluster_setting``, ``rollover_names``…) answer
from the latest cluster state this node received; writes are forwarded to the elected master's coordination
service (``cluster.coordination``) and return once this node has applied the state that holds the change, so a
request that creates an index or a mapping and then writes or searches through this node sees it
(read-your-writes). Listeners subscribed here are called with every received state, as ``Master``'s are.

It also keeps the node a member: it joins through the first answering seed host, heartbeats, and streams the
published states, reconnecting (to any seed) when the master is unreachable. All of that runs on two daemon
threads with blocking gRPC, never on the event loop: a forwarded action may block its caller (as a local
master's fsynced save does) while the stream thread delivers the new state.

QuidditchError
└── MasterNotDiscovered (503, master_not_discovered_exception): no seed host answers
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Mapping as MappingABC
from typing import Any

import grpc
import orjson

from cluster.allocation import allocate
from cluster.coordination import HEARTBEAT_S
from cluster.master import AliasAction, Listener, Master
from cluster.master_actions import ACTIONS, alias_actions_json, raise_remote, routing_json, run_action
from cluster.protos import coordination_pb2 as cpb
from cluster.protos import coordination_pb2_grpc as cpb_grpc
from cluster.state import ClusterState, IndexMeta, NodeInfo, StaleStateError
from native.errors import QuidditchError

log = logging.getLogger(__name__)
SLOW_APPLY_S = 2.0  # applying one state for longer than this is logged (a stuck listener stalls every later one)

ACTION_TIMEOUT_S = 30.0  # a forwarded action (an index with many shards to create) answers within this
APPLY_TIMEOUT_S = 10.0  # how long a caller waits for its node to apply the state of its change
_RETRY_S = 0.2
# cluster states with many indices and mappings pass gRPC's 4 MB default: as the leaf channels, up to 1 GiB
_CHANNEL_OPTIONS = [("grpc.max_receive_message_length", 1 << 30), ("grpc.max_send_message_length", 1 << 30),
                    ("grpc.initial_reconnect_backoff_ms", 100), ("grpc.max_reconnect_backoff_ms", 1000)]  # fmt: skip
_delivering = threading.local()  # set on the thread that is calling this node's state listeners


class MasterNotDiscovered(QuidditchError):
    status = 503
    es_type = "master_not_discovered_exception"


class MasterClient(Master):
    def __init__(self, seeds: Sequence[str], local: NodeInfo, *, cluster_name: str) -> None:
        # (``Master.__init__`` is not called: there is no store here, only the states the master publishes)
        if not seeds:
            raise ValueError("a node without a local master needs seed hosts")
        self.seeds = list(seeds)
        self.local = local
        self.cluster_name = cluster_name
        self._state = ClusterState()
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._applied = threading.Condition()
        self._channel: grpc.Channel | None = None
        self._stub: cpb_grpc.CoordinationStub | None = None
        self._seed = 0
        self._lease_s = 3.0
        self._joined = threading.Event()
        self._rejoin = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle ----------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._threads = [
            threading.Thread(target=self._stream_loop, name="master-stream", daemon=True),
            threading.Thread(target=self._heartbeat_loop, name="master-heartbeat", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def wait_first_state(self, timeout_s: float) -> bool:
        """Until this node has a state from the master (True) or ``timeout_s`` passed (False)."""
        with self._applied:
            return self._applied.wait_for(lambda: self._state.version > 0, timeout_s)

    def stop(self) -> None:
        self._stop.set()
        stub = self._stub
        if stub is not None and self._joined.is_set():
            try:
                stub.Leave(cpb.LeaveRequest(node_id=self.local.id), timeout=1.0)
            except grpc.RpcError:
                pass
        channel = self._channel
        if channel is not None:
            channel.close()
        for thread in self._threads:
            thread.join(timeout=2.0)

    # -- connection, membership, the state stream ---------------------------------------------------------------
    def _connect(self) -> cpb_grpc.CoordinationStub:
        """Join through the next seed host that answers (one pass over them; raises when none does)."""
        last: Exception | None = None
        for _ in range(len(self.seeds)):
            address = self.seeds[self._seed % len(self.seeds)]
            channel = grpc.insecure_channel(address, options=_CHANNEL_OPTIONS)
            stub = cpb_grpc.CoordinationStub(channel)
            try:
                response = stub.Join(cpb.JoinRequest(node_json=orjson.dumps(self.local.to_json()),
                                                     cluster_name=self.cluster_name), timeout=2.0)  # fmt: skip
            except grpc.RpcError as exc:
                channel.close()
                self._seed += 1
                last = exc
                continue
            if response.HasField("error"):
                channel.close()
                raise MasterNotDiscovered(response.error.reason)
            old, self._channel, self._stub = self._channel, channel, stub
            if old is not None:
                old.close()
            self._lease_s = response.lease_seconds or self._lease_s
            self._joined.set()
            return stub
        raise MasterNotDiscovered(f"no master answers at seed hosts {self.seeds}: {last}")

    def _stream_loop(self) -> None:
        while not self._stop.is_set():
            try:
                stub = self._connect()
                self._rejoin.clear()
                for message in stub.Subscribe(cpb.SubscribeRequest(node_id=self.local.id,
                                                                    known_version=self._state.version)):  # fmt: skip
                    self._receive(ClusterState.from_json(orjson.loads(message.state_json)))
                    if self._stop.is_set():
                        return
            except MasterNotDiscovered as exc:
                log.debug("master not reachable: %s", exc.reason)
            except grpc.RpcError as exc:
                if self._stop.is_set():
                    return
                log.info("state stream from the master ended: %s", exc.code() if hasattr(exc, "code") else exc)
            except Exception:
                log.exception("applying a published cluster state failed")
            self._joined.clear()
            self._stop.wait(_RETRY_S)

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(min(HEARTBEAT_S, self._lease_s / 4)):
            stub = self._stub
            if stub is None or not self._joined.is_set():
                continue
            try:
                known = stub.Heartbeat(cpb.HeartbeatRequest(node_id=self.local.id), timeout=1.0).known
            except grpc.RpcError:
                continue  # the stream thread notices a lost master and reconnects
            if not known:  # dropped (this process was stopped longer than its lease): join again
                try:
                    stub.Join(cpb.JoinRequest(node_json=orjson.dumps(self.local.to_json()),
                                              cluster_name=self.cluster_name), timeout=2.0)  # fmt: skip
                except grpc.RpcError:
                    continue

    def _receive(self, new: ClusterState) -> None:
        with self._lock:
            old = self._state
            if new.version == old.version:
                return
            self._state = new
            _delivering.active = True  # a listener that forwards an action must not wait for the next state
            started = time.monotonic()
            try:
                for listener in self._listeners:
                    try:
                        listener(old, new)
                    except Exception:
                        log.exception("cluster state listener failed", extra={"version": new.version})
            finally:
                _delivering.active = False
            took = time.monotonic() - started
            if took > SLOW_APPLY_S:  # every later state waits behind this one (heartbeats keep the node a member)
                log.warning("applying cluster state version %d took %.1fs", new.version, took)
        with self._applied:
            self._applied.notify_all()

    def _publish(self, new: ClusterState) -> None:  # pragma: no cover - every write is forwarded
        raise MasterNotDiscovered("this node is not the master")

    # -- forwarded actions ----------------------------------------------------------------------------------------
    def _forward(self, method: str, **args: Any) -> Any:
        assert method in ACTIONS, method
        request = cpb.ActionRequest(method=method, args_json=orjson.dumps(args, default=str))
        response = self._call_master(request)
        self._wait_applied(response.state_version)
        raise_remote(response)
        return ACTIONS[method].decode(orjson.loads(response.result_json or b"null"))

    def _call_master(self, request: cpb.ActionRequest) -> cpb.ActionResponse:
        stub = self._stub
        if stub is None or not self._joined.is_set():
            raise MasterNotDiscovered("no master is known to this node")
        try:
            response: cpb.ActionResponse = stub.MasterAction(request, timeout=ACTION_TIMEOUT_S)
        except grpc.RpcError as exc:
            raise MasterNotDiscovered(f"the master did not answer [{request.method}]: {exc.code()}") from None
        return response

    def _wait_applied(self, version: int) -> None:
        if getattr(_delivering, "active", False):  # (called from a listener: the state comes after it returns)
            return
        with self._applied:
            if not self._applied.wait_for(lambda: self._state.version >= version, APPLY_TIMEOUT_S):
                log.warning("state of a forwarded change not applied in time", extra={"version": version})

    def create_index(self, name: str, body: MappingABC[str, Any] | None = None) -> IndexMeta:
        if body is None:  # an auto-create of a write to an alias name writes to the alias's index
            alias_meta = self._write_index_of_alias(name)
            if alias_meta is not None:
                return alias_meta
        result: IndexMeta = self._forward("create_index", name=name, body=body)
        return result

    def delete_index(self, name: str) -> None:
        self._forward("delete_index", name=name)

    def put_mapping(self, name: str, update: MappingABC[str, Any]) -> IndexMeta:
        result: IndexMeta = self._forward("put_mapping", name=name, update=dict(update))
        return result

    def apply_dynamic_mapping(self, name: str, new_properties: MappingABC[str, Any]) -> IndexMeta:
        result: IndexMeta = self._forward("apply_dynamic_mapping", name=name, new_properties=dict(new_properties))
        return result

    def put_settings(self, name: str, settings: MappingABC[str, Any], *, preserve_existing: bool = False
                     ) -> IndexMeta:  # fmt: skip
        result: IndexMeta = self._forward("put_settings", name=name, settings=dict(settings),
                                          preserve_existing=preserve_existing)  # fmt: skip
        return result

    def set_index_state(self, names: Iterable[str], state: str) -> list[IndexMeta]:
        result: list[IndexMeta] = self._forward("set_index_state", names=list(names), state=state)
        return result

    def set_block(self, names: Iterable[str], block: str, value: bool) -> list[IndexMeta]:
        result: list[IndexMeta] = self._forward("set_block", names=list(names), block=block, value=value)
        return result

    def update_aliases(self, actions: Iterable[AliasAction]) -> None:
        self._forward("update_aliases", actions=alias_actions_json(actions))

    def put_cluster_settings(
        self, persistent: MappingABC[str, Any] | None, transient: MappingABC[str, Any] | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        result: tuple[dict[str, Any], dict[str, Any]] = self._forward(
            "put_cluster_settings", persistent=None if persistent is None else dict(persistent),
            transient=None if transient is None else dict(transient))  # fmt: skip
        return result

    def put_index_template(self, name: str, body: Any, *, create: bool = False) -> None:
        self._forward("put_index_template", name=name, body=body, create=create)

    def put_component_template(self, name: str, body: Any, *, create: bool = False) -> None:
        self._forward("put_component_template", name=name, body=body, create=create)

    def put_legacy_template(self, name: str, body: Any, *, create: bool = False) -> None:
        self._forward("put_legacy_template", name=name, body=body, create=create)

    def delete_templates(self, kind: str, names: list[str]) -> None:
        self._forward("delete_templates", kind=kind, names=list(names))

    def rollover(self, alias: str, new_name: str | None, body: MappingABC[str, Any], *, dry_run: bool = False,
                 conditions_met: bool = True) -> tuple[str, str, bool]:  # fmt: skip
        if dry_run or not conditions_met:  # nothing to write: answered here, as the master would
            old, new = self.rollover_names(alias, new_name)
            return old, new, False
        result: tuple[str, str, bool] = self._forward("rollover", alias=alias, new_name=new_name, body=dict(body),
                                                      dry_run=dry_run, conditions_met=conditions_met)  # fmt: skip
        return result

    def reroute(self, change: Callable[[ClusterState], ClusterState], *, dry_run: bool = False) -> ClusterState:
        """The commands run on this node's state; the master applies the routing they made if its state is still
        that one, else they run again on the newer state (a few times)."""
        for _ in range(5):
            base = self._state
            new = allocate(change(base))
            if dry_run or new is base:
                return new
            try:
                result: ClusterState = self._forward("reroute", base_version=base.version, routing=routing_json(new))
            except StaleStateError:
                self._wait_applied(base.version + 1)
                continue
            return result
        raise StaleStateError("cluster state changed during every reroute attempt")

    def copy_started(self, index_uuid: str, shard: int, allocation_id: str) -> None:
        self._forward("copy_started", index_uuid=index_uuid, shard=shard, allocation_id=allocation_id)

    def fail_copy(self, index_uuid: str, shard: int, allocation_id: str, reason: str) -> None:
        self._forward("fail_copy", index_uuid=index_uuid, shard=shard, allocation_id=allocation_id, reason=reason)


class StoreMasterClient(MasterClient):
    """The master as every node of an etcd cluster sees it (``--state-store etcd://…``).

    The node talks to etcd itself: it registers (a lease the store keeps alive), and the states come from the
    store's watch. Writes go to whichever node holds the master lease: run in this process when that is this
    node (``local_master``, set by the node's campaign), else sent to the leader's coordination service. During
    an election (no leader, or a leader that lost its lease: ``not_master_exception``) a write is retried until
    ``ACTION_TIMEOUT_S``.
    """

    def __init__(self, store: Any, local: NodeInfo, *, cluster_name: str, ttl_s: float = 3.0) -> None:
        super().__init__(["(etcd)"], local, cluster_name=cluster_name)
        self.state_store = store
        self.ttl_s = ttl_s
        self.local_master: Master | None = None
        self._leader_stubs: dict[str, tuple[str, grpc.Channel, cpb_grpc.CoordinationStub]] = {}
        self._unwatch: Any = None

    def start(self) -> None:
        self.state_store.register(self.local, self.ttl_s)
        self._unwatch = self.state_store.watch(self._receive)

    def stop(self) -> None:
        self._stop.set()
        if self._unwatch is not None:
            self._unwatch()
        for _, channel, _ in self._leader_stubs.values():
            channel.close()
        try:
            self.state_store.deregister(self.local.id)
        except QuidditchError:
            pass
        self.state_store.close()

    def _leader_stub(self, leader: str) -> cpb_grpc.CoordinationStub | None:
        node = self._state.nodes.get(leader) or next((n for n in self.state_store.members() if n.id == leader), None)
        if node is None or not node.transport_address:
            return None
        known = self._leader_stubs.get(leader)
        if known is not None and known[0] == node.transport_address:
            return known[2]
        channel = grpc.insecure_channel(node.transport_address, options=_CHANNEL_OPTIONS)
        stub = cpb_grpc.CoordinationStub(channel)
        self._leader_stubs[leader] = (node.transport_address, channel, stub)
        if known is not None:
            known[1].close()
        return stub

    def _call_master(self, request: cpb.ActionRequest) -> cpb.ActionResponse:
        deadline = time.monotonic() + ACTION_TIMEOUT_S
        last = "no master is elected"
        while time.monotonic() < deadline and not self._stop.is_set():
            try:
                leader = self.state_store.leader()
            except QuidditchError as exc:  # etcd itself is unreachable
                leader, last = None, exc.reason
            response: cpb.ActionResponse | None = None
            if leader is not None and leader == self.local.id and self.local_master is not None:
                response = run_action(self.local_master, request)
            elif leader is not None:
                stub = self._leader_stub(leader)
                try:
                    response = stub.MasterAction(request, timeout=ACTION_TIMEOUT_S) if stub is not None else None
                except grpc.RpcError as exc:
                    last = f"the master [{leader}] did not answer: {exc.code()}"
            if response is not None:
                if not (response.HasField("error") and response.error.es_type == "not_master_exception"):
                    return response
                last = response.error.reason
            time.sleep(_RETRY_S / 2)
        raise MasterNotDiscovered(f"[{request.method}]: {last}")
