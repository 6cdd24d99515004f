"""Highlighter options through the HTTP app: multi-term queries, require_field_match, highlight_query,
no_match_size, encoder, tags_schema, matched_fields, max_analyzed_offset and the option checks."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

TITLE = "The quick brown fox jumps over the lazy dog"
BODY = "Brown bears & foxes <live> in the forest."


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    mappings = {"properties": {
        "title": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
        "body": {"type": "text"},
        "code": {"type": "keyword", "ignore_above": 4},
    }}  # fmt: skip
    settings = {"number_of_shards": 1, "index.highlight.max_analyzed_offset": 42}
    r = await asgi_client.put("/h", json={"settings": settings, "mappings": mappings})
    assert r.status_code == 200, r.text
    docs = [{"title": TITLE, "body": BODY, "code": "abc"}, {"title": "short", "body": "nothing", "code": "abcdef"}]
    lines = []
    for i, doc in enumerate(docs, 1):
        lines += [orjson.dumps({"index": {"_id": str(i)}}), orjson.dumps(doc)]
    r = await asgi_client.post("/h/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text
    return asgi_client


async def highlight(client: httpx.AsyncClient, query: dict[str, Any], hl: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/h/_search", json={"query": query, "highlight": hl})
    assert r.status_code == 200, r.text
    return {h["_id"]: h.get("highlight") for h in r.json()["hits"]["hits"]}


async def test_multi_term_queries_highlight(client: httpx.AsyncClient) -> None:
    # the title (43 characters) is longer than the index limit (42): the request sets max_analyzed_offset
    hl = {"fields": {"title": {}}, "max_analyzed_offset": 30, "number_of_fragments": 0}
    got = await highlight(client, {"prefix": {"title": "qui"}}, hl)
    assert got["1"] == {"title": ["The <em>quick</em> brown fox jumps over the lazy dog"]}
    got = await highlight(client, {"wildcard": {"title": "b*n"}}, hl)
    assert got["1"] == {"title": ["The quick <em>brown</em> fox jumps over the lazy dog"]}
    got = await highlight(client, {"fuzzy": {"title": {"value": "fix", "fuzziness": 1}}}, hl)
    assert got["1"] == {"title": ["The quick brown <em>fox</em> jumps over the lazy dog"]}


async def test_max_analyzed_offset(client: httpx.AsyncClient) -> None:
    query = {"match": {"title": "fox dog"}}
    r = await client.post("/h/_search", json={"query": query, "highlight": {"fields": {"title": {}}}})
    assert r.status_code == 400 and "index.highlight.max_analyzed_offset" in r.text
    got = await highlight(client, query, {"fields": {"title": {}}, "max_analyzed_offset": -1})
    # only the first 42 characters are analyzed: "dog" (40-43) is not marked, the value is returned whole
    assert got["1"] == {"title": ["The quick brown <em>fox</em> jumps over the lazy dog"]}
    r = await client.post("/h/_search", json={"query": query, "highlight": {"fields": {"title": {}},
                                                                            "max_analyzed_offset": 0}})  # fmt: skip
    assert r.status_code == 400 and r.json()["error"]["root_cause"][0]["type"] == "x_content_parse_exception"


async def test_require_field_match_and_highlight_query(client: httpx.AsyncClient) -> None:
    query = {"match": {"title": "brown"}}
    got = await highlight(client, query, {"fields": {"body": {}}})
    assert got["1"] is None
    got = await highlight(client, query, {"fields": {"body": {}}, "require_field_match": False})
    assert got["1"] == {"body": ["<em>Brown</em> bears & foxes <live> in the forest."]}
    hq = {"fields": {"body": {"highlight_query": {"match": {"body": "forest"}}}}}
    got = await highlight(client, query, hq)
    assert got["1"] == {"body": ["Brown bears & foxes <live> in the <em>forest</em>."]}


async def test_encoder_tags_schema_and_no_match_size(client: httpx.AsyncClient) -> None:
    query = {"match": {"body": "foxes"}}
    got = await highlight(client, query, {"fields": {"body": {}}, "encoder": "html", "tags_schema": "styled"})
    assert got["1"] == {"body": ['Brown bears &amp; <em class="hlt1">foxes</em> &lt;live&gt; in the forest.']}
    hl = {"fields": {"title": {"no_match_size": 12}}, "max_analyzed_offset": 100}
    got = await highlight(client, {"match": {"body": "forest"}}, hl)
    assert got["1"] == {"title": ["The quick"]}


async def test_ignored_keyword_values_are_not_highlighted(client: httpx.AsyncClient) -> None:
    got = await highlight(client, {"prefix": {"code": "ab"}}, {"fields": {"code": {}}})
    assert got == {"1": {"code": ["<em>abc</em>"]}}


async def test_matched_fields(client: httpx.AsyncClient) -> None:
    query = {"term": {"title.raw": "short"}}
    hl = {"fields": {"title": {"matched_fields": ["title.raw"]}}}
    got = await highlight(client, query, hl)
    assert got["2"] == {"title": ["<em>short</em>"]}
    got = await highlight(client, query, {"fields": {"title": {}}})
    assert got["2"] is None
    r = await client.post("/h/_search", json={"query": query, "highlight": {**hl, "require_field_match": False}})
    assert r.status_code == 400
    assert "Matched fields are not supported when [require_field_match] is set to [false]" in r.text


@pytest.mark.parametrize(("hl", "reason"), [
    ({"fields": {"title": {}}, "bogus": 1}, "[highlight] unknown field [bogus]"),
    ({"fields": {"title": {"bogus": 1}}}, "[highlight_field] unknown field [bogus]"),
    ({"fields": {"title": {"type": "nope"}}}, "unknown highlighter type [nope] for the field [title]"),
    ({"fields": {"title": {}}, "pre_tags": [], "post_tags": ["</b>"]}, "pre_tags or post_tags must not be empty"),
    ({"fields": {"title": {}}, "number_of_fragments": 10001}, "The number of fragments requested"),
    ({"fields": {"title": {}}, "boundary_scanner": "nope"}, "boundary_scanner"),
])  # fmt: skip
async def test_option_errors(client: httpx.AsyncClient, hl: dict[str, Any], reason: str) -> None:
    r = await client.post("/h/_search", json={"query": {"match": {"title": "fox"}}, "highlight": hl})
    assert r.status_code == 400, r.text
    assert reason in r.text
