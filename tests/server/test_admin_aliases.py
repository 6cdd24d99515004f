"""Aliases: put/get/delete/exists, ``POST _aliases``, aliases in index expressions and the shared namespace."""

from __future__ import annotations

import httpx


async def _index(client: httpx.AsyncClient, name: str, **body: object) -> None:
    response = await client.put(f"/{name}", json=body or None)
    assert response.status_code == 200, response.text


async def test_put_get_exists_delete_alias(asgi_client: httpx.AsyncClient) -> None:
    await _index(asgi_client, "logs-a")
    response = await asgi_client.put("/logs-a/_alias/logs", json={"routing": "r1", "is_write_index": True})
    assert response.json() == {"acknowledged": True}
    body = (await asgi_client.get("/_alias/logs")).json()
    assert body == {"logs-a": {"aliases": {"logs": {"index_routing": "r1", "search_routing": "r1",
                                                    "is_write_index": True}}}}  # fmt: skip
    assert (await asgi_client.head("/_alias/logs")).status_code == 200
    assert (await asgi_client.head("/_alias/nope")).status_code == 404
    missing = await asgi_client.get("/_alias/nope")
    assert missing.status_code == 404 and missing.json()["error"] == "alias [nope] missing"
    assert (await asgi_client.delete("/logs-a/_alias/logs")).json() == {"acknowledged": True}
    assert (await asgi_client.get("/logs-a/_alias")).json() == {"logs-a": {"aliases": {}}}
    gone = await asgi_client.delete("/logs-a/_alias/logs")
    assert gone.status_code == 404 and gone.json()["error"]["type"] == "aliases_not_found_exception"


async def test_update_aliases_is_atomic_and_resolves_in_search(asgi_client: httpx.AsyncClient) -> None:
    await _index(asgi_client, "a1")
    await _index(asgi_client, "a2")
    for index in ("a1", "a2"):
        await asgi_client.put(f"/{index}/_doc/1?refresh=true", json={"f": index})
    actions = {"actions": [{"add": {"indices": ["a1", "a2"], "alias": "both"}},
                           {"add": {"index": "a1", "alias": "one", "filter": {"term": {"f": "a1"}}}}]}  # fmt: skip
    response = await asgi_client.post("/_aliases", json=actions)
    assert response.status_code == 200 and response.json()["acknowledged"] is True
    count = await asgi_client.get("/both/_count")
    assert count.json()["count"] == 2
    assert (await asgi_client.get("/one/_alias")).json()["a1"]["aliases"]["one"]["filter"] == {"term": {"f": "a1"}}
    # an action failing later leaves the earlier ones undone
    bad = {"actions": [{"remove": {"index": "a1", "alias": "both"}}, {"add": {"index": "missing", "alias": "x"}}]}
    assert (await asgi_client.post("/_aliases", json=bad)).status_code == 404
    assert (await asgi_client.get("/both/_count")).json()["count"] == 2
    cat = await asgi_client.get("/_cat/aliases?format=json&s=alias,index")
    assert [(r["alias"], r["index"]) for r in cat.json()] == [("both", "a1"), ("both", "a2"), ("one", "a1")]


async def test_alias_and_index_names_share_a_namespace(asgi_client: httpx.AsyncClient) -> None:
    await _index(asgi_client, "idx")
    await _index(asgi_client, "other")
    clash = await asgi_client.put("/idx/_alias/other")
    assert clash.status_code == 400
    assert clash.json()["error"]["type"] == "invalid_alias_name_exception"
    assert "an index or data stream exists with the same name as the alias" in clash.json()["error"]["reason"]
    await asgi_client.put("/idx/_alias/al")
    create = await asgi_client.put("/al")
    assert create.status_code == 400 and create.json()["error"]["type"] == "invalid_index_name_exception"
    delete = await asgi_client.delete("/al")
    assert delete.status_code == 400 and "matches an alias" in delete.json()["error"]["reason"]


