"""Nothing acknowledged is lost: a SIGKILL mid-bulk, and torn write-ahead-log tails."""

from __future__ import annotations

import json
import os
import random
import struct
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from native.analysis import Analysis
from native.mapping import Mapping
from native.shard import Shard
from native.wal import WriteAheadLog
from native.writes import WriteOp
from tests.conftest import running_server
from tests.crash_copy import crash_copy

pytestmark = pytest.mark.slow

DOCS_PER_BULK = 1000
MAX_BULKS = 60
STREAM_BUDGET = 40.0  # seconds of streaming at most
INDEX = "durable"


class _Writer(threading.Thread):
    """Streams bulk requests; records an item only once its HTTP response has arrived with 200/201."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.acked: dict[str, dict[str, Any]] = {}
        self.acked_requests = 0
        self.progress = threading.Condition()
        self.stopped = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        deadline = time.monotonic() + STREAM_BUDGET
        try:
            with httpx.Client(base_url=self.url, timeout=30) as client:
                for batch in range(MAX_BULKS):
                    if self.stopped.is_set() or time.monotonic() > deadline:
                        return
                    docs = {
                        f"b{batch}-{i}": {"counter": batch * DOCS_PER_BULK + i, "batch": batch,
                                          "text": f"document {batch} {i}"}
                        for i in range(DOCS_PER_BULK)
                    }  # fmt: skip
                    lines = []
                    for doc_id, doc in docs.items():
                        lines.append(orjson.dumps({"index": {"_index": INDEX, "_id": doc_id}}))
                        lines.append(orjson.dumps(doc))
                    body = b"\n".join(lines) + b"\n"
                    try:
                        response = client.post("/_bulk", content=body, headers={"content-type": "application/x-ndjson"})
                    except httpx.TransportError:
                        return  # the server died mid-request: nothing of this request was acknowledged
                    if response.status_code != 200:
                        continue
                    for item in response.json()["items"]:
                        result = item["index"]
                        if result.get("status") in (200, 201):
                            self.acked[result["_id"]] = docs[result["_id"]]
                    with self.progress:
                        self.acked_requests += 1
                        self.progress.notify_all()
        except BaseException as exc:  # surfaced by the test
            self.error = exc
        finally:
            self.stopped.set()
            with self.progress:
                self.progress.notify_all()


@pytest.mark.timeout(120)
def test_sigkill_mid_bulk_loses_nothing_acknowledged(tmp_path: Path) -> None:
    rng = random.Random(os.environ.get("QUIDDITCH_TEST_SEED", time.time_ns()))
    with running_server(tmp_path / "data") as srv:
        created = httpx.put(
            f"{srv.url}/{INDEX}",
            json={"mappings": {"properties": {"counter": {"type": "long"}, "batch": {"type": "integer"},
                                              "text": {"type": "text"}}}},
        )  # fmt: skip
        assert created.status_code == 200, created.text

        writer = _Writer(srv.url)
        writer.start()
        kill_after = 3 + rng.randrange(4)
        with writer.progress:
            writer.progress.wait_for(lambda: writer.acked_requests >= kill_after or writer.stopped.is_set(), 60)
        assert writer.error is None, writer.error
        assert writer.acked_requests >= 3, f"only {writer.acked_requests} bulk requests acknowledged"
        time.sleep(rng.uniform(0.0, 0.3))  # land somewhere inside the next request
        srv.kill()
        writer.stopped.set()
        writer.join(30)
        assert not writer.is_alive()
        assert writer.error is None, writer.error
        acked = dict(writer.acked)
        assert len(acked) >= 3 * DOCS_PER_BULK

        srv.start()
        with httpx.Client(base_url=srv.url, timeout=60) as client:
            ids = sorted(acked)
            missing: list[str] = []
            wrong: list[str] = []
            for start in range(0, len(ids), 1000):
                chunk = ids[start : start + 1000]
                response = client.post(f"/{INDEX}/_mget", json={"ids": chunk})
                assert response.status_code == 200, response.text[:500]
                docs = response.json()["docs"]
                assert [d["_id"] for d in docs] == chunk
                for doc in docs:
                    if not doc.get("found"):
                        missing.append(doc["_id"])
                    elif doc["_source"] != acked[doc["_id"]]:
                        wrong.append(doc["_id"])
            assert not missing, f"{len(missing)} acknowledged docs lost, e.g. {missing[:5]}"
            assert not wrong, f"{len(wrong)} acknowledged docs changed, e.g. {wrong[:5]}"
            # spot-check the realtime GET path too
            for doc_id in rng.sample(ids, 20):
                got = client.get(f"/{INDEX}/_doc/{doc_id}")
                assert got.status_code == 200 and got.json()["_source"] == acked[doc_id], got.text
            assert client.post(f"/{INDEX}/_refresh").status_code == 200
            count = client.get(f"/{INDEX}/_count").json()["count"]
            assert count >= len(acked)
            # whole batches only: an in-flight request may be durable, but never half an item
            query = {"range": {"counter": {"gte": 0}}}
            search = client.post(f"/{INDEX}/_search", json={"size": 0, "track_total_hits": True, "query": query})
            assert search.json()["hits"]["total"]["value"] == count


# -- torn WAL tails -------------------------------------------------------------------------------------

_HEADER = struct.Struct("<II")


def _records(n: int) -> list[dict[str, Any]]:
    return [{"op": "index", "id": str(i), "seq_no": i, "version": 1, "term": 1,
             "source": json.dumps({"n": i, "title": f"doc {i}"})} for i in range(n)]  # fmt: skip


def _boundaries(path: str) -> list[int]:
    """Byte offsets where each record ends, read independently of ``native.wal``."""
    data = Path(path).read_bytes()
    ends, offset = [], 0
    while offset < len(data):
        length, crc = _HEADER.unpack_from(data, offset)
        offset += _HEADER.size + length
        assert zlib.crc32(data[offset - length : offset]) == crc
        ends.append(offset)
    assert offset == len(data)
    return ends


def _truncate_mid_header(path: str, ends: list[int]) -> None:
    os.truncate(path, ends[-2] + 3)


def _truncate_mid_payload(path: str, ends: list[int]) -> None:
    os.truncate(path, ends[-1] - 5)


def _flip_last_payload_byte(path: str, ends: list[int]) -> None:
    data = bytearray(Path(path).read_bytes())
    data[ends[-1] - 3] ^= 0x20
    Path(path).write_bytes(bytes(data))


def _append_garbage(path: str, ends: list[int]) -> None:
    with open(path, "ab") as fh:
        fh.write(b"\xde\xad\xbe\xef" * 16)


def _append_zero_record(path: str, ends: list[int]) -> None:
    with open(path, "ab") as fh:  # a header that checks out (crc32(b"") == 0) but an empty payload
        fh.write(b"\x00" * 24)


def _append_valid_crc_non_json(path: str, ends: list[int]) -> None:
    with open(path, "ab") as fh:
        fh.write(_HEADER.pack(7, zlib.crc32(b"garbage")) + b"garbage")


# (corruption, records that survive out of 5, file size after replay as an index into ends or None=all)
CORRUPTIONS = {
    "truncate-mid-header": (_truncate_mid_header, 4),
    "truncate-mid-payload": (_truncate_mid_payload, 4),
    "flip-last-payload-byte": (_flip_last_payload_byte, 4),
    "append-garbage": (_append_garbage, 5),
    "append-zero-record": (_append_zero_record, 5),
    "append-valid-crc-non-json": (_append_valid_crc_non_json, 5),
}


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_torn_wal_tail_replays_the_intact_prefix(tmp_path: Path, kind: str) -> None:
    corrupt, survivors = CORRUPTIONS[kind]
    path = str(tmp_path / "wal.log")
    records = _records(5)
    wal = WriteAheadLog(path)
    wal.append(records[:2])
    wal.append(records[2:4])
    wal.append(records[4:])
    wal.close()
    ends = _boundaries(path)
    assert len(ends) == 5
    corrupt(path, ends)

    wal = WriteAheadLog(path)
    assert list(wal.replay()) == records[:survivors]
    assert os.path.getsize(path) == ends[survivors - 1], "replay must truncate to the last good record"
    # a second replay is clean, and appends continue from the truncation point
    assert list(wal.replay()) == records[:survivors]
    extra = {"op": "delete", "id": "0", "seq_no": 99, "version": 2, "term": 1}
    wal.append([extra])
    assert list(wal.replay()) == [*records[:survivors], extra]
    wal.close()


def test_wal_replay_of_an_empty_or_headerless_file(tmp_path: Path) -> None:
    path = str(tmp_path / "wal.log")
    wal = WriteAheadLog(path)
    assert list(wal.replay()) == []
    wal.close()
    Path(path).write_bytes(b"\x01\x02\x03")  # shorter than a header
    wal = WriteAheadLog(path)
    assert list(wal.replay()) == []
    assert os.path.getsize(path) == 0
    wal.close()


SHARD_MAPPING = {"properties": {"n": {"type": "long"}, "title": {"type": "text"}}}


def _open_shard(path: Path) -> Shard:
    return Shard(str(path), Mapping(SHARD_MAPPING), Analysis.from_settings({}), index_name="t", shard_id=0)


@pytest.mark.parametrize("kind", ["truncate-mid-payload", "flip-last-payload-byte", "append-garbage"])
def test_shard_reopened_on_a_torn_wal_serves_the_intact_docs(tmp_path: Path, kind: str) -> None:
    corrupt, _ = CORRUPTIONS[kind]
    live = tmp_path / "live"
    shard = _open_shard(live)
    sources = {str(i): orjson.dumps({"n": i, "title": f"doc number {i}"}) for i in range(6)}
    try:
        for batch in (["0", "1"], ["2", "3", "4"], ["5"]):  # one WAL append per write
            results = shard.write([WriteOp("index", doc_id, source=sources[doc_id]) for doc_id in batch])
            assert [r.status for r in results] == [201] * len(batch)
        # The crash: copy the directory while the shard is open and unrefreshed (all ops only in the WAL).
        crashed = tmp_path / "crashed"
        crash_copy(live, crashed)
    finally:
        shard.close()

    wal_path = str(crashed / "wal.log")
    ends = _boundaries(wal_path)
    assert len(ends) == 6, "every acknowledged op must be in the WAL before write() returns"
    corrupt(wal_path, ends)
    survivors = [str(i) for i in range(6 if kind == "append-garbage" else 5)]

    reopened = _open_shard(crashed)
    try:
        for doc_id in survivors:
            doc = reopened.get(doc_id)
            assert doc is not None, doc_id
            assert orjson.loads(doc.source or b"") == orjson.loads(sources[doc_id])
        if kind != "append-garbage":
            assert reopened.get("5") is None
        reopened.refresh(force=True)
        assert reopened.num_docs() == len(survivors)
        # and it keeps working: the next write gets a fresh seq_no after the survivors
        result = reopened.write([WriteOp("index", "new", source=b'{"n": 100}')])[0]
        assert result.status == 201 and result.seq_no == len(survivors)
    finally:
        reopened.close()
    assert os.path.getsize(wal_path) == 0  # close() refreshes, which empties the WAL
