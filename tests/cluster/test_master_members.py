"""The master's member and shard-copy hooks over a real store, and data nodes that open only their own copies."""

from __future__ import annotations

from pathlib import Path

import orjson

from cluster.master import Master
from cluster.node import DataNode
from cluster.node_identity import persistent_node_id
from cluster.state import ClusterState, LocalStateStore, NodeInfo

NODES = [NodeInfo("n1", "one"), NodeInfo("n2", "two"), NodeInfo("n3", "three", ("master",))]


def _copies(state: ClusterState, name: str) -> list[tuple[int, str, bool, str]]:
    table = state.routing[state.indices[name].uuid]
    return sorted((r.shard, c.node, c.primary, c.state) for r in table for c in r.copies)


def test_hooks_are_saved_before_they_return(tmp_path: Path) -> None:
    store = LocalStateStore(str(tmp_path / "state"))
    master = Master(store)
    master.set_nodes(NODES, master_node="n3")
    master.create_index("logs", {"settings": {"number_of_shards": 2, "number_of_replicas": 1}})
    state = master.state
    assert state.master_node == "n3" and set(state.nodes) == {"n1", "n2", "n3"}
    copies = _copies(state, "logs")
    assert {node for _, node, _, _ in copies} == {"n1", "n2"}  # the master-only node holds nothing
    assert [s for _, _, _, s in copies].count("INITIALIZING") == 2
    uuid = state.indices["logs"].uuid
    replica = state.routing[uuid][0].replicas[0]
    master.copy_started(uuid, 0, replica.allocation_id)
    assert store.load().routing[uuid][0].replicas[0].state == "STARTED"  # on disk when the call returns
    assert replica.allocation_id in store.load().routing[uuid][0].in_sync
    version = master.state.version
    master.copy_started(uuid, 0, replica.allocation_id)  # stale: nothing saved
    master.fail_copy(uuid, 0, "no-such-copy", "gone")
    assert master.state.version == version
    master.fail_copy(uuid, 0, replica.allocation_id, "a write failed on it")
    on_disk = store.load().routing[uuid][0]
    assert replica.allocation_id not in on_disk.in_sync
    assert all(c.allocation_id != replica.allocation_id for c in on_disk.copies)
    assert len(on_disk.replicas) == 1 and on_disk.replicas[0].state == "INITIALIZING"  # re-allocated


def test_auto_expand_follows_data_nodes_and_shard_limit_counts_them(tmp_path: Path) -> None:
    master = Master(LocalStateStore(str(tmp_path / "state")))
    master.set_nodes(NODES[:1])
    master.create_index("all", {"settings": {"number_of_shards": 1, "auto_expand_replicas": "0-all"}})
    assert master.state.indices["all"].number_of_replicas == 0
    master.set_nodes(NODES)
    assert master.state.indices["all"].number_of_replicas == 1  # two data nodes
    assert master.data_nodes == 2
    master.set_nodes(NODES[:1])
    assert master.state.indices["all"].number_of_replicas == 0


def test_data_nodes_open_only_their_copies(tmp_path: Path) -> None:
    master = Master(LocalStateStore(str(tmp_path / "state")))
    nodes = {n.id: DataNode(str(tmp_path / n.id), node_id=n.id) for n in NODES[:2]}
    for node in nodes.values():
        node.apply_state(None, master.state)
        master.subscribe(node.apply_state)
    try:
        master.set_nodes(NODES[:2])
        master.create_index("idx", {"settings": {"number_of_shards": 4, "number_of_replicas": 0}})
        uuid = master.state.indices["idx"].uuid
        held = {nid: sorted(s for (u, s) in node.shards if u == uuid) for nid, node in nodes.items()}
        assert held == {"n1": [0, 2], "n2": [1, 3]} or held == {"n1": [1, 3], "n2": [0, 2]}
        for nid, node in nodes.items():
            for s in held[nid]:
                copy = node.own_copy(uuid, s)
                assert copy is not None and copy.node == nid and copy.primary
        # n2 leaves: n1 keeps its copies; n2's primaries are unassigned (red) until it comes back
        master.set_nodes(NODES[:1])
        assert sorted(s for (u, s) in nodes["n1"].shards if u == uuid) == held["n1"]
        assert nodes["n2"].own_copy(uuid, held["n2"][0]) is None
        assert (tmp_path / "n2" / "indices" / uuid / str(held["n2"][0])).is_dir()  # its data is kept
        master.set_nodes(NODES[:2])
        assert sorted(s for (u, s) in nodes["n2"].shards if u == uuid) == held["n2"]
    finally:
        for node in nodes.values():
            node.close()


def test_node_id_is_made_once_and_kept(tmp_path: Path) -> None:
    first = persistent_node_id(str(tmp_path))
    assert len(first) == 22 and persistent_node_id(str(tmp_path)) == first
    assert persistent_node_id(str(tmp_path / "e"), first="fixed") == "fixed"
    assert persistent_node_id(str(tmp_path / "e")) == "fixed"


def test_state_saved_before_routing_existed_is_allocated_at_registration(tmp_path: Path) -> None:
    store = LocalStateStore(str(tmp_path / "state"))
    master = Master(store)
    master.create_index("old", {"settings": {"number_of_shards": 2, "number_of_replicas": 0}})
    assert all(not r.copies for r in master.state.routing[master.state.indices["old"].uuid])  # no member yet
    legacy = master.state.to_json()
    legacy.pop("routing")
    legacy.pop("nodes")
    (tmp_path / "state" / "cluster_state.json").write_bytes(orjson.dumps(legacy))
    again = Master(LocalStateStore(str(tmp_path / "state")))
    again.set_nodes(NODES[:1])
    uuid = again.state.indices["old"].uuid
    assert [c.node for r in again.state.routing[uuid] for c in r.copies] == ["n1", "n1"]
    ids = [r.primary.allocation_id for r in again.state.routing[uuid] if r.primary]
    restarted = Master(LocalStateStore(str(tmp_path / "state")))
    version = restarted.state.version
    restarted.set_nodes(NODES[:1])  # the same member again: nothing changes, nothing is saved
    assert restarted.state.version == version
    assert [r.primary.allocation_id for r in restarted.state.routing[uuid] if r.primary] == ids


async def test_state_changes_wake_waiters_from_another_thread(tmp_path: Path) -> None:
    import threading
    import time

    from cluster.state_changes import StateChanges

    master = Master(LocalStateStore(str(tmp_path / "state")))
    changes = StateChanges(lambda: master.state)
    master.subscribe(changes.notify)
    version = master.state.version
    started = time.monotonic()
    await changes.wait_past(version - 1, 5)  # already past: at once
    await changes.wait_past(version, 0.05)  # nothing happens: the timeout
    assert time.monotonic() - started < 2
    timer = threading.Timer(0.1, master.set_nodes, args=(NODES[:1],))
    timer.start()
    try:
        began = time.monotonic()
        await changes.wait_past(version, 10)
        assert master.state.version > version and time.monotonic() - began < 5
    finally:
        timer.join()
