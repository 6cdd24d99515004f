"""Refresh commits tantivy outside the write lock: writes go on during a commit, and nothing of durability
or visibility changes (realtime GET across the WAL swap, crash images taken mid-refresh, live-map pruning).

A gated commit stands in for a slow one: the applier thread's writer is wrapped so ``commit`` waits for a
test event before calling tantivy's.
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

import native.applier as applier_module
from native.analysis import Analysis
from native.errors import VersionConflict
from native.mapping import Mapping
from native.shard import Shard
from native.writes import WriteOp
from tests.crash_copy import crash_copy

MAPPING = {"properties": {"n": {"type": "long"}, "title": {"type": "text"}}}


def _open(path: Path) -> Shard:
    return Shard(str(path), Mapping(MAPPING), Analysis.from_settings({}), index_name="t", shard_id=0)


def _src(n: int, title: str = "doc") -> bytes:
    return orjson.dumps({"n": n, "title": f"{title} {n}"})


def _index(shard: Shard, doc_id: str, n: int, **kw: Any) -> Any:
    result = shard.write([WriteOp("index", doc_id, source=_src(n), **kw)])[0]
    return result


def _committed(shard: Shard, doc_id: str) -> Any:
    """What a search sees (the published searcher), not the realtime view."""
    return shard._get_committed(shard.acquire_searcher()[1], doc_id)


class _GatedCommit:
    """Wraps the applier's IndexWriter: ``commit`` waits for ``gate``; everything else passes through."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.started = threading.Event()
        self.gate = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def commit(self) -> Any:
        self.started.set()
        assert self.gate.wait(30), "test never opened the gate"
        return self._inner.commit()


def _gate(shard: Shard) -> _GatedCommit:
    gated = _GatedCommit(shard._applier.writer)
    shard._applier.writer = gated  # type: ignore[assignment]
    return gated


def _refresh_in_background(shard: Shard, gated: _GatedCommit) -> threading.Thread:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            shard.refresh()
        except BaseException as exc:  # pragma: no cover - surfaced below
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    assert gated.started.wait(10), "refresh never reached the commit"
    return thread


def test_a_write_during_a_slow_commit_is_not_blocked(tmp_path: Path) -> None:
    shard = _open(tmp_path / "s")
    try:
        assert _index(shard, "a", 1).status == 201
        gated = _gate(shard)
        refresher = _refresh_in_background(shard, gated)
        t0 = time.perf_counter()
        r_a = _index(shard, "a", 2)
        r_b = _index(shard, "b", 3)
        deleted = shard.write([WriteOp("delete", "a")])[0]
        elapsed = time.perf_counter() - t0
        assert refresher.is_alive(), "the commit is still gated"
        assert elapsed < 1.0, f"writes waited {elapsed:.2f}s behind the commit"
        assert (r_a.version, r_a.seq_no, r_b.seq_no, deleted.result) == (2, 1, 2, "deleted")
        assert (tmp_path / "s" / "wal.1.log").exists() and (tmp_path / "s" / "wal.log").stat().st_size > 0
        gated.gate.set()
        refresher.join(10)
        assert not refresher.is_alive() and not refresher.errors  # type: ignore[attr-defined]
        # the refresh published exactly the writes before its boundary
        committed = _committed(shard, "a")
        assert committed is not None and committed.version == 1
        assert _committed(shard, "b") is None
        assert shard.get("a") is None and shard.get("b").version == 1  # type: ignore[union-attr]
        assert not (tmp_path / "s" / "wal.1.log").exists()
        assert shard.committed_seq_no == 0 and shard.dirty
        shard.refresh()
        assert _committed(shard, "a") is None and _committed(shard, "b").seq_no == 2  # type: ignore[union-attr]
        assert shard.num_docs() == 1
    finally:
        shard.close()


