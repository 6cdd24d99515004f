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
