"""Sorts ES refuses are refused here too, with the shard's cause as the root cause (not its wrapper)."""

from __future__ import annotations

import httpx
import pytest

from tests.server.helpers import assert_canonical_error


@pytest.mark.parametrize(
    ("sort", "root_type", "reason"),
    [({"k": {"mode": "avg"}}, "query_shard_exception", "we only support AVG, MEDIAN and SUM on number based fields"),
     ({"k": {"mode": "sum"}}, "query_shard_exception", "we only support AVG, MEDIAN and SUM on number based fields"),
     ({"t": "asc"}, "illegal_argument_exception", "Fielddata is disabled on [t]")],
)  # fmt: skip
async def test_refused_sorts(asgi_client: httpx.AsyncClient, sort: dict, root_type: str, reason: str) -> None:
    await asgi_client.put("/s", json={"mappings": {"properties": {"k": {"type": "keyword"}, "t": {"type": "text"}}}})
    await asgi_client.put("/s/_doc/1", params={"refresh": "true"}, json={"k": ["b", "a"], "t": "x"})
    response = await asgi_client.post("/s/_search", json={"sort": [sort]})
    assert_canonical_error(response, 400, "search_phase_execution_exception", root_type=root_type)
    error = response.json()["error"]
    assert error["root_cause"][0]["reason"].startswith(reason)
    assert error["failed_shards"][0]["reason"]["type"] == root_type and error["failed_shards"][0]["index"] == "s"


async def test_numeric_sort_modes_work(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/s/_doc/1", params={"refresh": "true"}, json={"n": [1, 5]})
    for mode, key in (("avg", 3), ("sum", 6), ("min", 1), ("max", 5), ("median", 3)):
        body = (await asgi_client.post("/s/_search", json={"sort": [{"n": {"mode": mode}}]})).json()
        assert body["hits"]["hits"][0]["sort"] == [key], mode
