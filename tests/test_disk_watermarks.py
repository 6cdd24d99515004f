"""Disk watermarks on a real, small tmpfs: past the flood stage the index becomes read-only-allow-delete (429
``cluster_block_exception`` for writes, reads go on), the block lifts by itself once space returns, and no
acknowledged write is lost, before and after a restart. Also ES's write blocks and the watermark settings."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from cluster.settings import FLOOD_STAGE, HIGH_WATERMARK, min_free_bytes
from native.errors import IllegalArgument
from tests.conftest import ServerProcess, tmpfs

pytestmark = pytest.mark.slow

DISK = "64m"
FILLER_MB = 36  # freed once the flood stage is reached: the disk drops back under the high watermark
BATCH = 200
MAX_BATCHES = 400
FLOOD_REASON = "disk usage exceeded flood-stage watermark, index has read-only-allow-delete block"


def _bulk(client: httpx.Client, start: int) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """One 200-document bulk: (acknowledged id → source, the failed items)."""
    # random words: neither the WAL nor tantivy's stored-field compression makes them small
    docs = {f"d{start + i}": {"n": start + i, "body": " ".join(os.urandom(6).hex() for _ in range(80))}
            for i in range(BATCH)}  # fmt: skip
    lines = []
    for doc_id, doc in docs.items():
        lines.append(orjson.dumps({"index": {"_index": "full", "_id": doc_id}}))
        lines.append(orjson.dumps(doc))
    response = client.post("/_bulk", content=b"\n".join(lines) + b"\n",
                           headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert response.status_code == 200, response.text
    acked, failed = {}, []
    for item in response.json()["items"]:
        result = item["index"]
        if result["status"] in (200, 201):
            acked[result["_id"]] = docs[result["_id"]]
        else:
            failed.append(result)
    return acked, failed


def _ids(client: httpx.Client) -> set[str]:
    """Every document id of the index, read with a scroll."""
    response = client.post("/full/_search?scroll=1m", json={"size": 5000, "_source": False, "sort": ["_doc"]})
    ids: set[str] = set()
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        hits = body["hits"]["hits"]
        if not hits:
            return ids
        ids.update(hit["_id"] for hit in hits)
        response = client.post("/_search/scroll", json={"scroll": "1m", "scroll_id": body["_scroll_id"]})


@pytest.mark.parametrize("watermarks", [
    None,  # ES's defaults: on so small a disk, ENOSPC comes before 95 %; the shard refuses the write that found no room
    {FLOOD_STAGE: "20mb", HIGH_WATERMARK: "24mb"},  # the flood stage comes first
], ids=["defaults", "free-bytes"])  # fmt: skip
def test_flood_stage_blocks_writes_and_lifts_when_space_returns(
    tmp_path: Path, watermarks: dict[str, str] | None
) -> None:
    with tmpfs(tmp_path / "disk", DISK) as disk:
        filler = disk / "filler"
        filler.write_bytes(b"\0" * (FILLER_MB * 1024 * 1024))
        server = ServerProcess(disk / "data")
        server.log_path = tmp_path / "server.log"  # not on the disk being filled
        server.start()
        try:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                if watermarks:
                    put = client.put("/_cluster/settings", json={"persistent": watermarks})
                    assert put.status_code == 200, put.text
                assert client.put("/full", json={"settings": {"number_of_shards": 1, "number_of_replicas": 0,
                                                              "refresh_interval": "200ms"}}).status_code == 200
                acked: dict[str, dict[str, Any]] = {}
                blocked: list[dict[str, Any]] = []
                n = 0
                for _ in range(MAX_BATCHES):
                    got, failed = _bulk(client, n)
                    n += BATCH
                    acked.update(got)
                    if failed:
                        blocked = failed
                        break
                assert blocked, "the disk never reached the flood stage"
                assert acked
                error = blocked[0]["error"]
                assert blocked[0]["status"] == 429
                assert error["type"] == "cluster_block_exception"
                assert error["reason"] == f"index [full] blocked by: [TOO_MANY_REQUESTS/12/{FLOOD_REASON}];"

                # The block is the index setting ES puts (when the disk still had room to save it: on a full one the
                # node refuses writes all the same), single writes answer 429 too, and reads go on.
                settings = client.get("/full/_settings").json()["full"]["settings"]["index"]
                if watermarks:
                    assert settings["blocks"]["read_only_allow_delete"] == "true"
                single = client.put("/full/_doc/blocked", json={"n": -1})
                assert single.status_code == 429
                assert single.json()["error"]["type"] == "cluster_block_exception"
                assert client.get(f"/full/_doc/{next(iter(acked))}").json()["found"] is True
                assert client.get("/full/_count").status_code == 200
                if watermarks:  # blocked before the disk was full: commits still have room
                    refreshed = client.post("/full/_refresh")
                    assert refreshed.status_code == 200, (refreshed.text, server.log_tail())
                    assert _ids(client) == set(acked)

                # Space returns: the block lifts by itself and the next write is acknowledged.
                filler.unlink()
                deadline = time.monotonic() + 20
                after = client.put("/full/_doc/after", json={"n": -2})
                while after.status_code == 429 and time.monotonic() < deadline:
                    time.sleep(0.5)
                    after = client.put("/full/_doc/after", json={"n": -2})
                assert after.status_code == 201, after.text
                acked["after"] = {"n": -2}
                settings = client.get("/full/_settings").json()["full"]["settings"]["index"]
                assert "read_only_allow_delete" not in settings.get("blocks", {})

                refreshed = client.post("/full/_refresh")
                assert refreshed.status_code == 200, (refreshed.text, server.log_tail())
                assert _ids(client) == set(acked)
            server.restart(kill=True)
            with httpx.Client(base_url=server.url, timeout=60) as client:
                assert client.post("/full/_refresh").status_code == 200
                assert _ids(client) == set(acked)
                for doc_id in ("after", *list(acked)[:: max(1, len(acked) // 50)]):
                    got = client.get(f"/full/_doc/{doc_id}").json()
                    assert got["_source"] == acked[doc_id]
        finally:
            server.stop()


async def test_write_blocks_refuse_document_writes(asgi_client: httpx.AsyncClient) -> None:
    """``index.blocks.write`` / ``read_only`` answer ES's 403, ``read_only_allow_delete`` its 429; reads go on."""
    client = asgi_client
    assert (await client.put("/b", json={"settings": {"number_of_replicas": 0}})).status_code == 200
    assert (await client.put("/b/_doc/1?refresh=true", json={"n": 1})).status_code == 201
    cases = [
        ("write", 403, "FORBIDDEN/8/index write (api)"),
        ("read_only", 403, "FORBIDDEN/5/index read-only (api)"),
        ("read_only_allow_delete", 429, f"TOO_MANY_REQUESTS/12/{FLOOD_REASON}"),
    ]
    for block, status, described in cases:
        put = await client.put("/b/_settings", json={f"index.blocks.{block}": True})
        assert put.status_code == 200, put.text
        response = await client.put("/b/_doc/2", json={"n": 2})
        assert response.status_code == status, response.text
        assert response.json()["error"]["type"] == "cluster_block_exception"
        assert response.json()["error"]["reason"] == f"index [b] blocked by: [{described}];"
        bulk = await client.post("/_bulk", content=b'{"delete":{"_index":"b","_id":"1"}}\n',
                                 headers={"content-type": "application/x-ndjson"})  # fmt: skip
        assert bulk.json()["errors"] is True
        assert bulk.json()["items"][0]["delete"]["status"] == status
        assert (await client.get("/b/_doc/1")).json()["found"] is True
        assert (await client.post("/b/_search")).json()["hits"]["total"]["value"] == 1
        assert (await client.put("/b/_settings", json={f"index.blocks.{block}": None})).status_code == 200
    assert (await client.put("/b/_doc/2", json={"n": 2})).status_code == 201


