"""Geo queries and geo aggregations against a real shard, compared with plain-Python answers."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from native import aggs as A
from native.analysis import Analysis
from native.errors import BadRequest
from native.fields import ID_FIELD
from native.mapping import Mapping
from native.query import compile_query, geo, parse_query
from native.shard import Shard
from native.writes import WriteOp


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Shard, dict[str, Any]]:
    mapping = {"properties": {"loc": {"type": "geo_point"}, "tag": {"type": "keyword"}, "k": {"type": "integer"}}}
    shard = Shard(str(tmp_path_factory.mktemp("geo")), Mapping(mapping), Analysis.from_settings({}))
    rnd = random.Random(7)
    docs = {
        f"d{i}": {"loc": {"lat": rnd.uniform(-89, 89), "lon": rnd.uniform(-180, 180)}, "tag": rnd.choice("abc")}
        for i in range(1500)
    }
    docs["pole"] = {"loc": {"lat": 89.9, "lon": 10.0}, "tag": "a"}
    shard.write([WriteOp("index", k, orjson.dumps(v)) for k, v in docs.items()])
    shard.refresh(force=True)
    return shard, docs


def ids(shard: Shard, body: dict[str, Any], *, with_searcher: bool = True) -> set[str]:
    _, searcher = shard.acquire_searcher()
    q = compile_query(parse_query(body), shard.compiled, now_millis=0, searcher=searcher if with_searcher else None)
    return {searcher.doc(a)[ID_FIELD][0] for _, a in searcher.search(q, 5000).hits}


@pytest.mark.parametrize(
    ("lat", "lon", "distance"),
    [(10, 20, "2000km"), (80, 170, "1500km"), (-85, -179, "900km"), (0, 179.5, "3000km"), (45, 0, "50mi"),
     (60, -100, "1000000m"), (89, 0, "500km")],
)  # fmt: skip
def test_geo_distance_matches_haversine(world, lat, lon, distance):
    shard, docs = world
    radius = geo.parse_distance(distance)
    want = {d for d, v in docs.items() if geo.haversine(lat, lon, v["loc"]["lat"], v["loc"]["lon"]) <= radius}
    assert ids(shard, {"geo_distance": {"distance": distance, "loc": {"lat": lat, "lon": lon}}}) == want
    coarse = ids(shard, {"geo_distance": {"distance": distance, "loc": [lon, lat]}}, with_searcher=False)
    assert want <= coarse  # without a searcher: a superset (boundary ring accepted)


def test_geo_distance_point_formats_and_validation(world):
    shard, _ = world
    body = {"geo_distance": {"distance": "1000km", "loc": "10,20"}}
    same = ids(shard, body)
    assert same == ids(shard, {"geo_distance": {"distance": "1000km", "loc": "POINT (20 10)"}})
    assert same == ids(shard, {"geo_distance": {"distance": 1_000_000, "loc": [20, 10]}})
    with pytest.raises(BadRequest, match="illegal latitude value"):
        parse_query({"geo_distance": {"distance": "1km", "loc": {"lat": 100, "lon": 0}}})
    coerced = parse_query({"geo_distance": {"distance": "1km", "validation_method": "COERCE",
                                            "loc": {"lat": 10, "lon": 200}}})  # fmt: skip
    assert coerced.lon == pytest.approx(-160)  # type: ignore[attr-defined]
    with pytest.raises(BadRequest, match="distance"):
        parse_query({"geo_distance": {"loc": [0, 0]}})
    assert ids(shard, {"geo_distance": {"distance": "1km", "nope": [0, 0], "ignore_unmapped": True}}) == set()
    with pytest.raises(BadRequest, match="failed to find geo field"):
        ids(shard, {"geo_distance": {"distance": "1km", "nope": [0, 0]}})
    with pytest.raises(BadRequest, match="unsupported type"):
        ids(shard, {"geo_distance": {"distance": "1km", "tag": [0, 0]}})


@pytest.mark.parametrize(
    "box",
    [
        {"top_left": {"lat": 40, "lon": -10}, "bottom_right": {"lat": 0, "lon": 30}},
        {"top_left": [-10, 40], "bottom_right": [30, 0]},
        {"top_left": "40,-10", "bottom_right": "0,30"},
        {"top": 40, "left": -10, "bottom": 0, "right": 30},
        {"top_right": "40,30", "bottom_left": "0,-10"},
        {"wkt": "BBOX (-10, 30, 40, 0)"},
    ],
)
def test_geo_bounding_box_formats(world, box):
    shard, docs = world
    want = {d for d, v in docs.items() if 0 <= v["loc"]["lat"] <= 40 and -10 <= v["loc"]["lon"] <= 30}
    assert ids(shard, {"geo_bounding_box": {"loc": box}}) == want


def test_geo_bounding_box_wraps_the_dateline(world):
    shard, docs = world
    want = {d for d, v in docs.items() if -5 <= v["loc"]["lat"] <= 30 and abs(v["loc"]["lon"]) >= 170}
    assert ids(shard, {"geo_bounding_box": {"loc": {"top_left": "30,170", "bottom_right": "-5,-170"}}}) == want
    with pytest.raises(BadRequest, match="top is below bottom"):
        parse_query({"geo_bounding_box": {"loc": {"top": 0, "left": 0, "bottom": 10, "right": 5}}})


def test_geo_polygon_and_geo_shape(world):
    shard, docs = world
    tri = [(0.0, 0.0), (0.0, 60.0), (50.0, 0.0)]  # (lat, lon)
    want = {d for d, v in docs.items() if geo.point_in_polygon(v["loc"]["lat"], v["loc"]["lon"], tri)}
    points = [{"lat": a, "lon": b} for a, b in tri]
    assert ids(shard, {"geo_polygon": {"loc": {"points": points}}}) == want
    polygon = {"type": "polygon", "coordinates": [[[b, a] for a, b in [*tri, tri[0]]]]}
    assert ids(shard, {"geo_shape": {"loc": {"shape": polygon}}}) == want
    env = {"type": "envelope", "coordinates": [[-10, 40], [30, 0]]}
    box = {d for d, v in docs.items() if 0 <= v["loc"]["lat"] <= 40 and -10 <= v["loc"]["lon"] <= 30}
    assert ids(shard, {"geo_shape": {"loc": {"shape": env, "relation": "within"}}}) == box
    assert ids(shard, {"geo_shape": {"loc": {"shape": env, "relation": "disjoint"}}}) == set(docs) - box
    assert ids(shard, {"geo_shape": {"loc": {"shape": "ENVELOPE (-10, 30, 40, 0)"}}}) == box


def run_aggs(shard: Shard, body: dict[str, Any]) -> dict[str, Any]:
    _, searcher = shard.acquire_searcher()
    tree = A.parse_aggs(body)
    part = A.execute_shard(tree, searcher, compile_query(parse_query(None), shard.compiled, now_millis=0),
                           shard.compiled, now_millis=0)  # fmt: skip
    return A.finalize(tree, A.merge_partials(tree, [part]))


def test_geo_aggregations(world):
    shard, docs = world
    lats = [v["loc"]["lat"] for v in docs.values()]
    lons = [v["loc"]["lon"] for v in docs.values()]
    out = run_aggs(shard, {
        "b": {"geo_bounds": {"field": "loc", "wrap_longitude": False}},
        "c": {"geo_centroid": {"field": "loc"}},
        "g": {"geo_distance": {"field": "loc", "origin": "0,0", "unit": "km",
                               "ranges": [{"from": 5000, "to": 10000}, {"to": 5000}, {"from": 10000}]},
              "aggs": {"t": {"terms": {"field": "tag"}}}},
    })  # fmt: skip
    bounds = out["b"]["bounds"]
    assert bounds["top_left"]["lat"] == pytest.approx(max(lats), abs=1e-6)
    assert bounds["bottom_right"]["lat"] == pytest.approx(min(lats), abs=1e-6)
    assert bounds["top_left"]["lon"] == pytest.approx(min(lons), abs=1e-6)
    assert out["c"]["count"] == len(docs)
    assert out["c"]["location"]["lat"] == pytest.approx(sum(lats) / len(lats), abs=1e-6)
    dists = [geo.haversine(0, 0, la, lo) / 1000 for la, lo in zip(lats, lons, strict=True)]
    buckets = out["g"]["buckets"]
    assert [b["key"] for b in buckets] == ["*-5000.0", "5000.0-10000.0", "10000.0-*"]
    assert buckets[0]["doc_count"] == sum(d < 5000 for d in dists)
    assert buckets[1]["doc_count"] == sum(5000 <= d < 10000 for d in dists)
    assert sum(b["doc_count"] for b in buckets[1]["t"]["buckets"]) == buckets[1]["doc_count"]
    assert run_aggs(shard, {"b": {"geo_bounds": {"field": "nope"}}}) == {"b": {}}


def _geohash_of(lat: float, lon: float, length: int) -> str:
    """Plain encoder, independent of the module's decoder."""
    alphabet = "0123456789bcdefghjkmnpqrstuvwxyz"
    lat_rng, lon_rng, bits, out, even, ch = [-90.0, 90.0], [-180.0, 180.0], 0, "", True, 0
    while len(out) < length:
        rng, value = (lon_rng, lon) if even else (lat_rng, lat)
        mid = (rng[0] + rng[1]) / 2
        ch <<= 1
        if value >= mid:
            ch |= 1
            rng[0] = mid
        else:
            rng[1] = mid
        even, bits = not even, bits + 1
        if bits == 5:
            out, bits, ch = out + alphabet[ch], 0, 0
    return out


