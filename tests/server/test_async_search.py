"""``_async_search`` through the real HTTP app: submit, poll, status, delete."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.server.helpers import assert_canonical_error
from tests.server.test_pit_slices import _make


async def test_submit_completes_within_the_wait(asgi_client: httpx.AsyncClient) -> None:
    docs = await _make(asgi_client, "a", 2, 25)
    body = {"size": 0, "aggs": {"s": {"sum": {"field": "n"}}}, "track_total_hits": True}
    r = await asgi_client.post("/a/_async_search?wait_for_completion_timeout=5s", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert "id" not in out  # done within the wait and not kept
    assert out["is_running"] is False and out["is_partial"] is False
    assert out["response"]["hits"]["total"]["value"] == len(docs)
    assert out["response"]["aggregations"]["s"]["value"] == sum(d["n"] for d in docs.values())
    assert out["start_time_in_millis"] <= out["completion_time_in_millis"] <= out["expiration_time_in_millis"]


async def test_kept_search_is_polled_then_deleted(asgi_client: httpx.AsyncClient) -> None:
    docs = await _make(asgi_client, "a", 2, 25)
    r = await asgi_client.post(
        "/a/_async_search?wait_for_completion_timeout=0ms&keep_on_completion=true&keep_alive=1m",
        json={"size": 100, "query": {"range": {"n": {"gte": 10}}}},
    )
    assert r.status_code == 200, r.text
    async_id = r.json()["id"]
    got = (await asgi_client.get(f"/_async_search/{async_id}?wait_for_completion_timeout=5s")).json()
    assert got["id"] == async_id and got["is_running"] is False
    assert sorted(h["_id"] for h in got["response"]["hits"]["hits"]) == sorted(
        k for k, d in docs.items() if d["n"] >= 10
    )
    status = (await asgi_client.get(f"/_async_search/status/{async_id}")).json()
    assert status["completion_status"] == 200 and status["_shards"]["total"] == 2
    assert (await asgi_client.delete(f"/_async_search/{async_id}")).json() == {"acknowledged": True}
    r = await asgi_client.get(f"/_async_search/{async_id}")
    assert_canonical_error(r, 404, "resource_not_found_exception")
    r = await asgi_client.delete(f"/_async_search/{async_id}")
    assert r.status_code == 404


async def test_bad_request_fails_at_submit(asgi_client: httpx.AsyncClient) -> None:
    await _make(asgi_client, "a", 1, 3)
    r = await asgi_client.post("/a/_async_search", json={"query": {"nope": {}}})
    assert r.status_code == 400
    r = await asgi_client.post("/a/_async_search?scroll=1m", json={})
    assert_canonical_error(r, 400, "illegal_argument_exception")


class _Delay:
    """Every shard lookup of the data node waits ``seconds`` (an in-process hook, as tests/test_search_timeout)."""

    def __init__(self, client: httpx.AsyncClient, seconds: float) -> None:
        from tests.conftest import _starlette_of

        self.node = _starlette_of(client._transport.app).state.cluster.node  # type: ignore[attr-defined]
        self.seconds = seconds
        self._shard = self.node.shard

        def slow(uuid: str, shard: int) -> Any:
            time.sleep(self.seconds)
            return self._shard(uuid, shard)

        self.node.shard = slow

    def close(self) -> None:
        self.node.shard = self._shard


async def test_slow_search_runs_then_completes(asgi_client: httpx.AsyncClient) -> None:
    docs = await _make(asgi_client, "a", 1, 10)
    delay = _Delay(asgi_client, 0.4)
    try:
        r = await asgi_client.post("/a/_async_search?wait_for_completion_timeout=50ms", json={"size": 20})
        out = r.json()
        assert out["is_running"] is True and out["is_partial"] is True and "id" in out  # kept while running
        assert out["response"]["_shards"] == {"total": 1, "successful": 0, "skipped": 0, "failed": 0}
        status = (await asgi_client.get(f"/_async_search/status/{out['id']}")).json()
        assert status["is_running"] is True and "completion_status" not in status
        done = (await asgi_client.get(f"/_async_search/{out['id']}?wait_for_completion_timeout=5s")).json()
        assert done["is_running"] is False and len(done["response"]["hits"]["hits"]) == len(docs)
        assert done["response"]["took"] >= 400
        # took is the wall time of the request: a plain search through the same delay
        plain = (await asgi_client.post("/a/_search", json={})).json()
        assert plain["took"] >= 400
    finally:
        delay.close()


async def test_typed_keys_is_a_rendering_option_of_each_request(asgi_client: httpx.AsyncClient) -> None:
    await _make(asgi_client, "a", 1, 5)
    body = {"size": 0, "aggs": {"by_g": {"terms": {"field": "g"}}}}
    r = (await asgi_client.post("/a/_async_search?keep_on_completion=true&typed_keys=true", json=body)).json()
    assert set(r["response"]["aggregations"]) == {"lterms#by_g"}
    plain = (await asgi_client.get(f"/_async_search/{r['id']}")).json()
    assert set(plain["response"]["aggregations"]) == {"by_g"}
    typed = (await asgi_client.get(f"/_async_search/{r['id']}?typed_keys=true")).json()
    assert set(typed["response"]["aggregations"]) == {"lterms#by_g"}
    again = (await asgi_client.get(f"/_async_search/{r['id']}?typed_keys=true")).json()
    assert set(again["response"]["aggregations"]) == {"lterms#by_g"}
