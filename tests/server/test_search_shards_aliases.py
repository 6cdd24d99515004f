"""``_search_shards`` alias names and filters, ``_count`` ``stats`` groups, and the did-you-mean of an unknown
query name (search and ``_validate/query``)."""

from __future__ import annotations

import httpx


async def test_search_shards_alias_filters(asgi_client: httpx.AsyncClient) -> None:
    r = await asgi_client.put("/t", json={"aliases": {"plain": {}, "f1": {"filter": {"term": {"k": "a"}}},
                                                      "f2": {"filter": {"term": {"k": "b"}}}}})  # fmt: skip
    assert r.status_code == 200, r.text

    async def entry(index: str) -> dict[str, object]:
        body = (await asgi_client.get(f"/{index}/_search_shards")).json()
        assert [group[0]["index"] for group in body["shards"]] == ["t"]
        return body["indices"]["t"]  # type: ignore[no-any-return]

    assert await entry("plain") == {"aliases": ["plain"]}
    assert await entry("f1") == {"aliases": ["f1"], "filter": {"term": {"k": {"value": "a", "boost": 1.0}}}}
    both = await entry("f1,f2")
    assert both["aliases"] == ["f1", "f2"]
    assert both["filter"]["bool"]["should"] == [  # type: ignore[index]
        {"term": {"k": {"value": "a", "boost": 1.0}}}, {"term": {"k": {"value": "b", "boost": 1.0}}}
    ]  # fmt: skip
    assert await entry("f1,plain") == {"aliases": ["f1", "plain"]}  # an unfiltered alias: no filter
    assert await entry("t*") == {}  # the index itself named (no alias matches the pattern): no filter
    assert await entry("t,f1") == {"aliases": ["f1"]}  # the index named too: no filter
    assert await entry("f*") == {"aliases": ["f1", "f2"], "filter": both["filter"]}
    assert await entry("t") == {}


async def test_count_stats_groups(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/c/_doc/1?refresh=true", json={"x": 1})
    r = await asgi_client.post("/c/_count", json={"query": {"match_all": {}}, "stats": ["g1", "g2"]})
    assert r.status_code == 200 and r.json()["count"] == 1
    stats = (await asgi_client.get("/c/_stats/search", params={"groups": "g1,g2"})).json()
    groups = stats["indices"]["c"]["total"]["search"]["groups"]
    assert groups["g1"]["query_total"] == 1 and groups["g2"]["query_total"] == 1
    r = await asgi_client.post("/c/_count", json={"stats": 5})
    assert r.status_code == 400
    r = await asgi_client.post("/c/_count", json={"size": 5})
    assert r.status_code == 400 and "request does not support [size]" in r.text


async def test_unknown_query_did_you_mean(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/v", json={})
    r = await asgi_client.post("/v/_search", json={"query": {"boool": {}}})
    assert r.status_code == 400 and r.json()["error"]["reason"] == "unknown query [boool] did you mean [bool]?"
    r = await asgi_client.post("/v/_validate/query?explain=true", json={"query": {"matc": {}}})
    assert r.json() == {"valid": False, "error": "org.elasticsearch.common.ParsingException: unknown query [matc] "
                        "did you mean [match]?; nested: NamedObjectNotFoundException[unknown field [matc]];"}
