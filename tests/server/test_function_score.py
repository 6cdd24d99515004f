"""``function_score`` through the HTTP app, against ES's formulas evaluated independently in plain Python."""

from __future__ import annotations

import math
from typing import Any

import httpx
import orjson
import pytest

DOCS: dict[str, dict[str, Any]] = {
    "a": {"price": 10, "day": "2024-01-01", "loc": {"lat": 52.0, "lon": 13.0}, "tag": "x"},
    "b": {"price": 25, "day": "2024-01-05", "loc": {"lat": 48.0, "lon": 2.0}, "tag": "y"},
    "c": {"price": 40, "day": "2024-01-20", "loc": {"lat": 40.0, "lon": -3.0}, "tag": "x"},
    "d": {"price": 100, "day": "2024-03-01", "loc": {"lat": 51.5, "lon": -0.1}, "tag": "z"},
    "e": {"tag": "y"},  # no price, day or loc
}
MAPPINGS = {"properties": {"price": {"type": "long"}, "day": {"type": "date"}, "loc": {"type": "geo_point"},
                           "tag": {"type": "keyword"}}}  # fmt: skip
DAY_MS = 86_400_000
DAYS = {"a": 0, "b": 4, "c": 19, "d": 60}  # days after 2024-01-01


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    r = await asgi_client.put("/f", json={"settings": {"number_of_shards": 2}, "mappings": MAPPINGS})
    assert r.status_code == 200, r.text
    lines = []
    for doc_id, doc in DOCS.items():
        lines += [orjson.dumps({"index": {"_id": doc_id}}), orjson.dumps(doc)]
    r = await asgi_client.post("/f/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text
    return asgi_client


async def scores(client: httpx.AsyncClient, fs: dict[str, Any], **extra: Any) -> dict[str, float]:
    r = await client.post("/f/_search", json={"size": 20, "query": {"function_score": fs}, **extra})
    assert r.status_code == 200, r.text
    hits = r.json()["hits"]["hits"]
    assert [h["_score"] for h in hits] == sorted((h["_score"] for h in hits), reverse=True)
    return {h["_id"]: h["_score"] for h in hits}


def haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6371008.7714
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def decay_value(kind: str, distance: float, scale: float, offset: float, decay: float) -> float:
    d = max(0.0, distance - offset)
    if kind == "gauss":
        return decay ** ((d / scale) ** 2)
    if kind == "exp":
        return decay ** (d / scale)
    return max(0.0, 1 - (1 - decay) * d / scale)


@pytest.mark.parametrize(("modifier", "fn"), [
    ("none", lambda v: v), ("log1p", lambda v: math.log10(v + 1)), ("ln2p", lambda v: math.log(v + 2)),
    ("square", lambda v: v * v), ("sqrt", math.sqrt), ("reciprocal", lambda v: 1 / v), ("log", math.log10),
])  # fmt: skip
async def test_field_value_factor(client: httpx.AsyncClient, modifier: str, fn: Any) -> None:
    fs = {"field_value_factor": {"field": "price", "factor": 1.5, "modifier": modifier, "missing": 2},
          "boost_mode": "replace"}  # fmt: skip
    got = await scores(client, fs)
    want = {k: fn(1.5 * d.get("price", 2)) for k, d in DOCS.items()}
    assert got == pytest.approx(want, rel=1e-6)


async def test_field_value_factor_missing_value_fails(client: httpx.AsyncClient) -> None:
    r = await client.post("/f/_search", json={"query": {"function_score": {"field_value_factor": {"field": "price"}}}})
    # the shard holding "e" fails (ES: a shard failure); the other one answers
    body = r.json()
    assert body["_shards"]["failed"] == 1, body
    assert body["_shards"]["failures"][0]["reason"]["reason"] == "Missing value for field [price]"
    assert "e" not in {h["_id"] for h in body["hits"]["hits"]}


@pytest.mark.parametrize("kind", ["gauss", "exp", "linear"])
async def test_numeric_decay(client: httpx.AsyncClient, kind: str) -> None:
    fs = {kind: {"price": {"origin": 30, "scale": 20, "offset": 5, "decay": 0.3}}, "boost_mode": "replace"}
    got = await scores(client, fs)
    want = {k: decay_value(kind, abs(d["price"] - 30), 20, 5, 0.3) if "price" in d else 1.0 for k, d in DOCS.items()}
    assert got == pytest.approx(want, rel=1e-6, abs=1e-12)


@pytest.mark.parametrize("kind", ["gauss", "exp", "linear"])
async def test_date_decay(client: httpx.AsyncClient, kind: str) -> None:
    fs = {kind: {"day": {"origin": "2024-01-10", "scale": "10d", "offset": "1d"}}, "boost_mode": "replace"}
    got = await scores(client, fs)
    want = {k: decay_value(kind, abs(DAYS[k] - 9) * DAY_MS, 10 * DAY_MS, DAY_MS, 0.5) if k in DAYS else 1.0
            for k in DOCS}  # fmt: skip
    assert got == pytest.approx(want, rel=1e-6, abs=1e-12)


@pytest.mark.parametrize("kind", ["gauss", "exp", "linear"])
async def test_geo_decay(client: httpx.AsyncClient, kind: str) -> None:
    fs = {kind: {"loc": {"origin": {"lat": 50.0, "lon": 8.0}, "scale": "500km", "decay": 0.4}}, "boost_mode": "replace"}
    got = await scores(client, fs)
    want = {}
    for k, d in DOCS.items():
        loc = d.get("loc")
        metres = None if loc is None else haversine(50.0, 8.0, loc["lat"], loc["lon"])
        want[k] = 1.0 if metres is None else decay_value(kind, metres, 500_000, 0, 0.4)
    assert got == pytest.approx(want, rel=1e-5, abs=1e-12)


def _applied(doc: dict[str, Any]) -> list[tuple[float, float]]:
    """(weight * f, weight) of the functions used by ``test_score_and_boost_modes`` that apply to ``doc``."""
    out = []
    if doc["tag"] == "x":
        out.append((3.0, 3.0))
    if doc["tag"] in ("x", "y"):
        out.append((2.0 * (doc.get("price", 1) * 0.1), 2.0))
    return out


SCORE_MODES = {
    "multiply": lambda a: math.prod(v for v, _ in a),
    "sum": lambda a: sum(v for v, _ in a),
    "avg": lambda a: sum(v for v, _ in a) / sum(w for _, w in a),
    "first": lambda a: a[0][0],
    "max": lambda a: max(v for v, _ in a),
    "min": lambda a: min(v for v, _ in a),
}
BOOST_MODES = {
    "multiply": lambda q, f: q * f, "replace": lambda q, f: f, "sum": lambda q, f: q + f,
    "avg": lambda q, f: (q + f) / 2, "max": max, "min": min,
}  # fmt: skip


@pytest.mark.parametrize("score_mode", sorted(SCORE_MODES))
@pytest.mark.parametrize("boost_mode", sorted(BOOST_MODES))
async def test_score_and_boost_modes(client: httpx.AsyncClient, score_mode: str, boost_mode: str) -> None:
    fs = {
        "query": {"constant_score": {"filter": {"exists": {"field": "tag"}}, "boost": 2}},
        "functions": [
            {"filter": {"term": {"tag": "x"}}, "weight": 3},
            {"filter": {"terms": {"tag": ["x", "y"]}}, "weight": 2,
             "field_value_factor": {"field": "price", "factor": 0.1, "missing": 10}},
        ],
        "score_mode": score_mode, "boost_mode": boost_mode, "max_boost": 6, "boost": 1.5,
    }  # fmt: skip
    got = await scores(client, fs)
    want = {}
    for k, d in DOCS.items():
        applied = _applied({**d, "price": d.get("price", 10)})  # missing: 10
        factor = SCORE_MODES[score_mode](applied) if applied else 1.0
        want[k] = BOOST_MODES[boost_mode](2.0, min(factor, 6.0)) * 1.5
    assert got == pytest.approx(want, rel=1e-6)


async def test_min_score_and_nesting(client: httpx.AsyncClient) -> None:
    fs = {"field_value_factor": {"field": "price", "missing": 0}, "min_score": 25}
    got = await scores(client, fs)
    assert got == {"b": 25.0, "c": 40.0, "d": 100.0}
    body = {"query": {"bool": {"must": [{"function_score": fs}], "filter": [{"term": {"tag": "x"}}]}}}
    r = await client.post("/f/_search", json=body)
    assert {h["_id"]: h["_score"] for h in r.json()["hits"]["hits"]} == {"c": 40.0}
    r = await client.post("/f/_count", json={"query": {"function_score": fs}})
    assert r.json()["count"] == 3


async def test_random_score(client: httpx.AsyncClient) -> None:
    fs = {"random_score": {"seed": 42, "field": "price"}, "boost_mode": "replace"}
    first = await scores(client, fs)
    second = await scores(client, fs)
    assert first == second and set(first) == set(DOCS)
    assert all(0.0 <= v < 1.0 for v in first.values())
    other = await scores(client, {"random_score": {"seed": 7}, "boost_mode": "replace"})
    assert set(other) == set(DOCS) and all(0.0 <= v < 1.0 for v in other.values())


@pytest.mark.parametrize("fs", [
    {"script_score": {"script": {"source": "1"}}},
    {"functions": [{"gauss": {"price": {"origin": 1}}}]},
    {"bogus": 1},
    {"score_mode": "nope", "weight": 2},
    {"functions": [{"weight": 2}], "field_value_factor": {"field": "price"}},
])  # fmt: skip
async def test_function_score_errors(client: httpx.AsyncClient, fs: dict[str, Any]) -> None:
    r = await client.post("/f/_search", json={"query": {"function_score": fs}})
    assert r.status_code == 400, r.text
