"""``passthrough`` objects: dotted names stay whole, fields answer by their name without the prefix (the
highest priority wins, a real field wins over both), ``field_caps`` flags the objects."""

from __future__ import annotations

import httpx

from tests.server.helpers import assert_canonical_error

MAPPING = {"properties": {
    "attributes": {"type": "passthrough", "priority": 10, "properties": {"host.name": {"type": "keyword"}}},
    "resource": {"properties": {"attributes": {"type": "passthrough", "priority": 20,
                                               "properties": {"host.name": {"type": "keyword"}}}}},
}}  # fmt: skip


async def test_passthrough_queries_and_field_caps(asgi_client: httpx.AsyncClient) -> None:
    assert (await asgi_client.put("/pt", json={"mappings": MAPPING})).status_code == 200
    docs = [{"attributes": {"host.name": "a"}, "resource": {"attributes": {"host.name": "b"}}},
            {"attributes": {"host.name": "b", "zone": "z1"}}]  # fmt: skip
    for i, doc in enumerate(docs):
        await asgi_client.put(f"/pt/_doc/{i}", json=doc, params={"refresh": "true"})
    # "host.name" is resource.attributes.host.name (priority 20 over 10)
    hits = (await asgi_client.post("/pt/_search", json={"query": {"term": {"host.name": "b"}}})).json()["hits"]
    assert [h["_id"] for h in hits["hits"]] == ["0"]
    full = await asgi_client.post("/pt/_search", json={"query": {"term": {"attributes.host.name": "b"}}})
    assert [h["_id"] for h in full.json()["hits"]["hits"]] == ["1"]
    zone = await asgi_client.post("/pt/_search", json={"query": {"term": {"zone": "z1"}}})
    assert zone.json()["hits"]["total"]["value"] == 1
    props = (await asgi_client.get("/pt/_mapping")).json()["pt"]["mappings"]["properties"]["attributes"]["properties"]
    assert set(props) == {"host.name", "zone"}
    caps = (await asgi_client.get("/pt/_field_caps", params={"fields": "attributes*,resource*"})).json()["fields"]
    assert caps["attributes"]["object"]["passthrough"] is True
    assert caps["resource.attributes"]["object"]["passthrough"] is True
    assert "passthrough" not in caps["resource"]["object"]
    assert caps["attributes.host.name"]["keyword"]["type"] == "keyword"


async def test_passthrough_priority_is_required(asgi_client: httpx.AsyncClient) -> None:
    bad = await asgi_client.put("/pt2", json={"mappings": {"properties": {"a": {"type": "passthrough"}}}})
    assert_canonical_error(bad, 400, "mapper_parsing_exception")
    negative = {"mappings": {"properties": {"a": {"type": "passthrough", "priority": -1}}}}
    neg = await asgi_client.put("/pt2", json=negative)
    assert_canonical_error(neg, 400, "mapper_parsing_exception")
    plain = await asgi_client.put("/pt2", json={"mappings": {"properties": {"a": {"type": "object", "priority": 1}}}})
    assert_canonical_error(plain, 400, "mapper_parsing_exception")
