"""The routing step on the raw path (``server.routing``): document ids holding any character, date-math
names in ``_bulk`` and ``POST _aliases``, and ``_analyze`` with an index's ``default`` analyzer."""

from __future__ import annotations

import time
from urllib.parse import quote

import httpx
import pytest

from server.routing import resolve_path
from tests.server.helpers import assert_canonical_error

ODD_IDS = ["a/b", "/lead", "trail/", "a//b", "two words", "snow☃man", "日本/語", "100%", "%2F", "a%2Fb", "x+y", "?#&="]


def _today() -> str:
    return time.strftime("%Y.%m.%d", time.gmtime())


@pytest.mark.parametrize("doc_id", ODD_IDS)
async def test_document_ids_with_any_character(asgi_client: httpx.AsyncClient, doc_id: str) -> None:
    path = f"/idx/_doc/{quote(doc_id, safe='')}"
    created = await asgi_client.put(f"{path}?refresh=true", json={"v": 1})
    assert created.status_code == 201, created.text
    assert created.json()["_id"] == doc_id
    got = await asgi_client.get(path)
    assert got.status_code == 200 and got.json()["_id"] == doc_id and got.json()["_source"] == {"v": 1}
    assert (await asgi_client.head(path)).status_code == 200
    source = await asgi_client.get(f"/idx/_source/{quote(doc_id, safe='')}")
    assert source.json() == {"v": 1}
    updated = await asgi_client.post(f"/idx/_update/{quote(doc_id, safe='')}", json={"doc": {"v": 2}})
    assert updated.status_code == 200 and updated.json()["_id"] == doc_id, updated.text
    again = await asgi_client.put(f"/idx/_create/{quote(doc_id, safe='')}", json={"v": 3})
    assert_canonical_error(again, 409, "version_conflict_engine_exception")
    await asgi_client.post("/idx/_refresh")
    hits = (await asgi_client.post("/idx/_search", json={"query": {"ids": {"values": [doc_id]}}})).json()
    assert [h["_id"] for h in hits["hits"]["hits"]] == [doc_id]
    deleted = await asgi_client.delete(path)
    assert deleted.status_code == 200 and deleted.json()["result"] == "deleted"
    assert (await asgi_client.get(path)).status_code == 404


async def test_an_unencoded_slash_is_a_path_separator(asgi_client: httpx.AsyncClient) -> None:
    # as ES: the path is split before it is decoded, so ``/idx/_doc/a/b`` names no API
    response = await asgi_client.put("/idx/_doc/a/b", json={"v": 1})
    assert response.status_code == 400
    assert response.json()["error"] == "no handler found for uri [/idx/_doc/a/b] and method [PUT]"
    assert (await asgi_client.head("/idx")).status_code == 404


async def test_ids_are_not_date_math_but_index_names_are(asgi_client: httpx.AsyncClient) -> None:
    doc_id = "<a/{now/d}>"
    index = quote("<logs-{now/d}>", safe="")
    written = await asgi_client.put(f"/{index}/_doc/{quote(doc_id, safe='')}", json={"v": 1})
    assert written.status_code == 201, written.text
    assert written.json()["_index"] == f"logs-{_today()}" and written.json()["_id"] == doc_id
    got = await asgi_client.get(f"/logs-{_today()}/_doc/{quote(doc_id, safe='')}")
    assert got.json()["found"] is True


def test_resolve_path() -> None:
    assert resolve_path("/idx/_doc/1") is None
    assert resolve_path("/idx/_search") is None
    assert resolve_path("/idx/_doc/a%2Fb") == ("/idx/_doc/a%2Fb", "/idx/_doc/a%2Fb")
    assert resolve_path("/idx/_doc/caf%C3%A9") == ("/idx/_doc/caf%C3%A9", "/idx/_doc/caf%C3%A9")
    # raw (unencoded) UTF-8 is read as UTF-8, and the id is handed on encoded
    raw = "/idx/_doc/café".encode().decode("latin-1")
    assert resolve_path(raw) == ("/idx/_doc/caf%C3%A9", "/idx/_doc/caf%C3%A9")
    # an index name with an escape but no date math is Starlette's decoded path: nothing to do
    assert resolve_path("/my%2Didx/_search") is None
    path, raw_path = resolve_path("/%3Cl-%7Bnow%2Fd%7D%3E/_doc/x%2Fy") or ("", "")
    assert path == f"/l-{_today()}/_doc/x%2Fy" and raw_path == f"/l-{_today()}/_doc/x%2Fy"


