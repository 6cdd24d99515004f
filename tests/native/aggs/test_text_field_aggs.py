"""Aggregations over a ``text`` field are refused as ES refuses them: without ``fielddata`` every values-source
aggregation fails with the fielddata message; with ``fielddata: true`` the numeric ones name the type."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

KINDS: dict[str, dict[str, Any]] = {
    "avg": {}, "sum": {}, "min": {}, "max": {}, "stats": {}, "extended_stats": {}, "value_count": {},
    "cardinality": {}, "percentiles": {}, "percentile_ranks": {"values": [1]}, "median_absolute_deviation": {},
    "histogram": {"interval": 1}, "range": {"ranges": [{"to": 1}]}, "date_histogram":
    {"fixed_interval": "1d"}, "rare_terms": {}, "significant_terms": {},
    "variable_width_histogram": {}, "auto_date_histogram": {},
}  # fmt: skip
NUMERIC = {"avg", "sum", "min", "max", "stats", "extended_stats", "percentiles", "percentile_ranks",
           "median_absolute_deviation", "histogram", "date_histogram", "auto_date_histogram", "range",
           "variable_width_histogram"}  # fmt: skip


async def _setup(client: httpx.AsyncClient) -> None:
    mappings = {"properties": {"t": {"type": "text"}, "tf": {"type": "text", "fielddata": True}}}
    r = await client.put("/txt", json={"mappings": mappings})
    assert r.status_code == 200, r.text
    r = await client.put("/txt/_doc/1?refresh=true", json={"t": "hello world", "tf": "hello world"})
    assert r.status_code in (200, 201), r.text


async def _error(client: httpx.AsyncClient, kind: str, field: str) -> dict[str, Any]:
    body = {"size": 0, "aggs": {"a": {kind: {"field": field, **KINDS[kind]}}}}
    r = await client.post("/txt/_search", json=body)
    assert r.status_code == 400, (kind, r.text)
    error: dict[str, Any] = r.json()["error"]
    return error


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_text_without_fielddata_is_refused(asgi_client: httpx.AsyncClient, kind: str) -> None:
    await _setup(asgi_client)
    error = await _error(asgi_client, kind, "t")
    cause = error["root_cause"][0]
    assert cause["type"] == "illegal_argument_exception", error
    assert cause["reason"].startswith("Fielddata is disabled on [t] in [txt]."), error


@pytest.mark.parametrize("kind", sorted(NUMERIC))
async def test_numeric_metrics_refuse_text_with_fielddata(asgi_client: httpx.AsyncClient, kind: str) -> None:
    await _setup(asgi_client)
    error = await _error(asgi_client, kind, "tf")
    cause = error["root_cause"][0]
    assert cause["type"] == "illegal_argument_exception", error
    assert cause["reason"] == f"Field [tf] of type [text] is not supported for aggregation [{kind}]", error


async def test_counting_kinds_work_on_text_with_fielddata(asgi_client: httpx.AsyncClient) -> None:
    await _setup(asgi_client)
    aggs = {"c": {"cardinality": {"field": "tf"}}, "t": {"terms": {"field": "tf"}}}
    r = await asgi_client.post("/txt/_search", json={"size": 0, "aggs": aggs})
    assert r.status_code == 200, r.text
    got = r.json()["aggregations"]
    assert got["c"]["value"] == 2
    assert sorted(b["key"] for b in got["t"]["buckets"]) == ["hello", "world"]
