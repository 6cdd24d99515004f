"""The HTTP face of the fan-out on the embedded server: ``preference`` values ES accepts are answered (one copy
per shard here, so the same hits), an unknown ``_name`` is ES's 400, and a write's ``timeout`` is parsed as ES
parses it."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture
async def loaded(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    r = await asgi_client.put("/p", json={"settings": {"number_of_shards": 3}})
    assert r.status_code == 200, r.text
    lines = "".join(f'{{"index":{{"_id":"{i}"}}}}\n{{"n":{i}}}\n' for i in range(30))
    r = await asgi_client.post("/p/_bulk?refresh=true&timeout=30s", content=lines,
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text
    return asgi_client


@pytest.mark.parametrize("preference", ["_local", "_only_local", "_prefer_nodes:quidditch-node-0", "_only_nodes:*",
                                        "my-session", "_shards:0,1|_local", "_shards:2"])  # fmt: skip
async def test_accepted_preferences(loaded: httpx.AsyncClient, preference: str) -> None:
    r = await loaded.get("/p/_search", params={"preference": preference, "size": 100})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["_shards"]["failed"] == 0
    if not preference.startswith("_shards"):
        assert body["hits"]["total"]["value"] == 30
    r = await loaded.get("/p/_count", params={"preference": preference})
    assert r.status_code == 200, r.text
    r = await loaded.get("/p/_doc/7", params={"preference": preference})
    assert r.status_code == 200 and r.json()["_source"] == {"n": 7}, r.text


async def test_unknown_preference_is_a_400(loaded: httpx.AsyncClient) -> None:
    r = await loaded.get("/p/_search", params={"preference": "_primary"})
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "illegal_argument_exception"
    assert r.json()["error"]["reason"] == "no Preference for [_primary]"
    r = await loaded.get("/p/_search", params={"preference": "_only_nodes:elsewhere"})
    assert r.status_code == 400
    assert "no data nodes with criteria [elsewhere] found for shard" in r.json()["error"]["reason"]


async def test_write_timeout_is_parsed(loaded: httpx.AsyncClient) -> None:
    r = await loaded.put("/p/_doc/x", params={"timeout": "abc"}, json={"n": 1})
    assert r.status_code == 400
    assert r.json()["error"]["reason"].startswith("failed to parse setting [timeout] with value [abc] as a time value")
    r = await loaded.put("/p/_doc/x", params={"timeout": "1m"}, json={"n": 1})
    assert r.status_code == 201, r.text
