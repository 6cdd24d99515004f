"""``_doc_count`` weighs the histogram-like and range bucket counts (histogram, date_histogram fixed and
calendar, range, date_range, auto_date_histogram, variable_width_histogram, range-field histogram)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx

DAY = 86_400_000
BASE = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)
DOCS: list[dict[str, Any]] = [
    {
        "n": (i * 7) % 23,
        "t": BASE + (i % 9) * DAY * 10,
        "r": {"gte": i % 5, "lte": i % 5 + 3},
        **({"_doc_count": 1 + i % 6} if i % 3 else {}),
    }
    for i in range(40)
]


def _w(doc: dict[str, Any]) -> int:
    return int(doc.get("_doc_count", 1))


async def _load(client: httpx.AsyncClient) -> None:
    mappings = {"properties": {"n": {"type": "long"}, "t": {"type": "date"}, "r": {"type": "integer_range"}}}
    r = await client.put("/dch", json={"settings": {"number_of_shards": 2}, "mappings": mappings})
    assert r.status_code == 200, r.text
    lines = []
    for i, doc in enumerate(DOCS):
        lines += [json.dumps({"index": {"_id": str(i)}}), json.dumps(doc)]
    r = await client.post("/dch/_bulk?refresh=true", content="\n".join(lines) + "\n",
                          headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text


async def _aggs(client: httpx.AsyncClient, aggs: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/dch/_search", json={"size": 0, "aggs": aggs})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["hits"]["total"]["value"] == len(DOCS)
    return body["aggregations"]


async def test_histograms_weigh_documents(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    got = await _aggs(asgi_client, {
        "h": {"histogram": {"field": "n", "interval": 5}},
        "hs": {"histogram": {"field": "n", "interval": 5}, "aggs": {"m": {"max": {"field": "n"}}}},
        "fixed": {"date_histogram": {"field": "t", "fixed_interval": "20d"}},
        "cal": {"date_histogram": {"field": "t", "calendar_interval": "month"}},
        "rh": {"histogram": {"field": "r", "interval": 2}},
    })  # fmt: skip
    h: Counter[float] = Counter()
    fixed: Counter[int] = Counter()
    cal: Counter[str] = Counter()
    rh: Counter[float] = Counter()
    for d in DOCS:
        h[float(d["n"] // 5 * 5)] += _w(d)
        fixed[d["t"] // (20 * DAY) * 20 * DAY] += _w(d)
        cal[datetime.fromtimestamp(d["t"] / 1000, UTC).strftime("%Y-%m")] += _w(d)
        for key in range(d["r"]["gte"] // 2 * 2, d["r"]["lte"] + 1, 2):
            rh[float(key)] += _w(d)
    assert {b["key"]: b["doc_count"] for b in got["h"]["buckets"]} == h
    assert {b["key"]: b["doc_count"] for b in got["hs"]["buckets"]} == h
    assert {b["key"]: b["doc_count"] for b in got["fixed"]["buckets"] if b["doc_count"]} == fixed
    assert {b["key_as_string"][:7]: b["doc_count"] for b in got["cal"]["buckets"] if b["doc_count"]} == cal
    assert {b["key"]: b["doc_count"] for b in got["rh"]["buckets"]} == rh


async def test_ranges_weigh_documents(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    mid = BASE + 40 * DAY
    got = await _aggs(asgi_client, {
        "r": {"range": {"field": "n", "ranges": [{"to": 10}, {"from": 10, "to": 15}, {"from": 15}]}},
        "ro": {"range": {"field": "n", "ranges": [{"to": 12}, {"from": 8}]}},  # overlapping: per-range counts
        "d": {"date_range": {"field": "t", "ranges": [{"to": mid}, {"from": mid}]}},
    })  # fmt: skip
    assert [b["doc_count"] for b in got["r"]["buckets"]] == [
        sum(_w(d) for d in DOCS if d["n"] < 10),
        sum(_w(d) for d in DOCS if 10 <= d["n"] < 15),
        sum(_w(d) for d in DOCS if d["n"] >= 15),
    ]
    assert [b["doc_count"] for b in got["ro"]["buckets"]] == [
        sum(_w(d) for d in DOCS if d["n"] < 12),
        sum(_w(d) for d in DOCS if d["n"] >= 8),
    ]
    assert [b["doc_count"] for b in got["d"]["buckets"]] == [
        sum(_w(d) for d in DOCS if d["t"] < mid),
        sum(_w(d) for d in DOCS if d["t"] >= mid),
    ]


async def test_auto_and_variable_width_weigh_documents(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    got = await _aggs(asgi_client, {
        "a": {"auto_date_histogram": {"field": "t", "buckets": 100}},
        "v": {"variable_width_histogram": {"field": "n", "buckets": 50}},
    })  # fmt: skip
    auto = {b["key"]: b["doc_count"] for b in got["a"]["buckets"] if b["doc_count"]}
    assert got["a"]["interval"] == "1d"
    expected: Counter[int] = Counter()
    for d in DOCS:
        expected[d["t"]] += _w(d)
    assert auto == expected
    per_value: Counter[float] = Counter()
    for d in DOCS:
        per_value[float(d["n"])] += _w(d)
    seen: Counter[float] = Counter()
    for b in got["v"]["buckets"]:  # (a value present on both shards may stay as two clusters)
        seen[b["key"]] += b["doc_count"]
    assert seen == per_value


async def test_ip_and_geo_buckets_weigh_documents(asgi_client: httpx.AsyncClient) -> None:
    docs: list[dict[str, Any]] = [
        {"ip": f"10.0.{i % 3}.{i}", "p": {"lat": 10.0 + i % 4, "lon": 20.0}, **({"_doc_count": 2 + i} if i % 2 else {})}
        for i in range(12)
    ]
    mappings = {"properties": {"ip": {"type": "ip"}, "p": {"type": "geo_point"}}}
    r = await asgi_client.put("/dcg", json={"settings": {"number_of_shards": 2}, "mappings": mappings})
    assert r.status_code == 200, r.text
    lines = []
    for i, doc in enumerate(docs):
        lines += [json.dumps({"index": {"_id": str(i)}}), json.dumps(doc)]
    r = await asgi_client.post("/dcg/_bulk?refresh=true", content="\n".join(lines) + "\n",
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text
    aggs = {
        "ipr": {"ip_range": {"field": "ip", "ranges": [{"to": "10.0.1.0"}, {"from": "10.0.1.0"}]}},
        "ipp": {"ip_prefix": {"field": "ip", "prefix_length": 24}},
        "gd": {"geo_distance": {"field": "p", "origin": {"lat": 10.0, "lon": 20.0}, "unit": "km",
                                "ranges": [{"to": 150}, {"from": 150}]}},
        "gh": {"geohash_grid": {"field": "p", "precision": 5}},
    }  # fmt: skip
    r = await asgi_client.post("/dcg/_search", json={"size": 0, "aggs": aggs})
    assert r.status_code == 200, r.text
    got = r.json()["aggregations"]
    third = Counter[int]()
    lat = Counter[float]()
    for i, d in enumerate(docs):
        third[i % 3] += _w(d)
        lat[d["p"]["lat"]] += _w(d)
    assert [b["doc_count"] for b in got["ipr"]["buckets"]] == [third[0], third[1] + third[2]]
    assert {b["key"]: b["doc_count"] for b in got["ipp"]["buckets"]} == {f"10.0.{k}.0": n for k, n in third.items()}
    near = lat[10.0] + lat[11.0]  # 1 degree of latitude ~ 111 km
    assert [b["doc_count"] for b in got["gd"]["buckets"]] == [near, sum(lat.values()) - near]
    assert sorted(b["doc_count"] for b in got["gh"]["buckets"]) == sorted(lat.values())


async def test_metrics_count_documents_not_doc_count(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    got = await _aggs(asgi_client, {
        "vc": {"value_count": {"field": "n"}},
        "vm": {"value_count": {"field": "nope", "missing": 1}},
        "avg_missing": {"avg": {"field": "nope", "missing": 2}},
        "p": {"percentiles": {"field": "nope", "missing": 3, "percents": [50]}},
        "top": {"top_hits": {"size": 1}},
        "h": {"histogram": {"field": "n", "interval": 100}, "aggs": {"c": {"value_count": {"field": "n"}}}},
    })  # fmt: skip
    assert got["vc"]["value"] == len(DOCS)
    assert got["vm"]["value"] == len(DOCS)
    assert got["avg_missing"]["value"] == 2.0
    assert got["p"]["values"]["50.0"] == 3.0
    assert got["top"]["hits"]["total"]["value"] == len(DOCS)
    bucket = got["h"]["buckets"][0]
    assert bucket["doc_count"] == sum(_w(d) for d in DOCS) and bucket["c"]["value"] == len(DOCS)


async def test_terms_on_fielddata_text_weigh_documents(asgi_client: httpx.AsyncClient) -> None:
    mappings = {"properties": {"t": {"type": "text", "fielddata": True}}}
    r = await asgi_client.put("/dct", json={"settings": {"number_of_shards": 1}, "mappings": mappings})
    assert r.status_code == 200, r.text
    docs: list[dict[str, Any]] = [
        {"t": "red fox"}, {"t": "red dog", "_doc_count": 5}, {"t": "blue fox", "_doc_count": 2}
    ]
    for i, doc in enumerate(docs):
        await asgi_client.put(f"/dct/_doc/{i}", json=doc)
    await asgi_client.post("/dct/_refresh")
    r = await asgi_client.post("/dct/_search", json={"size": 0, "aggs": {"t": {"terms": {"field": "t"}}}})
    assert r.status_code == 200, r.text
    expected: Counter[str] = Counter()
    for doc in docs:
        for word in set(doc["t"].split()):
            expected[word] += _w(doc)
    assert {b["key"]: b["doc_count"] for b in r.json()["aggregations"]["t"]["buckets"]} == expected
