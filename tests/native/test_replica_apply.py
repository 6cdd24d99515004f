"""A shard applying its primary's operations as a replica (``native.replica``): real tantivy shards in tmp dirs."""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest
import tantivy

from native.analysis import Analysis
from native.mapping import Mapping
from native.replica import ReplicaTermBehind, ShardNotPrimary, StalePrimaryTerm
from native.shard import Shard
from native.wal import decode_payload, scan
from native.writes import WriteOp

CRASH = 0.25
MAPPING = {"properties": {"n": {"type": "long"}, "title": {"type": "text"}}}


def _open(path: Path) -> Shard:
    return Shard(str(path), Mapping(MAPPING), Analysis.from_settings({}), index_name="r", shard_id=0)


def _docs(shard: Shard) -> dict[str, tuple[int, int, int, bytes | None]]:
    """id → (seq_no, version, term, source) of every live document, through realtime get and the searcher."""
    shard.refresh(force=True)
    _, searcher = shard.acquire_searcher()
    out = {}
    for _, address in searcher.search(tantivy.Query.all_query(), 100_000).hits:
        fields = searcher.doc(address).to_dict()
        doc_id = str(fields["_id"][0])
        got = shard.get(doc_id)
        assert got is not None
        out[doc_id] = (got.seq_no, got.version, got.primary_term, got.source)
    return out


def _write(shard: Shard, ops: list[WriteOp]) -> list[bytes]:
    records: list[bytes] = []
    results = shard.write(ops, records=records)
    assert all(r.error is None for r in results), results
    return records


def _index(doc_id: str, n: int) -> WriteOp:
    return WriteOp("index", doc_id, orjson.dumps({"n": n, "title": f"doc {doc_id} {n}"}))


@pytest.fixture
def pair(tmp_path: Path):
    primary, replica = _open(tmp_path / "p"), _open(tmp_path / "r")
    replica.become_replica()
    yield primary, replica
    primary.close()
    replica.close()


def test_replica_stores_the_primarys_seq_no_version_term_and_source(pair) -> None:
    primary, replica = pair
    batches = [
        _write(primary, [_index(f"d{i}", i) for i in range(20)]),
        _write(primary, [_index("d3", 33), WriteOp("delete", "d4"), _index("d5", 55)]),
        _write(primary, [WriteOp("update", "d6", doc={"n": 66})]),
    ]
    for records in batches:
        replica.apply_replica(records, primary.primary_term)
    assert _docs(replica) == _docs(primary)
    assert replica.local_checkpoint == primary.local_checkpoint == primary.max_seq_no == 23
    assert replica.get("d3").version == 2  # type: ignore[union-attr]
    assert replica.get("d4") is None


def test_out_of_order_and_duplicate_batches_converge(pair) -> None:
    primary, replica = pair
    batches = []
    rng = random.Random(7)
    for round_ in range(30):
        ops = [_index(f"d{rng.randrange(15)}", round_ * 10 + k) for k in range(3)]
        if round_ % 4 == 3:
            ops.append(WriteOp("delete", f"d{rng.randrange(15)}"))
        batches.append(_write(primary, ops))
    shuffled = batches + batches[:5]  # every batch, then five again (retried forwards)
    rng.shuffle(shuffled)
    for i, records in enumerate(shuffled):
        replica.apply_replica(records, primary.primary_term)
        if i % 7 == 0:
            replica.refresh(force=True)  # commits with gaps: the checkpoint, not max_seq_no, is committed
    assert replica.local_checkpoint == primary.max_seq_no
    assert _docs(replica) == _docs(primary)


def test_commit_with_gaps_then_crash_replays_late_operations(tmp_path: Path) -> None:
    primary = _open(tmp_path / "p")
    replica = _open(tmp_path / "r")
    replica.become_replica()
    first = _write(primary, [_index("a", 1), _index("b", 1)])  # seq 0, 1
    second = _write(primary, [_index("a", 2)])  # seq 2
    third = _write(primary, [_index("c", 3)])  # seq 3
    replica.apply_replica(third, 1)
    replica.apply_replica(first, 1)
    replica.refresh(force=True)  # commits checkpoint 1 and above [3]
    assert (replica.committed_seq_no, replica.committed_above) == (1, [3])
    replica.apply_replica(second, 1)  # arrives after the commit, with a seq_no below a committed one
    replica.close(discard=True)  # a crash: nothing after the last commit but the WAL
    reopened = _open(tmp_path / "r")
    try:
        assert reopened.local_checkpoint == 3
        assert _docs(reopened) == _docs(primary)
    finally:
        reopened.close()
        primary.close()


