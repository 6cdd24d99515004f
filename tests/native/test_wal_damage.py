"""The WAL's torn-tail/damage rule and the shard files checks, on real shards on disk (``native.wal``,
``native.damage``, ``native.repair``)."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import orjson
import pytest

from native import damage
from native.analysis import Analysis
from native.damage import ShardCorrupted, TranslogCorrupted, check_shard_files
from native.mapping import Mapping
from native.repair import remove_corrupted_data
from native.shard import Shard, WriteOp
from native.wal import WriteAheadLog, index_payload, scan
from tests.conftest import tier

_HEADER = struct.Struct("<II")


def _shard(path: Path) -> Shard:
    return Shard(str(path), Mapping({}), Analysis.from_settings({}))


def _fill(path: Path, count: int) -> list[str]:
    """``count`` acknowledged documents left in the WAL only (the shard closes without a refresh)."""
    shard = _shard(path)
    ids = [f"id{i}" for i in range(count)]
    for doc_id in ids:
        shard.write([WriteOp("index", doc_id, orjson.dumps({"v": doc_id}))])
    shard.close(discard=True)
    return ids


def _offsets(wal: Path) -> list[int]:
    data, out, offset = wal.read_bytes(), [], 0
    while offset + _HEADER.size <= len(data):
        out.append(offset)
        offset += _HEADER.size + _HEADER.unpack_from(data, offset)[0]
    return out


def _present(path: Path, ids: list[str]) -> list[str]:
    shard = _shard(path)
    try:
        return [doc_id for doc_id in ids if shard.get(doc_id) is not None]
    finally:
        shard.close(discard=True)


@pytest.mark.parametrize("tail", [b"\x10\x00", b"\x40\x00\x00\x00\x12\x34\x56\x78\x01\x02", b"\x00" * 40])
def test_a_torn_tail_is_truncated_silently(tmp_path: Path, tail: bytes) -> None:
    ids = _fill(tmp_path / "s", 30)
    wal = tmp_path / "s" / "wal.log"
    size = wal.stat().st_size
    with open(wal, "ab") as fh:
        fh.write(tail)
    check_shard_files(str(tmp_path / "s"))
    reader = WriteAheadLog(str(wal))
    assert [r["id"] for r in reader.replay()] == ids
    reader.close()
    assert wal.stat().st_size == size  # the tail is cut
    assert _present(tmp_path / "s", ids) == ids


def test_a_torn_last_record_is_truncated(tmp_path: Path) -> None:
    ids = _fill(tmp_path / "s", 30)
    wal = tmp_path / "s" / "wal.log"
    last = _offsets(wal)[-1]
    os.truncate(wal, wal.stat().st_size - 3)  # the last record lost its end: never acknowledged
    reader = WriteAheadLog(str(wal))
    assert len(list(reader.replay())) == len(ids) - 1
    reader.close()
    assert wal.stat().st_size == last
    assert _present(tmp_path / "s", ids) == ids[:-1]


@pytest.mark.parametrize("where", ["header", "payload", "two records"])
def test_damage_before_intact_records_fails_and_changes_nothing(tmp_path: Path, where: str) -> None:
    _fill(tmp_path / "s", 50)
    wal = tmp_path / "s" / "wal.log"
    offsets = _offsets(wal)
    data = bytearray(wal.read_bytes())
    start = offsets[20] + (0 if where == "header" else 12)
    stop = offsets[22] if where == "two records" else start + 4
    for i in range(start, stop):
        data[i] ^= 0x5A
    wal.write_bytes(bytes(data))
    with pytest.raises(TranslogCorrupted) as info:
        check_shard_files(str(tmp_path / "s"))
    assert info.value.status == 500 and info.value.es_type == "translog_corrupted_exception"
    assert f"offset [{offsets[20]}]" in info.value.reason
    with pytest.raises(TranslogCorrupted):
        _shard(tmp_path / "s")
    reader = WriteAheadLog(str(wal))
    with pytest.raises(TranslogCorrupted):
        list(reader.replay())  # replay itself never truncates damage either
    reader.close()
    assert wal.read_bytes() == bytes(data)
    assert scan(str(wal)).corrupted


def test_repair_cuts_at_the_damage_and_counts_what_it_drops(tmp_path: Path) -> None:
    ids = _fill(tmp_path / "s", 50)
    wal = tmp_path / "s" / "wal.log"
    offsets = _offsets(wal)
    data = bytearray(wal.read_bytes())
    for i in range(offsets[31] + 12, offsets[33] + 12):  # records 31 and 32 damaged, 33 too (its payload)
        data[i] ^= 0x5A
    wal.write_bytes(bytes(data))
    dry = remove_corrupted_data(str(tmp_path / "s"), dry_run=True)
    assert wal.read_bytes() == bytes(data)
    report = remove_corrupted_data(str(tmp_path / "s"))
    assert dry.operations_dropped == report.operations_dropped == 50 - 31
    assert report.documents_dropped == 0
    assert wal.stat().st_size == offsets[31]
    assert _present(tmp_path / "s", ids) == ids[:31]


def test_a_damaged_sealed_generation_fails_the_shard(tmp_path: Path) -> None:
    ids = _fill(tmp_path / "s", 20)
    shard_dir = tmp_path / "s"
    os.replace(shard_dir / "wal.log", shard_dir / "wal.1.log")  # as a refresh that crashed before its commit
    wal = WriteAheadLog(str(shard_dir / "wal.log"))
    wal.append_payloads([index_payload("late", 1000, 1, 1, b'{"v":"late"}')])
    wal.close()
    sealed = shard_dir / "wal.1.log"
    offsets = _offsets(sealed)
    data = bytearray(sealed.read_bytes())
    data[offsets[5] + 12] ^= 0xFF
    sealed.write_bytes(bytes(data))
    with pytest.raises(TranslogCorrupted):
        check_shard_files(str(shard_dir))
    report = remove_corrupted_data(str(shard_dir))
    assert report.operations_dropped == 20 - 5 + 1  # the damaged one, the 14 after it, and the later wal.log
    assert _present(shard_dir, [*ids, "late"]) == ids[:5]


def test_a_missing_wal_next_to_commits_is_damage(tmp_path: Path) -> None:
    shard = _shard(tmp_path / "s")
    shard.write([WriteOp("index", "a", b'{"v":1}')])
    shard.refresh()
    shard.write([WriteOp("index", "b", b'{"v":2}')])
    shard.close(discard=True)
    os.remove(tmp_path / "s" / "wal.log")
    with pytest.raises(TranslogCorrupted, match="is missing"):
        check_shard_files(str(tmp_path / "s"))
    report = remove_corrupted_data(str(tmp_path / "s"))
    assert report.operations_dropped is None  # what the WAL held is unknown
    assert _present(tmp_path / "s", ["a", "b"]) == ["a"]


def test_a_missing_wal_before_any_commit_is_damage_too(tmp_path: Path) -> None:
    shard = _shard(tmp_path / "s")  # a new shard creates wal.log before its first state write
    shard.write([WriteOp("index", "a", b'{"v":1}')])
    shard.close(discard=True)
    assert orjson.loads((tmp_path / "s" / "state.json").read_bytes())["committed_seq_no"] == -1
    os.remove(tmp_path / "s" / "wal.log")
    with pytest.raises(TranslogCorrupted, match="is missing"):
        check_shard_files(str(tmp_path / "s"))
    assert remove_corrupted_data(str(tmp_path / "s")).operations_dropped is None
    assert _present(tmp_path / "s", ["a"]) == []


def test_seal_keeps_wal_log_present_and_a_half_done_seal_replays_once(tmp_path: Path) -> None:
    ids = _fill(tmp_path / "s", 10)
    shard_dir = tmp_path / "s"
    os.link(shard_dir / "wal.log", shard_dir / "wal.1.log")  # a seal killed between its link and its replace
    check_shard_files(str(shard_dir))
    shard = _shard(shard_dir)
    try:
        assert [d for d in ids if shard.get(d) is not None] == ids
        assert not (shard_dir / "wal.1.log").exists()
        shard.write([WriteOp("index", "after", b'{"v":0}')])
        shard.refresh()
        assert (shard_dir / "wal.log").exists()
        assert shard.num_docs() == 11
    finally:
        shard.close()


def test_segment_checksums_are_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shard = _shard(tmp_path / "s")
    shard.write([WriteOp("index", f"d{i}", orjson.dumps({"v": i, "t": "some text"})) for i in range(100)])
    shard.refresh()
    shard.close()
    state = orjson.loads((tmp_path / "s" / "state.json").read_bytes())
    index_dir = tmp_path / "s" / f"index.{state['generation']}"
    check_shard_files(str(tmp_path / "s"))
    store = next(p for p in index_dir.iterdir() if p.suffix == ".store")
    body = bytearray(store.read_bytes())
    footer_len = struct.unpack("<I", bytes(body[-8:-4]))[0]
    assert orjson.loads(bytes(body[-8 - footer_len : -8]))["crc"] == zlib.crc32(bytes(body[: -8 - footer_len]))
    body[len(body) // 4] ^= 0x01  # one bit in the middle
    store.write_bytes(bytes(body))
    with pytest.raises(ShardCorrupted, match="checksum failed"):
        check_shard_files(str(tmp_path / "s"))
    with monkeypatch.context() as patch:  # past the open budget only the footers are checked
        patch.setattr(damage, "VERIFY_BUDGET", 0)
        check_shard_files(str(tmp_path / "s"))
        (index_dir / store.name).write_bytes(bytes(body[:-3]))  # a footer cut short is found whatever the budget
        with pytest.raises(ShardCorrupted, match="footer"):
            check_shard_files(str(tmp_path / "s"))
        store.write_bytes(bytes(body))
    report = remove_corrupted_data(str(tmp_path / "s"))
    assert report.documents_dropped == 100
    check_shard_files(str(tmp_path / "s"))


def test_random_damage_is_never_a_silent_loss(tmp_path: Path) -> None:
    """Flip 1-8 bytes at a random offset of a WAL of acknowledged writes: the shard either fails (and the
    repair keeps exactly the records before the damage) or the damage hit the last record, which a torn
    tail cannot be told from: only that one is cut."""
    import random

    rng = random.Random(9)
    trials = tier(12, 150)
    failed = 0
    for trial in range(trials):
        path = tmp_path / f"s{trial}"
        ids = _fill(path, 40)
        wal = path / "wal.log"
        offsets = _offsets(wal)
        data = bytearray(wal.read_bytes())
        at = rng.randrange(len(data))
        for i in range(at, min(len(data), at + rng.randint(1, 8))):
            data[i] ^= rng.randint(1, 255)
        wal.write_bytes(bytes(data))
        hit = max(i for i, offset in enumerate(offsets) if offset <= at)  # the first damaged record
        try:
            check_shard_files(str(path))
        except TranslogCorrupted:
            failed += 1
            assert hit < len(ids) - 1
            report = remove_corrupted_data(str(path))
            assert report.operations_dropped == len(ids) - hit
            assert _present(path, ids) == ids[:hit]
            continue
        assert hit == len(ids) - 1, f"damage at {at} (record {hit}) read as a torn tail"
        assert _present(path, ids) == ids[:hit]
    assert failed >= trials // 2


def test_repair_of_an_intact_shard_changes_nothing(tmp_path: Path) -> None:
    ids = _fill(tmp_path / "s", 10)
    before = {p.name: p.read_bytes() for p in (tmp_path / "s").iterdir() if p.is_file()}
    report = remove_corrupted_data(str(tmp_path / "s"))
    assert not report.damaged and report.operations_dropped == 0 and report.documents_dropped == 0
    assert {p.name: p.read_bytes() for p in (tmp_path / "s").iterdir() if p.is_file()} == before
    assert _present(tmp_path / "s", ids) == ids
