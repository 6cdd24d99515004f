"""geohash_grid, geotile_grid, adjacency_matrix, auto_date_histogram, variable_width_histogram and hdr
percentiles over 3-shard indices, against answers computed here."""

from __future__ import annotations

import math
import random
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np
import pytest

from tests.native.aggs2_helpers import aggs, bulk, make_index, search_error

_B32 = "0123456789bcdefghjkmnpqrstuvwxyz"


def _decode_cell(hash_text: str) -> tuple[float, float, float, float]:
    """(lat_lo, lat_hi, lon_lo, lon_hi) of a geohash cell."""
    lat, lon = [-90.0, 90.0], [-180.0, 180.0]
    even = True
    for ch in hash_text:
        bits = _B32.index(ch)
        for shift in range(4, -1, -1):
            target = lon if even else lat
            mid = (target[0] + target[1]) / 2
            if bits >> shift & 1:
                target[0] = mid
            else:
                target[1] = mid
            even = not even
    return lat[0], lat[1], lon[0], lon[1]


def _points() -> list[tuple[float, float]]:
    rng = random.Random(8)
    return [(rng.uniform(40, 55), rng.uniform(-5, 15)) for _ in range(200)]


async def test_geohash_grid_cells_contain_points(asgi_client: httpx.AsyncClient) -> None:
    pts = _points()
    await make_index(asgi_client, "geo", {"loc": {"type": "geo_point"}})
    await bulk(asgi_client, "geo", [{"loc": {"lat": la, "lon": lo}} for la, lo in pts])
    out = (await aggs(asgi_client, "geo", {"g": {"geohash_grid": {"field": "loc", "precision": 3, "size": 1000}}}))["g"]
    total = 0
    seen: Counter[str] = Counter()
    for la, lo in pts:
        cells = [b["key"] for b in out["buckets"] if _inside(_decode_cell(b["key"]), la, lo)]
        assert len(cells) == 1, (la, lo, cells)
        seen[cells[0]] += 1
    for b in out["buckets"]:
        assert len(b["key"]) == 3
        assert b["doc_count"] == seen[b["key"]]
        total += b["doc_count"]
    assert total == len(pts)
    counts = [b["doc_count"] for b in out["buckets"]]
    assert counts == sorted(counts, reverse=True)
    # size keeps the top cells
    top = (await aggs(asgi_client, "geo", {"g": {"geohash_grid": {"field": "loc", "precision": 3, "size": 2}}}))["g"]
    assert [b["doc_count"] for b in top["buckets"]] == counts[:2]


def _inside(cell: tuple[float, float, float, float], lat: float, lon: float) -> bool:
    return cell[0] <= lat < cell[1] and cell[2] <= lon < cell[3]


async def test_geotile_grid_matches_tile_formula_and_bounds(asgi_client: httpx.AsyncClient) -> None:
    pts = _points()
    await make_index(asgi_client, "tiles", {"loc": {"type": "geo_point"}})
    await bulk(asgi_client, "tiles", [{"loc": [lo, la]} for la, lo in pts])
    bounds = {"top_left": {"lat": 50.0, "lon": 0.0}, "bottom_right": {"lat": 45.0, "lon": 10.0}}
    body = {
        "t": {"geotile_grid": {"field": "loc", "precision": 6}},
        "b": {"geotile_grid": {"field": "loc", "precision": 6, "bounds": bounds}},
    }
    out = await aggs(asgi_client, "tiles", body)

    def tile(lat: float, lon: float, z: int) -> str:
        n = 2**z
        x = int((lon + 180) / 360 * n)
        y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
        return f"{z}/{x}/{y}"

    expected = Counter(tile(la, lo, 6) for la, lo in pts)
    assert {b["key"]: b["doc_count"] for b in out["t"]["buckets"]} == dict(expected)
    inside = Counter(tile(la, lo, 6) for la, lo in pts if 45 <= la <= 50 and 0 <= lo <= 10)
    assert {b["key"]: b["doc_count"] for b in out["b"]["buckets"]} == dict(inside)
    r = await search_error(asgi_client, "tiles", {"t": {"geotile_grid": {"field": "loc", "precision": 30}}})
    assert r.status_code == 400 and "Must be between 0 and 29" in r.text


async def test_adjacency_matrix(asgi_client: httpx.AsyncClient) -> None:
    rng = random.Random(2)
    docs: list[dict[str, Any]] = [
        {"tags": rng.sample(["a", "b", "c", "d"], rng.randint(0, 3)), "n": i} for i in range(90)
    ]
    await make_index(asgi_client, "adj", {"tags": {"type": "keyword"}, "n": {"type": "long"}})
    await bulk(asgi_client, "adj", docs)
    filters = {name: {"term": {"tags": name}} for name in ("c", "a", "b", "d")}
    body = {"m": {"adjacency_matrix": {"filters": filters, "separator": "|"}, "aggs": {"s": {"sum": {"field": "n"}}}}}
    out = (await aggs(asgi_client, "adj", body))["m"]["buckets"]
    expected: dict[str, tuple[int, int]] = {}
    names = sorted(filters)
    for i, x in enumerate(names):
        for key, need in [(x, {x})] + [(f"{x}|{y}", {x, y}) for y in names[i + 1 :]]:
            members = [d for d in docs if need <= set(d["tags"])]
            if members:
                expected[key] = (len(members), sum(d["n"] for d in members))
    assert [b["key"] for b in out] == sorted(expected)
    assert {b["key"]: (b["doc_count"], int(b["s"]["value"])) for b in out} == expected


