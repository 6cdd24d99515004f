"""``_stats`` ``search`` counts: per shard searched and fetched, per ``stats`` group, per level."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.server.helpers import assert_canonical_error


async def test_search_counts_and_groups(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/s", json={"settings": {"number_of_shards": 3, "number_of_replicas": 0}})
    await c.put("/t", json={"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    for i in range(6):
        await c.put(f"/s/_doc/{i}", json={"n": i})
    await c.post("/s,t/_refresh")
    per_shard = (await c.get("/s/_stats/docs?level=shards")).json()["indices"]["s"]["shards"]
    with_docs = sum(1 for copies in per_shard.values() if copies[0]["docs"]["count"] > 0)
    assert with_docs >= 1
    await c.post("/s/_search", json={"stats": ["bar", "baz"], "size": 100})  # 3 shards queried, fetched where docs
    await c.post("/s/_search?stats=bar", json={"size": 0})  # 3 queried, none fetched
    await c.post("/t/_search", json={})  # 1 queried (empty), none fetched
    stats = (await c.get("/_stats")).json()
    s = stats["indices"]["s"]["total"]["search"]
    assert (s["query_total"], s["fetch_total"]) == (6, with_docs) and "groups" not in s
    t = stats["indices"]["t"]["total"]["search"]
    assert (t["query_total"], t["fetch_total"]) == (1, 0)
    assert stats["_all"]["total"]["search"]["query_total"] == 7
    one = (await c.get("/_stats/search?groups=bar")).json()["indices"]["s"]["total"]["search"]["groups"]
    assert set(one) == {"bar"} and one["bar"]["query_total"] == 6 and one["bar"]["fetch_total"] == with_docs
    star = (await c.get("/s/_stats?groups=*")).json()["_all"]["total"]["search"]["groups"]
    assert {k: v["query_total"] for k, v in star.items()} == {"bar": 6, "baz": 3}
    pattern = (await c.get("/s/_stats?groups=*z")).json()["_all"]["total"]["search"]["groups"]
    assert set(pattern) == {"baz"}
    shards = (await c.get("/s/_stats?level=shards&groups=_all")).json()["indices"]["s"]["shards"]
    assert sum(copies[0]["search"]["query_total"] for copies in shards.values()) == 6
    assert all(copies[0]["search"]["groups"]["bar"]["query_total"] == 2 for copies in shards.values())
    nodes = (await c.get("/_nodes/stats/indices")).json()["nodes"]
    (node,) = nodes.values()
    assert node["indices"]["search"]["query_total"] == 7
    bad = await c.post("/s/_search", json={"stats": {"x": 1}})
    assert_canonical_error(bad, 400, "parsing_exception")


async def test_stats_index_entries(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/openindex")
    await c.put("/closedindex")
    await c.post("/closedindex/_close")
    body = (await c.get("/_stats?expand_wildcards=open,closed&forbid_closed_indices=false")).json()
    assert body["indices"]["openindex"]["status"] == "open"
    closed = body["indices"]["closedindex"]
    # forbid_closed_indices=false: the closed shards' last commits (see tests/server/test_stats_fields.py)
    assert closed["status"] == "close" and closed["primaries"]["docs"]["count"] == 0
    assert closed["primaries"]["translog"]["operations"] == 0
    created = (await c.get("/openindex/_settings?flat_settings=true")).json()["openindex"]["settings"]
    assert body["indices"]["openindex"]["creation_date"] == int(created["index.creation_date"])
    assert body["indices"]["openindex"]["tier_preference"] == "data_content"
    bad = await c.get("/_stats/fieldata")
    assert_canonical_error(bad, 400, "illegal_argument_exception")
    assert bad.json()["error"]["reason"] == (
        "request [/_stats/fieldata] contains unrecognized metric: [fieldata] -> did you mean [fielddata]?"
    )
    assert "did you mean" not in (await c.get("/_stats/zzzzzz")).json()["error"]["reason"]


async def test_shard_level_commit_seq_no_and_idle(asgi_client: httpx.AsyncClient) -> None:
    import time

    c = asgi_client
    await c.put("/lv", json={"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    for i in range(3):
        await c.put(f"/lv/_doc/{i}", json={"n": i})
    await c.post("/lv/_flush")
    copy = (await c.get("/lv/_stats?level=shards")).json()["indices"]["lv"]["shards"]["0"][0]
    assert copy["seq_no"]["max_seq_no"] == 2 and copy["commit"]["num_docs"] == 3
    assert copy["commit"]["user_data"]["max_seq_no"] == "2" and copy["commit"]["id"]
    assert copy["shard_path"]["data_path"].endswith("/0") and copy["search_idle"] is False
    before = copy["commit"]["id"]
    await c.put("/lv/_doc/9", json={"n": 9})
    await c.post("/lv/_flush")
    after = (await c.get("/lv/_stats?level=shards")).json()["indices"]["lv"]["shards"]["0"][0]
    assert after["commit"]["id"] != before and after["commit"]["num_docs"] == 4
    await c.get("/lv/_search")
    started = time.time()
    idle = (await c.get("/lv/_stats?level=shards")).json()["indices"]["lv"]["shards"]["0"][0]["search_idle_time"]
    assert 0 <= idle <= (time.time() - started) * 1000 + 1000


async def test_translog_measured_on_the_wal(asgi_client: httpx.AsyncClient, tmp_path: Path) -> None:
    import os

    c = asgi_client
    await c.put("/tl", json={"settings": {"number_of_shards": 1, "number_of_replicas": 0,
                                          "refresh_interval": "-1"}})  # fmt: skip
    uuid = (await c.get("/tl/_settings?flat_settings=true")).json()["tl"]["settings"]["index.uuid"]
    shard_dir = tmp_path / "data" / "indices" / uuid / "0"
    for i in range(3):
        await c.put(f"/tl/_doc/{i}", json={"n": i})
    log = (await c.get("/tl/_stats/translog")).json()["indices"]["tl"]["primaries"]["translog"]
    on_disk = sum(os.path.getsize(shard_dir / n) for n in os.listdir(shard_dir) if n.startswith("wal."))
    assert log["operations"] == 3 and log["uncommitted_operations"] == 3
    assert log["size_in_bytes"] == on_disk > 0
    await c.post("/tl/_refresh")  # a Diagon refresh commits: nothing left to replay
    log = (await c.get("/tl/_stats/translog")).json()["indices"]["tl"]["primaries"]["translog"]
    assert log["operations"] == 0 and log["size_in_bytes"] < on_disk
    shard = (await c.get("/tl/_stats/translog?level=shards")).json()["indices"]["tl"]["shards"]["0"][0]
    assert shard["translog"]["operations"] == 0


async def test_stats_level_is_validated(asgi_client: httpx.AsyncClient) -> None:
    bad = await asgi_client.get("/_stats?level=nodes")
    assert_canonical_error(bad, 400, "illegal_argument_exception")
    assert "indices" not in (await asgi_client.get("/_stats?level=cluster")).json()
