"""The ``exact`` query (the whole source value, unanalyzed and unnormalized) and a normalizer whose
``filter`` is a single name given as a string."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

DOCS: list[dict[str, Any]] = [
    {"text": "here is some text", "keyword": ["foo", "bar"], "nkeyword": "hello"},
    {"text": "here is some different text", "keyword": ["foo", "baz"], "nkeyword": "HELLO"},
    {"text": "there is some text", "keyword": "bar", "nkeyword": "HELLO"},
    {"text": "here", "keyword": ["baz"], "nkeyword": "Hello"},
]


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    settings = {"number_of_shards": 2, "analysis": {"normalizer": {"lc": {"type": "custom", "filter": "lowercase"}}}}
    props = {"text": {"type": "text"}, "keyword": {"type": "keyword"},
             "nkeyword": {"type": "keyword", "normalizer": "lc"}}  # fmt: skip
    r = await asgi_client.put("/e", json={"settings": settings, "mappings": {"properties": props}})
    assert r.status_code == 200, r.text
    lines = []
    for i, doc in enumerate(DOCS):
        lines += [orjson.dumps({"index": {"_id": str(i)}}), orjson.dumps(doc)]
    r = await asgi_client.post("/e/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text
    return asgi_client


@pytest.mark.parametrize(("field", "value"), [
    ("text", "here is some text"), ("text", "here"), ("text", "some"), ("keyword", "baz"),
    ("nkeyword", "hello"), ("nkeyword", "HELLO"),
])  # fmt: skip
async def test_exact(client: httpx.AsyncClient, field: str, value: str) -> None:
    r = await client.post("/e/_search", json={"query": {"exact": {field: value}}})
    assert r.status_code == 200, r.text
    want = {str(i) for i, d in enumerate(DOCS) if value in (d[field] if isinstance(d[field], list) else [d[field]])}
    assert {h["_id"] for h in r.json()["hits"]["hits"]} == want
    assert all(h["_score"] == 1.0 for h in r.json()["hits"]["hits"])


async def test_normalizer_filter_given_as_a_string(client: httpx.AsyncClient) -> None:
    r = await client.post("/e/_search", json={"query": {"term": {"nkeyword": "HeLLo"}}})
    assert {h["_id"] for h in r.json()["hits"]["hits"]} == {"0", "1", "2", "3"}
