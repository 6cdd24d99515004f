"""What only the etcd backend has: member loss, the request-size limit, ``etcd://`` urls, a real SIGSTOP.

The behaviour both backends share is in test_state_store_conformance.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from cluster.etcd_store import MAX_REQUEST_BYTES, EtcdStateStore, parse_etcd_url
from cluster.state import ClusterState, IndexMeta
from cluster.state_store import LocalStateStore, StateTooLarge, store_from_url
from native.errors import IllegalArgument
from tests.cluster.etcd_fixture import EtcdCluster, etcd_cluster, fresh_etcd_cluster  # noqa: F401  (fixtures)
from tests.cluster.test_state_store_conformance import Collector, node, rich_state, wait_for

REPO = Path(__file__).resolve().parents[2]
TTL_S = 2.0


def raft_leader(cluster: EtcdCluster) -> int:
    """The index of the member that is etcd's raft leader."""
    for index, member in enumerate(cluster.members):
        status = httpx.post(member.endpoint + "/v3/maintenance/status", json={}, timeout=2.0).json()
        if status["leader"] == status["header"]["member_id"]:
            return index
    raise AssertionError("no etcd member is leader")


def test_losing_one_etcd_member_of_three_changes_nothing(fresh_etcd_cluster: EtcdCluster) -> None:  # noqa: F811
    name = f"loss-{uuid.uuid4().hex[:8]}"
    master = EtcdStateStore(fresh_etcd_cluster.endpoints, name)
    other = EtcdStateStore(fresh_etcd_cluster.endpoints, name)
    try:
        assert master.campaign("m", TTL_S)
        master.register(node("m"), TTL_S)
        master.save(rich_state(1), 0)
        states, lists = Collector(), Collector()
        other.watch(states)
        other.watch_members(lists)
        wait_for(lambda: states.snapshot() and states.snapshot()[-1].version == 1, what="state 1 watched")

        fresh_etcd_cluster.kill(raft_leader(fresh_etcd_cluster))  # the hardest member to lose

        master.save(rich_state(2), 1)
        assert other.load() == rich_state(2)
        wait_for(lambda: states.snapshot()[-1].version == 2, what="state 2 watched after the loss")
        other.register(node("o"), TTL_S)
        wait_for(lambda: [n.id for n in lists.snapshot()[-1]] == ["m", "o"], what="a join watched after the loss")
        time.sleep(TTL_S * 1.5)  # keepalives go on through the survivors
        assert [n.id for n in other.members()] == ["m", "o"]
        assert other.leader() == "m" and not other.campaign("o", TTL_S)
        master.save(rich_state(3), 2)
        wait_for(lambda: states.snapshot()[-1].version == 3, what="state 3 watched")
        assert [s.version for s in states.snapshot()] == [1, 2, 3]
    finally:
        master.close()
        other.close()


def test_a_hung_etcd_member_is_routed_around(fresh_etcd_cluster: EtcdCluster) -> None:  # noqa: F811
    name = f"hung-{uuid.uuid4().hex[:8]}"
    master = EtcdStateStore(fresh_etcd_cluster.endpoints, name)
    observer = EtcdStateStore(fresh_etcd_cluster.endpoints, name)
    try:
        assert master.campaign("m", TTL_S)
        master.register(node("m"), TTL_S)
        master.save(rich_state(1), 0)
        states = Collector()
        observer.watch(states)  # its stream runs on the first member, the one about to hang
        wait_for(lambda: states.snapshot() and states.snapshot()[-1].version == 1, what="state 1 watched")

        fresh_etcd_cluster.pause(0)  # SIGSTOP: connections open, nothing answers
        started = time.monotonic()
        master.save(rich_state(2), 1)
        assert time.monotonic() - started < 3 * master.gateway.timeout_s + 1.0
        wait_for(lambda: states.snapshot()[-1].version == 2, what="state 2 watched past the hung member")
        time.sleep(TTL_S * 1.5)
        assert [n.id for n in observer.members()] == ["m"] and observer.leader() == "m"
        master.save(rich_state(3), 2)
        wait_for(lambda: states.snapshot()[-1].version == 3, what="state 3 watched")
        assert [s.version for s in states.snapshot()] == [1, 2, 3]
    finally:
        fresh_etcd_cluster.resume(0)
        master.close()
        observer.close()


