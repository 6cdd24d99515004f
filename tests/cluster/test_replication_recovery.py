"""Peer recovery (``cluster.recovery``): a new copy copies the primary's committed files and replays the WAL
tail while writes go on; a restarted copy catches up from the WAL alone when the primary still has the ops."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import cluster.recovery as recovery
from cluster.protos import leaf_pb2 as pb
from cluster.state import ShardRouting
from tests.cluster.replication_harness import Cluster, copy, documents, ok

N_DOCS = 3000


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    cluster = Cluster(tmp_path)
    cluster.start("n0")
    cluster.master.set_routing(ShardRouting(0, 1, (copy("n0", True),), ("alloc-n0",)))
    try:
        yield cluster
    finally:
        await cluster.close()


def _steps(cluster: Cluster, node_id: str) -> list[str]:
    """Record the recovery steps the node serves."""
    service = cluster.services[node_id]
    seen: list[str] = []
    serve = service.recovery.serve

    def spy(request: pb.RecoverRequest) -> pb.RecoverResponse:
        seen.append(request.step)
        return serve(request)

    service.recovery.serve = spy  # type: ignore[method-assign]
    return seen


async def _load(cluster: Cluster, start: int, count: int, batch: int = 250) -> None:
    for first in range(start, start + count, batch):
        ok(await cluster.index_columns("n0", {f"d{i}": {"n": i, "title": f"doc number {i}"}
                                              for i in range(first, min(first + batch, start + count))}))  # fmt: skip


async def _wait_started(cluster: Cluster, allocation_id: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while ("copy_started", allocation_id, "") not in cluster.master.calls:
        assert time.monotonic() < deadline, cluster.master.calls
        await asyncio.sleep(0.02)


async def test_a_new_copy_recovers_files_and_wal_tail_while_writes_go_on(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recovery, "CHUNK_BYTES", 4096)  # many chunks per segment file
    monkeypatch.setattr(recovery, "OPS_PAGE", 50)
    await _load(cluster, 0, N_DOCS)
    cluster.shard("n0").refresh()  # committed segments ...
    await _load(cluster, N_DOCS, 500)  # ... and a WAL tail
    ok(await cluster.bulk("n0", [{"op": "delete", "id": "d7"}, {"op": "update", "id": "d8", "doc": {"n": -8}}]))
    steps = _steps(cluster, "n0")
    stop = asyncio.Event()
    acknowledged: list[pb.BulkResponse] = []

    async def writer() -> None:  # live writes during the recovery: overwrites, deletes and new documents
        round_ = 0
        while not stop.is_set():
            ops = [{"op": "index", "id": f"d{(round_ * 37 + k) % (N_DOCS + 600)}", "source": {"n": round_, "k": k}}
                   for k in range(10)]  # fmt: skip
            ops.append({"op": "delete", "id": f"d{(round_ * 11) % N_DOCS}"})
            acknowledged.append(ok(await cluster.bulk("n0", ops)))
            round_ += 1
            await asyncio.sleep(0)

    async def refresher() -> None:  # the periodic refresh of both nodes: commits while operations arrive
        while not stop.is_set():
            for node in list(cluster.nodes.values()):
                shard = node.shards.get(("uuid-idx", 0))
                if shard is not None:
                    await asyncio.to_thread(shard.refresh)
            await asyncio.sleep(0.01)

    target = cluster.start("n1").recovery
    offer, kept = target.offer, []

    def counting(request: pb.ReplicateRequest) -> bool:
        kept.append(offer(request))
        return kept[-1]

    target.offer = counting  # type: ignore[method-assign]
    task = asyncio.create_task(writer())
    refreshing = asyncio.create_task(refresher())
    await asyncio.sleep(0.05)
    routing = cluster.master.routing
    cluster.master.set_routing(ShardRouting(0, 1, (*routing.copies, copy("n1", False, "INITIALIZING")),
                                            routing.in_sync))  # fmt: skip
    await _wait_started(cluster, "alloc-n1")
    await asyncio.sleep(0.1)  # (a few more writes reach the started copy)
    stop.set()
    await asyncio.wait_for(task, 30)
    await asyncio.wait_for(refreshing, 30)
    assert len(acknowledged) > 3
    assert any(kept) and not all(kept)  # live writes were kept while the files were copied, then applied
    assert steps[0] == "start" and steps.count("chunk") > 10 and "ops" in steps and steps[-1] == "finish"
    routing = cluster.master.routing
    assert routing.in_sync == ("alloc-n0", "alloc-n1") and all(c.state == "STARTED" for c in routing.copies)
    primary, replica = cluster.shard("n0"), cluster.shard("n1")
    assert replica.role == "replica"
    assert replica.local_checkpoint == primary.local_checkpoint == primary.max_seq_no
    expected = documents(primary)
    assert documents(replica) == expected  # none lost, none duplicated, none older than on the primary


async def test_a_restarted_copy_catches_up_from_the_wal_alone(cluster: Cluster) -> None:
    cluster.start("n1")
    cluster.master.set_routing(ShardRouting(0, 1, (copy("n0", True), copy("n1", False)), ("alloc-n0", "alloc-n1")))
    await _load(cluster, 0, 400)
    cluster.stop("n1")  # its copy stays in its data dir
    ok(await cluster.bulk("n0", [{"op": "index", "id": "d1", "source": {"n": 1001}}]))
    assert ("fail_copy", "alloc-n1") in [c[:2] for c in cluster.master.calls]
    await _load(cluster, 400, 300)
    steps = _steps(cluster, "n0")
    restarted = cluster.start("n1")
    assert not restarted.node.shards  # unassigned here: its copy stays on disk, unopened, until the routing says
    routing = cluster.master.routing
    cluster.master.set_routing(ShardRouting(0, 1, (*routing.copies, copy("n1", False, "INITIALIZING")),
                                            routing.in_sync))  # fmt: skip
    await _wait_started(cluster, "alloc-n1")
    assert "chunk" not in steps and steps[0] == "start" and "ops" in steps
    assert documents(cluster.shard("n1")) == documents(cluster.shard("n0"))


async def test_a_restarted_copy_copies_files_once_the_primary_dropped_its_ops(cluster: Cluster) -> None:
    cluster.start("n1")
    cluster.master.set_routing(ShardRouting(0, 1, (copy("n0", True), copy("n1", False)), ("alloc-n0", "alloc-n1")))
    await _load(cluster, 0, 300)
    cluster.stop("n1")
    await _load(cluster, 300, 300)
    cluster.shard("n0").refresh()  # the commit drops the WAL the copy would need
    steps = _steps(cluster, "n0")
    cluster.start("n1")
    routing = cluster.master.routing
    cluster.master.set_routing(ShardRouting(0, 1, (*routing.copies, copy("n1", False, "INITIALIZING")),
                                            routing.in_sync))  # fmt: skip
    await _wait_started(cluster, "alloc-n1")
    assert "chunk" in steps
    assert documents(cluster.shard("n1")) == documents(cluster.shard("n0"))


async def test_after_a_failover_the_old_primary_recovers_from_the_new_one(cluster: Cluster) -> None:
    cluster.start("n1")
    cluster.master.set_routing(ShardRouting(0, 1, (copy("n0", True), copy("n1", False)), ("alloc-n0", "alloc-n1")))
    await _load(cluster, 0, 200)
    cluster.stop("n0")
    cluster.master.set_routing(ShardRouting(0, 2, (copy("n1", True),), ("alloc-n1",)))
    ok(await cluster.clients["n1"].bulk(pb.BulkRequest(shard=pb.ShardRef(index="idx", uuid="uuid-idx", shard=0),
                                                       ops=[pb.WriteOp(op="delete", id="d5")])))  # fmt: skip
    cluster.start("n0")  # its copy holds term 1's history: it must copy files from the term-2 primary
    steps = _steps(cluster, "n1")
    routing = cluster.master.routing
    cluster.master.set_routing(ShardRouting(0, 2, (*routing.copies, copy("n0", False, "INITIALIZING")),
                                            routing.in_sync))  # fmt: skip
    await _wait_started(cluster, "alloc-n0")
    assert "chunk" in steps
    old = cluster.shard("n0")
    assert (old.role, old.primary_term) == ("replica", 2)
    assert documents(old) == documents(cluster.shard("n1"))


async def test_a_recovery_that_cannot_reach_its_primary_fails_the_copy(cluster: Cluster) -> None:
    await _load(cluster, 0, 10)
    cluster.start("n1")
    cluster.clients.pop("n0")  # n1 cannot reach the primary's node
    routing = cluster.master.routing
    cluster.master.set_routing(ShardRouting(0, 1, (*routing.copies, copy("n1", False, "INITIALIZING")),
                                            routing.in_sync))  # fmt: skip
    await cluster.services["n1"].recovery.wait(30)
    assert [c[:2] for c in cluster.master.calls] == [("fail_copy", "alloc-n1")]
    assert "node_not_connected" in cluster.master.calls[0][2] or "not connected" in cluster.master.calls[0][2]
    assert [c.node for c in cluster.master.routing.copies] == ["n0"]


async def test_a_copy_that_falls_behind_its_live_writes_gives_up(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recovery, "MAX_BUFFERED_BYTES", 1)  # any live write outgrows what the copy may keep
    monkeypatch.setattr(recovery, "CHUNK_BYTES", 512)
    await _load(cluster, 0, 500)
    cluster.shard("n0").refresh()
    source = cluster.services["n0"].recovery
    serve, live_write_done = source.serve, threading.Event()

    def held(request: pb.RecoverRequest) -> pb.RecoverResponse:  # the copy starts once a live write went out
        if request.step == "start":
            assert live_write_done.wait(30)
        return serve(request)

    source.serve = held  # type: ignore[method-assign]
    cluster.start("n1")
    routing = cluster.master.routing
    cluster.master.set_routing(ShardRouting(0, 1, (*routing.copies, copy("n1", False, "INITIALIZING")),
                                            routing.in_sync))  # fmt: skip
    response = ok(await cluster.bulk("n0", [{"op": "index", "id": "live", "source": {"n": 1}}]))
    live_write_done.set()
    assert (response.replication.successful, response.replication.failed) == (1, 1)  # acknowledged all the same
    assert [c[:2] for c in cluster.master.calls] == [("fail_copy", "alloc-n1")]
    await cluster.services["n1"].recovery.wait(30)
    assert ("copy_started", "alloc-n1", "") not in cluster.master.calls
    assert [c.node for c in cluster.master.routing.copies] == ["n0"]


async def test_a_relocating_primary_serves_its_targets_recovery(cluster: Cluster) -> None:
    await _load(cluster, 0, 100)
    cluster.start("n1")
    cluster.master.set_routing(ShardRouting(0, 1, (copy("n0", True, "RELOCATING"), copy("n1", False, "INITIALIZING")),
                                            ("alloc-n0",)))  # fmt: skip
    await _wait_started(cluster, "alloc-n1")
    assert documents(cluster.shard("n1")) == documents(cluster.shard("n0"))


async def test_a_recovery_owed_before_the_loop_is_bound_starts_on_bind(cluster: Cluster) -> None:
    await _load(cluster, 0, 50)
    late = cluster.start("n1", bind=False)
    routing = cluster.master.routing
    new = ShardRouting(0, 1, (*routing.copies, copy("n1", False, "INITIALIZING")), routing.in_sync)
    await asyncio.to_thread(cluster.master.set_routing, new)  # applied off the loop: nothing can start yet
    assert ("copy_started", "alloc-n1", "") not in cluster.master.calls
    late.recovery.bind(asyncio.get_running_loop())
    await _wait_started(cluster, "alloc-n1")
    assert documents(cluster.shard("n1")) == documents(cluster.shard("n0"))
