"""Queries on fields that cannot be searched that way (ES's 400s), range queries on range-typed fields, and the
index-level mapping defaults (``index.mapping.ignore_malformed``) reaching the shard; over the in-process app."""

from __future__ import annotations

import ipaddress
import itertools
from typing import Any

import httpx
import orjson
import pytest

MAPPING = {
    "properties": {
        "geo": {"type": "geo_point"},
        "blob": {"type": "binary"},
        "vec": {"type": "dense_vector", "dims": 2},
        "stored_text": {"type": "text", "index": False},
        "name": {"type": "keyword"},
        "ints": {"type": "integer_range"},
        "days": {"type": "date_range"},
        "nets": {"type": "ip_range"},
        "reals": {"type": "double_range"},
    }
}

# Inclusive bounds; None = unbounded (the type's limit).
INT_RANGES: dict[str, tuple[int | None, int | None]] = {
    "a": (1, 5),
    "b": (5, 9),
    "c": (10, None),
    "d": (None, 0),
    "e": (3, 3),
}
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


async def _bulk(client: httpx.AsyncClient, index: str, docs: dict[str, dict[str, Any]]) -> None:
    lines = []
    for doc_id, doc in docs.items():
        lines += [orjson.dumps({"index": {"_id": doc_id}}), orjson.dumps(doc)]
    r = await client.post(
        f"/{index}/_bulk?refresh=true",
        content=b"\n".join(lines) + b"\n",
        headers={"content-type": "application/x-ndjson"},
    )
    assert r.status_code == 200 and not r.json()["errors"], r.text


async def _ids(client: httpx.AsyncClient, query: dict[str, Any], index: str = "t") -> set[str]:
    r = await client.post(f"/{index}/_search", json={"query": query, "size": 100})
    assert r.status_code == 200, r.text
    return {h["_id"] for h in r.json()["hits"]["hits"]}


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    r = await asgi_client.put("/t", json={"settings": {"number_of_replicas": 0}, "mappings": MAPPING})
    assert r.status_code == 200, r.text
    docs: dict[str, dict[str, Any]] = {}
    for doc_id, (lo, hi) in INT_RANGES.items():
        bounds = {k: v for k, v in (("gte", lo), ("lte", hi)) if v is not None}
        docs[doc_id] = {"ints": bounds, "name": doc_id, "geo": "1,2", "stored_text": "hello world"}
    docs["a"]["days"] = {"gte": "2024-01-01", "lte": "2024-01-31"}
    docs["b"]["days"] = {"gte": "2024-02-01", "lt": "2024-03-01"}
    docs["a"]["nets"] = "10.0.0.0/24"
    docs["b"]["nets"] = {"gte": "10.0.1.0", "lte": "10.0.1.9"}
    docs["a"]["reals"] = {"gt": 1.5, "lt": 2.5}
    await _bulk(asgi_client, "t", docs)
    return asgi_client


@pytest.mark.parametrize(
    "query,reason",
    [
        (
            {"term": {"geo": "1,2"}},
            "Geometry fields do not support exact searching, use dedicated geometry queries instead: [geo]",
        ),
        ({"match": {"stored_text": "hello"}}, "Cannot search on field [stored_text] since it is not indexed."),
        ({"term": {"stored_text": "hello"}}, "Cannot search on field [stored_text] since it is not indexed."),
        ({"term": {"blob": "aGVsbG8="}}, "Binary fields do not support searching"),
        ({"term": {"vec": 1}}, "Field [vec] of type [dense_vector] does not support term queries"),
        ({"range": {"geo": {"gte": 1}}}, "Field [geo] of type [geo_point] does not support range queries"),
        ({"range": {"vec": {"gte": 1}}}, "Field [vec] of type [dense_vector] does not support range queries"),
    ],
)
async def test_unsearchable_field_is_a_query_shard_exception(
    client: httpx.AsyncClient, query: dict[str, Any], reason: str
) -> None:
    r = await client.post("/t/_search", json={"query": query})
    assert r.status_code == 400, r.text
    cause = r.json()["error"]["root_cause"][0]
    assert cause["type"] == "query_shard_exception"
    assert cause["reason"] == f"failed to create query: {reason}"


async def test_pattern_query_on_geo_point_names_the_type(client: httpx.AsyncClient) -> None:
    r = await client.post("/t/_search", json={"query": {"prefix": {"geo": "1"}}})
    assert r.status_code == 400
    assert "Can only use prefix queries on keyword and text fields - not on [geo]" in r.text


async def test_lenient_wildcard_fields_skip_unsearchable_fields(client: httpx.AsyncClient) -> None:
    assert await _ids(client, {"multi_match": {"query": "a", "fields": ["*"]}}) == {"a"}
    assert await _ids(client, {"query_string": {"query": "b"}}) == {"b"}