def test_a_state_over_the_etcd_request_limit_is_refused_clearly(etcd_cluster: EtcdCluster) -> None:  # noqa: F811
    store = EtcdStateStore(etcd_cluster.endpoints, f"size-{uuid.uuid4().hex[:8]}")
    try:
        assert store.campaign("m", TTL_S)

        def state_of(size: int) -> ClusterState:
            meta = IndexMeta(name="big", uuid="u", settings={}, mappings={"_meta": {"blob": "x" * size}},
                             creation_date=0)  # fmt: skip
            return ClusterState(version=1, cluster_uuid="c", indices={"big": meta})

        with pytest.raises(StateTooLarge, match="exceeds the etcd request limit"):
            store.save(state_of(MAX_REQUEST_BYTES), 0)
        assert store.load().version == 0
        near_limit = state_of(MAX_REQUEST_BYTES - 64 * 1024)  # what we accept, etcd accepts too
        store.save(near_limit, 0)
        assert store.load() == near_limit
    finally:
        store.close()


def test_store_from_url_names_the_backend(tmp_path: Path, etcd_cluster: EtcdCluster) -> None:  # noqa: F811
    local = store_from_url("local", str(tmp_path), "c")
    assert isinstance(local, LocalStateStore) and local.path == str(tmp_path / "cluster_state.json")
    local.close()
    etcd = store_from_url(etcd_cluster.url, str(tmp_path), "named")
    try:
        assert isinstance(etcd, EtcdStateStore) and etcd.prefix == "/quidditch/named/"
        assert etcd.gateway.endpoints == etcd_cluster.endpoints
        assert etcd.load().version == 0
    finally:
        etcd.close()
    assert parse_etcd_url("etcd://a:1, b:2,c:3") == ["http://a:1", "http://b:2", "http://c:3"]
    for bad in ("etcd://", "etcd://host", "etcd://h:p", "zookeeper://h:1"):
        with pytest.raises(IllegalArgument):
            store_from_url(bad, str(tmp_path), "c")


CHILD = """
import sys
from cluster.etcd_store import EtcdStateStore
from cluster.state import ClusterState, NodeInfo
from cluster.state_store import NotMaster
store = EtcdStateStore(sys.argv[1].split(","), sys.argv[2])
assert store.campaign("child", 2.0)
store.register(NodeInfo(id="child", name="child"), 2.0)
store.save(ClusterState(version=1, cluster_uuid="c", master_node="child"), 0)
print("ready", flush=True)
sys.stdin.readline()
try:
    store.save(ClusterState(version=3, cluster_uuid="c", master_node="child"), 2)
    print("saved", flush=True)
except NotMaster as exc:
    print("fenced", exc, flush=True)
store.close()
"""


def test_a_sigstopped_master_process_is_fenced(etcd_cluster: EtcdCluster) -> None:  # noqa: F811
    name = f"stop-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, ",".join(etcd_cluster.endpoints), name], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    observer = EtcdStateStore(etcd_cluster.endpoints, name)
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "ready"
        assert observer.leader() == "child" and [n.id for n in observer.members()] == ["child"]
        lists = Collector()
        observer.watch_members(lists)
        child.send_signal(signal.SIGSTOP)
        stopped_at = time.monotonic()
        wait_for(lambda: lists.snapshot()[-1] == [], timeout_s=TTL_S + 3, what="the stopped node gone")
        assert time.monotonic() - stopped_at <= TTL_S + 1.0
        wait_for(lambda: observer.leader() is None, timeout_s=TTL_S + 3, what="the stopped master's lease lapsed")
        assert observer.campaign("observer", TTL_S)
        observer.save(ClusterState(version=2, cluster_uuid="c", master_node="observer"), 1)
        child.send_signal(signal.SIGCONT)
        child.stdin.write("save\n")
        child.stdin.flush()
        assert child.stdout.readline().startswith("fenced")
        assert child.wait(10) == 0
        assert observer.load().master_node == "observer" and observer.load().version == 2
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGCONT)
            child.kill()
            child.wait(10)
        observer.close()