def test_realtime_get_and_conflicts_across_the_wal_swap(tmp_path: Path) -> None:
    shard = _open(tmp_path / "s")
    try:
        for i in range(5):
            _index(shard, f"d{i}", i)
        shard.write([WriteOp("delete", "d4")])
        shard.refresh()  # d0..d3 committed
        _index(shard, "d0", 10)  # before the boundary, over a committed doc
        _index(shard, "x", 11)  # before the boundary, new
        shard.write([WriteOp("delete", "d1")])  # before the boundary: a tombstone
        gated = _gate(shard)
        refresher = _refresh_in_background(shard, gated)
        _index(shard, "y", 12)  # after the boundary
        _index(shard, "x", 13)  # re-written after the boundary
        expected = {"d0": (2, 10), "d1": None, "d2": (1, 2), "d3": (1, 3), "d4": None, "x": (2, 13), "y": (1, 12)}

        def check() -> None:
            for doc_id, want in expected.items():
                got = shard.get(doc_id)
                if want is None:
                    assert got is None, doc_id
                else:
                    assert got is not None and (got.version, orjson.loads(got.source or b"")["n"]) == want, doc_id

        check()  # mid-commit: the sealed live map, the new one and the committed reader together
        with pytest.raises(VersionConflict):
            raise shard.write([WriteOp("create", "d0", source=_src(0))])[0].error  # type: ignore[misc]
        ok = shard.write([WriteOp("index", "x", source=_src(13), if_seq_no=shard.get("x").seq_no,  # type: ignore[union-attr]
                                  if_primary_term=1)])[0]  # fmt: skip
        assert ok.status == 200 and ok.version == 3
        expected["x"] = (3, 13)
        gated.gate.set()
        refresher.join(10)
        assert not refresher.errors  # type: ignore[attr-defined]
        check()  # after the reload and the pruning
        shard.refresh()
        check()
    finally:
        shard.close()


def test_crash_between_wal_swap_and_commit_replays_both_generations(tmp_path: Path) -> None:
    live = tmp_path / "live"
    shard = _open(live)
    try:
        for i in range(3):
            _index(shard, f"c{i}", i)
        shard.refresh()  # committed: c0..c2 (seq 0..2)
        _index(shard, "s0", 3)  # sealed generation
        _index(shard, "c0", 4)
        shard.write([WriteOp("delete", "c1")])
        gated = _gate(shard)
        refresher = _refresh_in_background(shard, gated)
        _index(shard, "a0", 6)  # active generation
        _index(shard, "s0", 7)
        shard.write([WriteOp("delete", "c2")])
        crashed = tmp_path / "crashed"
        crash_copy(live, crashed)
        gated.gate.set()
        refresher.join(10)
    finally:
        shard.close()
    assert sorted(p.name for p in crashed.glob("wal*")) == ["wal.2.log", "wal.log"]  # wal.1 went with the first refresh
    assert orjson.loads((crashed / "state.json").read_bytes())["committed_seq_no"] == 2

    reopened = _open(crashed)
    try:
        want = {"c0": (2, 4), "c1": None, "c2": None, "s0": (2, 7), "a0": (1, 6)}
        for doc_id, expected in want.items():
            got = reopened.get(doc_id)
            assert (None if got is None else (got.version, orjson.loads(got.source or b"")["n"])) == expected
            committed = _committed(reopened, doc_id)  # recovery refreshed: searchable too
            assert (None if committed is None else (committed.version, committed.seq_no)) == (
                None if got is None else (got.version, got.seq_no)
            )
        assert reopened.num_docs() == 3
        assert reopened.committed_seq_no == 8
        assert [p.name for p in crashed.glob("wal*")] == ["wal.log"]
        assert _index(reopened, "new", 9).seq_no == 9
    finally:
        reopened.close()


def test_crash_after_commit_before_state_replays_idempotently(tmp_path: Path) -> None:
    live = tmp_path / "live"
    shard = _open(live)
    try:
        for i in range(4):
            _index(shard, f"k{i}", i)
        _index(shard, "k0", 10)

        def boom() -> None:
            raise OSError("disk gone")

        shard._write_state = boom  # type: ignore[method-assign]
        with pytest.raises(OSError):
            shard.refresh()  # tantivy committed, the state still says nothing is
        crashed = tmp_path / "crashed"
        crash_copy(live, crashed)
        del shard._write_state
    finally:
        shard.close()
    assert (crashed / "wal.1.log").exists()
    reopened = _open(crashed)
    try:
        assert reopened.num_docs() == 4  # replay = delete-by-id + add: no duplicates
        assert reopened.get("k0").version == 2  # type: ignore[union-attr]
        assert _committed(reopened, "k0").version == 2  # type: ignore[union-attr]
        assert [p.name for p in crashed.glob("wal*")] == ["wal.log"]
    finally:
        reopened.close()


