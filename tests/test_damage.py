"""Damage is detected, contained and reported (issue #9 outcome 3).

Real files damaged on purpose under a stopped (or killed) node: the damaged shard fails, the node serves
every other index, ``_cluster/health``/``_cat/shards``/``_cluster/allocation/explain`` say why, and the
operator command (``quidditch shard remove-corrupted-data``) drops what is damaged, says how much, and the
shard opens again on restart. The WAL layout is parsed here independently of ``native.wal``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO, ServerProcess, _starlette_of

_HEADER = struct.Struct("<II")
_BINARY = struct.Struct("<BqqqI")


# -- helpers --------------------------------------------------------------------------------------------------
def wal_records(path: str) -> list[tuple[int, int, str]]:
    """``(offset, end, id)`` of each record of a WAL file (binary payloads), read independently."""
    data = Path(path).read_bytes()
    out, offset = [], 0
    while offset + _HEADER.size <= len(data):
        length, _ = _HEADER.unpack_from(data, offset)
        end = offset + _HEADER.size + length
        if end > len(data):
            break
        payload = data[offset + _HEADER.size : end]
        if payload[:1] == b"{":
            doc_id = json.loads(payload)["id"]
        else:
            id_len = _BINARY.unpack_from(payload)[4]
            doc_id = payload[_BINARY.size : _BINARY.size + id_len].decode()
        out.append((offset, end, doc_id))
        offset = end
    return out


def flip(path: str, at: int, count: int = 4) -> None:
    with open(path, "r+b") as fh:
        fh.seek(at)
        chunk = fh.read(count)
        fh.seek(at)
        fh.write(bytes(b ^ 0xFF for b in chunk))


def shard_dir(data_dir: str, index: str, shard: int = 0) -> str:
    state = json.loads(Path(data_dir, "cluster_state.json").read_bytes())
    return os.path.join(data_dir, "indices", state["indices"][index]["uuid"], str(shard))


def remove_corrupted(data_dir: str, index: str, shard: int = 0, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "server.cli", "shard", "remove-corrupted-data", "--data-dir", data_dir,
           "--index", index, "--shard", str(shard), *extra]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def bulk(client: httpx.Client, index: str, ids: list[str]) -> list[dict[str, Any]]:
    lines = []
    for doc_id in ids:
        lines.append(json.dumps({"index": {"_index": index, "_id": doc_id}}))
        lines.append(json.dumps({"n": int(doc_id.split("-")[1]), "t": f"text of {doc_id}"}))
    resp = client.post("/_bulk", content="\n".join(lines) + "\n",
                       headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert resp.status_code == 200, resp.text
    return [next(iter(item.values())) for item in resp.json()["items"]]


def all_ids(client: httpx.Client, index: str) -> set[str]:
    resp = client.post(f"/{index}/_search", json={"size": 10_000, "_source": False, "query": {"match_all": {}}})
    assert resp.status_code == 200, resp.text
    return {hit["_id"] for hit in resp.json()["hits"]["hits"]}


def create(client: httpx.Client, index: str, **settings: Any) -> None:
    body = {"settings": {"number_of_shards": 1, "number_of_replicas": 0, **settings}}
    assert client.put(f"/{index}", json=body).status_code == 200


# -- the WAL damaged in the middle, end to end ----------------------------------------------------------------
def test_mid_wal_damage_fails_the_shard_until_the_operator_repairs_it(tmp_path: Path) -> None:
    data_dir = str(tmp_path / "data")
    server = ServerProcess(data_dir).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            create(client, "logs", refresh_interval="-1")
            create(client, "other")
            acked: list[str] = []
            for batch in range(10):
                ids = [f"d-{batch * 100 + i}" for i in range(100)]
                items = bulk(client, "logs", ids)
                acked += [item["_id"] for item in items if item["status"] in (200, 201)]
            assert len(acked) == 1000
            bulk(client, "other", [f"o-{i}" for i in range(5)])
            assert client.post("/other/_refresh").status_code == 200
        server.kill()  # the 1,000 operations of logs live in its WAL only

        wal = os.path.join(shard_dir(data_dir, "logs"), "wal.log")
        records = wal_records(wal)
        assert [r[2] for r in records] == acked
        offset, _, damaged_id = records[500]
        flip(wal, offset + _HEADER.size + 10)  # 4 bytes inside the payload of record 500
        damaged_bytes = Path(wal).read_bytes()

        server.start()
        with httpx.Client(base_url=server.url, timeout=30) as client:
            # reported: health red, the shard unassigned with its reason
            health = client.get("/_cluster/health").json()
            assert health["status"] == "red"
            assert health["unassigned_shards"] == 1 and health["unassigned_primary_shards"] == 1
            assert health["active_primary_shards"] == 1
            indices = client.get("/_cluster/health", params={"level": "indices"}).json()["indices"]
            assert indices["logs"]["status"] == "red" and indices["other"]["status"] == "green"
            shards = client.get("/_cluster/health", params={"level": "shards"}).json()["indices"]["logs"]["shards"]
            assert shards["0"]["status"] == "red" and shards["0"]["primary_active"] is False
            columns = "index,shard,prirep,state,unassigned.reason,unassigned.details"
            rows = client.get("/_cat/shards", params={"format": "json", "h": columns}).json()
            row = next(r for r in rows if r["index"] == "logs")
            assert row["state"] == "UNASSIGNED" and row["prirep"] == "p"
            assert row["unassigned.reason"] == "ALLOCATION_FAILED"
            assert "translog_corrupted_exception" in row["unassigned.details"]
            assert next(r for r in rows if r["index"] == "other")["state"] == "STARTED"
            text = client.get("/_cat/shards/logs", params={"h": "state,unassigned.reason"}).text
            assert text.split() == ["UNASSIGNED", "ALLOCATION_FAILED"]
            explain = client.post("/_cluster/allocation/explain",
                                  json={"index": "logs", "shard": 0, "primary": True}).json()  # fmt: skip
            assert explain["current_state"] == "unassigned" and explain["can_allocate"] == "no"
            assert explain["unassigned_info"]["reason"] == "ALLOCATION_FAILED"
            assert "translog_corrupted_exception" in explain["unassigned_info"]["details"]
            assert f"offset [{offset}]" in explain["unassigned_info"]["details"]
            assert explain["allocate_explanation"]
            assert client.post("/_cluster/allocation/explain").json()["index"] == "logs"  # no body: the failed one

            # contained: searches and writes of the failed shard fail like ES's, everything else serves
            resp = client.post("/logs/_search", json={"query": {"match_all": {}}})
            assert resp.status_code == 503
            error = resp.json()["error"]
            assert error["type"] == "search_phase_execution_exception" and error["reason"] == "all shards failed"
            assert error["root_cause"][0]["type"] == "no_shard_available_action_exception"
            resp = client.post("/logs,other/_search", json={"query": {"match_all": {}}})
            assert resp.status_code == 200
            body = resp.json()
            assert body["_shards"]["total"] == 2 and body["_shards"]["failed"] == 1
            assert body["_shards"]["failures"][0]["index"] == "logs"
            assert body["_shards"]["failures"][0]["reason"]["type"] == "no_shard_available_action_exception"
            assert body["hits"]["total"]["value"] == 5
            items = bulk(client, "logs", ["d-5000", "d-5001"])
            assert [i["status"] for i in items] == [503, 503]
            assert {i["error"]["type"] for i in items} == {"unavailable_shards_exception"}
            resp = client.put("/logs/_doc/x", json={"n": 1})
            assert resp.status_code == 503 and resp.json()["error"]["type"] == "unavailable_shards_exception"
            assert client.put("/other/_doc/x", json={"n": 1}, params={"refresh": "true"}).status_code == 201
            assert len(all_ids(client, "other")) == 6
            assert client.post("/_refresh").status_code == 200

            # nothing truncated: the WAL is as the damage left it
            assert Path(wal).read_bytes() == damaged_bytes
            # the operator command refuses while the server holds the data dir
            refused = remove_corrupted(data_dir, "logs")
            assert refused.returncode == 1 and "node lock" in refused.stderr
            assert Path(wal).read_bytes() == damaged_bytes
        server.stop()
        assert Path(wal).read_bytes() == damaged_bytes

        dry = remove_corrupted(data_dir, "logs", 0, "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert "would drop [500] operations and [0] documents" in dry.stdout
        assert Path(wal).read_bytes() == damaged_bytes
        done = remove_corrupted(data_dir, "logs")
        assert done.returncode == 0, done.stderr
        assert "dropped [500] operations and [0] documents" in done.stdout
        assert os.path.getsize(wal) == offset

        server.start()
        with httpx.Client(base_url=server.url, timeout=30) as client:
            assert client.get("/_cluster/health").json()["status"] == "green"
            assert all_ids(client, "logs") == set(acked[:500])
            assert damaged_id not in all_ids(client, "logs")
            assert len(all_ids(client, "other")) == 6
            assert bulk(client, "logs", ["d-7000"])[0]["status"] == 201
    finally:
        server.stop()


# -- the shard's other files, in process ----------------------------------------------------------------------
@contextlib.asynccontextmanager
async def node(data_dir: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """An in-process node on ``data_dir`` (opened, then closed as a SIGTERM would)."""
    from server.app import create_app
    from server.settings import load_settings

    app = create_app(load_settings({"data_dir": str(data_dir)}))
    starlette_app = _starlette_of(app)
    async with starlette_app.router.lifespan_context(starlette_app):
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://quidditch.test", timeout=30) as client:
            yield client, starlette_app.state


async def _load(client: httpx.AsyncClient, index: str, ids: list[str]) -> None:
    body = {"settings": {"number_of_shards": 1, "number_of_replicas": 0}}
    assert (await client.put(f"/{index}", json=body)).status_code == 200
    lines = []
    for doc_id in ids:
        lines += [json.dumps({"index": {"_id": doc_id}}), json.dumps({"v": doc_id})]
    resp = await client.post(f"/{index}/_bulk", content="\n".join(lines) + "\n", params={"refresh": "true"},
                             headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert resp.status_code == 200 and not resp.json()["errors"]


def _segment_file(index_dir: str, ext: str) -> str:
    return next(os.path.join(index_dir, n) for n in sorted(os.listdir(index_dir)) if n.endswith(ext))


def _index_dir(shard: str) -> str:
    return os.path.join(shard, f"index.{json.loads(Path(shard, 'state.json').read_bytes())['generation']}")


def _delete_meta(shard: str) -> None:
    os.remove(os.path.join(_index_dir(shard), "meta.json"))


def _damage_segment(shard: str) -> None:
    path = _segment_file(_index_dir(shard), ".store")
    flip(path, os.path.getsize(path) // 3)


def _truncate_segment(shard: str) -> None:
    path = _segment_file(_index_dir(shard), ".idx")
    os.truncate(path, os.path.getsize(path) // 2)


def _delete_index_dir(shard: str) -> None:
    shutil.rmtree(_index_dir(shard))


def _delete_state(shard: str) -> None:
    os.remove(os.path.join(shard, "state.json"))


def _garbage_state(shard: str) -> None:
    Path(shard, "state.json").write_bytes(b"\x00garbage{")


def _delete_wal(shard: str) -> None:
    os.remove(os.path.join(shard, "wal.log"))


# damage, the es_type the shard fails with, the documents a repair keeps (of 20)
CASES = {
    "meta.json deleted": (_delete_meta, "corrupt_index_exception", 0),
    "index directory deleted": (_delete_index_dir, "corrupt_index_exception", 0),
    "segment bytes flipped": (_damage_segment, "corrupt_index_exception", 0),
    "segment truncated": (_truncate_segment, "corrupt_index_exception", 0),
    "state.json deleted": (_delete_state, "corrupt_state_exception", 20),
    "state.json garbage": (_garbage_state, "corrupt_state_exception", 20),
    "wal.log deleted": (_delete_wal, "translog_corrupted_exception", 20),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_damaged_shard_files_fail_the_shard_not_the_node(tmp_path: Path, case: str) -> None:
    from cluster.repair import repair_shard

    damage, es_type, kept = CASES[case]
    data_dir = tmp_path / "data"
    ids = [f"k{i}" for i in range(20)]
    async with node(data_dir) as (client, _):
        await _load(client, "bad", ids)
        await _load(client, "good", ["g1", "g2"])
    damage(shard_dir(str(data_dir), "bad"))
    async with node(data_dir) as (client, _):
        health = (await client.get("/_cluster/health", params={"level": "indices"})).json()
        assert health["status"] == "red" and health["indices"]["bad"]["status"] == "red"
        assert health["indices"]["good"]["status"] == "green"
        cat = (await client.get("/_cat/indices", params={"format": "json", "h": "index,health"})).json()
        assert {row["index"]: row["health"] for row in cat} == {"bad": "red", "good": "green"}
        explain = (await client.post("/_cluster/allocation/explain",
                                     json={"index": "bad", "shard": 0, "primary": True})).json()  # fmt: skip
        assert explain["unassigned_info"]["reason"] == "ALLOCATION_FAILED"
        assert es_type in explain["unassigned_info"]["details"], explain
        routing = (await client.get("/_cluster/state/routing_table")).json()["routing_table"]["indices"]
        assert routing["bad"]["shards"]["0"][0]["state"] == "UNASSIGNED"
        assert routing["good"]["shards"]["0"][0]["state"] == "STARTED"
        # never an empty index in its place
        resp = await client.post("/bad/_search")
        assert resp.status_code == 503, resp.text
        assert (await client.get("/bad/_doc/k1")).status_code == 503
        resp = await client.post("/bad/_bulk", content='{"index":{}}\n{"v":1}\n{"index":{}}\n{"v":2}\n',
                                 headers={"content-type": "application/x-ndjson"})  # fmt: skip
        items = [item["index"] for item in resp.json()["items"]]
        assert [i["status"] for i in items] == [503, 503]
        assert {i["error"]["type"] for i in items} == {"unavailable_shards_exception"}
        assert (await client.get("/good/_doc/g1")).json()["found"] is True
        assert (await client.put("/good/_doc/g3", json={"v": 3})).status_code == 201
    lines = repair_shard(str(data_dir), "bad", 0)
    assert any(line.startswith("dropped ") for line in lines), lines
    async with node(data_dir) as (client, _):
        assert (await client.get("/_cluster/health")).json()["status"] == "green"
        resp = await client.post("/bad/_search", json={"size": 100})
        assert resp.status_code == 200
        assert len(resp.json()["hits"]["hits"]) == kept
        assert (await client.put("/bad/_doc/new", json={"v": 1})).status_code == 201


@pytest.mark.parametrize("damage", [_truncate_segment, _garbage_state], ids=["segment", "state"])
def test_a_real_server_starts_and_serves_next_to_a_damaged_shard(tmp_path: Path, damage: Any) -> None:
    data_dir = str(tmp_path / "data")
    server = ServerProcess(data_dir).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            create(client, "bad")
            create(client, "good")
            bulk(client, "bad", [f"b-{i}" for i in range(50)])
            bulk(client, "good", [f"g-{i}" for i in range(5)])
            assert client.post("/_refresh").status_code == 200
        server.stop()
        damage(shard_dir(data_dir, "bad"))
        server.start()  # the process comes up (it refused to start before)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            assert client.get("/_cluster/health").json()["status"] == "red"
            assert client.post("/bad/_count").status_code == 503
            assert len(all_ids(client, "good")) == 5
            assert bulk(client, "good", ["g-9"])[0]["status"] == 201
        assert server.proc is not None and server.proc.poll() is None
    finally:
        server.stop()


async def test_a_failed_index_can_be_deleted(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with node(data_dir) as (client, _):
        await _load(client, "bad", ["k1", "k2"])
    shard = shard_dir(str(data_dir), "bad")
    _damage_segment(shard)
    async with node(data_dir) as (client, _):
        assert (await client.get("/_cluster/health")).json()["status"] == "red"
        assert (await client.delete("/bad")).status_code == 200
        assert (await client.get("/_cluster/health")).json()["status"] == "green"
        assert not os.path.exists(shard)
        await _load(client, "bad", ["k3"])
        assert (await client.get("/bad/_doc/k3")).json()["found"] is True


# -- the cluster state --------------------------------------------------------------------------------------
async def test_damaged_index_metadata_fails_that_index_and_keeps_its_files(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with node(data_dir) as (client, _):
        await _load(client, "bad", ["b1", "b2"])
        await _load(client, "good", ["g1", "g2"])
    bad_dir = os.path.dirname(shard_dir(str(data_dir), "bad"))
    state_path = data_dir / "cluster_state.json"
    state = json.loads(state_path.read_bytes())
    del state["indices"]["bad"]["mappings"]  # the entry no longer parses
    state_path.write_bytes(json.dumps(state).encode())
    for round_ in range(2):  # and again after a state write: the entry and the files survive
        async with node(data_dir) as (client, _):
            health = (await client.get("/_cluster/health", params={"level": "indices"})).json()
            assert health["status"] == "red" and health["unassigned_primary_shards"] == 1
            assert health["indices"]["bad"]["status"] == "red"
            assert health["indices"]["good"]["status"] == "green"
            explain = (await client.post("/_cluster/allocation/explain",
                                         json={"index": "bad", "shard": 0, "primary": True})).json()  # fmt: skip
            assert "corrupt_state_exception" in explain["unassigned_info"]["details"]
            resp = await client.put("/bad", json={})
            assert resp.status_code == 400 and resp.json()["error"]["type"] == "resource_already_exists_exception"
            assert (await client.put(f"/good/_doc/new{round_}", json={"v": 1})).status_code == 201
            assert (await client.put(f"/extra{round_}")).status_code == 200  # a cluster state write
        assert os.path.isdir(bad_dir)
        assert "mappings" not in json.loads(state_path.read_bytes())["indices"]["bad"]


def test_an_unreadable_cluster_state_stops_the_start_and_removes_nothing(tmp_path: Path) -> None:
    data_dir = str(tmp_path / "data")
    server = ServerProcess(data_dir).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            create(client, "logs")
        server.stop()
        Path(data_dir, "cluster_state.json").write_bytes(b'{"version": 3, "indices": {"lo')
        before = sorted(os.listdir(os.path.join(data_dir, "indices")))
        with pytest.raises(RuntimeError, match="exited with 1"):
            server.start()
        assert "cluster state" in server.log_tail() and "is unreadable" in server.log_tail()
        assert sorted(os.listdir(os.path.join(data_dir, "indices"))) == before != []
    finally:
        server.stop()


async def test_scans_never_skip_a_failed_shard(tmp_path: Path) -> None:
    """A search may answer from the shards it has (``_shards.failed``), but a reindex, a by-query pass or
    ``allow_partial_search_results=false`` must not: they fail instead of silently missing documents."""
    data_dir = tmp_path / "data"
    ids = [f"d{i}" for i in range(40)]
    async with node(data_dir) as (client, _):
        body = {"settings": {"number_of_shards": 2, "number_of_replicas": 0}}
        assert (await client.put("/two", json=body)).status_code == 200
        lines = []
        for doc_id in ids:
            lines += [json.dumps({"index": {"_id": doc_id}}), json.dumps({"v": doc_id})]
        resp = await client.post("/two/_bulk", content="\n".join(lines) + "\n", params={"refresh": "true"},
                                 headers={"content-type": "application/x-ndjson"})  # fmt: skip
        assert resp.status_code == 200 and not resp.json()["errors"]
    _garbage_state(shard_dir(str(data_dir), "two", 1))
    async with node(data_dir) as (client, _):
        partial = await client.post("/two/_search", json={"size": 100})
        assert partial.status_code == 200 and partial.json()["_shards"]["failed"] == 1
        assert 0 < len(partial.json()["hits"]["hits"]) < len(ids)
        strict = await client.post("/two/_search", params={"allow_partial_search_results": "false"})
        assert strict.status_code == 503, strict.text
        assert strict.json()["error"]["type"] == "search_phase_execution_exception"
        copy = await client.post("/_reindex", params={"refresh": "true"},
                                 json={"source": {"index": "two"}, "dest": {"index": "copy"}})  # fmt: skip
        assert copy.status_code >= 500, copy.text
        counted = await client.get("/copy/_count")
        assert counted.status_code == 404 or counted.json()["count"] == 0
        dropped = await client.post("/two/_delete_by_query", json={"query": {"match_all": {}}})
        assert dropped.status_code >= 500, dropped.text
