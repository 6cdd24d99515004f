"""Index operations: open/close, stats, flush, templates applied on creation, field mappings, resolve."""

from __future__ import annotations

import httpx


async def test_close_blocks_search_and_open_restores_it(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/c1", json={"settings": {"number_of_replicas": 0}})
    await asgi_client.put("/c1/_doc/1?refresh=true", json={"a": 1})
    closed = await asgi_client.post("/c1/_close")
    assert closed.json()["acknowledged"] is True
    search = await asgi_client.get("/c1/_search")
    assert search.status_code == 400 and search.json()["error"]["type"] == "index_closed_exception"
    assert (await asgi_client.get("/c*/_search")).json()["hits"]["total"]["value"] == 0
    cat = (await asgi_client.get("/_cat/indices?format=json&h=index,status")).json()
    assert cat == [{"index": "c1", "status": "close"}]
    await asgi_client.post("/c1/_open")
    assert (await asgi_client.get("/c1/_count")).json()["count"] == 1


async def test_stats_and_flush_counts(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/st", json={"settings": {"number_of_replicas": 0}})
    for i in range(3):
        await asgi_client.put(f"/st/_doc/{i}", json={"n": i})
    await asgi_client.post("/st/_flush")
    body = (await asgi_client.get("/st/_stats")).json()
    primaries = body["indices"]["st"]["primaries"]
    assert primaries["docs"]["count"] == 3
    assert primaries["flush"]["total"] == 1
    assert primaries["indexing"]["index_total"] == 3
    assert body["_all"]["primaries"]["docs"]["count"] == 3
    only_docs = (await asgi_client.get("/st/_stats/docs")).json()["indices"]["st"]["primaries"]
    assert set(only_docs) == {"docs"}


async def test_templates_apply_on_creation_by_priority(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/_component_template/ct", json={
        "template": {"mappings": {"properties": {"from_ct": {"type": "keyword"}}}}})  # fmt: skip
    await asgi_client.put("/_index_template/low", json={"index_patterns": ["t-*"], "priority": 1,
                          "template": {"settings": {"number_of_shards": 3}}})  # fmt: skip
    response = await asgi_client.put("/_index_template/high", json={
        "index_patterns": ["t-*"], "priority": 5, "composed_of": ["ct"],
        "template": {"settings": {"number_of_shards": 2}, "aliases": {"t-all": {}}}})  # fmt: skip
    assert response.status_code == 200, response.text
    legacy = await asgi_client.put("/_template/old", json={"index_patterns": ["t-*"],
                                                           "settings": {"number_of_shards": 4}})  # fmt: skip
    assert legacy.status_code == 200
    # auto-created by a write: the composable template wins, the legacy one is ignored
    await asgi_client.put("/t-1/_doc/1", json={"x": 1})
    index = (await asgi_client.get("/t-1")).json()["t-1"]
    assert index["settings"]["index"]["number_of_shards"] == "2"
    assert index["mappings"]["properties"]["from_ct"] == {"type": "keyword"}
    assert index["aliases"] == {"t-all": {}}
    got = (await asgi_client.get("/_index_template/high")).json()["index_templates"][0]
    assert got["index_template"]["composed_of"] == ["ct"]
    in_use = await asgi_client.delete("/_component_template/ct")
    assert in_use.status_code == 400
    missing = await asgi_client.get("/_index_template/nope")
    assert missing.status_code == 404
    same_priority = await asgi_client.put("/_index_template/clash", json={"index_patterns": ["t-*"], "priority": 5})
    assert same_priority.status_code == 400


async def test_field_mapping_and_resolve_index(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/fm", json={"mappings": {"properties": {"title": {"type": "text", "fields": {
        "raw": {"type": "keyword"}}}}}, "aliases": {"fm-alias": {}}})  # fmt: skip
    body = (await asgi_client.get("/fm/_mapping/field/title.raw")).json()
    assert body == {"fm": {"mappings": {"title.raw": {"full_name": "title.raw",
                                                      "mapping": {"raw": {"type": "keyword"}}}}}}  # fmt: skip
    resolved = (await asgi_client.get("/_resolve/index/fm*")).json()
    assert resolved["indices"] == [{"name": "fm", "attributes": ["open"], "aliases": ["fm-alias"]}]
    assert resolved["aliases"] == [{"name": "fm-alias", "indices": ["fm"]}]


