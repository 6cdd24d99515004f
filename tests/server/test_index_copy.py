"""``_clone``, ``_shrink``, ``_split`` (preconditions and copied documents), ``_resolve/cluster``,
``_disk_usage`` and ``_field_usage_stats``."""

from __future__ import annotations

import httpx

from tests.server.helpers import assert_canonical_error

MAPPINGS = {"properties": {"n": {"type": "long"}, "t": {"type": "text"}, "k": {"type": "keyword"}}}
DOCS = {str(i): {"n": i, "t": f"word{i} common", "k": f"k{i % 3}"} for i in range(25)}


async def _source(client: httpx.AsyncClient, name: str = "src", shards: int = 4) -> None:
    created = await client.put(f"/{name}", json={"settings": {"number_of_shards": shards, "number_of_replicas": 0},
                                                 "mappings": MAPPINGS})  # fmt: skip
    assert created.status_code == 200, created.text
    lines = "".join(f'{{"index":{{"_id":"{i}"}}}}\n{{"n":{d["n"]},"t":"{d["t"]}","k":"{d["k"]}"}}\n'
                    for i, d in DOCS.items())  # fmt: skip
    # not refreshed: a copy must include acknowledged writes too
    bulk = await client.post(f"/{name}/_bulk", content=lines, headers={"content-type": "application/x-ndjson"})
    assert bulk.json()["errors"] is False


async def _all_docs(client: httpx.AsyncClient, index: str) -> dict[str, dict[str, object]]:
    body = (await client.post(f"/{index}/_search", json={"size": 100})).json()
    return {hit["_id"]: hit["_source"] for hit in body["hits"]["hits"]}


async def test_copy_needs_a_write_block(asgi_client: httpx.AsyncClient) -> None:
    await _source(asgi_client)
    response = await asgi_client.post("/src/_clone/dst")
    assert_canonical_error(response, 400, "illegal_state_exception")  # ES: 500; the request is at fault
    assert "must be read-only" in response.json()["error"]["reason"]
    assert (await asgi_client.head("/dst")).status_code == 404


async def test_shard_count_rules(asgi_client: httpx.AsyncClient) -> None:
    await _source(asgi_client)
    await asgi_client.put("/src/_block/write")
    cases = [
        ("_clone", 2, "must be the same as the number of source shards"),
        ("_shrink", 3, "must be a multiple of [3]"),
        ("_shrink", 8, "must be less that the number of source shards"),
        ("_split", 6, "must be a factor of [6]"),
        ("_split", 2, "must be less that the number of target shards"),
    ]
    for api, shards, message in cases:
        response = await asgi_client.post(f"/src/{api}/dst", json={"settings": {"index.number_of_shards": shards}})
        assert_canonical_error(response, 400, "illegal_argument_exception")
        assert message in response.json()["error"]["reason"], (api, shards, response.json())
    response = await asgi_client.post("/src/_clone/dst", json={"mappings": {}})
    assert_canonical_error(response, 400, "illegal_argument_exception")
    assert_canonical_error(await asgi_client.post("/missing/_clone/dst"), 404, "index_not_found_exception")


async def test_clone_shrink_split_copy_every_document(asgi_client: httpx.AsyncClient) -> None:
    await _source(asgi_client)
    assert (await asgi_client.put("/src/_block/write")).status_code == 200
    for api, target, shards in (("_clone", "c", 4), ("_shrink", "s", 2), ("_split", "p", 8)):
        response = await asgi_client.put(f"/src/{api}/{target}", json={
            "settings": {"index.number_of_shards": shards, "index.blocks.write": None},
            "aliases": {f"{target}-alias": {}},
        })  # fmt: skip
        assert response.status_code == 200, response.text
        assert response.json() == {"acknowledged": True, "shards_acknowledged": True, "index": target}
        settings = (await asgi_client.get(f"/{target}/_settings?flat_settings=true")).json()[target]["settings"]
        assert settings["index.number_of_shards"] == str(shards)
        assert "index.blocks.write" not in settings  # nulled by the request
        assert (await asgi_client.get(f"/{target}/_mapping")).json()[target]["mappings"] == MAPPINGS
        assert await _all_docs(asgi_client, f"{target}-alias") == DOCS
        # documents are routed by the target's shard count: every realtime get finds its document
        for doc_id, source in DOCS.items():
            got = (await asgi_client.get(f"/{target}/_doc/{doc_id}")).json()
            assert got["found"] is True and got["_source"] == source
        count = (await asgi_client.get(f"/{target}/_count", params={"q": "k:k1"})).json()["count"]
        assert count == sum(1 for d in DOCS.values() if d["k"] == "k1")