def _expected(relation: str, qlo: int | None, qhi: int | None) -> set[str]:
    qlo = INT_MIN if qlo is None else qlo
    qhi = INT_MAX if qhi is None else qhi
    out: set[str] = set()
    if qlo > qhi:
        return out
    for doc_id, (lo, hi) in INT_RANGES.items():
        dlo, dhi = INT_MIN if lo is None else lo, INT_MAX if hi is None else hi
        if relation == "intersects":
            hit = dlo <= qhi and dhi >= qlo
        elif relation == "within":
            hit = qlo <= dlo and dhi <= qhi
        else:
            hit = dlo <= qlo and qhi <= dhi
        if hit:
            out.add(doc_id)
    return out


@pytest.mark.parametrize("relation", ["intersects", "within", "contains"])
async def test_range_relations_on_integer_range(client: httpx.AsyncClient, relation: str) -> None:
    points = [None, -3, 0, 1, 3, 5, 6, 9, 10, 12]
    for lo, hi in itertools.product(points, points):
        if lo is None and hi is None:
            continue
        bounds: dict[str, Any] = {"relation": relation.upper() if lo == 3 else relation}
        if lo is not None:
            bounds["gte"] = lo
        if hi is not None:
            bounds["lte"] = hi
        got = await _ids(client, {"range": {"ints": bounds}})
        assert got == _expected(relation, lo, hi), (relation, lo, hi)


async def test_exclusive_bounds_are_made_inclusive(client: httpx.AsyncClient) -> None:
    # gt 5 → gte 6: "a" ends at 5 and "e" is [3, 3], so only "b" and "c" intersect
    assert await _ids(client, {"range": {"ints": {"gt": 5}}}) == {"b", "c"}
    assert await _ids(client, {"range": {"ints": {"gt": 3, "lt": 5}}}) == {"a"}
    assert await _ids(client, {"range": {"ints": {"gt": 4, "lt": 5}}}) == set()


async def test_term_and_match_on_range_fields_are_containment(client: httpx.AsyncClient) -> None:
    assert await _ids(client, {"term": {"ints": 5}}) == {"a", "b"}
    assert await _ids(client, {"terms": {"ints": [0, 3]}}) == {"a", "d", "e"}
    assert await _ids(client, {"match": {"ints": 100000}}) == {"c"}
    assert await _ids(client, {"term": {"days": "2024-02-29"}}) == {"b"}
    assert await _ids(client, {"term": {"days": "2024-03-01"}}) == set()
    assert await _ids(client, {"term": {"nets": "10.0.0.200"}}) == {"a"}


async def test_date_ip_and_double_ranges(client: httpx.AsyncClient) -> None:
    assert await _ids(client, {"range": {"days": {"gte": "2024-01-15||/M", "lte": "2024-01-20"}}}) == {"a"}
    assert await _ids(client, {"range": {"days": {"gte": "2024-01-31", "lte": "2024-02-01"}}}) == {"a", "b"}
    within = {"range": {"days": {"gte": "2024-01-01", "lte": "2024-12-31", "relation": "within"}}}
    assert await _ids(client, within) == {"a", "b"}
    contains = {"range": {"days": {"gte": "2024-01-05", "lte": "2024-02-05", "relation": "contains"}}}
    assert await _ids(client, contains) == set()
    net = ipaddress.ip_address("10.0.0.255")
    assert await _ids(client, {"range": {"nets": {"gte": str(net), "lte": str(net + 1)}}}) == {"a", "b"}
    assert await _ids(client, {"range": {"nets": {"gt": str(net), "lt": str(net + 2)}}}) == {"b"}
    assert await _ids(client, {"range": {"reals": {"gte": 2.5}}}) == set()
    assert await _ids(client, {"range": {"reals": {"gt": 2.4999}}}) == {"a"}
    assert await _ids(client, {"range": {"reals": {"lte": 1.5}}}) == set()


async def test_index_mapping_ignore_malformed_setting(asgi_client: httpx.AsyncClient) -> None:
    body = {
        "settings": {"number_of_replicas": 0, "index.mapping.ignore_malformed": True},
        "mappings": {"properties": {"n": {"type": "integer"}, "k": {"type": "keyword"}}},
    }
    r = await asgi_client.put("/lenient", json=body)
    assert r.status_code == 200, r.text
    r = await asgi_client.put("/lenient/_doc/1?refresh=true", json={"n": "not a number", "k": "x"})
    assert r.status_code == 201, r.text
    r = await asgi_client.put("/lenient/_doc/2?refresh=true", json={"n": 7, "k": "y"})
    assert r.status_code == 201, r.text
    assert await _ids(asgi_client, {"term": {"k": "x"}}, "lenient") == {"1"}
    assert await _ids(asgi_client, {"range": {"n": {"gte": 0}}}, "lenient") == {"2"}
    # Without the setting the same document is refused.
    r = await asgi_client.put("/strict", json={"mappings": {"properties": {"n": {"type": "integer"}}}})
    assert r.status_code == 200, r.text
    r = await asgi_client.put("/strict/_doc/1", json={"n": "not a number"})
    assert r.status_code == 400, r.text
