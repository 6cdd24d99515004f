"""Completion ``contexts``: category (values, ``path``, boost, prefix) and geo (geohash cells of the mapping's
precision, neighbours) filter and boost the suggestions of a context-enabled completion field."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

TORONTO = {"lat": 43.662, "lon": -79.380}
DOCS: dict[str, Any] = {
    "1": {"suggest": {"input": ["timmy's", "starbucks", "dunkin donuts"], "weight": 3,
                      "contexts": {"place_type": ["cafe", "food"], "location": TORONTO}}},
    "2": {"suggest": {"input": ["monkey", "timmy's", "Lamborghini"], "weight": 2,
                      "contexts": {"place_type": ["money"], "location": [13.4, 52.5]}}},  # Berlin, [lon, lat]
    "3": {"suggest": [{"input": "tim hortons", "weight": 1, "contexts": {"place_type": "cafe"}}], "kind": "shop"},
}  # fmt: skip


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    contexts = [{"name": "place_type", "type": "category"}, {"name": "location", "type": "geo", "precision": 4},
                {"name": "kind", "type": "category", "path": "kind"}]  # fmt: skip
    mappings = {"properties": {"suggest": {"type": "completion", "contexts": contexts}, "kind": {"type": "keyword"}}}
    r = await asgi_client.put("/place", json={"settings": {"number_of_shards": 2}, "mappings": mappings})
    assert r.status_code == 200, r.text
    lines = []
    for doc_id, doc in DOCS.items():
        lines += [orjson.dumps({"index": {"_id": doc_id}}), orjson.dumps(doc)]
    r = await asgi_client.post("/place/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text
    return asgi_client


async def options(client: httpx.AsyncClient, contexts: Any = None, prefix: str = "tim") -> list[dict[str, Any]]:
    completion: dict[str, Any] = {"field": "suggest", "size": 10}
    if contexts is not None:
        completion["contexts"] = contexts
    r = await client.post("/place/_search", json={"suggest": {"s": {"prefix": prefix, "completion": completion}}})
    assert r.status_code == 200, r.text
    (entry,) = r.json()["suggest"]["s"]
    return list(entry["options"])


def brief(opts: list[dict[str, Any]]) -> list[tuple[str, str, float]]:
    return [(o["_id"], o["text"], o["_score"]) for o in opts]


async def test_category(client: httpx.AsyncClient) -> None:
    got = await options(client, {"place_type": ["cafe", "restaurants"]})
    assert brief(got) == [("1", "timmy's", 3.0), ("3", "tim hortons", 1.0)]
    assert got[0]["contexts"] == {"place_type": ["cafe"]}
    # boosts multiply the weight; the best matching context counts
    got = await options(client, {"place_type": [{"context": "cafe", "boost": 1}, {"context": "money", "boost": 4}]})
    assert brief(got) == [("2", "timmy's", 8.0), ("1", "timmy's", 3.0), ("3", "tim hortons", 1.0)]
    got = await options(client, {"place_type": [{"context": "mon", "prefix": True}]})
    assert brief(got) == [("2", "timmy's", 2.0)]
    assert await options(client, {"place_type": ["mon"]}) == []
    # a context read from the document (``path``)
    got = await options(client, {"kind": "shop"})
    assert brief(got) == [("3", "tim hortons", 1.0)] and got[0]["contexts"] == {"kind": ["shop"]}


async def test_contexts_are_mandatory(client: httpx.AsyncClient) -> None:
    for contexts in (None, {}, {"place_type": []}):
        completion = {"field": "suggest"} | ({} if contexts is None else {"contexts": contexts})
        r = await client.post("/place/_search", json={"suggest": {"s": {"prefix": "tim", "completion": completion}}})
        assert r.status_code == 400, r.text
        assert r.json()["error"]["root_cause"][0]["reason"] == "Missing mandatory contexts in context query"
    mappings = {"properties": {"sug": {"type": "completion", "contexts": [{"name": "c", "type": "category"}]}}}
    r = await client.put("/strict", json={"mappings": mappings})
    assert r.status_code == 200, r.text
    for value in ({"input": "foo"}, "foo", {"input": "foo", "contexts": {"c": []}}):
        r = await client.put("/strict/_doc/1", json={"sug": value})
        assert r.status_code == 400, r.text
        assert r.json()["error"]["reason"] == "Contexts are mandatory in context enabled completion field [sug]"
    r = await client.put("/strict/_doc/1", json={"sug": {"input": "foo", "contexts": {"c": "x"}}})
    assert r.status_code == 201, r.text


async def test_path_contexts_merge_with_inline_ones(client: httpx.AsyncClient) -> None:
    doc = {"suggest": {"input": "timbuktu", "contexts": {"kind": "travel"}}, "kind": "city"}
    r = await client.put("/place/_doc/9?refresh=true", json=doc)
    assert r.status_code == 201, r.text
    for kind in ("travel", "city"):
        got = await options(client, {"kind": kind})
        assert [o["_id"] for o in got] == ["9"], kind
    got = await options(client, {"kind": ["travel", "city"]})
    assert got[0]["contexts"] == {"kind": ["city", "travel"]}


async def test_geo(client: httpx.AsyncClient) -> None:
    assert brief(await options(client, {"location": TORONTO})) == [("1", "timmy's", 3.0)]
    # a point in the next cell east (precision 4 cells are ~39 km wide): matched through the neighbours
    east = {"lat": 43.662, "lon": -79.380 + 0.4}
    assert brief(await options(client, {"location": {"context": east, "boost": 2}})) == [("1", "timmy's", 6.0)]
    # a coarser query precision matches every geohash the cell prefixes
    got = await options(client, {"location": {"context": {"lat": 52.52, "lon": 13.40}, "precision": 2}})
    assert brief(got) == [("2", "timmy's", 2.0)] and got[0]["contexts"] == {"location": ["u33d"]}
    assert await options(client, {"location": {"lat": -33.9, "lon": 151.2}}) == []


@pytest.mark.parametrize(
    ("contexts", "field", "message"),
    [
        ({"colour": ["red"]}, "suggest", "Unknown context name [colour]"),
        ({"place_type": ["cafe"]}, "plain", "doesn't expect any context"),
        ({"place_type": [{"context": "cafe", "bogus": 1}]}, "suggest", "unknown field [bogus]"),
    ],
)
async def test_context_errors(client: httpx.AsyncClient, contexts: Any, field: str, message: str) -> None:
    r = await client.put("/place/_mapping", json={"properties": {"plain": {"type": "completion"}}})
    assert r.status_code == 200, r.text
    body = {"suggest": {"s": {"prefix": "tim", "completion": {"field": field, "contexts": contexts}}}}
    r = await client.post("/place/_search", json=body)
    assert r.status_code == 400, r.text
    assert message in r.text


@pytest.mark.parametrize(
    "contexts",
    [[{"name": "c", "type": "colour"}], [{"type": "category"}], [{"name": "g", "type": "geo", "precision": 13}]],
)
async def test_context_mapping_checked(asgi_client: httpx.AsyncClient, contexts: Any) -> None:
    r = await asgi_client.put(
        "/bad", json={"mappings": {"properties": {"s": {"type": "completion", "contexts": contexts}}}}
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["type"] == "mapper_parsing_exception"


async def test_geo_and_category_from_paths(asgi_client: httpx.AsyncClient) -> None:
    contexts = [{"name": "location", "type": "geo", "precision": "5km", "path": "location"},
                {"name": "color", "type": "category", "path": "color"}]  # fmt: skip
    mappings = {"properties": {"location": {"type": "geo_point"}, "color": {"type": "keyword"},
                               "s": {"type": "completion", "contexts": contexts}}}  # fmt: skip
    r = await asgi_client.put("/multi", json={"mappings": mappings})
    assert r.status_code == 200, r.text
    docs = {"5": {"s": "Marriot in Amsterdam", "location": {"lat": 52.22, "lon": 4.53}, "color": "red"},
            "6": {"s": "Marriot in Berlin", "location": {"lat": 53.31, "lon": 13.24}, "color": "blue"}}  # fmt: skip
    for doc_id, doc in docs.items():
        r = await asgi_client.put(f"/multi/_doc/{doc_id}?refresh=true", json=doc)
        assert r.status_code == 201, r.text

    async def texts(contexts: Any) -> list[str]:
        body = {"suggest": {"r": {"text": "mar", "completion": {"field": "s", "contexts": contexts}}}}
        r = await asgi_client.post("/multi/_search", json=body)
        assert r.status_code == 200, r.text
        return [o["text"] for o in r.json()["suggest"]["r"][0]["options"]]

    assert await texts({"location": {"lat": 52.22, "lon": 4.53}}) == ["Marriot in Amsterdam"]
    assert await texts({"color": "blue"}) == ["Marriot in Berlin"]
    assert await texts({"color": ["blue", "red"]}) == ["Marriot in Amsterdam", "Marriot in Berlin"]
