"""Single-document API details: ``_source`` on update (the ``get`` of the response), ``require_alias`` on
update, ``_source: {enabled: false}`` on reads, and the "did you mean" hints of unknown names."""

from __future__ import annotations

import httpx

from native.did_you_mean import field_hint, param_hint, similarity
from tests.server.helpers import assert_canonical_error


async def test_update_returns_the_updated_source_when_asked(asgi_client: httpx.AsyncClient) -> None:
    created = await asgi_client.post("/u/_update/1", params={"_source": "foo,bar"},
                                     json={"doc": {"foo": "baz"}, "upsert": {"foo": "bar", "other": 1}})  # fmt: skip
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["result"] == "created"
    assert body["get"] == {"_seq_no": 0, "_primary_term": 1, "found": True, "_source": {"foo": "bar"}}
    updated = await asgi_client.post("/u/_update/1", json={"doc": {"foo": "qux"}, "_source": True})
    assert updated.json()["get"]["_source"] == {"foo": "qux", "other": 1}
    assert updated.json()["get"]["_seq_no"] == updated.json()["_seq_no"] == 1
    excluded = await asgi_client.post("/u/_update/1", params={"_source_excludes": "other"},
                                      json={"doc": {"foo": "quux"}})  # fmt: skip
    assert excluded.json()["get"]["_source"] == {"foo": "quux"}
    plain = await asgi_client.post("/u/_update/1", json={"doc": {"foo": "x"}})
    assert "get" not in plain.json()
    off = await asgi_client.post("/u/_update/1", params={"_source": "false"}, json={"doc": {"foo": "y"}})
    assert "get" not in off.json()


async def test_update_require_alias(asgi_client: httpx.AsyncClient) -> None:
    missing = await asgi_client.post("/ra/_update/1", params={"require_alias": "true"},
                                     json={"doc": {"a": 1}, "doc_as_upsert": True})  # fmt: skip
    assert_canonical_error(missing, 404, "index_not_found_exception")
    assert "[require_alias] request flag is [true]" in missing.json()["error"]["reason"]
    assert (await asgi_client.get("/ra")).status_code == 404
    await asgi_client.put("/ra_backing", json={"aliases": {"ra": {}}})
    ok = await asgi_client.post("/ra/_update/1", params={"require_alias": "true"},
                                json={"doc": {"a": 1}, "doc_as_upsert": True})  # fmt: skip
    assert ok.status_code == 201 and ok.json()["_index"] == "ra_backing"


async def test_disabled_source_is_not_returned(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/nos", json={"mappings": {"_source": {"enabled": False}}})
    await asgi_client.put("/nos/_doc/1", json={"foo": "bar"}, params={"refresh": "true"})
    got = (await asgi_client.get("/nos/_doc/1")).json()
    assert got["found"] is True and "_source" not in got
    source = await asgi_client.get("/nos/_source/1")
    assert_canonical_error(source, 404, "resource_not_found_exception")
    assert source.json()["error"]["reason"] == "Source not found [nos]/[1]"
    hits = (await asgi_client.post("/nos/_search", json={"query": {"match": {"foo": "bar"}}})).json()["hits"]
    assert hits["total"]["value"] == 1 and "_source" not in hits["hits"][0]


async def test_did_you_mean_hints(asgi_client: httpx.AsyncClient) -> None:
    response = await asgi_client.post("/h/_update/1", json={"dac": {"a": 1}})
    assert_canonical_error(response, 400, "parsing_exception")
    assert response.json()["error"]["reason"] == "[UpdateRequest] unknown field [dac] did you mean [doc]?"
    param = await asgi_client.get("/h/_doc/1", params={"routin": "x"})
    assert_canonical_error(param, 400, "illegal_argument_exception")
    assert param.json()["error"]["reason"] == (
        "request [/h/_doc/1] contains unrecognized parameter: [routin] -> did you mean [routing]?"
    )
    two = await asgi_client.get("/h/_doc/1", params={"zzzzzz": "1", "realtim": "x"})
    assert two.json()["error"]["reason"] == (
        "request [/h/_doc/1] contains unrecognized parameters: [realtim] -> did you mean [realtime]?, [zzzzzz]"
    )


def test_similarity_is_lucenes_levenshtein_ratio() -> None:
    assert similarity("dac", "doc") == 1 - 1 / 3
    assert similarity("abc", "abc") == 1.0
    assert similarity("kitten", "sitting") == 1 - 3 / 7
    assert field_hint("upsrt", ["upsert", "doc", "script"]) == " did you mean [upsert]?"
    assert field_hint("abcd", ["abce", "abcf", "zzzz"]) == " did you mean any of [abce, abcf]?"
    assert param_hint("zzz", ["routing"]) == ""


async def test_count_accepts_stats_groups(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/cs/_doc/1", json={"a": 1}, params={"refresh": "true"})
    body = {"query": {"match_all": {}}, "stats": ["stat_1", "stat_2"]}
    assert (await asgi_client.post("/cs/_count", json=body)).json()["count"] == 1
    bad = await asgi_client.post("/cs/_count", json={"stats": {"a": 1}})
    assert_canonical_error(bad, 400, "parsing_exception")


async def test_field_mapping_include_defaults(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/fmd", json={"mappings": {"properties": {"text": {"type": "text", "analyzer": "whitespace"},
                                                                    "kw": {"type": "keyword"}}}})  # fmt: skip
    plain = (await asgi_client.get("/fmd/_mapping/field/text")).json()
    assert plain["fmd"]["mappings"]["text"]["mapping"]["text"] == {"type": "text", "analyzer": "whitespace"}
    full = (await asgi_client.get("/fmd/_mapping/field/text,kw", params={"include_defaults": "true"})).json()
    text = full["fmd"]["mappings"]["text"]["mapping"]["text"]
    assert text["analyzer"] == "whitespace" and text["search_analyzer"] == "whitespace" and text["index"] is True
    assert text["search_quote_analyzer"] == "whitespace" and text["similarity"] == "BM25"
    assert full["fmd"]["mappings"]["kw"]["mapping"]["kw"]["ignore_above"] == 2147483647


async def test_document_errors_are_document_parsing_exceptions(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/dp", json={"mappings": {"properties": {"n": {"type": "long"},
                                                                   "al": {"type": "alias", "path": "n"}}}})  # fmt: skip
    empty = await asgi_client.put("/dp/_doc/1", content=b"[]", headers={"content-type": "application/json"})
    assert_canonical_error(empty, 400, "document_parsing_exception")
    alias = await asgi_client.put("/dp/_doc/1", json={"al": 1})
    assert_canonical_error(alias, 400, "document_parsing_exception")
    assert alias.json()["error"]["reason"] == "Cannot write to a field alias [al]."
