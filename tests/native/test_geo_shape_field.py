"""``geo_shape`` fields: shapes kept in ``_source``, matched by the ``geo_shape`` query's four relations."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from native.errors import IllegalArgument
from native.query.geo_shapes import parse_shape, relate

DOCS: dict[str, Any] = {
    "pt_in": {"type": "point", "coordinates": [0.5, 3]},
    "pt_out": {"type": "point", "coordinates": [5, 5]},
    "pt_edge": "POINT (1 2)",  # on the query envelope's corner
    "line_cross": {"type": "linestring", "coordinates": [[-1, 4], [2, 4]]},
    "line_in": {"type": "linestring", "coordinates": [[0.2, 3], [0.8, 5]]},
    "poly_big": {"type": "polygon", "coordinates": [[[-10, -10], [10, -10], [10, 10], [-10, 10], [-10, -10]]]},
    "poly_hole": {"type": "polygon", "coordinates": [  # a big square whose hole holds the whole query box
        [[-10, -10], [10, -10], [10, 10], [-10, 10], [-10, -10]], [[-2, 0], [3, 0], [3, 8], [-2, 8], [-2, 0]]]},
    "env_in": {"type": "envelope", "coordinates": [[0.1, 5], [0.9, 2.5]]},
    "multi": [{"type": "point", "coordinates": [0.5, 3]}, {"type": "point", "coordinates": [50, 50]}],
}  # fmt: skip
QUERY = {"type": "envelope", "coordinates": [[0, 6], [1, 2]]}  # lon 0..1, lat 2..6
EXPECTED = {
    "intersects": {"pt_in", "pt_edge", "line_cross", "line_in", "poly_big", "env_in", "multi"},
    "within": {"pt_in", "pt_edge", "line_in", "env_in"},
    "contains": {"poly_big"},
}
EXPECTED["disjoint"] = set(DOCS) - EXPECTED["intersects"]


async def _load(client: httpx.AsyncClient) -> None:
    r = await client.put("/shapes", json={"settings": {"number_of_shards": 2},
                                          "mappings": {"properties": {"loc": {"type": "geo_shape"}}}})  # fmt: skip
    assert r.status_code == 200, r.text
    for doc_id, shape in DOCS.items():
        r = await client.put(f"/shapes/_doc/{doc_id}", json={"loc": shape})
        assert r.status_code == 201, r.text
    await client.put("/shapes/_doc/none", json={"other": 1})
    await client.post("/shapes/_refresh")


@pytest.mark.parametrize("relation", sorted(EXPECTED))
async def test_relations_on_geo_shape_field(asgi_client: httpx.AsyncClient, relation: str) -> None:
    await _load(asgi_client)
    body = {"size": 100, "query": {"geo_shape": {"loc": {"shape": QUERY, "relation": relation}}}}
    r = await asgi_client.post("/shapes/_search", json=body)
    assert r.status_code == 200, r.text
    hits = r.json()["hits"]["hits"]
    assert {h["_id"] for h in hits} == EXPECTED[relation]
    assert all(h["_score"] == 0.0 for h in hits)


async def test_wkt_query_shape_and_refusals(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    body = {"query": {"geo_shape": {"loc": {"shape": "BBOX (0, 1, 6, 2)", "relation": "within"}}}}
    r = await asgi_client.post("/shapes/_search", json=body)
    assert r.status_code == 200, r.text
    assert {h["_id"] for h in r.json()["hits"]["hits"]} == EXPECTED["within"]
    circle = {"type": "circle", "coordinates": [0, 0], "radius": "10km"}
    r = await asgi_client.post("/shapes/_search", json={"query": {"geo_shape": {"loc": {"shape": circle}}}})
    assert r.status_code == 400, r.text
    assert "[circle] is not supported on a geo_shape field" in r.text


def test_polygon_relations_exact() -> None:
    square = parse_shape({"type": "polygon", "coordinates": [[[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]]}, "q")
    inner = parse_shape("POLYGON ((1 1, 2 1, 2 2, 1 2, 1 1))", "d")
    touching = parse_shape("POLYGON ((4 0, 6 0, 6 4, 4 4, 4 0))", "d")  # shares an edge
    concave = parse_shape("POLYGON ((0 0, 4 0, 4 4, 3 4, 3 1, 1 1, 1 4, 0 4, 0 0))", "d")
    gap = parse_shape("POLYGON ((1.5 2, 2.5 2, 2.5 3.5, 1.5 3.5, 1.5 2))", "d")  # inside concave's notch
    assert relate(inner, square, "within") and relate(square, inner, "contains")
    assert relate(touching, square, "intersects") and not relate(touching, square, "within")
    assert not relate(gap, concave, "intersects") and relate(gap, concave, "disjoint")
    assert not relate(square, concave, "within") and relate(concave, square, "within")
    with pytest.raises(IllegalArgument):
        parse_shape({"type": "polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]}, "q")  # ring not closed


async def test_bounding_box_on_geo_shape_field(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    box = {"top_left": {"lat": 6, "lon": 0}, "bottom_right": {"lat": 2, "lon": 1}}
    r = await asgi_client.post("/shapes/_search", json={"size": 100, "query": {"geo_bounding_box": {"loc": box}}})
    assert r.status_code == 200, r.text
    assert {h["_id"] for h in r.json()["hits"]["hits"]} == EXPECTED["intersects"]


@pytest.mark.parametrize("kind", ["terms", "value_count", "cardinality", "geo_bounds"])
async def test_aggregations_on_geo_shape_are_refused(asgi_client: httpx.AsyncClient, kind: str) -> None:
    await _load(asgi_client)
    r = await asgi_client.post("/shapes/_search", json={"size": 0, "aggs": {"a": {kind: {"field": "loc"}}}})
    assert r.status_code == 400, r.text
    cause = r.json()["error"]["root_cause"][0]
    reason = f"Field [loc] of type [geo_shape] is not supported for aggregation [{kind}]"
    assert cause == {"type": "illegal_argument_exception", "reason": reason}


async def test_missing_agg_on_geo_shape_field(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    r = await asgi_client.post("/shapes/_search", json={"size": 0, "aggs": {"a": {"missing": {"field": "loc"}}}})
    assert r.status_code == 200, r.text
    assert r.json()["aggregations"]["a"]["doc_count"] == 1  # the one document without ``loc``


async def test_malformed_shapes_are_refused_at_index_time(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    for bad in ({"type": "point", "coordinates": "x"}, {"type": "circle", "coordinates": [0, 0], "radius": "1km"},
                "POLYGON ((0 0, 1 0, 1 1))", 42):  # fmt: skip
        r = await asgi_client.put("/shapes/_doc/bad", json={"loc": bad})
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"]["type"] == "document_parsing_exception", r.text
    r = await asgi_client.put("/lenient", json={"mappings": {"properties": {
        "loc": {"type": "geo_shape", "ignore_malformed": True}}}})  # fmt: skip
    assert r.status_code == 200, r.text
    r = await asgi_client.put("/lenient/_doc/1?refresh=true", json={"loc": {"type": "point", "coordinates": "x"}})
    assert r.status_code == 201, r.text
    r = await asgi_client.post("/lenient/_search", json={"query": {"exists": {"field": "loc"}}})
    assert r.json()["hits"]["total"]["value"] == 0
