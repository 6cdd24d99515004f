"""One suite, every ``ClusterStateStore`` backend: the local store and a real 3-member etcd cluster.

Each test opens "handles" on one store as separate nodes would (``LocalStateStore.session()``, or one
``EtcdStateStore`` per node on the same cluster name). A paused process is played by
``suspend_keepalive()``: the handle stops renewing its registrations and lease, as SIGSTOP would make it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cluster.etcd_store import EtcdStateStore
from cluster.state import ClusterState, IndexMeta, NodeInfo, ShardCopy, ShardRouting, StaleStateError
from cluster.state_store import LocalStateStore, NotMaster
from tests.cluster.etcd_fixture import EtcdCluster, etcd_cluster  # noqa: F401  (fixture)

TTL_S = 2.0
WAIT_S = 10.0


def wait_for(predicate: Callable[[], Any], timeout_s: float = WAIT_S, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout_s} s")
        time.sleep(0.02)


class Backend:
    """Opens handles on one store and closes them all at the end."""

    def __init__(self, kind: str, tmp_path: Path, etcd: EtcdCluster | None) -> None:
        self.kind = kind
        self.tmp_path = tmp_path
        self.etcd = etcd
        self.cluster_name = f"conf-{uuid.uuid4().hex[:10]}"
        self.handles: list[Any] = []

    def open(self) -> Any:
        if self.kind == "local":
            first = next((h for h in self.handles), None)
            handle = first.session() if first is not None else LocalStateStore(str(self.tmp_path / "data"))
        else:
            assert self.etcd is not None
            handle = EtcdStateStore(self.etcd.endpoints, self.cluster_name)
        self.handles.append(handle)
        return handle

    def close(self) -> None:
        for handle in reversed(self.handles):
            handle.close()


@pytest.fixture(params=["local", "etcd"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    etcd = request.getfixturevalue("etcd_cluster") if request.param == "etcd" else None
    opened = Backend(request.param, tmp_path, etcd)
    try:
        yield opened
    finally:
        opened.close()


class Collector:
    """A watch callback that records what it gets."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self.lock = threading.Lock()

    def __call__(self, value: Any) -> None:
        with self.lock:
            self.values.append(value)

    def snapshot(self) -> list[Any]:
        with self.lock:
            return list(self.values)


def node(node_id: str) -> NodeInfo:
    return NodeInfo(id=node_id, name=f"node-{node_id}", roles=("master", "data"),
                    transport_address=f"127.0.0.1:{9300 + len(node_id)}", http_address="127.0.0.1:9200",
                    attributes={"zone": "a"})  # fmt: skip


def rich_state(version: int) -> ClusterState:
    meta = IndexMeta(name="logs", uuid="u1", settings={"index.number_of_shards": "2", "index.number_of_replicas": "1"},
                     mappings={"properties": {"msg": {"type": "text"}}}, creation_date=1_700_000_000_000,
                     aliases={"all": {}})  # fmt: skip
    routing = (
        ShardRouting(0, primary_term=3, copies=(ShardCopy("n1", True, "STARTED", "a0"),
                                                ShardCopy("n2", False, "INITIALIZING", "a1")), in_sync=("a0",)),
        ShardRouting(1, copies=(ShardCopy("n2", True, allocation_id="b0"), ShardCopy("n1", False, allocation_id="b1")),
                     in_sync=("b0", "b1")),
    )  # fmt: skip
    return ClusterState(version=version, cluster_uuid="c-uuid", indices={"logs": meta},
                        persistent={"search.max_buckets": "100"}, nodes={"n1": node("n1"), "n2": node("n2")},
                        master_node="n1", routing={"u1": routing})  # fmt: skip


def test_save_is_compare_and_set_on_version(backend: Backend) -> None:
    store = backend.open()
    assert store.campaign("n1", TTL_S)
    assert store.load().version == 0
    store.save(rich_state(1), 0)
    with pytest.raises(StaleStateError):
        store.save(rich_state(2), 0)
    with pytest.raises(StaleStateError):
        store.save(rich_state(2), 5)
    store.save(rich_state(2), 1)
    assert store.load().version == 2


