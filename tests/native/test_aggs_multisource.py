"""weighted_avg, matrix_stats and median_absolute_deviation over a 3-shard index, against numpy."""

from __future__ import annotations

import math
import random
from typing import Any

import httpx
import numpy as np
import pytest

from tests.native.aggs2_helpers import aggs, bulk, make_index, search_error


def _docs(n: int = 120) -> list[dict[str, Any]]:
    rng = random.Random(11)
    docs: list[dict[str, Any]] = []
    for i in range(n):
        doc: dict[str, Any] = {"tag": "a" if i % 3 else "b"}
        if i % 7:
            doc["x"] = round(rng.uniform(-50, 150), 3)
        if i % 5:
            doc["y"] = rng.randint(-20, 40)
        if i % 11:
            doc["w"] = rng.randint(0, 9)
        if i % 4 == 0:
            doc["multi"] = [rng.randint(0, 30) for _ in range(rng.randint(1, 3))]
        docs.append(doc)
    return docs


PROPS = {
    "tag": {"type": "keyword"},
    "x": {"type": "double"},
    "y": {"type": "long"},
    "w": {"type": "integer"},
    "multi": {"type": "integer"},
}


async def _setup(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    docs = _docs()
    await make_index(client, "ms", PROPS)
    await bulk(client, "ms", docs)
    return docs


async def test_weighted_avg_matches_numpy(asgi_client: httpx.AsyncClient) -> None:
    docs = await _setup(asgi_client)
    body = {
        "plain": {"weighted_avg": {"value": {"field": "x"}, "weight": {"field": "w"}}},
        "missing": {"weighted_avg": {"value": {"field": "x", "missing": 2.5}, "weight": {"field": "w", "missing": 3}}},
        "multi": {"weighted_avg": {"value": {"field": "multi"}, "weight": {"field": "w"}, "format": "0.00"}},
        "unmapped": {"weighted_avg": {"value": {"field": "x"}, "weight": {"field": "nope"}}},
    }
    out = await aggs(asgi_client, "ms", body)

    def expected(value_missing: float | None, weight_missing: float | None, field: str = "x") -> float:
        s = w = 0.0
        for d in docs:
            vals = d.get(field)
            vals = vals if isinstance(vals, list) else ([] if vals is None else [vals])
            if not vals and value_missing is not None:
                vals = [value_missing]
            weight = d.get("w", weight_missing)
            if not vals or weight is None:
                continue
            for v in vals:
                s += v * weight
                w += weight
        return s / w

    assert out["plain"]["value"] == pytest.approx(expected(None, None), rel=1e-12)
    assert out["missing"]["value"] == pytest.approx(expected(2.5, 3), rel=1e-12)
    multi = expected(None, None, "multi")
    assert out["multi"]["value"] == pytest.approx(multi, rel=1e-12)
    assert out["multi"]["value_as_string"] == f"{multi:.2f}"
    assert out["unmapped"] == {"value": None}


async def test_weighted_avg_refuses_multi_weights(asgi_client: httpx.AsyncClient) -> None:
    await _setup(asgi_client)
    r = await search_error(
        asgi_client, "ms", {"a": {"weighted_avg": {"value": {"field": "x"}, "weight": {"field": "multi"}}}}
    )
    assert r.status_code == 400  # ES 8 answers 500: bad input is never a server error here
    assert "more than one weight" in r.text
    r = await search_error(asgi_client, "ms", {"a": {"weighted_avg": {"value": {"field": "x"}}}})
    assert r.status_code == 400


async def test_matrix_stats_matches_numpy(asgi_client: httpx.AsyncClient) -> None:
    docs = await _setup(asgi_client)
    out = (await aggs(asgi_client, "ms", {"m": {"matrix_stats": {"fields": ["x", "y"]}}}))["m"]
    rows = np.array([[d["x"], d["y"]] for d in docs if "x" in d and "y" in d], dtype=float)
    n = rows.shape[0]
    assert out["doc_count"] == n
    fields = {f["name"]: f for f in out["fields"]}
    assert set(fields) == {"x", "y"}
    cov = np.cov(rows, rowvar=False, ddof=1)
    corr = np.corrcoef(rows, rowvar=False)
    for i, name in enumerate(("x", "y")):
        col = rows[:, i]
        dev = col - col.mean()
        f = fields[name]
        assert f["count"] == n
        assert f["mean"] == pytest.approx(col.mean(), rel=1e-9)
        assert f["variance"] == pytest.approx(col.var(ddof=1), rel=1e-9)
        m2 = (dev**2).sum()
        assert f["skewness"] == pytest.approx(math.sqrt(n) * (dev**3).sum() / m2**1.5, rel=1e-6, abs=1e-9)
        assert f["kurtosis"] == pytest.approx(n * (dev**4).sum() / m2**2, rel=1e-6)
        for j, other in enumerate(("x", "y")):
            assert f["covariance"][other] == pytest.approx(cov[i, j], rel=1e-9)
            assert f["correlation"][other] == pytest.approx(corr[i, j], rel=1e-9)


async def test_matrix_stats_missing_and_mode(asgi_client: httpx.AsyncClient) -> None:
    docs = await _setup(asgi_client)
    body = {"m": {"matrix_stats": {"fields": ["multi", "y"], "mode": "max", "missing": {"y": 0}}}}
    out = (await aggs(asgi_client, "ms", body))["m"]
    rows = np.array([[max(d["multi"]), d.get("y", 0)] for d in docs if "multi" in d], dtype=float)
    assert out["doc_count"] == rows.shape[0]
    by_name = {f["name"]: f for f in out["fields"]}
    assert by_name["multi"]["mean"] == pytest.approx(rows[:, 0].mean(), rel=1e-12)
    assert by_name["y"]["mean"] == pytest.approx(rows[:, 1].mean(), rel=1e-12)


async def test_median_absolute_deviation_exact_on_small_data(asgi_client: httpx.AsyncClient) -> None:
    docs = await _setup(asgi_client)
    out = await aggs(
        asgi_client,
        "ms",
        {
            "mad": {"median_absolute_deviation": {"field": "x"}},
            "mad_missing": {"median_absolute_deviation": {"field": "y", "missing": 100}},
            "none": {"median_absolute_deviation": {"field": "nope"}},
        },
    )
    x = np.array([d["x"] for d in docs if "x" in d])
    assert out["mad"]["value"] == pytest.approx(float(np.median(np.abs(x - np.median(x)))), rel=1e-9)
    y = np.array([d.get("y", 100) for d in docs], dtype=float)
    assert out["mad_missing"]["value"] == pytest.approx(float(np.median(np.abs(y - np.median(y)))), rel=1e-9)
    assert out["none"] == {"value": None}


async def test_range_on_date_field_with_date_bounds_and_missing(asgi_client: httpx.AsyncClient) -> None:
    await make_index(asgi_client, "rd", {"day": {"type": "date", "format": "strict_date_time||strict_date"}})
    days = ["2021-04-30", "2021-05-01", "2021-05-03", "2021-05-04", "2021-05-05", None, None]
    await bulk(asgi_client, "rd", [{"day": d} if d else {} for d in days])
    ranges = [{"from": "2021-05-01T00:00:00Z", "to": "2021-05-05T00:00:00Z"}, {"from": "2021-05-05"}]
    body = {"r": {"range": {"field": "day", "ranges": ranges, "missing": "2021-05-02"}}}
    buckets = (await aggs(asgi_client, "rd", body))["r"]["buckets"]
    assert [(b["key"], b["doc_count"]) for b in buckets] == [
        ("2021-05-01T00:00:00.000Z-2021-05-05T00:00:00.000Z", 5),  # three dates and the two missing ones
        ("2021-05-05T00:00:00.000Z-*", 1),
    ]
    assert buckets[0]["from"] == 1619827200000 and buckets[0]["to_as_string"] == "2021-05-05T00:00:00.000Z"
