"""``Workers``, the search thread pool: bursts, idle retirement and cancellation never strand a search.

Every wait here is bounded (``asyncio.wait_for``): a stranded item fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import orjson

from cluster.leaf_client import Workers
from tests.conftest import _starlette_of, tier

IDLE_S = 0.2
BOUND_S = 10.0


async def _retired(workers: Workers, threads: int = 0) -> None:
    """Wait (bounded) until the pool is down to ``threads`` threads, none of them counted twice."""
    deadline = time.monotonic() + BOUND_S
    while workers.counts[0] > threads:
        assert time.monotonic() < deadline, f"threads never retired: {workers.counts}"
        await asyncio.sleep(0.05)
    await asyncio.sleep(IDLE_S / 2)


async def test_the_drift_sequence_leaves_no_search_queued_to_no_thread() -> None:
    # The sequence that stranded searches: a thread finishes A and takes B, which was queued while every
    # thread was busy, without anyone claiming it (the old count then said one thread waited too many);
    # after the idle retirement the pool believed a thread still waited, and queued C to it.
    workers = Workers(1, "drift", idle_s=IDLE_S)
    a_running, release_a = threading.Event(), threading.Event()

    def job_a(_: None) -> str:
        a_running.set()
        assert release_a.wait(BOUND_S)
        return "a"

    fut_a = workers.run(job_a, None)
    assert await asyncio.to_thread(a_running.wait, BOUND_S)
    fut_b = workers.run(lambda _: "b", None)  # queued: the only thread is busy
    assert workers.counts == (1, 0, 1)
    release_a.set()
    assert await asyncio.wait_for(asyncio.gather(fut_a, fut_b), BOUND_S) == ["a", "b"]
    deadline = time.monotonic() + BOUND_S
    while (counts := workers.counts) not in ((1, 1, 0), (0, 0, 0)):  # waiting again (or already retired)
        assert counts[1] <= counts[0] and time.monotonic() < deadline, counts  # never more waiting than threads
        await asyncio.sleep(0.01)
    await _retired(workers)
    assert workers.counts == (0, 0, 0)
    assert await asyncio.wait_for(workers.run(lambda _: "c", None), BOUND_S) == "c"


async def test_bursts_then_idle_past_retirement_every_call_answers() -> None:
    workers = Workers(4, "burst", idle_s=IDLE_S)
    peak = 0
    running = 0
    lock = threading.Lock()

    def job(i: int) -> int:
        nonlocal peak, running
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.002)
        with lock:
            running -= 1
        return i * 2

    for _ in range(tier(3, 15)):
        n = 60
        results = await asyncio.wait_for(asyncio.gather(*(workers.run(job, i) for i in range(n))), BOUND_S)
        assert results == [i * 2 for i in range(n)]
        threads, waiting, queued = workers.counts
        assert threads <= 4 and queued == 0 and waiting <= threads
        await _retired(workers)  # idle past the retirement time
        assert workers.counts == (0, 0, 0)
    assert 1 < peak <= 4


async def test_a_single_call_after_partial_retirement_answers() -> None:
    # Threads retire one by one at different times; a call arriving in between must find one.
    workers = Workers(3, "partial", idle_s=IDLE_S)
    for _ in range(tier(5, 30)):
        await asyncio.wait_for(asyncio.gather(*(workers.run(time.sleep, 0.01) for _ in range(6))), BOUND_S)
        await asyncio.sleep(IDLE_S * 0.9)
        assert await asyncio.wait_for(workers.run(lambda x: x, 7), BOUND_S) == 7


async def test_a_cancelled_task_leaves_the_pool_usable_and_its_queued_call_is_dropped() -> None:
    workers = Workers(1, "cancel", idle_s=IDLE_S)
    running, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def blocker(_: None) -> None:
        running.set()
        assert release.wait(BOUND_S)
        ran.append("blocker")

    async def call(fn: Any, arg: Any) -> Any:
        return await workers.run(fn, arg)

    blocking = asyncio.ensure_future(call(blocker, None))
    assert await asyncio.to_thread(running.wait, BOUND_S)
    queued = asyncio.ensure_future(call(ran.append, "queued"))
    await asyncio.sleep(0.01)
    queued.cancel()  # a client went away while its call waited for the busy thread
    blocking.cancel()  # and one while its call ran
    release.set()
    await asyncio.gather(blocking, queued, return_exceptions=True)
    assert await asyncio.wait_for(call(lambda x: x + 1, 41), BOUND_S) == 42
    assert ran == ["blocker"]  # the cancelled queued call never ran; the running one finished
    assert workers.counts[2] == 0


def _cluster(client: httpx.AsyncClient) -> Any:
    return _starlette_of(client._transport.app).state.cluster  # type: ignore[attr-defined]


async def test_server_answers_every_search_after_bursts_and_idle(asgi_client: httpx.AsyncClient) -> None:
    from cluster.leaf_client import SEARCH_THREADS

    r = await asgi_client.put("/burst", json={"settings": {"number_of_shards": 2}})
    assert r.status_code == 200, r.text
    lines = []
    for i in range(200):
        lines += [orjson.dumps({"index": {"_id": str(i)}}), orjson.dumps({"n": i, "w": f"w{i % 7}"})]
    r = await asgi_client.post("/burst/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"]
    leaf = _cluster(asgi_client).leaf
    leaf._search_threads = workers = Workers(SEARCH_THREADS, "leaf-search", idle_s=IDLE_S)

    async def search(i: int) -> int:
        body = {"query": {"term": {"w": f"w{i % 7}"}}, "size": 3, "sort": [{"n": "desc"}], "from": i % 5}
        r = await asgi_client.post("/burst/_search", json=body)
        assert r.status_code == 200, r.text
        return int(r.json()["hits"]["total"]["value"])

    expected = [sum(1 for n in range(200) if n % 7 == i % 7) for i in range(40)]
    for _ in range(tier(2, 8)):
        # more concurrent searches than threads (and than the root's admission slots)
        assert await asyncio.wait_for(asyncio.gather(*(search(i) for i in range(40))), 60) == expected
        await _retired(workers)  # idle past the retirement time
        assert await asyncio.wait_for(search(3), BOUND_S) == expected[3]
        await _retired(workers)


async def test_admission_slots_come_back_from_cancelled_and_rejected_requests() -> None:
    from cluster.config import Backpressure
    from native.errors import RejectedExecution

    queue = Backpressure("search", workers=2, capacity=3)
    release = asyncio.Event()
    admitted: list[int] = []

    async def request(i: int) -> None:
        async with queue.admit():
            admitted.append(i)
            await release.wait()

    holders = [asyncio.ensure_future(request(i)) for i in range(2)]
    waiters = [asyncio.ensure_future(request(i)) for i in range(2, 5)]
    await asyncio.sleep(0.01)
    assert admitted == [0, 1] and queue._waiting == 3
    try:
        await request(99)
        raise AssertionError("a full queue must reject")
    except RejectedExecution as exc:
        assert exc.status == 429 and "queue capacity = 3" in exc.reason
    for task in (waiters[0], waiters[2], holders[0]):  # clients gone while waiting, and while admitted
        task.cancel()
    release.set()
    await asyncio.wait_for(asyncio.gather(*holders, *waiters, return_exceptions=True), BOUND_S)
    assert admitted == [0, 1, 3]
    assert queue._waiting == 0 and queue._slots._value == 2
    # A request woken for the only slot and cancelled in the same turn of the loop must not lose that slot.
    single = Backpressure("search", workers=1, capacity=10)
    gate = asyncio.Event()

    async def one(i: int) -> int:
        async with single.admit():
            await gate.wait()
            return i

    for _ in range(tier(20, 200)):
        gate.clear()
        holder = asyncio.ensure_future(one(0))
        await asyncio.sleep(0)
        waiter = asyncio.ensure_future(one(1))
        await asyncio.sleep(0)
        assert single._waiting == 1
        gate.set()
        await asyncio.sleep(0)  # the holder leaves and wakes the waiter ...
        waiter.cancel()  # ... which is cancelled before it runs
        await asyncio.wait_for(asyncio.gather(holder, waiter, return_exceptions=True), BOUND_S)
        assert single._waiting == 0 and single._slots._value == 1
    release.set()
    assert await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(10))), BOUND_S) == list(range(10))


def test_clients_that_disconnect_mid_search_leave_a_server_that_answers(tmp_path: Any) -> None:
    from tests.conftest import running_server

    with running_server(tmp_path / "data") as server, httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.put("/gone", json={"settings": {"number_of_shards": 2}}).status_code == 200
        lines = []
        for i in range(1000):
            lines += [orjson.dumps({"index": {}}), orjson.dumps({"n": i, "w": f"w{i % 50}", "t": f"text {i % 97}"})]
        r = client.post("/gone/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                        headers={"content-type": "application/x-ndjson"})  # fmt: skip
        assert r.status_code == 200 and not r.json()["errors"]

        async def abandon(i: int) -> None:
            body = {"size": 50, "query": {"match": {"t": "text"}}, "from": i,
                    "aggs": {"w": {"terms": {"field": "w.keyword", "size": 50}}}}  # fmt: skip
            async with httpx.AsyncClient(base_url=server.url, timeout=0.01) as quick:
                try:
                    await quick.post("/gone/_search", json=body)
                except httpx.TimeoutException:
                    pass  # the client hangs up mid-search

        async def burst() -> None:
            await asyncio.gather(*(abandon(i) for i in range(tier(40, 300))))

        asyncio.run(burst())
        for i in range(20):
            r = client.post("/gone/_search", json={"size": 1, "query": {"term": {"w.keyword": f"w{i}"}}})
            assert r.status_code == 200 and r.json()["hits"]["total"]["value"] == 20
