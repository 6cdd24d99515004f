"""Every search has a deadline: ES's ``timeout`` (URL parameter or body key), else the server's
``search_default_search_timeout``. A shard that has not answered by then leaves the response with
``timed_out: true`` and what the other shards answered; the slot it held is free again at once.

The slow shard is a hook on the data node's shard lookup (in-process), held for at most ``HOLD_S``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
import pytest

from server.app import cluster_config
from server.settings import load_settings
from tests.conftest import _starlette_of

HOLD_S = 5.0
DOCS = 60


def _cluster(client: httpx.AsyncClient) -> Any:
    return _starlette_of(client._transport.app).state.cluster  # type: ignore[attr-defined]


async def _index(client: httpx.AsyncClient, name: str, shards: int) -> None:
    r = await client.put(f"/{name}", json={"settings": {"number_of_shards": shards}})
    assert r.status_code == 200, r.text
    lines = []
    for i in range(DOCS):
        lines += [orjson.dumps({"index": {"_id": str(i)}}), orjson.dumps({"n": i})]
    r = await client.post(f"/{name}/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                          headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"]


class SlowShards:
    """Makes the lookup of the named shard numbers block until released (or ``HOLD_S``)."""

    def __init__(self, node: Any) -> None:
        self.node = node
        self.slow: set[int] = set()
        self.release = threading.Event()
        self.held = 0  # lookups that blocked
        self._shard: Callable[..., Any] = node.shard
        node.shard = self._lookup

    def _lookup(self, uuid: str, shard: int) -> Any:
        if shard in self.slow and not self.release.is_set():
            self.held += 1
            self.release.wait(HOLD_S)
        return self._shard(uuid, shard)

    def close(self) -> None:
        self.release.set()
        self.node.shard = self._shard


@pytest.fixture
async def slow(asgi_client: httpx.AsyncClient) -> AsyncIterator[SlowShards]:
    hook = SlowShards(_cluster(asgi_client).node)
    try:
        yield hook
    finally:
        hook.close()


async def _search(client: httpx.AsyncClient, path: str, body: dict[str, Any] | None = None) -> tuple[dict, float]:
    t0 = time.monotonic()
    r = await asyncio.wait_for(client.post(path, json=body or {"size": DOCS}), 30)
    assert r.status_code == 200, r.text
    return r.json(), time.monotonic() - t0


async def test_a_slow_shard_leaves_partial_results_within_the_timeout(
    asgi_client: httpx.AsyncClient, slow: SlowShards
) -> None:
    await _index(asgi_client, "two", 2)
    full, _ = await _search(asgi_client, "/two/_search", {"size": 0})
    assert full["timed_out"] is False and full["hits"]["total"]["value"] == DOCS
    totals = []
    # (each body is new: a request whose last run was cheap may run on the event loop, see LocalLeafClient)
    for slow_shard, how in ((0, "url"), (1, "body")):
        slow.slow = {slow_shard}
        if how == "url":
            body, took = await _search(asgi_client, "/two/_search?timeout=300ms", {"size": DOCS})
        else:
            body, took = await _search(asgi_client, "/two/_search", {"size": DOCS + 1, "timeout": "300ms"})
        assert took < HOLD_S - 1, took  # answered at the deadline, not when the shard finished
        assert body["timed_out"] is True
        # ES counts a timed-out shard as successful: its results are partial (here: empty)
        assert body["_shards"] == {"total": 2, "successful": 2, "skipped": 0, "failed": 0}
        total = body["hits"]["total"]["value"]
        assert 0 < total < DOCS and len(body["hits"]["hits"]) == total
        totals.append(total)
        slow.release.set()  # let the held shard finish before the next round
        await asyncio.sleep(0.2)
        slow.release.clear()
    assert sum(totals) == DOCS  # each answer was exactly the other shard's documents
    assert slow.held == 2


async def test_without_partial_results_a_timed_out_shard_fails_the_search_with_504(
    asgi_client: httpx.AsyncClient, slow: SlowShards
) -> None:
    await _index(asgi_client, "two", 2)
    slow.slow = {1}
    r = await asyncio.wait_for(
        asgi_client.post("/two/_search?timeout=200ms&allow_partial_search_results=false", json={"size": 3}), 30
    )
    assert r.status_code == 504, r.text
    error = r.json()["error"]
    assert (error["type"], error["reason"]) == ("search_phase_execution_exception", "Partial shards failure")
    assert error["root_cause"][0] == {"type": "search_timeout_exception", "reason": "Time exceeded"}
    assert [(f["index"], f["shard"]) for f in error["failed_shards"]] == [("two", 1)]
    slow.release.set()
    body, _ = await _search(asgi_client, "/two/_search?timeout=10s&allow_partial_search_results=false", {"size": 3})
    assert body["timed_out"] is False and body["hits"]["total"]["value"] == DOCS
    r = await asgi_client.post("/two/_search?allow_partial_search_results=maybe", json={})
    assert r.status_code == 400 and r.json()["error"]["type"] == "illegal_argument_exception"


async def test_without_timeout_the_server_deadline_applies(asgi_client: httpx.AsyncClient, slow: SlowShards) -> None:
    await _index(asgi_client, "one", 1)
    root = _cluster(asgi_client).root
    assert root.config.default_search_timeout_s == 300.0  # the documented default: 5m
    root.config = dataclasses.replace(root.config, default_search_timeout_s=0.3)
    slow.slow = {0}
    body, took = await _search(asgi_client, "/one/_search")
    assert took < HOLD_S - 1 and body["timed_out"] is True
    assert body["hits"]["total"]["value"] == 0 and body["hits"]["hits"] == []
    # a request's own timeout wins over the server's, in both directions
    slow.release.set()
    body, _ = await _search(asgi_client, "/one/_search", {"size": DOCS, "timeout": "20s"})
    assert body["timed_out"] is False and body["hits"]["total"]["value"] == DOCS
    # _count has no timed_out: a shard past the server's deadline is a failed shard
    slow.release.clear()
    r = await asyncio.wait_for(asgi_client.get("/one/_count"), 30)
    assert r.status_code == 200, r.text
    assert r.json()["_shards"]["failed"] == 1 and r.json()["_shards"]["successful"] == 0


async def test_a_timed_out_search_frees_its_slot_and_the_pool_stays_usable(
    asgi_client: httpx.AsyncClient, slow: SlowShards
) -> None:
    await _index(asgi_client, "one", 1)
    await _index(asgi_client, "fast", 2)
    root = _cluster(asgi_client).root
    slow.slow = {0}
    # More searches than admission slots and search threads, on a shard that does not answer.
    t0 = time.monotonic()
    timed_out = await asyncio.gather(*(_search(asgi_client, "/one/_search?timeout=200ms") for _ in range(12)))
    assert time.monotonic() - t0 < HOLD_S - 1
    assert all(body["timed_out"] and body["hits"]["hits"] == [] for body, _ in timed_out)
    assert root.queue._slots._value == 8 and root.queue._waiting == 0  # no slot kept by a timed-out search
    # A shard call cannot be interrupted: the (8) running ones hold their threads until the shard answers
    # (here: release); the 4 queued behind them were cancelled with their searches (see test_workers.py).
    assert 0 < slow.held <= 8
    slow.release.set()
    body, _ = await _search(asgi_client, "/fast/_search", {"size": 0, "timeout": "10s"})
    assert body["timed_out"] is False and body["hits"]["total"]["value"] == DOCS
    answers = await asyncio.gather(*(_search(asgi_client, "/one/_search", {"size": 1}) for _ in range(20)))
    assert all(not b["timed_out"] and b["hits"]["total"]["value"] == DOCS for b, _ in answers)


@pytest.mark.parametrize(
    ("where", "value", "status", "es_type", "reason"),
    [
        ("url", "abc", 400, "parse_exception",
         "failed to parse setting [timeout] with value [abc] as a time value: unit is missing or unrecognized"),
        ("body", "1.5s", 400, "parse_exception", "failed to parse [1.5s], fractional time values are not supported"),
        ("body", 5, 400, "parse_exception",
         "failed to parse setting [timeout] with value [5] as a time value: unit is missing or unrecognized"),
        ("url", "-5s", 400, "illegal_argument_exception",
         "failed to parse setting [timeout] with value [-5s] as a time value: negative durations are not supported"),
        ("body", {"a": 1}, 400, "parsing_exception", "Unknown key for a START_OBJECT in [timeout]."),
    ],
)  # fmt: skip
async def test_a_bad_timeout_is_a_400_as_in_es(
    asgi_client: httpx.AsyncClient, where: str, value: Any, status: int, es_type: str, reason: str
) -> None:
    await _index(asgi_client, "one", 1)
    if where == "url":
        r = await asgi_client.post("/one/_search", params={"timeout": value}, json={})
    else:
        r = await asgi_client.post("/one/_search", json={"timeout": value})
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert (error["type"], error["reason"]) == (es_type, reason)
    assert error["root_cause"][0]["type"] == es_type


@pytest.mark.parametrize("value", ["10s", "500ms", "1m", "-1", "2000micros"])
async def test_good_timeouts_are_accepted(asgi_client: httpx.AsyncClient, value: str) -> None:
    await _index(asgi_client, "one", 1)
    body, _ = await _search(asgi_client, f"/one/_search?timeout={value}")
    assert body["hits"]["total"]["value"] == DOCS


def test_the_server_deadline_setting() -> None:
    assert cluster_config(load_settings({})).default_search_timeout_s == 300.0
    env = {"QUIDDITCH_SEARCH_DEFAULT_SEARCH_TIMEOUT": "2s"}
    assert cluster_config(load_settings({}, environ=env)).default_search_timeout_s == 2.0
    assert cluster_config(load_settings({"search_default_search_timeout": "-1"})).default_search_timeout_s < 0
    with pytest.raises(ValueError, match="search_default_search_timeout"):
        load_settings({"search_default_search_timeout": "soon"})