async def test_auto_date_histogram(asgi_client: httpx.AsyncClient) -> None:
    base = datetime(2021, 1, 1, tzinfo=UTC).timestamp() * 1000
    rng = random.Random(4)
    stamps = [int(base + rng.uniform(0, 40) * 86_400_000) for _ in range(120)]
    await make_index(asgi_client, "ad", {"ts": {"type": "date"}, "v": {"type": "long"}})
    await bulk(asgi_client, "ad", [{"ts": t, "v": i} for i, t in enumerate(stamps)])
    out = (
        await aggs(
            asgi_client,
            "ad",
            {"h": {"auto_date_histogram": {"field": "ts", "buckets": 10}, "aggs": {"s": {"sum": {"field": "v"}}}}},
        )
    )["h"]
    # 40 days do not fit 10 daily buckets; 7-day groups of days from the first day do (6 buckets)
    assert out["interval"] == "7d"
    day = 86_400_000
    first = min(stamps) // day * day
    expected: Counter[int] = Counter((t - first) // (7 * day) for t in stamps)
    assert [b["key"] for b in out["buckets"]] == [first + k * 7 * day for k in range(max(expected) + 1)]
    assert [b["doc_count"] for b in out["buckets"]] == [expected[k] for k in range(max(expected) + 1)]
    sums: Counter[int] = Counter()
    for i, t in enumerate(stamps):
        sums[(t - first) // (7 * day)] += i
    assert [int(b["s"]["value"]) for b in out["buckets"]] == [sums[k] for k in range(max(expected) + 1)]
    assert out["buckets"][0]["key_as_string"].endswith("T00:00:00.000Z")
    monthly = (await aggs(asgi_client, "ad", {"h": {"auto_date_histogram": {"field": "ts", "buckets": 2}}}))["h"]
    assert monthly["interval"] == "1M"
    months = Counter(datetime.fromtimestamp(t / 1000, UTC).month for t in stamps)
    assert [b["doc_count"] for b in monthly["buckets"]] == [months[m] for m in sorted(months)]


async def test_variable_width_histogram(asgi_client: httpx.AsyncClient) -> None:
    values = [1, 2, 3, 20, 21, 22, 23, 50, 51, 90]
    await make_index(asgi_client, "vw", {"x": {"type": "integer"}})
    await bulk(asgi_client, "vw", [{"x": v} for v in values])
    out = (await aggs(asgi_client, "vw", {"h": {"variable_width_histogram": {"field": "x", "buckets": 4}}}))["h"]
    groups = [[1, 2, 3], [20, 21, 22, 23], [50, 51], [90]]
    assert [(b["min"], b["max"], b["doc_count"]) for b in out["buckets"]] == [
        (float(g[0]), float(g[-1]), len(g)) for g in groups
    ]
    assert [b["key"] for b in out["buckets"]] == pytest.approx([float(np.mean(g)) for g in groups])


async def test_hdr_percentiles_within_precision(asgi_client: httpx.AsyncClient) -> None:
    rng = np.random.default_rng(5)
    values = np.round(rng.lognormal(3, 1, 3000), 3)
    await make_index(asgi_client, "hdr", {"x": {"type": "double"}})
    await bulk(asgi_client, "hdr", [{"x": float(v)} for v in values])
    percents = [1.0, 25.0, 50.0, 90.0, 99.0]
    body = {
        "p": {"percentiles": {"field": "x", "percents": percents, "hdr": {"number_of_significant_value_digits": 3}}},
        "r": {"percentile_ranks": {"field": "x", "values": [10.0, 20.0, 80.0], "hdr": {}, "keyed": False}},
    }
    out = await aggs(asgi_client, "hdr", body)
    ordered = np.sort(values)
    for p in percents:
        exact = ordered[max(1, math.ceil(p / 100 * len(values))) - 1]
        assert out["p"]["values"][repr(p)] == pytest.approx(exact, rel=2e-3)
    for item in out["r"]["values"]:
        below = np.count_nonzero(values <= item["key"]) / len(values) * 100
        assert item["value"] == pytest.approx(below, abs=0.5)
    negative = {"x": -1.0}
    await bulk(asgi_client, "hdr", [negative])
    r = await search_error(asgi_client, "hdr", {"p": {"percentiles": {"field": "x", "hdr": {}}}})
    # the shard holding the negative value fails (ES: a 400 shard failure; the other shards answer)
    assert r.status_code == 200 and r.json()["_shards"]["failed"] == 1, r.text
    assert "Negative values are not supported by HDR" in r.text
    r = await search_error(
        asgi_client, "hdr", {"p": {"percentiles": {"field": "x", "hdr": {"number_of_significant_value_digits": 6}}}}
    )
    assert r.status_code == 400


async def test_top_hits_stored_and_docvalue_fields(asgi_client: httpx.AsyncClient) -> None:
    props = {"page": {"type": "integer"}, "text": {"type": "text", "store": True}, "day": {"type": "date"}}
    await make_index(asgi_client, "th", props, shards=2)
    docs = [{"page": i % 2, "text": f"doc {i}", "day": f"2024-01-0{i + 1}"} for i in range(4)]
    await bulk(asgi_client, "th", docs)
    sub = {
        "top_hits": {
            "size": 5,
            "sort": [{"page": "asc"}],
            "stored_fields": ["text"],
            "docvalue_fields": ["page", {"field": "day", "format": "yyyy/MM/dd"}],
        }
    }
    out = await aggs(asgi_client, "th", {"p": {"terms": {"field": "page"}, "aggs": {"t": sub}}})
    for bucket in out["p"]["buckets"]:
        for hit in bucket["t"]["hits"]["hits"]:
            doc = docs[int(hit["_id"])]
            assert hit["fields"] == {
                "page": [doc["page"]],
                "text": [doc["text"]],
                "day": [str(doc["day"]).replace("-", "/")],
            }
    r = await search_error(asgi_client, "th", {"t": {"top_hits": {"docvalue_fields": ["text"]}}})
    assert r.status_code == 400 and "Text fields are not optimised" in r.text


async def test_percentiles_format_and_date_strings(asgi_client: httpx.AsyncClient) -> None:
    await make_index(asgi_client, "pf", {"x": {"type": "double"}, "d": {"type": "date"}})
    await bulk(asgi_client, "pf", [{"x": 1.0, "d": "2020-01-01"}, {"x": 3.0, "d": "2020-01-03"}])
    body = {
        "p": {"percentiles": {"field": "x", "percents": [50], "format": "0.00"}},
        "h": {"percentiles": {"field": "x", "percents": [50], "hdr": {}, "keyed": False, "format": "0"}},
        "d": {"percentiles": {"field": "d", "percents": [50]}},
        "plain": {"percentiles": {"field": "x", "percents": [50]}},
    }
    out = await aggs(asgi_client, "pf", body)
    assert out["p"]["values"] == {"50.0": 2.0, "50.0_as_string": "2.00"}
    (item,) = out["h"]["values"]
    assert item["key"] == 50.0 and item["value"] == pytest.approx(1.0, rel=1e-3) and item["value_as_string"] == "1"
    assert out["d"]["values"]["50.0_as_string"] == "2020-01-02T00:00:00.000Z"
    assert out["plain"]["values"] == {"50.0": 2.0}


async def test_top_hits_highlight_and_search_fields(asgi_client: httpx.AsyncClient) -> None:
    await make_index(asgi_client, "hl", {"page": {"type": "integer"}, "text": {"type": "text"}}, shards=1)
    texts = ["the quick brown fox", "jumped over the lazy dog", "The vorpal blade went snicker-snack!"]
    await bulk(asgi_client, "hl", [{"page": 1 if i < 2 else 2, "text": t} for i, t in enumerate(texts)])
    top = {"top_hits": {"sort": [{"page": "asc"}], "highlight": {"fields": {"text": {}}}}}
    body: dict[str, Any] = {
        "size": 0,
        "query": {"match": {"text": "the"}},
        "fields": ["page"],
        "aggs": {"p": {"terms": {"field": "page"}, "aggs": {"t": top}}},
    }
    r = await asgi_client.post("/hl/_search", json=body)
    assert r.status_code == 200, r.text
    hits = {h["_id"]: h for b in r.json()["aggregations"]["p"]["buckets"] for h in b["t"]["hits"]["hits"]}
    assert hits["0"]["highlight"] == {"text": ["<em>the</em> quick brown fox"]}
    assert hits["2"]["highlight"] == {"text": ["<em>The</em> vorpal blade went snicker-snack!"]}
    assert all(h["fields"] == {"page": [1 if i in ("0", "1") else 2]} for i, h in hits.items())
    per_field = {"fields": {"text": {"highlight_query": {"match": {"text": "snack"}}}}}
    body["aggs"]["p"]["aggs"]["t"]["top_hits"]["highlight"] = per_field
    r = await asgi_client.post("/hl/_search", json=body)
    hits = {h["_id"]: h for b in r.json()["aggregations"]["p"]["buckets"] for h in b["t"]["hits"]["hits"]}
    assert "highlight" not in hits["0"]
    assert hits["2"]["highlight"] == {"text": ["The vorpal blade went snicker-<em>snack</em>!"]}