def test_a_state_with_nodes_and_routing_round_trips(backend: Backend) -> None:
    writer, reader = backend.open(), backend.open()
    assert writer.campaign("n1", TTL_S)
    writer.save(rich_state(1), 0)
    loaded = reader.load()
    assert loaded == rich_state(1)
    assert loaded.shard_routing("u1", 0) is not None and loaded.shard_routing("u1", 0).primary.node == "n1"  # type: ignore[union-attr]
    assert loaded.nodes["n2"].attributes == {"zone": "a"} and loaded.master_node == "n1"


def test_every_watcher_sees_every_state_in_version_order(backend: Backend) -> None:
    writer, watcher_handle = backend.open(), backend.open()
    assert writer.campaign("n1", TTL_S)
    early, late = Collector(), Collector()
    watcher_handle.watch(early)
    wait_for(lambda: early.snapshot(), what="the first state")
    for version in range(1, 31):
        writer.save(rich_state(version), version - 1)
    wait_for(lambda: early.snapshot()[-1].version == 30, what="state 30 at the early watcher")
    assert [s.version for s in early.snapshot()] == list(range(31))  # the current one first, then each save
    watcher_handle.watch(late)
    wait_for(lambda: late.snapshot(), what="the first state at the late watcher")
    assert late.snapshot()[0] == rich_state(30)  # a late watcher starts from the latest
    writer.save(rich_state(31), 30)
    wait_for(lambda: late.snapshot()[-1].version == 31, what="state 31 at the late watcher")
    assert [s.version for s in late.snapshot()] == [30, 31]


def test_an_unsubscribed_watcher_gets_nothing_more(backend: Backend) -> None:
    writer = backend.open()
    assert writer.campaign("n1", TTL_S)
    seen = Collector()
    unsubscribe = writer.watch(seen)
    writer.save(rich_state(1), 0)
    wait_for(lambda: seen.snapshot() and seen.snapshot()[-1].version == 1, what="state 1")
    unsubscribe()
    writer.save(rich_state(2), 1)
    other = Collector()
    writer.watch(other)
    wait_for(lambda: other.snapshot() and other.snapshot()[-1].version == 2, what="state 2 at another watcher")
    assert [s.version for s in seen.snapshot()][-1] == 1


def test_members_join_leave_and_expire(backend: Backend) -> None:
    a, b, observer = backend.open(), backend.open(), backend.open()
    lists = Collector()
    observer.watch_members(lists)
    a.register(node("n1"), TTL_S)
    b.register(node("n2"), TTL_S)
    ids = lambda: [n.id for n in observer.members()]  # noqa: E731
    wait_for(lambda: ids() == ["n1", "n2"], what="both members")
    wait_for(lambda: lists.snapshot() and [n.id for n in lists.snapshot()[-1]] == ["n1", "n2"], what="watched join")
    assert observer.members()[0] == node("n1")
    time.sleep(TTL_S * 1.5)  # the keepalive holds them past their TTL
    assert ids() == ["n1", "n2"]

    a.deregister("n1")
    wait_for(lambda: [n.id for n in lists.snapshot()[-1]] == ["n2"], what="watched leave")
    assert ids() == ["n2"]

    b.suspend_keepalive()  # a SIGSTOPped process
    paused_at = time.monotonic()
    wait_for(lambda: lists.snapshot()[-1] == [], timeout_s=TTL_S + 3, what="watched expiry")
    assert time.monotonic() - paused_at <= TTL_S + 1.0, "a dead member must be seen within its ttl + 1 s"
    assert observer.members() == []
    b.resume_keepalive()  # it wakes up: registered again by its keepalive
    wait_for(lambda: ids() == ["n2"], timeout_s=TTL_S + 2, what="the resumed member back")


def test_members_registered_on_their_behalf_live_by_renew(backend: Backend) -> None:
    coordinator = backend.open()
    coordinator.register(node("remote"), TTL_S, keepalive=False)
    for _ in range(4):  # heartbeats every half TTL keep it past its TTL
        time.sleep(TTL_S / 2)
        assert coordinator.renew("remote")
    assert [n.id for n in coordinator.members()] == ["remote"]
    gone = wait_for(lambda: not coordinator.members(), timeout_s=TTL_S + 2, what="the silent member gone")
    assert gone
    assert not coordinator.renew("remote")  # it must register again
    assert not coordinator.renew("never-registered")
    coordinator.register(node("remote"), TTL_S, keepalive=False)
    assert [n.id for n in coordinator.members()] == ["remote"]