async def test_create_body_aliases_and_write_index_rules(asgi_client: httpx.AsyncClient) -> None:
    await _index(asgi_client, "w1", aliases={"w": {"is_write_index": "true"}, "r": {"routing": "b"}})
    body = (await asgi_client.get("/w1/_alias")).json()["w1"]["aliases"]
    assert body == {"r": {"index_routing": "b", "search_routing": "b"}, "w": {"is_write_index": True}}
    await _index(asgi_client, "w2")
    twice = await asgi_client.put("/w2/_alias/w", json={"is_write_index": True})
    assert twice.status_code == 400 and "more than one write index" in twice.json()["error"]["reason"]
    # a bulk write through an alias with several indices and no write index fails per item, as in ES
    await asgi_client.put("/w2/_alias/r")
    bulk = await asgi_client.post("/_bulk", content=b'{"index":{"_index":"r"}}\n{"f":1}\n',
                                  headers={"content-type": "application/x-ndjson"})  # fmt: skip
    item = bulk.json()["items"][0]["index"]
    assert item["status"] == 400 and item["error"]["reason"].startswith("no write index is defined for alias [r]")


async def test_update_aliases_partial_results_and_must_exist(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/ti1")
    await c.put("/ti2")
    partial = (await c.post("/_aliases", json={"actions": [
        {"add": {"index": "ti*", "aliases": "a1"}},
        {"remove": {"index": "ti*", "aliases": "nope"}},
    ]})).json()  # fmt: skip
    assert partial["errors"] is True and len(partial["action_results"]) == 2
    assert partial["action_results"][0] == {"action": {"type": "add", "indices": ["ti1", "ti2"], "aliases": ["a1"]},
                                            "status": 200}  # fmt: skip
    failed = partial["action_results"][1]
    assert failed["status"] == 404 and failed["error"]["type"] == "aliases_not_found_exception"
    assert (await c.head("/_alias/a1")).status_code == 200  # the add was applied
    strict = await c.post("/_aliases", json={"actions": [
        {"remove": {"index": "ti1", "alias": "nope", "must_exist": True}},
        {"add": {"index": "ti1", "alias": "a3"}},
    ]})  # fmt: skip
    assert strict.status_code == 404 and (await c.head("/_alias/a3")).status_code == 404  # nothing applied
    for action in ({"add": {"index": "ti1", "alias": "x", "must_exist": True}},
                   {"remove_index": {"index": "ti1", "must_exist": True}}):
        assert (await c.post("/_aliases", json={"actions": [action]})).status_code == 400
    replaced = await c.post("/_aliases", json={"actions": [
        {"add": {"index": "ti2", "aliases": ["ti1"]}}, {"remove_index": {"index": "ti1"}},
    ]})  # fmt: skip
    assert replaced.json() == {"acknowledged": True, "errors": False}
    assert list((await c.get("/ti1")).json()) == ["ti2"]


async def test_get_alias_missing_and_exclusions(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/gi", json={"aliases": {"test_alias_1": {}, "test_alias_2": {}, "test_blias_1": {}}})
    excluded = await c.get("/_alias/test_alias_1,test_blias_1,-test_alias*")
    assert excluded.status_code == 200 and excluded.json() == {"gi": {"aliases": {"test_blias_1": {}}}}
    literal = await c.get("/_alias/-test_alias_1,test_alias*,-test_alias_2")
    assert literal.status_code == 404 and literal.json()["error"] == "alias [-test_alias_1] missing"
    assert literal.json()["gi"] == {"aliases": {"test_alias_1": {}}}
    two = await c.get("/_alias/zz,aa,test_alias_1")
    assert two.json()["error"] == "aliases [aa,zz] missing"


async def test_put_alias_body_and_delete_against_alias(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/di", json={"aliases": {"dalias": {}}})
    await c.put("/di2")
    unknown = await c.put("/di/_alias/x", json={"foo": "bar"})
    assert unknown.status_code == 400 and unknown.json()["error"]["reason"] == "Unsupported field [foo]"
    array = await c.put("/di/_alias/x", json={"routing": ["r"]})
    assert array.status_code == 400 and "Unexpected token [START_ARRAY]" in array.json()["error"]["reason"]
    assert (await c.delete("/dalias")).status_code == 400
    assert (await c.delete("/dalias?ignore_unavailable=true")).status_code == 200
    assert (await c.delete("/dalia*")).status_code == 200  # a wildcard matches indices only
    assert (await c.delete("/dalia*?allow_no_indices=false")).status_code == 404
    assert (await c.head("/di")).status_code == 200
    assert (await c.delete("/dalias,di2?ignore_unavailable=true")).status_code == 200
    assert (await c.head("/di2")).status_code == 404 and (await c.head("/di")).status_code == 200
