"""``_nodes/stats``: metric and index_metric selection, shard counts, segment files, fs, indexing pressure."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx

from tests.server.helpers import assert_canonical_error

IDENTITY = {"timestamp", "name", "transport_address", "host", "ip", "roles", "attributes"}


def _node(body: dict) -> dict:
    (node,) = body["nodes"].values()
    return node


async def test_metric_and_index_metric_selection(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/a", json={"settings": {"number_of_shards": 2, "number_of_replicas": 0}})
    await c.put("/b", json={"settings": {"number_of_shards": 3, "number_of_replicas": 0}})
    node = _node((await c.get("/_nodes/stats")).json())
    assert {"indices", "os", "process", "jvm", "fs", "transport", "http", "breakers", "discovery",
            "indexing_pressure", "allocations"} <= set(node)  # fmt: skip
    assert node["indices"]["shards"] == {"total_count": 5}
    os_only = _node((await c.get("/_nodes/stats/os")).json())
    assert set(os_only) == IDENTITY | {"os"}
    store = _node((await c.get("/_nodes/_local/stats/indices/store,shard_stats")).json())
    assert set(store) == IDENTITY | {"indices"} and set(store["indices"]) == {"store", "shards"}
    assert store["indices"]["store"]["total_data_set_size_in_bytes"] == store["indices"]["store"]["size_in_bytes"]
    everything = _node((await c.get("/_nodes/stats/indices/_all")).json())["indices"]
    assert {"docs", "store", "search", "segments", "translog", "recovery", "shards", "merges"} <= set(everything)
    assert_canonical_error(await c.get("/_nodes/stats/bogus"), 400, "illegal_argument_exception")
    assert_canonical_error(await c.get("/_nodes/stats/indices/bogus"), 400, "illegal_argument_exception")
    assert_canonical_error(await c.get("/_nodes/stats/os/docs"), 400, "illegal_argument_exception")
    none = (await c.get("/_nodes/nobody/stats")).json()
    assert none["nodes"] == {} and none["_nodes"]["total"] == 0


async def test_segment_file_sizes_are_the_committed_files(asgi_client: httpx.AsyncClient, tmp_path: Path) -> None:
    c = asgi_client
    await c.put("/f", json={"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    for i in range(5):
        await c.put(f"/f/_doc/{i}", json={"t": f"some words {i}", "n": i})
    await c.post("/f/_refresh")
    uuid = (await c.get("/f/_settings?flat_settings=true")).json()["f"]["settings"]["index.uuid"]
    shard_dir = tmp_path / "data" / "indices" / uuid / "0"
    generation = json.loads((shard_dir / "state.json").read_text())["generation"]
    index_dir = shard_dir / f"index.{generation}"
    segments = {s["segment_id"].replace("-", "") for s in json.loads((index_dir / "meta.json").read_text())["segments"]}
    expected: dict[str, int] = {}
    for name in os.listdir(index_dir):
        stem, _, ext = name.partition(".")
        if stem in segments:
            expected[ext] = expected.get(ext, 0) + (index_dir / name).stat().st_size
    assert expected  # the refresh committed a segment
    sizes = _node((await c.get("/_nodes/stats/indices/segments?include_segment_file_sizes=true")).json())
    got = {k: v["size_in_bytes"] for k, v in sizes["indices"]["segments"]["file_sizes"].items()}
    assert got == expected
    stats = (await c.get("/f/_stats/segments?include_segment_file_sizes=true")).json()
    assert {k: v["size_in_bytes"] for k, v in stats["_all"]["total"]["segments"]["file_sizes"].items()} == expected
    assert "file_sizes" not in (await c.get("/f/_stats/segments")).json()["_all"]["total"]["segments"]


async def test_fs_watermarks_and_indexing_pressure(asgi_client: httpx.AsyncClient, tmp_path: Path) -> None:
    c = asgi_client
    fs = _node((await c.get("/_nodes/stats/fs")).json())["fs"]
    (data,) = fs["data"]
    total = os.statvfs(tmp_path / "data")
    assert data["total_in_bytes"] == total.f_blocks * total.f_frsize
    assert data["path"] == str((tmp_path / "data").resolve()) or data["path"] == os.path.abspath(tmp_path / "data")
    # ES defaults: 85/90/95 % used, capped by 200/150/100 GB of headroom
    gb = 1 << 30
    low = min(int(data["total_in_bytes"] * 0.15), 200 * gb)
    flood = min(int(data["total_in_bytes"] * 0.05), 100 * gb)
    assert abs(data["low_watermark_free_space_in_bytes"] - low) <= 1
    assert abs(data["flood_stage_free_space_in_bytes"] - flood) <= 1
    assert data["low_watermark_free_space_in_bytes"] >= data["high_watermark_free_space_in_bytes"] >= \
        data["flood_stage_free_space_in_bytes"]  # fmt: skip
    before = _node((await c.get("/_nodes/stats/indexing_pressure")).json())["indexing_pressure"]["memory"]
    body = b'{"index":{"_index":"p","_id":"1"}}\n{"x":1}\n'
    await c.post("/_bulk", content=body, headers={"content-type": "application/x-ndjson"})
    after = _node((await c.get("/_nodes/stats/indexing_pressure")).json())["indexing_pressure"]["memory"]
    assert after["total"]["all_in_bytes"] - before["total"]["all_in_bytes"] == len(body)
    assert after["current"]["all_in_bytes"] == 0 and after["limit_in_bytes"] > 0


async def test_thread_pools_are_the_real_queues(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/tp", json={"settings": {"number_of_replicas": 0}})
    before = _node((await c.get("/_nodes/stats/thread_pool")).json())["thread_pool"]
    assert set(before) == {"generic", "search", "write"}
    for _ in range(3):
        await c.get("/tp/_search")
    after = _node((await c.get("/_nodes/stats/thread_pool")).json())["thread_pool"]
    assert after["search"]["completed"] - before["search"]["completed"] >= 3
    info = _node((await c.get("/_nodes/thread_pool")).json())["thread_pool"]
    assert info["search"]["queue_size"] > 0 and info["write"]["size"] >= 1
    cat = (await c.get("/_cat/thread_pool/search,write?h=name,queue_size")).text.split()
    assert cat == ["search", str(info["search"]["queue_size"]), "write", str(info["write"]["queue_size"])]
