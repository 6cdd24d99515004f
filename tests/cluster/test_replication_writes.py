"""Primary → replica writes, in-sync removal before the acknowledgement, stale primaries and promotion
(``cluster.replication``, ``native.replica``): real shards on disk, data nodes joined by in-process clients."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cluster.replication import shards_header
from cluster.state import ShardRouting
from native.errors import QuidditchError
from tests.cluster.replication_harness import Cluster, copy, documents, ok


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    cluster = Cluster(tmp_path)
    cluster.start("n0")
    cluster.start("n1")
    cluster.master.set_routing(ShardRouting(0, 1, (copy("n0", True), copy("n1", False)), ("alloc-n0", "alloc-n1")))
    try:
        yield cluster
    finally:
        await cluster.close()


async def test_writes_reach_the_replica_with_the_primarys_seq_no_term_version_and_source(cluster: Cluster) -> None:
    first = ok(await cluster.index_columns("n0", {f"d{i}": {"n": i, "title": f"doc {i}"} for i in range(50)}))
    assert (first.replication.total, first.replication.successful, first.replication.failed) == (2, 2, 0)
    assert shards_header(first, 1, "idx", 0) == {"total": 2, "successful": 2, "failed": 0}
    # concurrent shard bulks: their forwards may reach the replica in any order
    await asyncio.gather(*(
        cluster.bulk("n0", [{"op": "index", "id": f"d{(k * 7 + j) % 60}", "source": {"n": k * 100 + j}}
                            for j in range(5)])
        for k in range(12)
    ))  # fmt: skip
    ok(await cluster.bulk("n0", [{"op": "delete", "id": "d3"}, {"op": "update", "id": "d4", "doc": {"title": "new"}},
                                 {"op": "create", "id": "fresh", "source": {"n": -1}}]))  # fmt: skip
    primary, replica = cluster.shard("n0"), cluster.shard("n1")
    assert replica.role == "replica"
    assert replica.local_checkpoint == primary.local_checkpoint == primary.max_seq_no
    expected = documents(primary)
    assert "d3" not in expected and "fresh" in expected and len(expected) > 50
    assert documents(replica) == expected


async def test_a_replica_that_fails_is_reported_to_the_master_before_the_write_is_acknowledged(
    cluster: Cluster,
) -> None:
    ok(await cluster.bulk("n0", [{"op": "index", "id": "a", "source": {"n": 1}}]))
    cluster.shard("n1").close()  # the replica's shard refuses every operation from now on
    gate = cluster.master.fail_gate = threading.Event()
    write = asyncio.create_task(cluster.bulk("n0", [{"op": "index", "id": "b", "source": {"n": 2}}]))
    done, _ = await asyncio.wait([write], timeout=0.5)
    assert not done  # held while the master has not taken the copy out of the in-sync set
    gate.set()
    response = ok(await asyncio.wait_for(write, 30))
    assert [c[:2] for c in cluster.master.calls] == [("fail_copy", "alloc-n1")]
    assert cluster.master.calls[0][2].startswith("failed to perform indices:data/write/bulk[s] on replica")
    assert cluster.master.routing.in_sync == ("alloc-n0",)
    info = response.replication
    assert (info.total, info.successful, info.failed) == (2, 1, 1)
    assert info.failures[0].allocation_id == "alloc-n1"
    header = shards_header(response, 1, "idx", 0)
    assert header["failed"] == 1 and header["failures"][0]["_node"] == "n1"
    # the failed copy left the routing table: the next write goes to the primary only
    assert ok(await cluster.bulk("n0", [{"op": "index", "id": "c", "source": {"n": 3}}])).replication.total == 0


async def test_an_unreachable_replica_is_failed_too(cluster: Cluster) -> None:
    cluster.clients.pop("n1")  # the node is gone (NodeNotConnected)
    response = ok(await cluster.bulk("n0", [{"op": "index", "id": "a", "source": {"n": 1}}]))
    assert response.replication.failures[0].error.es_type == "node_not_connected_exception"
    assert cluster.master.calls[0][:2] == ("fail_copy", "alloc-n1")


async def test_no_acknowledgement_when_the_master_cannot_fail_the_copy(cluster: Cluster) -> None:
    cluster.shard("n1").close()
    cluster.master.fail_error = QuidditchError("master not discovered")
    response = await cluster.bulk("n0", [{"op": "index", "id": "a", "source": {"n": 1}}])
    assert response.HasField("error") and "master not discovered" in response.error.reason
    assert not response.results


async def test_a_stale_primary_is_refused_and_steps_down(cluster: Cluster) -> None:
    ok(await cluster.bulk("n0", [{"op": "index", "id": "a", "source": {"n": 1}}]))
    # the master promotes n1 (term 2); n0 has not heard of it yet and still acts as the primary of term 1
    routing = ShardRouting(0, 2, (copy("n1", True), copy("n0", False)), ("alloc-n1", "alloc-n0"))
    cluster.master.set_routing(routing, only=["n1"])
    assert (cluster.shard("n1").role, cluster.shard("n1").primary_term) == ("primary", 2)
    response = await cluster.bulk("n0", [{"op": "index", "id": "b", "source": {"n": 2}}])
    assert response.HasField("error") and response.error.es_type == "illegal_state_exception"
    assert "is too old" in response.error.reason
    # it stopped taking writes: a replica now, or already closed (the new primary's resync failed its copy, and
    # a data node closes a copy the routing no longer places on it)
    stale = cluster.nodes["n0"].shards.get(("uuid-idx", 0))
    assert stale is None or stale.role == "replica"
    again = await cluster.bulk("n0", [{"op": "index", "id": "c", "source": {"n": 3}}])
    assert again.HasField("error")
    assert cluster.shard("n1").get("b") is None


async def test_promotion_raises_the_term_and_if_primary_term_stays_correct(cluster: Cluster) -> None:
    first = ok(await cluster.bulk("n0", [{"op": "index", "id": "a", "source": {"n": 1}},
                                         {"op": "index", "id": "b", "source": {"n": 1}}]))  # fmt: skip
    assert [r.primary_term for r in first.results] == [1, 1]
    cluster.stop("n0")  # the primary dies; the master promotes the in-sync replica
    cluster.master.set_routing(ShardRouting(0, 2, (copy("n1", True),), ("alloc-n1",)))
    new = ok(await cluster.bulk("n1", [{"op": "index", "id": "c", "source": {"n": 2}}]))
    assert (new.results[0].primary_term, new.results[0].seq_no) == (2, 2)
    # ``a`` was written under term 1 and keeps it: the old term matches, the new one conflicts (409)
    conflict = await cluster.bulk("n1", [{"op": "index", "id": "a", "source": {"n": 3}, "if_seq_no": 0,
                                          "if_primary_term": 2}])  # fmt: skip
    assert conflict.results[0].status == 409
    assert conflict.results[0].error.es_type == "version_conflict_engine_exception"
    matched = ok(await cluster.bulk("n1", [{"op": "index", "id": "a", "source": {"n": 3}, "if_seq_no": 0,
                                            "if_primary_term": 1}]))  # fmt: skip
    assert (matched.results[0].primary_term, matched.results[0].version) == (2, 2)
    # and a write under the new term is matched by the new term only
    stale = await cluster.bulk("n1", [{"op": "index", "id": "c", "source": {"n": 4}, "if_seq_no": 2,
                                       "if_primary_term": 1}])  # fmt: skip
    assert stale.results[0].status == 409


async def test_an_initializing_copy_whose_node_has_not_caught_up_is_skipped_not_failed(cluster: Cluster) -> None:
    cluster.nodes["n1"].shards.pop(("uuid-idx", 0)).close()  # n1 does not hold the shard (yet)
    routing = ShardRouting(0, 1, (copy("n0", True), copy("n1", False, "INITIALIZING")), ("alloc-n0",))
    cluster.master.set_routing(routing, only=["n0"])  # n1 has not applied this state: no recovery started yet
    response = ok(await cluster.bulk("n0", [{"op": "index", "id": "a", "source": {"n": 1}}]))
    assert (response.replication.total, response.replication.successful, response.replication.failed) == (1, 1, 0)
    assert cluster.master.calls == []