def test_live_map_pruning_keeps_entries_written_after_the_boundary(tmp_path: Path) -> None:
    shard = _open(tmp_path / "s")
    try:
        for i in range(4):
            _index(shard, f"p{i}", i)  # seq 0..3
        gated = _gate(shard)
        refresher = _refresh_in_background(shard, gated)
        _index(shard, "p1", 11)  # seq 4: rewritten after the boundary
        shard.write([WriteOp("delete", "p2")])  # seq 5: a tombstone after the boundary
        _index(shard, "q", 12)  # seq 6
        assert set(shard._live_sealed) == {"p0", "p1", "p2", "p3"}
        gated.gate.set()
        refresher.join(10)
        assert not refresher.errors  # type: ignore[attr-defined]
        assert shard._live_sealed == {}
        assert {k: (v.seq_no, v.source is None) for k, v in shard._live.items()} == {
            "p1": (4, False), "p2": (5, True), "q": (6, False),
        }  # fmt: skip
        assert shard.get("p2") is None and _committed(shard, "p2") is not None  # the search still sees it
        assert orjson.loads(shard.get("p1").source)["n"] == 11  # type: ignore[union-attr, arg-type]
        shard.refresh()
        assert shard._live == {} and shard.num_docs() == 4  # p0 p1 p3 q
    finally:
        shard.close()


def test_refresh_after_an_acknowledged_write_makes_it_searchable(tmp_path: Path) -> None:
    """refresh=true / wait_for: a refresh called after the write returns only once it is searchable, also
    when it has to queue behind a refresh that is already committing."""
    shard = _open(tmp_path / "s")
    try:
        _index(shard, "first", 1)
        gated = _gate(shard)
        refresher = _refresh_in_background(shard, gated)
        _index(shard, "late", 2)
        waiter = threading.Thread(target=shard.refresh, daemon=True)
        waiter.start()
        time.sleep(0.05)
        assert waiter.is_alive()  # queued behind the gated refresh
        gated.gate.set()
        refresher.join(10)
        waiter.join(10)
        assert not waiter.is_alive()
        assert _committed(shard, "late") is not None and _committed(shard, "first") is not None
    finally:
        shard.close()


def test_backpressure_bounds_the_applier_queue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(applier_module, "MAX_PENDING_DOCS", 3)
    shard = _open(tmp_path / "s")
    try:
        _index(shard, "a", 0)
        gated = _gate(shard)
        refresher = _refresh_in_background(shard, gated)
        for i in range(3):  # the applier is stuck in the commit: these fill the queue
            _index(shard, f"b{i}", i)
        blocked = threading.Thread(target=_index, args=(shard, "c", 9), daemon=True)
        blocked.start()
        blocked.join(0.2)
        assert blocked.is_alive(), "a write past MAX_PENDING_DOCS waits for the applier"
        gated.gate.set()
        blocked.join(10)
        refresher.join(10)
        assert not blocked.is_alive()
        shard.refresh()
        assert shard.num_docs() == 5
    finally:
        shard.close()


def test_concurrent_writes_and_refreshes_agree_with_a_model(tmp_path: Path) -> None:
    shard = _open(tmp_path / "s")
    rng = random.Random(7)
    model: dict[str, int | None] = {}
    model_lock = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for step in range(300):
                doc_id = f"w{rng.randrange(60)}"
                with model_lock:  # one writer at a time per model update keeps the model in ack order
                    if rng.random() < 0.2:
                        shard.write([WriteOp("delete", doc_id)])
                        model[doc_id] = None
                    else:
                        n = worker * 1000 + step
                        assert shard.write([WriteOp("index", doc_id, source=_src(n))])[0].status in (200, 201)
                        model[doc_id] = n
        except BaseException as exc:
            errors.append(exc)

    def refresher() -> None:
        while not stop.is_set():
            try:
                shard.refresh()
            except BaseException as exc:
                errors.append(exc)
                return
            time.sleep(0.002)

    try:
        threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
        ref = threading.Thread(target=refresher)
        ref.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        stop.set()
        ref.join(30)
        assert not errors, errors
        for doc_id, n in model.items():
            got = shard.get(doc_id)
            assert (None if got is None else orjson.loads(got.source or b"")["n"]) == n, doc_id
        shard.refresh()
        for doc_id, n in model.items():
            got = _committed(shard, doc_id)
            assert (None if got is None else orjson.loads(got.source or b"")["n"]) == n, doc_id
        assert shard.num_docs() == sum(1 for n in model.values() if n is not None)
        assert sorted(os.listdir(tmp_path / "s")).count("wal.log") == 1
        assert not [name for name in os.listdir(tmp_path / "s") if name.startswith("wal.") and name != "wal.log"]
    finally:
        shard.close()