def test_one_master_at_a_time(backend: Backend) -> None:
    a, b, observer = backend.open(), backend.open(), backend.open()
    leaders = Collector()
    observer.watch_leader(leaders)
    wait_for(lambda: leaders.snapshot() == [None], what="no leader yet")
    assert a.campaign("a", TTL_S)
    assert not b.campaign("b", TTL_S)
    assert a.campaign("a", TTL_S)  # the holder asking again still holds it
    assert a.leader() == b.leader() == observer.leader() == "a"
    wait_for(lambda: leaders.snapshot()[-1] == "a", what="watched leader a")
    time.sleep(TTL_S * 1.5)  # kept alive past its TTL
    assert observer.leader() == "a" and not b.campaign("b", TTL_S)
    a.resign()
    wait_for(lambda: leaders.snapshot()[-1] is None, what="watched resignation")
    assert b.campaign("b", TTL_S)
    wait_for(lambda: leaders.snapshot()[-1] == "b", what="watched leader b")
    assert leaders.snapshot() == [None, "a", None, "b"]


def test_a_stale_master_is_fenced(backend: Backend) -> None:
    old, new = backend.open(), backend.open()
    assert old.campaign("old", TTL_S)
    old.save(rich_state(1), 0)
    old.suspend_keepalive()  # SIGSTOP: it stops renewing, and believes it is still master
    wait_for(lambda: new.leader() is None, timeout_s=TTL_S + 3, what="the old lease lapsed")
    assert new.campaign("new", TTL_S)
    taken_over = ClusterState(version=2, cluster_uuid="c-uuid", master_node="new")
    new.save(taken_over, 1)
    old.resume_keepalive()  # SIGCONT: its writes must now be refused, whatever version it names
    with pytest.raises(NotMaster):
        old.save(rich_state(3), 2)
    with pytest.raises(NotMaster):
        old.save(rich_state(2), 1)
    assert new.load() == taken_over and new.leader() == "new"
    new.save(rich_state(3), 2)


def test_only_the_lease_holder_saves(backend: Backend) -> None:
    master, other = backend.open(), backend.open()
    assert master.campaign("m", TTL_S)
    with pytest.raises(NotMaster):
        other.save(rich_state(1), 0)
    master.save(rich_state(1), 0)
    master.resign()
    with pytest.raises(NotMaster):
        master.save(rich_state(2), 1)
    assert other.load().version == 1


def test_closing_a_handle_gives_up_its_registrations_and_lease_at_once(backend: Backend) -> None:
    leaving, staying = backend.open(), backend.open()  # (the local store's first handle leaves)
    leaving.register(node("n1"), 30.0)  # a TTL far beyond the wait below: only close can remove it
    assert leaving.campaign("n1", 30.0)
    assert [n.id for n in staying.members()] == ["n1"] and staying.leader() == "n1"
    lists, leaders = Collector(), Collector()
    staying.watch_members(lists)
    staying.watch_leader(leaders)
    leaving.close()
    wait_for(lambda: lists.snapshot()[-1] == [] and leaders.snapshot()[-1] is None, timeout_s=5.0,
             what="an orderly leave, watched")  # fmt: skip
    assert staying.members() == [] and staying.leader() is None
    assert staying.campaign("n2", TTL_S)
    wait_for(lambda: leaders.snapshot()[-1] == "n2", what="the next leader watched")
    staying.register(node("n3"), TTL_S)
    wait_for(lambda: [n.id for n in lists.snapshot()[-1]] == ["n3"], what="a join watched after the leave")


def test_many_members_registered_on_their_behalf(backend: Backend) -> None:
    coordinator, observer = backend.open(), backend.open()
    lists = Collector()
    observer.watch_members(lists)
    expected = sorted(f"d{i:02d}" for i in range(25))
    for node_id in expected:
        coordinator.register(node(node_id), TTL_S, keepalive=False)
    wait_for(lambda: [n.id for n in lists.snapshot()[-1]] == expected, what="all 25 members watched")
    assert [n.id for n in observer.members()] == expected
    for node_id in expected[:10]:
        coordinator.deregister(node_id)
    wait_for(lambda: [n.id for n in lists.snapshot()[-1]] == expected[10:], what="10 left")
    wait_for(lambda: lists.snapshot()[-1] == [], timeout_s=TTL_S + 3, what="the silent rest expired")
