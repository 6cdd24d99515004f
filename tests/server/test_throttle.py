"""``requests_per_second`` paces ``_reindex`` and the by-query APIs; ``_rethrottle`` changes a running task."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from cluster.throttle import Throttle, parse_requests_per_second
from native.errors import IllegalArgument

NDJSON = {"content-type": "application/x-ndjson"}


async def _load(client: httpx.AsyncClient, index: str, n: int) -> None:
    lines = []
    for i in range(n):
        lines += [json.dumps({"index": {"_index": index, "_id": str(i)}}), json.dumps({"n": i})]
    await client.post("/_bulk?refresh=true", content="\n".join(lines) + "\n", headers=NDJSON)


def test_parse_requests_per_second() -> None:
    assert parse_requests_per_second(None) == -1.0
    assert parse_requests_per_second("-1") == -1.0
    assert parse_requests_per_second("2.5") == 2.5
    for bad in ("0", "-2", "x", "inf", "nan"):
        with pytest.raises(IllegalArgument, match="requests_per_second"):
            parse_requests_per_second(bad)


async def test_throttle_waits_for_the_rate_and_wakes_on_a_new_one() -> None:
    throttle = Throttle(10.0)
    started = time.monotonic()
    await throttle.pace(5, started)  # 5 documents at 10/s: half a second from the batch start
    assert time.monotonic() - started >= 0.5
    assert throttle.throttled_seconds > 0.3
    slow = Throttle(0.01)  # 100 s for one document, until it is lifted
    waiting = asyncio.create_task(slow.pace(1, time.monotonic()))
    await asyncio.sleep(0.05)
    assert not waiting.done() and slow.status()["throttled_until_millis"] > 0
    slow.set_rate(-1.0)
    await asyncio.wait_for(waiting, 5)
    assert slow.status()["requests_per_second"] == -1.0


async def test_reindex_and_by_query_are_paced(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client, "src", 30)
    body = {"source": {"index": "src", "size": 10}, "dest": {"index": "dst"}}
    started = time.monotonic()
    params = {"requests_per_second": "30", "refresh": "true"}
    result = (await asgi_client.post("/_reindex", params=params, json=body)).json()
    # three batches of 10 at 30 documents per second: at least a second in all
    assert time.monotonic() - started >= 1.0
    assert result["created"] == 30 and result["batches"] == 3
    assert result["requests_per_second"] == 30.0 and result["throttled_millis"] > 0
    params = {"requests_per_second": "40", "scroll_size": "10", "refresh": "true"}
    started = time.monotonic()
    result = (await asgi_client.post("/dst/_delete_by_query", params=params)).json()
    assert time.monotonic() - started >= 0.75 and result["deleted"] == 30 and result["batches"] == 3
    assert result["throttled_millis"] > 0
    response = await asgi_client.post("/src/_update_by_query", params={"requests_per_second": "0"})
    assert response.status_code == 400 and "requests_per_second" in response.text


async def test_rethrottle_speeds_up_a_running_task(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client, "slow", 20)
    params = {"requests_per_second": "0.5", "wait_for_completion": "false", "scroll_size": "10"}
    task = (await asgi_client.post("/slow/_update_by_query", params=params)).json()["task"]
    await asyncio.sleep(0.3)
    status = (await asgi_client.get(f"/_tasks/{task}")).json()
    assert status["completed"] is False  # 20 documents at 0.5/s: 40 s unless rethrottled
    response = await asgi_client.post(f"/_update_by_query/{task}/_rethrottle", params={"requests_per_second": "-1"})
    assert response.status_code == 200
    started = time.monotonic()
    done = (await asgi_client.get(f"/_tasks/{task}", params={"wait_for_completion": "true"})).json()
    assert time.monotonic() - started < 20
    assert done["completed"] is True and done["response"]["updated"] == 20
    assert done["response"]["requests_per_second"] == -1.0 and done["response"]["throttled_millis"] > 0
