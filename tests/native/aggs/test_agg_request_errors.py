"""Aggregations that cannot run on what they were given answer 400 (ES 8 answers some of these 500: a
server error must mean a defect of ours, never bad input)."""

from __future__ import annotations

import httpx
import pytest

from tests.server.helpers import assert_canonical_error

AGGS = [
    {"terms": {"field": "ip", "exclude": "127.*"}},
    {"rare_terms": {"field": "ip", "include": "10.*"}},
    {"weighted_avg": {"value": {"field": "n"}, "weight": {"field": "w"}}},
]


@pytest.mark.parametrize("agg", AGGS)
async def test_bad_aggregation_input_is_a_400(asgi_client: httpx.AsyncClient, agg: dict) -> None:
    mappings = {"properties": {"ip": {"type": "ip"}, "n": {"type": "integer"}, "w": {"type": "integer"}}}
    await asgi_client.put("/e", json={"mappings": mappings})
    await asgi_client.put("/e/_doc/1", params={"refresh": "true"}, json={"ip": "127.0.0.1", "n": 1, "w": [1, 2]})
    response = await asgi_client.post("/e/_search", json={"size": 0, "aggs": {"a": agg}})
    root_type = "aggregation_execution_exception"
    assert_canonical_error(response, 400, "search_phase_execution_exception", root_type=root_type)
    failure = response.json()["error"]["failed_shards"][0]
    assert failure["index"] == "e" and failure["node"]