async def test_bulk_index_names_are_date_math(asgi_client: httpx.AsyncClient) -> None:
    lines = (
        '{"index":{"_index":"<blk-{now/d}>","_id":"1"}}\n{"v":1}\n'
        '{"create":{"_index":"<blk-{now/d{yyyy-MM}}>","_id":"2"}}\n{"v":2}\n'
        '{"index":{"_index":"<blk-{now/bogus}>","_id":"3"}}\n{"v":3}\n'
        '{"delete":{"_index":"<blk-{now/d}>","_id":"1"}}\n'
    )
    response = await asgi_client.post("/_bulk", content=lines, headers={"content-type": "application/x-ndjson"})
    body = response.json()
    assert body["errors"] is True
    items = body["items"]
    assert items[0]["index"]["_index"] == f"blk-{_today()}" and items[0]["index"]["status"] == 201
    assert items[1]["create"]["_index"] == f"blk-{time.strftime('%Y-%m', time.gmtime())}"
    assert items[2]["index"]["error"]["type"] == "parsing_exception"
    assert items[3]["delete"]["_index"] == f"blk-{_today()}" and items[3]["delete"]["result"] == "deleted"
    # the path's default index, date math there too (resolved by the routing step)
    path = quote("<blk-{now/d}>", safe="")
    again = await asgi_client.post(f"/{path}/_bulk", content='{"index":{"_id":"9"}}\n{"v":9}\n',
                                   headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert again.json()["items"][0]["index"]["_index"] == f"blk-{_today()}"


async def test_alias_actions_resolve_date_math(asgi_client: httpx.AsyncClient) -> None:
    today = _today()
    assert (await asgi_client.put(f"/logs-{today}")).status_code == 200
    added = await asgi_client.post("/_aliases", json={"actions": [
        {"add": {"index": "<logs-{now/d}>", "alias": "<cur-{now/d}>"}},
        {"add": {"indices": ["<logs-{now/d}>"], "aliases": ["<all-{now/M{yyyy}}>", "plain"]}},
    ]})  # fmt: skip
    assert added.status_code == 200, added.text
    aliases = (await asgi_client.get(f"/logs-{today}/_alias")).json()[f"logs-{today}"]["aliases"]
    assert set(aliases) == {f"cur-{today}", f"all-{time.strftime('%Y', time.gmtime())}", "plain"}
    removed = await asgi_client.post("/_aliases", json={"actions": [
        {"remove": {"index": "<logs-{now/d}>", "alias": "<cur-{now/d}>"}},
    ]})  # fmt: skip
    assert removed.status_code == 200, removed.text
    aliases = (await asgi_client.get(f"/logs-{today}/_alias")).json()[f"logs-{today}"]["aliases"]
    assert f"cur-{today}" not in aliases
    gone = await asgi_client.post("/_aliases", json={"actions": [{"remove_index": {"index": "<logs-{now/d}>"}}]})
    assert gone.status_code == 200, gone.text
    assert (await asgi_client.head(f"/logs-{today}")).status_code == 404


async def test_analyze_uses_the_index_default_analyzer(asgi_client: httpx.AsyncClient) -> None:
    settings = {"settings": {"analysis": {"analyzer": {"default": {"type": "stop"}}}}}
    assert (await asgi_client.put("/movies", json=settings)).status_code == 200
    text = "a movie directed by Bennett Miller"
    tokens = (await asgi_client.post("/movies/_analyze", json={"text": text})).json()["tokens"]
    # ES's stop analyzer: lowercase letters, English stop words removed, positions keep their gaps
    assert [(t["token"], t["start_offset"], t["end_offset"], t["position"]) for t in tokens] == [
        ("movie", 2, 7, 1), ("directed", 8, 16, 2), ("bennett", 20, 27, 4), ("miller", 28, 34, 5),
    ]  # fmt: skip
    standard = (await asgi_client.post("/movies/_analyze", json={"analyzer": "standard", "text": text})).json()
    assert [t["token"] for t in standard["tokens"]] == text.lower().split()
    assert standard["tokens"][0] == {"token": "a", "start_offset": 0, "end_offset": 1, "type": "word", "position": 0}
    # no index: the standard analyzer; several texts are one stream with a gap of 100 positions
    multi = (await asgi_client.post("/_analyze", json={"text": ["the cat", "ran"]})).json()["tokens"]
    assert [(t["token"], t["start_offset"], t["end_offset"], t["position"]) for t in multi] == [
        ("the", 0, 3, 0), ("cat", 4, 7, 1), ("ran", 8, 11, 102),
    ]  # fmt: skip
