"""``combined_fields`` and ``multi_match`` ``cross_fields``: every term must be in some field (term-centric),
checked against sets computed from the documents' words."""

from __future__ import annotations

import httpx
import orjson
import pytest

DOCS = {
    "1": {"title": "time clocks", "body": "the concept of an event"},
    "2": {"title": "time", "body": "nothing else"},
    "3": {"title": "event horizon", "body": "black holes"},
    "4": {"title": "clocks", "body": "time and event"},
}
FIELDS = ("title", "body")


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    props = {f: {"type": "text"} for f in FIELDS} | {"n": {"type": "long"}}
    r = await asgi_client.put("/c", json={"mappings": {"properties": props}})
    assert r.status_code == 200, r.text
    lines = []
    for doc_id, doc in DOCS.items():
        lines += [orjson.dumps({"index": {"_id": doc_id}}), orjson.dumps(doc)]
    r = await asgi_client.post("/c/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text
    return asgi_client


def expected(words: list[str], need: int) -> set[str]:
    out = set()
    for doc_id, doc in DOCS.items():
        tokens = {t for f in FIELDS for t in doc[f].split()}
        if sum(w in tokens for w in words) >= need:
            out.add(doc_id)
    return out


@pytest.mark.parametrize("kind", ["combined_fields", "cross_fields"])
@pytest.mark.parametrize(("text", "operator", "msm"), [
    ("time event", "and", None), ("time event", "or", None), ("time event clocks", "or", "2"),
    ("time clocks event", "and", None),
])  # fmt: skip
async def test_term_centric_matching(client: httpx.AsyncClient, kind: str, text: str, operator: str,
                                     msm: str | None) -> None:  # fmt: skip
    body: dict[str, object] = {"query": text, "fields": list(FIELDS), "operator": operator}
    if msm is not None:
        body["minimum_should_match"] = msm
    query = {"combined_fields": body} if kind == "combined_fields" else {"multi_match": {**body, "type": kind}}
    r = await client.post("/c/_search", json={"query": query, "size": 10})
    assert r.status_code == 200, r.text
    words = text.split()
    need = len(words) if operator == "and" else int(msm or 1)
    assert {h["_id"] for h in r.json()["hits"]["hits"]} == expected(words, need)


async def test_combined_fields_refuses_non_text_fields(client: httpx.AsyncClient) -> None:
    r = await client.post("/c/_search", json={"query": {"combined_fields": {"query": "1", "fields": ["title", "n"]}}})
    assert r.status_code == 400
    assert "does not support [combined_fields] queries" in r.text


async def test_match_uses_the_analyzer_it_names(client: httpx.AsyncClient) -> None:
    async def ids(query: dict[str, object]) -> set[str]:
        r = await client.post("/c/_search", json={"query": query, "size": 10})
        assert r.status_code == 200, r.text
        return {h["_id"] for h in r.json()["hits"]["hits"]}

    # the field's standard analyzer lowercases "TIME"; whitespace keeps it, and the index holds only "time"
    assert await ids({"match": {"title": {"query": "TIME"}}}) == {"1", "2"}
    assert await ids({"match": {"title": {"query": "TIME", "analyzer": "whitespace"}}}) == set()
    # keyword keeps "time clocks" one token, which no document holds as a term
    assert await ids({"match": {"title": {"query": "time clocks", "analyzer": "keyword"}}}) == set()
    assert await ids({"match_phrase": {"title": {"query": "time clocks", "analyzer": "standard"}}}) == {"1"}
    r = await client.post("/c/_search", json={"query": {"match": {"title": {"query": "x", "analyzer": "nope"}}}})
    assert r.status_code == 400 and "analyzer [nope] not found" in r.text
    rule = {"match": {"query": "TIME", "analyzer": "whitespace"}}
    assert await ids({"intervals": {"title": rule}}) == set()


async def test_query_string_uses_the_analyzer_it_names(client: httpx.AsyncClient) -> None:
    for kind in ("query_string", "simple_query_string"):
        body = {kind: {"query": "TIME", "fields": ["title"]}}
        r = await client.post("/c/_search", json={"query": body})
        assert {h["_id"] for h in r.json()["hits"]["hits"]} == {"1", "2"}
        body[kind]["analyzer"] = "whitespace"
        r = await client.post("/c/_search", json={"query": body})
        assert r.json()["hits"]["hits"] == []


async def test_cross_fields_uses_the_analyzer_it_names(client: httpx.AsyncClient) -> None:
    body = {"multi_match": {"query": "TIME", "fields": list(FIELDS), "type": "cross_fields"}}
    r = await client.post("/c/_search", json={"query": body})
    assert {h["_id"] for h in r.json()["hits"]["hits"]} == {"1", "2", "4"}
    body["multi_match"]["analyzer"] = "whitespace"
    r = await client.post("/c/_search", json={"query": body})
    assert r.json()["hits"]["hits"] == []