def test_a_stale_operation_never_overwrites_a_newer_one(pair) -> None:
    primary, replica = pair
    old = _write(primary, [_index("x", 1)])
    new = _write(primary, [_index("x", 2)])
    gone = _write(primary, [WriteOp("delete", "y")]) if primary.get("y") else None
    assert gone is None
    replica.apply_replica(new, 1)
    replica.refresh(force=True)  # the newer one is in the searcher only
    replica.apply_replica(old, 1)
    assert orjson.loads(replica.get("x").source) == {"n": 2, "title": "doc x 2"}  # type: ignore[union-attr]
    # a delete that overtook its document's index: the tombstone outlives a refresh while below it is a gap
    created = _write(primary, [_index("z", 1)])
    deleted = _write(primary, [WriteOp("delete", "z")])
    replica.apply_replica(deleted, 1)
    replica.refresh(force=True)
    replica.apply_replica(created, 1)
    assert replica.get("z") is None
    assert scan(replica.wal.path).before[-1] == {"op": "noop", "id": "", "seq_no": 2, "version": 0, "term": 1}
    assert replica.local_checkpoint == primary.max_seq_no
    assert _docs(replica) == _docs(primary)


def test_terms_and_roles(pair) -> None:
    primary, replica = pair
    records = _write(primary, [_index("a", 1)])
    with pytest.raises(ShardNotPrimary):
        replica.write([_index("b", 1)])
    replica.promote(2)  # the primary is gone: this copy takes writes under term 2
    with pytest.raises(StalePrimaryTerm):  # the old primary's forward is refused
        replica.apply_replica(records, 1)
    result = replica.write([_index("b", 1)])[0]
    assert (result.seq_no, result.primary_term) == (0, 2)
    with pytest.raises(ReplicaTermBehind):  # a copy of term 1 refuses the new primary's operations
        primary.apply_replica(replica.history_since(-1) or [], 2)


def test_promotion_fills_gaps_and_keeps_document_terms(tmp_path: Path) -> None:
    primary, replica = _open(tmp_path / "p"), _open(tmp_path / "r")
    replica.become_replica()
    first = _write(primary, [_index("a", 1)])  # seq 0
    _write(primary, [_index("lost", 1)])  # seq 1: never reaches the replica (not acknowledged)
    third = _write(primary, [_index("b", 1)])  # seq 2
    replica.apply_replica(first, 1)
    replica.apply_replica(third, 1)
    assert replica.local_checkpoint == 0
    replica.promote(2)
    assert replica.local_checkpoint == replica.max_seq_no == 2
    result = replica.write([_index("c", 1)])[0]
    assert (result.seq_no, result.primary_term) == (3, 2)
    # ``a`` keeps the term it was written with: if_primary_term 1 still matches it, 2 conflicts
    ok = replica.write([WriteOp("index", "a", b'{"n": 5}', if_seq_no=0, if_primary_term=1)])[0]
    assert ok.error is None and ok.primary_term == 2
    stale = replica.write([WriteOp("index", "b", b'{"n": 6}', if_seq_no=2, if_primary_term=2)])[0]
    assert stale.status == 409
    replica.close()
    reopened = _open(tmp_path / "r")  # the term and the role's history survive a restart
    try:
        assert reopened.primary_term == 2
        assert reopened.local_checkpoint == reopened.max_seq_no == 4
        assert reopened.get("lost") is None
    finally:
        reopened.close()
        primary.close()


def test_history_since_is_none_once_a_commit_dropped_the_records(pair) -> None:
    primary, _ = pair
    _write(primary, [_index("a", 1), _index("b", 1)])
    assert [decode_payload(r)["seq_no"] for r in primary.history_since(0) or []] == [1]  # type: ignore[index]
    primary.refresh(force=True)
    assert primary.history_since(0) is None
    _write(primary, [_index("c", 1)])
    assert [decode_payload(r)["id"] for r in primary.history_since(1) or []] == ["c"]  # type: ignore[index]


def test_a_promoted_primary_refuses_operations_of_another_primary_of_its_term(pair) -> None:
    primary, replica = pair
    replica.apply_replica(_write(primary, [_index("a", 1)]), 1)
    replica.promote(1)  # a relocation's hand-off keeps the term: the source must stop, not be followed
    with pytest.raises(StalePrimaryTerm):
        replica.apply_replica(_write(primary, [_index("b", 1)]), 1)
    assert replica.get("b") is None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_order_commits_and_crashes_converge(tmp_path: Path, seed: int) -> None:
    """Batches delivered shuffled (some twice), with commits and crashes (reopen from disk) in between."""
    rng = random.Random(seed)
    primary = _open(tmp_path / "p")
    replica = _open(tmp_path / "r")
    replica.become_replica()
    batches = []
    for round_ in range(40):
        ops = [_index(f"d{rng.randrange(20)}", round_ * 10 + k) for k in range(rng.randrange(1, 5))]
        if rng.random() < 0.3:
            ops.append(WriteOp("delete", f"d{rng.randrange(20)}"))
        batches.append(_write(primary, ops))
    delivery = batches + rng.sample(batches, 8)
    rng.shuffle(delivery)
    try:
        for records in delivery:
            replica.apply_replica(records, 1)
            roll = rng.random()
            if roll < 0.15:
                replica.refresh(force=True)
            elif roll < CRASH:
                replica.close(discard=True)  # a crash: the last commit plus the WAL
                replica = _open(tmp_path / "r")
                replica.become_replica()
        assert replica.local_checkpoint == primary.max_seq_no
        replica.close()
        replica = _open(tmp_path / "r")
        assert replica.local_checkpoint == primary.max_seq_no
        assert _docs(replica) == _docs(primary)
    finally:
        replica.close()
        primary.close()