async def test_write_block_is_inherited(asgi_client: httpx.AsyncClient) -> None:
    await _source(asgi_client, shards=2)
    await asgi_client.put("/src/_block/write")
    assert (await asgi_client.post("/src/_shrink/one")).status_code == 200
    settings = (await asgi_client.get("/one/_settings?flat_settings=true")).json()["one"]["settings"]
    assert settings["index.blocks.write"] == "true" and settings["index.number_of_shards"] == "1"
    assert (await asgi_client.get("/one/_count")).json()["count"] == len(DOCS)
    taken = await asgi_client.post("/src/_shrink/one")
    assert_canonical_error(taken, 400, "resource_already_exists_exception")


async def test_resolve_cluster(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/rc1", json={"aliases": {"rca": {}}})
    local = (await asgi_client.get("/_resolve/cluster/rc*")).json()["(local)"]
    assert local["connected"] is True and local["skip_unavailable"] is False and local["matching_indices"] is True
    assert local["version"]["number"]
    assert (await asgi_client.get("/_resolve/cluster/zz*")).json()["(local)"]["matching_indices"] is False
    missing = (await asgi_client.get("/_resolve/cluster/nope")).json()["(local)"]
    assert missing["matching_indices"] is False and "no such index [nope]" in missing["error"]
    assert_canonical_error(await asgi_client.get("/_resolve/cluster/remote:idx"), 404,
                           "no_such_remote_cluster_exception")  # fmt: skip


async def test_disk_usage_and_field_usage(asgi_client: httpx.AsyncClient) -> None:
    await _source(asgi_client, shards=1)
    refused = await asgi_client.post("/src/_disk_usage")
    assert_canonical_error(refused, 400, "illegal_argument_exception")
    body = (await asgi_client.post("/src/_disk_usage?run_expensive_tasks=true")).json()
    usage = body["src"]
    stats = (await asgi_client.get("/src/_stats/store")).json()
    assert usage["store_size_in_bytes"] == stats["indices"]["src"]["primaries"]["store"]["size_in_bytes"] > 0
    fields = usage["fields"]
    assert set(fields) == {"n", "t", "k"}
    # keyword: 2 bytes per value in the inverted index, doc values and _source
    assert fields["k"]["inverted_index"]["total_in_bytes"] == 2 * len(DOCS)
    assert fields["k"]["doc_values_in_bytes"] == 2 * len(DOCS)
    assert fields["n"]["points_in_bytes"] == 8 * len(DOCS) and fields["n"]["inverted_index"]["total_in_bytes"] == 0
    assert fields["t"]["doc_values_in_bytes"] == 0 and fields["t"]["norms_in_bytes"] == len(DOCS)
    total = usage["all_fields"]["total_in_bytes"]
    assert total == sum(f["total_in_bytes"] for f in fields.values())
    field_usage = (await asgi_client.get("/src/_field_usage_stats")).json()
    shards = field_usage["src"]["shards"]
    assert len(shards) == 1 and shards[0]["routing"]["primary"] is True
    assert shards[0]["stats"]["fields"] == {}


async def test_resize_checks_in_es_order_and_split_from_one(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/src2", json={"settings": {"number_of_shards": 2, "number_of_replicas": 0}})
    # shard arithmetic is checked before the write block, as ES does
    clone = await c.put("/src2/_clone/t1", json={"settings": {"index.number_of_shards": 6}})
    assert clone.status_code == 400 and clone.json()["error"]["type"] == "illegal_argument_exception"
    routing = await c.put("/src2/_split/t1", json={"settings": {"index.number_of_shards": 4,
                                                                 "index.number_of_routing_shards": 8}})  # fmt: skip
    assert routing.json()["error"]["reason"] == "cannot provide index.number_of_routing_shards on resize"
    not_multiple = await c.put("/src2/_split/t1", json={"settings": {"index.number_of_shards": 6}})
    assert not_multiple.status_code == 400 and not_multiple.json()["error"]["type"] == "illegal_state_exception"
    await c.put("/one", json={"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    for i in range(20):
        await c.put(f"/one/_doc/{i}", json={"n": i})
    await c.put("/one/_settings", json={"index.blocks.write": True})
    split = await c.put("/one/_split/five", json={"settings": {"index.number_of_shards": 5}})
    assert split.status_code == 200, split.text
    await c.post("/five/_refresh")
    assert (await c.get("/five/_count")).json()["count"] == 20
    for i in range(20):  # every document is found where the target routes it
        assert (await c.get(f"/five/_doc/{i}")).json()["found"] is True
    copied = await c.put("/one/_clone/cl?copy_settings=true")
    assert copied.status_code == 200 and "copy_settings" in copied.headers["warning"]
    assert (await c.put("/one/_clone/cl2?copy_settings=false")).status_code == 400
