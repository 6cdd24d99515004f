"""The coordination service over a real gRPC channel: joins, leases, state stream, forwarded master actions."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import grpc
import pytest

from cluster.coordination import CoordinationService, Membership, add_coordination
from cluster.master import Master
from cluster.master_actions import ACTIONS
from cluster.master_client import MasterClient, MasterNotDiscovered
from cluster.state import ClusterState, LocalStateStore, NodeInfo, ShardRouting
from native.errors import IndexNotFound, ResourceAlreadyExists

MASTER = NodeInfo(id="m1", name="master-1", roles=("master", "data"), transport_address="127.0.0.1:1")


class Harness:
    def __init__(self, master: Master, service: CoordinationService, address: str) -> None:
        self.master, self.service, self.address = master, service, address


@pytest.fixture
async def coordination(tmp_path) -> AsyncIterator[Harness]:  # type: ignore[no-untyped-def]
    master = Master(LocalStateStore(str(tmp_path)))
    service = CoordinationService(master, MASTER, cluster_name="c1", lease_s=1.0)
    server = grpc.aio.server()
    add_coordination(server, service)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await service.start()
    try:
        yield Harness(master, service, f"127.0.0.1:{port}")
    finally:
        await service.stop()
        await server.stop(grace=None)


def _client(address: str, node_id: str = "d1", cluster_name: str = "c1") -> MasterClient:
    node = NodeInfo(id=node_id, name=f"data-{node_id}", roles=("data",), transport_address="127.0.0.1:2")
    return MasterClient([address], node, cluster_name=cluster_name)


async def _until(predicate, timeout_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_join_stream_and_forwarded_actions(coordination: Harness) -> None:
    client = _client(coordination.address)
    client.start()
    try:
        assert await asyncio.to_thread(client.wait_first_state, 5.0)
        await _until(lambda: set(client.state.nodes) == {"m1", "d1"})
        assert set(coordination.master.state.nodes) == {"m1", "d1"}
        seen: list[int] = []
        client.subscribe(lambda old, new: seen.append(new.version))
        meta = await asyncio.to_thread(
            client.create_index, "logs", {"settings": {"number_of_shards": 2}, "mappings": {}}
        )
        # read-your-writes: the forwarded change is in this node's state when the call returns
        assert meta.name == "logs" and meta.number_of_shards == 2
        assert client.state.indices["logs"].uuid == meta.uuid == coordination.master.state.indices["logs"].uuid
        assert seen and seen[-1] == coordination.master.state.version
        updated = await asyncio.to_thread(client.put_mapping, "logs", {"properties": {"n": {"type": "long"}}})
        assert updated.mapping_version == 2 and client.index("logs").mappings["properties"]["n"] == {"type": "long"}
        accepted = await asyncio.to_thread(client.put_cluster_settings, {"search.max_buckets": 100}, None)
        assert accepted == coordination.master.put_cluster_settings({"search.max_buckets": 100}, None)
        assert client.cluster_setting("search.max_buckets") == coordination.master.cluster_setting("search.max_buckets")
        assert client.cluster_setting("search.max_buckets") is not None
        # errors keep their class, ES type and status
        with pytest.raises(ResourceAlreadyExists) as exists:
            await asyncio.to_thread(client.create_index, "logs", {})
        assert exists.value.status == 400 and exists.value.es_type == "resource_already_exists_exception"
        with pytest.raises(IndexNotFound) as missing:
            await asyncio.to_thread(client.delete_index, "nope")
        assert missing.value.status == 404 and "nope" in missing.value.reason
        await asyncio.to_thread(client.delete_index, "logs")
        assert "logs" not in client.state.indices
    finally:
        await asyncio.to_thread(client.stop)
    # a node that leaves is no member any more
    await _until(lambda: set(coordination.master.state.nodes) == {"m1"})


async def test_a_node_that_stops_heartbeating_is_dropped(coordination: Harness) -> None:
    client = _client(coordination.address, "d2")
    client.start()
    assert await asyncio.to_thread(client.wait_first_state, 5.0)
    await _until(lambda: "d2" in coordination.master.state.nodes)
    client._stop.set()  # heartbeats stop, no Leave is sent: as a killed process
    started = time.monotonic()
    await _until(lambda: "d2" not in coordination.master.state.nodes, timeout_s=5.0)
    assert time.monotonic() - started < 5.0
    await asyncio.to_thread(client.stop)


async def test_a_node_of_another_cluster_is_refused(coordination: Harness) -> None:
    client = _client(coordination.address, "d3", cluster_name="other")
    with pytest.raises(MasterNotDiscovered, match="cannot join cluster"):
        await asyncio.to_thread(client._connect)
    assert "d3" not in coordination.master.state.nodes


def test_membership_leases() -> None:
    now = [0.0]
    members = Membership(MASTER, lease_s=2.0, clock=lambda: now[0])
    node = NodeInfo(id="d1", name="d1", roles=("data",))
    assert members.join(node) and not members.join(node)
    now[0] = 1.5
    assert members.renew("d1") and not members.renew("zz")
    now[0] = 3.0
    assert members.expire() == []
    now[0] = 3.6
    assert members.expire() == ["d1"]
    assert [n.id for n in members.nodes()] == ["m1"]
    now[0] = 1e9
    assert members.expire() == []  # the master's own node never expires


def test_every_state_writing_master_method_can_be_forwarded() -> None:
    reads = {"index", "cluster_setting", "rollover_names", "subscribe", "state", "set_nodes"}
    public = {name for name, _ in inspect.getmembers(Master, inspect.isfunction) if not name.startswith("_")}
    assert public - reads <= set(ACTIONS)
    for name in ACTIONS:
        assert hasattr(MasterClient, name)


async def test_reroute_is_applied_over_the_state_it_was_decided_on(coordination: Harness) -> None:
    client = _client(coordination.address, "d4")
    client.start()
    try:
        assert await asyncio.to_thread(client.wait_first_state, 5.0)
        await asyncio.to_thread(client.create_index, "r", {"settings": {"number_of_shards": 1}})
        calls: list[int] = []

        def change(state: ClusterState) -> ClusterState:
            calls.append(state.version)
            if len(calls) == 1:  # the master's state moves on while the first decision is under way
                coordination.master.put_cluster_settings({"search.max_buckets": 77}, None)
            return state

        unchanged = await asyncio.to_thread(client.reroute, change)
        assert unchanged.version == client.state.version  # nothing to route: no write
        assert len(calls) == 1
        uuid = client.state.indices["r"].uuid
        moved = ShardRouting(0, 1, (), ())  # a routing the master takes only over the state it was made on

        def unassign(state: ClusterState) -> ClusterState:
            calls.append(state.version)
            if len(calls) == 2:
                coordination.master.put_cluster_settings({"search.max_buckets": 78}, None)
            return replace(state, routing={**state.routing, uuid: (moved,)})

        result = await asyncio.to_thread(client.reroute, unassign)
        assert len(calls) == 3 and calls[2] > calls[1]  # decided again on the newer state
        assert result.version == coordination.master.state.version
        assert client.cluster_setting("search.max_buckets") in (78, "78")
    finally:
        await asyncio.to_thread(client.stop)
