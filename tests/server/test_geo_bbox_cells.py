"""geo_bounding_box given as a geohash cell, a map tile, or corners that are geohashes."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

POINTS = {"a": (10.0, 10.0), "b": (44.9, 44.9), "c": (-10.0, 10.0), "d": (34.5, -60.5), "e": (86.0, -10.0)}


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    r = await asgi_client.put("/g", json={"mappings": {"properties": {"p": {"type": "geo_point"}}}})
    assert r.status_code == 200, r.text
    lines = []
    for doc_id, (lat, lon) in POINTS.items():
        lines += [orjson.dumps({"index": {"_id": doc_id}}), orjson.dumps({"p": {"lat": lat, "lon": lon}})]
    r = await asgi_client.post("/g/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text
    return asgi_client


def inside(top: float, left: float, bottom: float, right: float) -> set[str]:
    return {k for k, (lat, lon) in POINTS.items() if bottom <= lat <= top and left <= lon <= right}


@pytest.mark.parametrize(("box", "expected"), [
    ({"geohash": "s"}, inside(45, 0, 0, 45)),  # the cell "s": lat 0..45, lon 0..45
    ({"top_left": "s", "bottom_right": "s"}, inside(45, 0, 0, 45)),
    ({"geotile": "1/0/0"}, inside(85.0511287798066, -180, 0, 0)),  # north-west quarter of the web map
    ({"geotile": "0/0/0"}, inside(85.0511287798066, -180, -85.0511287798066, 180)),
])  # fmt: skip
async def test_cells(client: httpx.AsyncClient, box: dict[str, Any], expected: set[str]) -> None:
    r = await client.post("/g/_search", json={"query": {"geo_bounding_box": {"p": box}}})
    assert r.status_code == 200, r.text
    assert {h["_id"] for h in r.json()["hits"]["hits"]} == expected


async def test_bad_tile(client: httpx.AsyncClient) -> None:
    r = await client.post("/g/_search", json={"query": {"geo_bounding_box": {"p": {"geotile": "1/5/0"}}}})
    assert r.status_code == 400
