"""geo_distance through the whole request path is exact (the leaf gives the compiler its searcher)."""

from __future__ import annotations

import math
import random

import httpx
import orjson


def _haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6_371_008.7714
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


async def test_geo_distance_matches_haversine(asgi_client: httpx.AsyncClient) -> None:
    r = await asgi_client.put("/places", json={"mappings": {"properties": {"loc": {"type": "geo_point"}}}})
    assert r.status_code == 200
    rng = random.Random(5)
    points = [(48.85 + rng.uniform(-0.5, 0.5), 2.35 + rng.uniform(-0.5, 0.5)) for _ in range(400)]
    lines = []
    for i, (lat, lon) in enumerate(points):
        lines += [orjson.dumps({"index": {"_id": str(i)}}), orjson.dumps({"loc": {"lat": lat, "lon": lon}})]
    ndjson = {"content-type": "application/x-ndjson"}
    r = await asgi_client.post("/places/_bulk?refresh=true", content=b"\n".join(lines) + b"\n", headers=ndjson)
    assert not r.json()["errors"]
    body = {"size": 400, "query": {"geo_distance": {"distance": "20km", "loc": {"lat": 48.85, "lon": 2.35}}}}
    hits = (await asgi_client.post("/places/_search", json=body)).json()["hits"]["hits"]
    expected = {str(i) for i, (lat, lon) in enumerate(points) if _haversine_m(48.85, 2.35, lat, lon) <= 20_000}
    assert 0 < len(expected) < 400
    assert {h["_id"] for h in hits} == expected
