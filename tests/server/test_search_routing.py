"""``?routing=`` on ``_search``, ``_count`` and ``_msearch`` reads only the shards its values hash to."""

from __future__ import annotations

import json

import httpx

from cluster.routing import shard_for

SHARDS = 5


async def test_routing_restricts_searches_to_its_shards(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/r", json={"settings": {"number_of_shards": SHARDS}})
    lines = []
    for i in range(60):
        lines += [json.dumps({"index": {"_index": "r", "_id": str(i), "routing": f"u{i % 6}"}}), json.dumps({"n": i})]
    response = await asgi_client.post("/_bulk?refresh=true", content="\n".join(lines) + "\n",
                                      headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert not response.json()["errors"]

    def expected(*values: str) -> set[str]:
        shards = {shard_for(v, SHARDS) for v in values}
        return {str(i) for i in range(60) if shard_for(f"u{i % 6}", SHARDS) in shards}

    for routing in (["u1"], ["u2", "u5"], ["u0", "u3", "u4"]):
        want = expected(*routing)
        assert len(want) < 60  # the values do not cover every shard, or the test proves nothing
        body = (await asgi_client.post("/r/_search", params={"routing": ",".join(routing), "size": 100})).json()
        assert {hit["_id"] for hit in body["hits"]["hits"]} == want
        assert body["_shards"]["total"] == len({shard_for(v, SHARDS) for v in routing})
        count = (await asgi_client.get("/r/_count", params={"routing": ",".join(routing)})).json()
        assert count["count"] == len(want)
    msearch = '{"index":"r","routing":"u1"}\n{"size":100}\n{"index":"r"}\n{"size":100}\n'
    response = await asgi_client.post("/_msearch", content=msearch, headers={"content-type": "application/x-ndjson"})
    responses = response.json()["responses"]
    assert {h["_id"] for h in responses[0]["hits"]["hits"]} == expected("u1")
    assert len(responses[1]["hits"]["hits"]) == 60


async def test_preference_shards_and_dfs(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/s", json={"settings": {"number_of_shards": 3}})
    lines = []
    for i in range(30):
        lines += [json.dumps({"index": {"_index": "s", "_id": str(i)}}), json.dumps({"n": i})]
    await asgi_client.post("/_bulk?refresh=true", content="\n".join(lines) + "\n",
                           headers={"content-type": "application/x-ndjson"})  # fmt: skip
    on_shard = {s: {str(i) for i in range(30) if shard_for(str(i), 3) == s} for s in range(3)}
    for preference, shards in (("_shards:0", [0]), ("_shards:2,0|_local", [0, 2]), ("_shards:1", [1])):
        body = (await asgi_client.get("/s/_search", params={"preference": preference, "size": 50})).json()
        assert {h["_id"] for h in body["hits"]["hits"]} == set().union(*(on_shard[s] for s in shards))
        assert body["_shards"]["total"] == len(shards)
        count = (await asgi_client.get("/s/_count", params={"preference": preference})).json()["count"]
        assert count == sum(len(on_shard[s]) for s in shards)
    # other preferences choose among copies of a shard: one copy each here, so every document is read
    body = (await asgi_client.get("/s/_search", params={"preference": "_local", "size": 50})).json()
    assert len(body["hits"]["hits"]) == 30
    response = await asgi_client.get("/s/_search", params={"preference": "_shards:x"})
    assert response.status_code == 400 and "preference" in response.text
    # dfs needs global term statistics: refused across shards, the same search on one shard
    response = await asgi_client.get("/s/_search", params={"search_type": "dfs_query_then_fetch"})
    assert response.status_code == 400 and "dfs_query_then_fetch" in response.text
    params = {"search_type": "dfs_query_then_fetch", "preference": "_shards:1", "size": 50}
    assert len((await asgi_client.get("/s/_search", params=params)).json()["hits"]["hits"]) == len(on_shard[1])
