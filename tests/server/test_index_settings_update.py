"""``PUT /{index}/_settings``: final, private and static settings, ``preserve_existing`` and ``reopen``."""

from __future__ import annotations

import httpx

from tests.server.helpers import assert_canonical_error


async def _flat(c: httpx.AsyncClient, index: str) -> dict:
    return (await c.get(f"/{index}/_settings?flat_settings=true")).json()[index]["settings"]


async def test_static_final_private_and_preserve(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/t", json={"settings": {"number_of_replicas": 0}})
    uuid = (await _flat(c, "t"))["index.uuid"]
    static = await c.put("/t/_settings", json={"index.codec": "best_compression"})
    assert_canonical_error(static, 400, "illegal_argument_exception")
    assert static.json()["error"]["reason"] == (
        f"Can't update non dynamic settings [[index.codec]] for open indices [[t/{uuid}]]"
    )
    final = await c.put("/t/_settings", json={"index.number_of_shards": 3})
    assert final.json()["error"]["reason"] == "final index setting [index.number_of_shards], not updateable"
    private = await c.put("/t/_settings", json={"index.uuid": "x"})
    assert "can not update private setting [index.uuid]" in private.json()["error"]["reason"]
    await c.put("/t/_settings?preserve_existing=true", json={"index.number_of_replicas": 1,
                                                              "index.translog.durability": "async"})  # fmt: skip
    flat = await _flat(c, "t")
    assert flat["index.number_of_replicas"] == "0" and flat["index.translog.durability"] == "async"
    reopened = await c.put("/t/_settings?reopen=true", json={"index.codec": "best_compression"})
    assert reopened.json() == {"acknowledged": True}
    flat = await _flat(c, "t")
    assert flat["index.codec"] == "best_compression"
    assert (await c.get("/_cat/indices/t?h=status")).text.strip() == "open"
    await c.post("/t/_close")
    closed = await c.put("/t/_settings", json={"index.codec": "default"})
    assert closed.json() == {"acknowledged": True}
    still_final = await c.put("/t/_settings", json={"index.number_of_shards": 3})
    assert_canonical_error(still_final, 400, "illegal_argument_exception")


async def test_analysis_changes_on_a_closed_index(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/a", json={"settings": {"number_of_replicas": 0},
                            "mappings": {"properties": {"t": {"type": "text"}}}})  # fmt: skip
    await c.put("/a/_doc/1?refresh=true", json={"t": "Quick Fox"})
    refused = await c.put("/a/_settings", json={"analysis": {"analyzer": {"my": {"tokenizer": "whitespace"}}}})
    assert_canonical_error(refused, 400, "illegal_argument_exception")
    await c.post("/a/_close")
    bad = await c.put("/a/_settings", json={"analysis": {"analyzer": {"my": {"tokenizer": "no_such_tokenizer"}}}})
    assert bad.status_code == 400
    ok = await c.put("/a/_settings", json={"analysis": {"analyzer": {"my": {"tokenizer": "whitespace"}}}})
    assert ok.json() == {"acknowledged": True}
    await c.post("/a/_open")
    tokens = (await c.post("/a/_analyze", json={"analyzer": "my", "text": "Quick Fox"})).json()["tokens"]
    assert [t["token"] for t in tokens] == ["Quick", "Fox"]
    assert (await c.get("/a/_search?q=t:quick")).json()["hits"]["total"]["value"] == 1


async def test_translog_retention_settings_are_refused(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    created = await c.put("/tr", json={"settings": {"index.translog.retention.size": "128mb"}})
    assert_canonical_error(created, 400, "illegal_argument_exception")
    await c.put("/tr")
    updated = await c.put("/tr/_settings", json={"index.translog.retention.age": "1h"})
    assert_canonical_error(updated, 400, "illegal_argument_exception")
    assert "are no longer supported" in updated.json()["error"]["reason"]