async def test_cat_endpoints_answer(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/cat1", json={"settings": {"number_of_shards": 2, "number_of_replicas": 1}})
    shards = (await asgi_client.get("/_cat/shards?format=json&h=index,shard,prirep,state")).json()
    assert sorted((r["shard"], r["prirep"], r["state"]) for r in shards) == [
        ("0", "p", "STARTED"),
        ("0", "r", "UNASSIGNED"),
        ("1", "p", "STARTED"),
        ("1", "r", "UNASSIGNED"),
    ]
    help_text = (await asgi_client.get("/_cat")).text
    assert help_text.startswith("=^.^=\n") and "/_cat/shards\n" in help_text
    for path in (
        "nodes",
        "master",
        "allocation",
        "thread_pool",
        "plugins",
        "pending_tasks",
        "templates",
        "segments",
        "recovery",
        "nodeattrs",
        "fielddata",
        "tasks",
    ):
        response = await asgi_client.get(f"/_cat/{path}?format=json")
        assert response.status_code == 200, path
        assert isinstance(response.json(), list), path


async def test_get_index_features_human_and_wildcard_states(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/gi_1", json={"aliases": {"al": {}}, "mappings": {"properties": {"f": {"type": "keyword"}}}})
    await c.put("/gi_2")
    await c.post("/gi_2/_close")
    only = (await c.get("/gi_1?features=aliases,settings")).json()["gi_1"]
    assert only["mappings"] == {} and only["aliases"] == {"al": {}} and only["settings"]["index"]["uuid"]
    assert (await c.get("/gi_1?features=nope")).status_code == 400
    human = (await c.get("/gi_1?human=true")).json()["gi_1"]["settings"]["index"]
    assert human["creation_date_string"].endswith("Z") and human["version"]["created_string"]
    assert "creation_date_string" not in (await c.get("/gi_1")).json()["gi_1"]["settings"]["index"]
    assert set((await c.get("/gi_*?expand_wildcards=closed")).json()) == {"gi_2"}
    assert set((await c.get("/gi_*?expand_wildcards=open")).json()) == {"gi_1"}
    assert set((await c.get("/gi_*?expand_wildcards=open,closed")).json()) == {"gi_1", "gi_2"}
    assert set((await c.get("/gi_1,gi_2?expand_wildcards=closed")).json()) == {"gi_1", "gi_2"}  # named: kept
    invalid = await c.get("/_foo")
    assert invalid.status_code == 400 and invalid.json()["error"]["type"] == "invalid_index_name_exception"


async def test_allow_no_indices_after_ignored_names(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    missing = await c.get("/nope/_mapping?ignore_unavailable=true&allow_no_indices=false")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "index_not_found_exception"
    assert (await c.get("/nope/_mapping?ignore_unavailable=true")).json() == {}
    assert (await c.get("/_segments?allow_no_indices=false")).status_code == 404
    remote = await c.get("/remote1:t/_mapping")
    assert remote.status_code == 400 and "Cross-cluster calls are not supported" in remote.json()["error"]["reason"]


async def test_get_settings_all_names(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/gs", json={"settings": {"number_of_shards": 2}})
    every = (await c.get("/gs/_settings/_all?flat_settings=true")).json()["gs"]["settings"]
    assert every["index.number_of_shards"] == "2" and "index.uuid" in every
    one = (await c.get("/gs/_settings/index.number_of_shards?flat_settings=true")).json()["gs"]["settings"]
    assert one == {"index.number_of_shards": "2"}


async def test_field_mapping_include_defaults(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/fm2", json={"mappings": {"properties": {"t": {"type": "text", "analyzer": "whitespace"},
                                                          "k": {"type": "keyword"}}}})  # fmt: skip
    plain = (await c.get("/fm2/_mapping/field/t")).json()["fm2"]["mappings"]["t"]["mapping"]["t"]
    assert plain == {"type": "text", "analyzer": "whitespace"}
    full = (await c.get("/fm2/_mapping/field/t,k?include_defaults=true")).json()["fm2"]["mappings"]
    assert full["t"]["mapping"]["t"]["analyzer"] == "whitespace"  # explicit wins
    assert full["t"]["mapping"]["t"]["search_analyzer"] == "whitespace" and full["t"]["mapping"]["t"]["index"] is True
    assert full["k"]["mapping"]["k"]["ignore_above"] == 2147483647 and full["k"]["mapping"]["k"]["doc_values"]
