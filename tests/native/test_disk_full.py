"""A disk that fills up never loses an acknowledged write: the shard on a real, small tmpfs.

A write whose WAL append finds no room is refused whole (``DiskFull``, nothing of it kept); a refresh whose
tantivy commit finds no room fails without moving ``committed_seq_no`` or dropping WAL generations; once space
returns, every acknowledged document is searchable, and after a restart too.
"""

from __future__ import annotations

import random
import shutil
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
import tantivy

from native.analysis import Analysis
from native.errors import DiskFull
from native.mapping import Mapping
from native.shard import Shard
from native.writes import WriteOp
from tests.conftest import tmpfs

MAPPING = {"properties": {"body": {"type": "text"}, "n": {"type": "long"}, "tag": {"type": "keyword"}}}
FILL_LIMIT = 400  # batches: a 6 MiB disk fills far sooner


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "disk", "6m") as disk:
        yield disk


def _doc(rng: random.Random, n: int) -> bytes:
    body = "".join(rng.choices(string.ascii_lowercase + "     ", k=1500))
    return f'{{"body":"{body}","n":{n},"tag":"t{n % 7}"}}'.encode()


def _open(path: Path) -> Shard:
    return Shard(str(path), Mapping(MAPPING), Analysis.from_settings({}), index_name="full", shard_id=0)


def _count(shard: Shard) -> int:
    _, searcher = shard.acquire_searcher()
    return int(searcher.search(tantivy.Query.all_query(), 1).count)


def _filler(disk: Path) -> Path:
    """Take every byte still free on ``disk`` (so the next write or commit meets ENOSPC)."""
    path = disk / "filler"
    chunk = b"\0" * 65536
    with open(path, "ab", buffering=0) as fh:
        while True:
            try:
                if not fh.write(chunk):
                    break
            except OSError:
                break
    return path


def test_a_full_disk_loses_no_acknowledged_write(small_disk: Path) -> None:
    rng = random.Random(7)
    shard = _open(small_disk / "shard")
    acked: dict[str, bytes] = {}
    refused = refresh_failures = 0
    n = 0
    for _ in range(FILL_LIMIT):
        batch = [WriteOp("index", f"d{n + i}", _doc(rng, n + i)) for i in range(50)]
        n += len(batch)
        try:
            results = shard.write(batch)
        except DiskFull:
            refused += 1
            if refused >= 3:
                break
            continue
        for op, res in zip(batch, results, strict=True):
            assert res.error is None, res.error
            assert op.source is not None
            acked[op.id] = op.source
        try:
            shard.refresh()
        except Exception:
            refresh_failures += 1
    assert refused >= 3, "the disk never filled up"
    assert acked
    # Every acknowledged write is still readable (realtime), whatever the refreshes did.
    for doc_id, source in acked.items():
        stored = shard.get(doc_id)
        assert stored is not None and stored.source == source, doc_id

    # Space returns: the next refresh commits every acknowledged document.
    for leftover in small_disk.glob("filler*"):
        leftover.unlink()
    shard.close(discard=True)  # a crash: nothing more is committed on the way out
    with tmpfs(small_disk.parent / "more", "64m") as big:
        shutil.copytree(small_disk / "shard", big / "shard")
        reopened = _open(big / "shard")
        try:
            reopened.refresh(force=True)
            assert _count(reopened) == len(acked)
            for doc_id, source in acked.items():
                stored = reopened.get(doc_id)
                assert stored is not None and stored.source == source, doc_id
        finally:
            reopened.close()


def test_a_failed_commit_keeps_the_writes_it_held(small_disk: Path) -> None:
    """The tantivy writer dies on ENOSPC and forgets what it held; the WAL puts it back once space returns."""
    rng = random.Random(11)
    shard = _open(small_disk / "shard")
    try:
        first = [WriteOp("index", f"a{i}", _doc(rng, i)) for i in range(200)]
        shard.write(first)
        shard.refresh()
        assert _count(shard) == 200
        second = [WriteOp("index", f"b{i}", _doc(rng, i)) for i in range(400)]
        shard.write(second)  # durable in the WAL; the writer holds them in memory
        filler = _filler(small_disk)
        with pytest.raises(Exception):  # noqa: B017 - the commit fails, whatever tantivy calls it
            shard.refresh()
        assert shard.committed_seq_no == 199  # not moved over the lost documents
        assert _count(shard) == 200
        filler.unlink()
        shard.refresh()
        assert _count(shard) == 600
        assert shard.committed_seq_no == 599
        for op in second:
            stored = shard.get(op.id)
            assert stored is not None and stored.source == op.source
    finally:
        shard.close()
    reopened = _open(small_disk / "shard")
    try:
        assert _count(reopened) == 600
    finally:
        reopened.close()


def test_a_refused_write_leaves_nothing_behind(small_disk: Path) -> None:
    """A write refused for want of room takes back its seq_nos and live entries: the next one is seq_no + 1."""
    rng = random.Random(3)
    shard = _open(small_disk / "shard")
    try:
        shard.write([WriteOp("index", "keep", _doc(rng, 1))])
        before = shard.max_seq_no
        filler = _filler(small_disk)
        with pytest.raises(DiskFull):
            shard.write([WriteOp("index", "keep", _doc(rng, 2)), WriteOp("index", "gone", _doc(rng, 3))])
        assert shard.max_seq_no == before
        assert shard.get("gone") is None
        kept = shard.get("keep")
        assert kept is not None and kept.version == 1
        filler.unlink()
        res = shard.write([WriteOp("index", "next", b'{"n": 5}')])
        assert res[0].seq_no == before + 1
    finally:
        shard.close()
    reopened = _open(small_disk / "shard")
    try:
        assert reopened.get("gone") is None
        assert reopened.get("next") is not None
        assert reopened.max_seq_no == before + 1
    finally:
        reopened.close()