@pytest.mark.parametrize("cell", ["s", "u0", "9q8y", "7zz"])
def test_geo_bounding_box_of_a_geohash_cell(world, cell):
    shard, docs = world
    # a point is in the cell (boundaries aside) exactly when its own geohash starts with the cell's
    want = {d for d, v in docs.items() if _geohash_of(v["loc"]["lat"], v["loc"]["lon"], len(cell)) == cell}
    got = ids(shard, {"geo_bounding_box": {"loc": {"geohash": cell}}})
    assert got == want
    # corners written as the cell itself: the top-left corner of its top-left, the bottom-right of its bottom-right
    assert ids(shard, {"geo_bounding_box": {"loc": {"top_left": cell, "bottom_right": cell}}}) == want


@pytest.mark.parametrize("tile", ["0/0/0", "1/0/0", "1/1/1", "3/5/2"])
def test_geo_bounding_box_of_a_geotile(world, tile):
    import math

    shard, docs = world
    zoom, x, y = (int(p) for p in tile.split("/"))
    n = 2**zoom

    def tile_of(lat: float, lon: float) -> tuple[int, int]:
        tx = int((lon + 180.0) / 360.0 * n)
        ty = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n)
        return min(tx, n - 1), min(max(ty, 0), n - 1)

    # web-mercator tiles stop at ±85.05°: points beyond are in no tile's box
    inside = {d for d, v in docs.items() if abs(v["loc"]["lat"]) < 85.0511}
    want = {d for d in inside if tile_of(docs[d]["loc"]["lat"], docs[d]["loc"]["lon"]) == (x, y)}
    assert ids(shard, {"geo_bounding_box": {"loc": {"geotile": tile}}}) == want
    with pytest.raises(BadRequest, match="Zoom/X/Y"):
        parse_query({"geo_bounding_box": {"loc": {"geotile": f"{zoom}/{n}/0"}}})
