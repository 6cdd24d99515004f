"""``_mget`` parsing and validation as ES's ``MultiGetRequest``, and ``stored_fields`` on GET and ``_mget``
(values of ``store: true`` fields; ``_source`` only when asked for next to them)."""

from __future__ import annotations

import httpx

from tests.server.helpers import assert_canonical_error


async def _setup(client: httpx.AsyncClient) -> None:
    await client.put("/sf", json={"mappings": {"properties": {
        "foo": {"type": "keyword", "store": True}, "count": {"type": "integer", "store": True},
        "plain": {"type": "keyword"}}}})  # fmt: skip
    await client.put("/sf/_doc/1", json={"foo": "bar", "count": [3, 1], "plain": "p"})


async def test_get_stored_fields(asgi_client: httpx.AsyncClient) -> None:
    await _setup(asgi_client)
    only = (await asgi_client.get("/sf/_doc/1", params={"stored_fields": "foo,count,plain"})).json()
    assert only["fields"] == {"foo": ["bar"], "count": [3, 1]} and "_source" not in only
    both = (await asgi_client.get("/sf/_doc/1", params={"stored_fields": "foo,_source"})).json()
    assert both["fields"] == {"foo": ["bar"]} and both["_source"] == {"foo": "bar", "count": [3, 1], "plain": "p"}
    explicit = (await asgi_client.get("/sf/_doc/1", params={"stored_fields": "foo", "_source": "plain"})).json()
    assert explicit["_source"] == {"plain": "p"} and explicit["fields"] == {"foo": ["bar"]}
    none = (await asgi_client.get("/sf/_doc/1", params={"stored_fields": "plain"})).json()
    assert "fields" not in none and "_source" not in none and none["found"] is True


async def test_mget_items(asgi_client: httpx.AsyncClient) -> None:
    await _setup(asgi_client)
    body = {"docs": [{"_id": 1}, {"_id": "1", "stored_fields": ["foo"]}, {"_id": "1", "stored_fields": "foo,_source"},
                     {"_id": "1", "_source": {"includes": ["plain"]}}, {"_index": "nope", "_id": "1"}]}  # fmt: skip
    docs = (await asgi_client.post("/sf/_mget", json=body)).json()["docs"]
    assert docs[0]["_id"] == "1" and docs[0]["_source"]["foo"] == "bar" and "fields" not in docs[0]
    assert docs[1]["fields"] == {"foo": ["bar"]} and "_source" not in docs[1]
    assert docs[2]["fields"] == {"foo": ["bar"]} and "_source" in docs[2]
    assert docs[3]["_source"] == {"plain": "p"}
    assert docs[4]["error"]["type"] == "index_not_found_exception"
    ids = (await asgi_client.post("/sf/_mget", json={"ids": ["1", "2"]}, params={"stored_fields": "count"})).json()
    assert ids["docs"][0]["fields"] == {"count": [3, 1]} and ids["docs"][1]["found"] is False


async def test_mget_validation(asgi_client: httpx.AsyncClient) -> None:
    await _setup(asgi_client)
    for body, reason in (
        ({"docs": [{"_index": "sf"}]}, "Validation Failed: 1: id is missing for doc 0;"),
        ({"docs": [{"_id": "1"}]}, "Validation Failed: 1: index is missing for doc 0;"),
        ({"docs": []}, "Validation Failed: 1: no documents to get;"),
        ({}, "Validation Failed: 1: no documents to get;"),
    ):
        response = await asgi_client.post("/_mget", json=body)
        assert_canonical_error(response, 400, "action_request_validation_exception")
        assert response.json()["error"]["reason"] == reason
    empty = await asgi_client.post("/sf/_mget", json={"ids": []})
    assert_canonical_error(empty, 400, "action_request_validation_exception")
    for key in ("_routing", "_version"):
        bad = await asgi_client.post("/_mget", json={"docs": [{"_index": "sf", "_id": "1", key: 1}]})
        assert_canonical_error(bad, 400, "parse_exception")
        assert bad.json()["error"]["reason"] == f"failed to parse multi get request. unknown field [{key}]"
    versioned = (await asgi_client.post("/_mget", json={"docs": [{"_index": "sf", "_id": "1", "version": 7}]})).json()
    assert versioned["docs"][0]["error"]["type"] == "version_conflict_engine_exception"