async def test_watermark_settings_are_checked(asgi_client: httpx.AsyncClient) -> None:
    bad = await asgi_client.put("/_cluster/settings", json={"persistent": {FLOOD_STAGE: "lots"}})
    assert bad.status_code == 400
    assert bad.json()["error"]["type"] == "illegal_argument_exception"
    good = await asgi_client.put("/_cluster/settings", json={"persistent": {FLOOD_STAGE: "97%", HIGH_WATERMARK: "1gb"}})
    assert good.status_code == 200, good.text


def test_watermark_thresholds_follow_es() -> None:
    gb = 1024**3
    # Defaults: 95 % used, capped at 100 GB free on a large disk (ES 8's max_headroom).
    assert min_free_bytes(FLOOD_STAGE, None, None, 100 * gb) == 5 * gb
    assert min_free_bytes(FLOOD_STAGE, None, None, 10_000 * gb) == 100 * gb
    assert min_free_bytes(HIGH_WATERMARK, None, None, 100 * gb) == 10 * gb
    # An explicit percentage or ratio has no headroom unless one is given; a byte size is free space.
    assert min_free_bytes(FLOOD_STAGE, "90%", None, 10_000 * gb) == 1000 * gb
    assert min_free_bytes(FLOOD_STAGE, "0.9", "20gb", 10_000 * gb) == 20 * gb
    assert min_free_bytes(FLOOD_STAGE, "500mb", None, 10_000 * gb) == 500 * 1024**2
    with pytest.raises(IllegalArgument):
        min_free_bytes(FLOOD_STAGE, "120%", None, gb)
