"""After a promotion the new primary resyncs the other replicas (``Replicator.resync``): a copy behind it gets
what it misses and follows the new term; a copy holding an operation the new primary never had is failed and
recovers from it by files. Either way every copy ends with the new primary's documents."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cluster.state import ShardRouting
from native.writes import WriteOp
from tests.cluster.replication_harness import Cluster, copy, documents, ok


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    cluster = Cluster(tmp_path)
    for node_id in ("n0", "n1", "n2"):
        cluster.start(node_id)
    cluster.master.set_routing(ShardRouting(0, 1, (copy("n0", True), copy("n1", False), copy("n2", False)),
                                            ("alloc-n0", "alloc-n1", "alloc-n2")))  # fmt: skip
    try:
        yield cluster
    finally:
        await cluster.close()


def _in_flight(cluster: Cluster, reached: str) -> None:
    """An operation the primary wrote when it died, which reached one replica only (never acknowledged)."""
    records: list[bytes] = []
    cluster.shard("n0").write([WriteOp("index", "c", b'{"n": 3}')], records=records)
    cluster.shard(reached).apply_replica(records, 1)


async def _promote_n1(cluster: Cluster) -> None:
    cluster.stop("n0")
    cluster.master.set_routing(ShardRouting(0, 2, (copy("n1", True), copy("n2", False)), ("alloc-n1", "alloc-n2")))
    await cluster.services["n1"].replication.wait_resyncs()


async def test_a_replica_behind_the_new_primary_is_resynced(cluster: Cluster) -> None:
    ok(await cluster.bulk("n0", [{"op": "index", "id": "a", "source": {"n": 1}},
                                 {"op": "index", "id": "b", "source": {"n": 2}}]))  # fmt: skip
    _in_flight(cluster, "n1")
    await _promote_n1(cluster)
    assert cluster.master.calls == []
    behind = cluster.shard("n2")
    assert behind.primary_term == 2 and behind.get("c") is not None and behind.local_checkpoint == 2
    written = ok(await cluster.bulk("n1", [{"op": "index", "id": "d", "source": {"n": 4}}]))
    assert (written.replication.successful, written.results[0].primary_term) == (2, 2)
    assert documents(behind) == documents(cluster.shard("n1"))


async def test_a_replica_ahead_of_the_new_primary_is_failed_then_recovers(cluster: Cluster) -> None:
    ok(await cluster.bulk("n0", [{"op": "index", "id": "a", "source": {"n": 1}}]))
    _in_flight(cluster, "n2")  # n2 holds ``c`` (seq_no 1), which the new primary never got
    await _promote_n1(cluster)
    assert [c[:2] for c in cluster.master.calls] == [("fail_copy", "alloc-n2")]
    ok(await cluster.bulk("n1", [{"op": "index", "id": "d", "source": {"n": 4}}]))  # seq_no 1 again, term 2
    # the master allocates the failed copy again; it recovers from the new primary
    routing = cluster.master.routing
    cluster.master.set_routing(ShardRouting(0, 2, (*routing.copies, copy("n2", False, "INITIALIZING")),
                                            routing.in_sync))  # fmt: skip
    deadline = time.monotonic() + 60
    while ("copy_started", "alloc-n2", "") not in cluster.master.calls:
        assert time.monotonic() < deadline
        await cluster.services["n2"].recovery.wait(5)
    recovered = cluster.shard("n2")
    assert recovered.get("c") is None and recovered.primary_term == 2
    assert documents(recovered) == documents(cluster.shard("n1"))
