"""Queries and aggregations on the ``_index`` metadata field, over several multi-shard indices: each query
matches every document of the indices whose name it names (``*`` patterns too), else none."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.server.helpers import assert_canonical_error

INDICES = {"books-2023": 7, "books-2024": 5, "films": 4}


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    lines = []
    for name, count in INDICES.items():
        r = await asgi_client.put(f"/{name}", json={"settings": {"number_of_shards": 3}})
        assert r.status_code == 200, r.text
        for i in range(count):
            lines += [json.dumps({"index": {"_index": name, "_id": f"{name}-{i}"}}), json.dumps({"n": i})]
    r = await asgi_client.post("/_bulk?refresh=true", content="\n".join(lines) + "\n",
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert not r.json()["errors"]
    return asgi_client


def _ids(*names: str) -> set[str]:
    return {f"{name}-{i}" for name in names for i in range(INDICES[name])}


async def _hits(client: httpx.AsyncClient, query: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/_search", json={"query": query, "size": 100})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ({"term": {"_index": "films"}}, ("films",)),
        ({"term": {"_index": {"value": "FILMS", "case_insensitive": True}}}, ("films",)),
        ({"term": {"_index": "FILMS"}}, ()),
        ({"term": {"_index": "books-*"}}, ("books-2023", "books-2024")),
        ({"terms": {"_index": ["books-2024", "films", "nope"]}}, ("books-2024", "films")),
        ({"match": {"_index": "books-2023"}}, ("books-2023",)),
        ({"prefix": {"_index": "book"}}, ("books-2023", "books-2024")),
        ({"wildcard": {"_index": "*-2024"}}, ("books-2024",)),
        ({"wildcard": {"_index": "f*s"}}, ("films",)),
        ({"query_string": {"query": "_index:films OR _index:books-2023"}}, ("films", "books-2023")),
        ({"bool": {"must_not": [{"term": {"_index": "films"}}]}}, ("books-2023", "books-2024")),
        ({"bool": {"filter": [{"term": {"_index": "films"}}, {"range": {"n": {"gte": 2}}}]}}, ()),
        ({"exists": {"field": "_index"}}, tuple(INDICES)),
    ],
)
async def test_index_queries(client: httpx.AsyncClient, query: dict[str, Any], names: tuple[str, ...]) -> None:
    body = await _hits(client, query)
    want = _ids(*names)
    if "range" in json.dumps(query):  # films with n >= 2
        want = {f"films-{i}" for i in range(2, INDICES["films"])}
    assert {h["_id"] for h in body["hits"]["hits"]} == want
    assert body["hits"]["total"]["value"] == len(want)


async def test_index_term_scores_its_boost(client: httpx.AsyncClient) -> None:
    body = await _hits(client, {"term": {"_index": {"value": "films", "boost": 2.5}}})
    assert {h["_score"] for h in body["hits"]["hits"]} == {2.5}


async def test_terms_aggregation_on_index(client: httpx.AsyncClient) -> None:
    r = await client.post("/_search", json={"size": 0, "query": {"range": {"n": {"gte": 3}}},
                                            "aggs": {"i": {"terms": {"field": "_index"},
                                                           "aggs": {"m": {"max": {"field": "n"}}}}}})  # fmt: skip
    buckets = r.json()["aggregations"]["i"]["buckets"]
    want = {name: count - 3 for name, count in INDICES.items() if count > 3}
    assert [(b["key"], b["doc_count"]) for b in buckets] == sorted(want.items(), key=lambda kv: (-kv[1], kv[0]))
    assert {b["key"]: b["m"]["value"] for b in buckets} == {n: float(INDICES[n] - 1) for n in want}
    terms = {"field": "_index", "include": "books.*", "order": {"_key": "desc"}}
    r = await client.post("/_search", json={"size": 0, "aggs": {"i": {"terms": terms}}})
    assert [(b["key"], b["doc_count"]) for b in r.json()["aggregations"]["i"]["buckets"]] == [
        ("books-2024", 5), ("books-2023", 7)
    ]  # fmt: skip


@pytest.mark.parametrize("query", [{"regexp": {"_index": "fi.*"}}, {"fuzzy": {"_index": "film"}},
                                   {"range": {"_index": {"gte": "a"}}}])  # fmt: skip
async def test_unsupported_index_queries_are_400(client: httpx.AsyncClient, query: dict[str, Any]) -> None:
    r = await client.post("/films/_search", json={"query": query})
    assert_canonical_error(r, 400, "search_phase_execution_exception")
    assert "[_index]" in r.text


async def test_index_queries_accept_aliases(client: httpx.AsyncClient) -> None:
    r = await client.post("/_aliases", json={"actions": [
        {"add": {"index": "books-2023", "alias": "library"}}, {"add": {"index": "films", "alias": "library"}},
        {"add": {"index": "books-2024", "alias": "latest"}},
    ]})  # fmt: skip
    assert r.status_code == 200, r.text
    assert {h["_id"] for h in (await _hits(client, {"term": {"_index": "library"}}))["hits"]["hits"]} == _ids(
        "books-2023", "films"
    )
    body = await _hits(client, {"terms": {"_index": ["latest", "films"]}})
    assert {h["_id"] for h in body["hits"]["hits"]} == _ids("books-2024", "films")
    body = await _hits(client, {"wildcard": {"_index": "lat*"}})
    assert {h["_id"] for h in body["hits"]["hits"]} == _ids("books-2024")
    # the alias moves: the next search follows it
    r = await client.post("/_aliases", json={"actions": [{"remove": {"index": "books-2024", "alias": "latest"}},
                                                         {"add": {"index": "films", "alias": "latest"}}]})  # fmt: skip
    assert r.status_code == 200, r.text
    body = await _hits(client, {"term": {"_index": "latest"}})
    assert {h["_id"] for h in body["hits"]["hits"]} == _ids("films")
    # and the pre-filter skips the shards of the other indices
    r = await client.post("/_search", params={"pre_filter_shard_size": 1},
                          json={"query": {"term": {"_index": "library"}}, "size": 0})  # fmt: skip
    assert r.json()["_shards"]["skipped"] == 3 and r.json()["hits"]["total"]["value"] == 11


async def test_sort_on_index(client: httpx.AsyncClient) -> None:
    everything = [(name, i) for name, count in INDICES.items() for i in range(count)]
    want = sorted(everything, key=lambda t: (_neg(t[0]), t[1]))  # _index desc, then n asc
    r = await client.post("/_search", json={"size": 100, "sort": [{"_index": "desc"}, {"n": "asc"}]})
    hits = r.json()["hits"]["hits"]
    assert [(h["_index"], h["_source"]["n"]) for h in hits] == want
    assert [h["sort"] for h in hits] == [[name, n] for name, n in want]
    # paging with search_after goes on from the last hit, across indices
    page: list[tuple[str, int]] = []
    after: list[object] | None = None
    while True:
        body: dict[str, object] = {"size": 3, "sort": [{"_index": "desc"}, {"n": "asc"}]}
        if after is not None:
            body["search_after"] = after
        hits = (await client.post("/_search", json=body)).json()["hits"]["hits"]
        if not hits:
            break
        page += [(h["_index"], h["_source"]["n"]) for h in hits]
        after = hits[-1]["sort"]
    assert page == want
    # ``_index`` alone: index names ascending; the total is every document
    r = await client.post("/_search", json={"size": 100, "sort": ["_index"]})
    assert [h["_index"] for h in r.json()["hits"]["hits"]] == sorted(name for name, _ in everything)
    r = await client.post("/_search", json={"size": 5, "sort": ["_index"], "search_after": ["books-2024"]})
    assert {h["_index"] for h in r.json()["hits"]["hits"]} == {"films"}
    assert r.json()["hits"]["total"]["value"] == len(everything)
    r = await client.post("/_search", json={"sort": [{"n": "asc"}, "_index"], "search_after": [1, "films"]})
    assert r.status_code == 400 and "[_index]" in r.text


def _neg(name: str) -> tuple[int, ...]:
    return (*(-ord(c) for c in name), 1)


async def test_cardinality_and_value_count_on_index(client: httpx.AsyncClient) -> None:
    aggs = {"c": {"cardinality": {"field": "_index"}}, "v": {"value_count": {"field": "_index"}}}
    cases: list[tuple[dict[str, Any], tuple[str, ...]]] = [
        ({"match_all": {}}, tuple(INDICES)),
        ({"prefix": {"_index": "books"}}, ("books-2023", "books-2024")),
        ({"range": {"n": {"gte": 5}}}, ("books-2023",)),
    ]
    for query, names in cases:
        r = await client.post("/_search", json={"size": 0, "query": query, "aggs": aggs})
        body = r.json()
        assert body["aggregations"]["c"]["value"] == len(names), query
        assert body["aggregations"]["v"]["value"] == body["hits"]["total"]["value"]


async def test_composite_terms_source_on_index(client: httpx.AsyncClient) -> None:
    sources = [{"i": {"terms": {"field": "_index", "order": "desc"}}}, {"n": {"terms": {"field": "n"}}}]
    pairs = [(name, i) for name, count in INDICES.items() for i in range(count)]
    want = sorted(pairs, key=lambda t: (_neg(t[0]), t[1]))
    got: list[tuple[str, int]] = []
    after = None
    while True:
        composite: dict[str, Any] = {"sources": sources, "size": 4}
        if after is not None:
            composite["after"] = after
        r = await client.post("/_search", json={"size": 0, "aggs": {"c": {"composite": composite}}})
        agg = r.json()["aggregations"]["c"]
        if not agg["buckets"]:
            break
        got += [(b["key"]["i"], b["key"]["n"]) for b in agg["buckets"]]
        assert all(b["doc_count"] == 1 for b in agg["buckets"])
        after = agg["after_key"]
    assert got == want
