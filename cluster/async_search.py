"""Async search results: searches that run as tasks, answered when done or after a wait, kept for a while.

A submitted search runs as an asyncio task. The submit (and every get) waits up to its
``wait_for_completion_timeout``; what comes back is the search response so far: ``is_running: true`` with no
partial hits while it runs (ES reports partial reduces; the root merges once, at the end), the full response
once done. A result is kept until ``keep_alive`` after submission (each get may extend it), unless it completed
within the submit's wait and ``keep_on_completion`` is false.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from native.errors import QuidditchError, ResourceNotFound

DEFAULT_KEEP_ALIVE_S = 5 * 86400.0
DEFAULT_WAIT_S = 1.0


@dataclass
class AsyncSearch:
    id: str
    task: asyncio.Task[dict[str, Any]]
    start_millis: int
    expires_at_millis: int
    completion_millis: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def done(self) -> bool:
        return self.task.done()

    def error(self) -> QuidditchError | BaseException | None:
        if not self.task.done() or self.task.cancelled():
            return None
        return self.task.exception()

    def body(self, with_id: bool = True) -> dict[str, Any]:
        """ES's async search response: state, times and the search response (when there is one)."""
        running = not self.task.done()
        out: dict[str, Any] = {"id": self.id} if with_id else {}
        error = self.error()
        out["is_partial"] = running or error is not None
        out["is_running"] = running
        out["start_time_in_millis"] = self.start_millis
        out["expiration_time_in_millis"] = self.expires_at_millis
        if self.completion_millis is not None:
            out["completion_time_in_millis"] = self.completion_millis
        if running:
            out["response"] = _running_response(self.start_millis, int(self.extra.get("shards", 0)))
        elif error is None and not self.task.cancelled():
            out["response"] = self.task.result()
        return out

    def status(self) -> dict[str, Any]:
        """``GET /_async_search/status/{id}``: state only; ``completion_status`` once done."""
        out = {k: v for k, v in self.body().items() if k != "response"}
        if not self.task.done():
            out["_shards"] = {"total": int(self.extra.get("shards", 0)), "successful": 0, "skipped": 0, "failed": 0}
            return out
        error = self.error()
        if error is None:
            response = self.task.result()
            out["_shards"] = response.get("_shards", {"total": 0, "successful": 0, "skipped": 0, "failed": 0})
            out["completion_status"] = 200
        else:
            out["completion_status"] = getattr(error, "status", 500)
        return out


def _running_response(start_millis: int, shards: int) -> dict[str, Any]:
    """While running: no shard has reported to the root yet (it merges once, at the end)."""
    return {
        "took": int(time.time() * 1000) - start_millis,
        "timed_out": False,
        "terminated_early": False,
        "num_reduce_phases": 0,
        "_shards": {"total": shards, "successful": 0, "skipped": 0, "failed": 0},
        "hits": {"total": {"value": 0, "relation": "gte"}, "max_score": None, "hits": []},
    }


class AsyncSearchRegistry:
    def __init__(self) -> None:
        self._searches: dict[str, AsyncSearch] = {}

    def submit(self, search: Awaitable[dict[str, Any]], keep_alive: float) -> AsyncSearch:
        self.expire()
        now = int(time.time() * 1000)
        async_id = base64.urlsafe_b64encode(b"async:" + os.urandom(21)).decode().rstrip("=")
        task: asyncio.Task[dict[str, Any]] = asyncio.ensure_future(search)
        entry = AsyncSearch(async_id, task, now, now + int(keep_alive * 1000))

        def finished(_: asyncio.Task[dict[str, Any]]) -> None:
            entry.completion_millis = int(time.time() * 1000)

        task.add_done_callback(finished)
        return entry

    def keep(self, entry: AsyncSearch) -> None:
        self._searches[entry.id] = entry

    def get(self, async_id: str, keep_alive: float | None = None) -> AsyncSearch:
        self.expire()
        entry = self._searches.get(async_id)
        if entry is None:
            raise ResourceNotFound(async_id)
        if keep_alive is not None:
            entry.expires_at_millis = int(time.time() * 1000) + int(keep_alive * 1000)
        return entry

    def delete(self, async_id: str) -> None:
        self.expire()
        entry = self._searches.pop(async_id, None)
        if entry is None:
            raise ResourceNotFound(async_id)
        entry.task.cancel()

    def expire(self) -> None:
        now = int(time.time() * 1000)
        for async_id in [k for k, e in self._searches.items() if e.expires_at_millis < now]:
            self._searches.pop(async_id).task.cancel()

    def __len__(self) -> int:
        return len(self._searches)


async def wait(entry: AsyncSearch, seconds: float) -> None:
    """Wait up to ``seconds`` for the search to finish (it goes on running after the wait)."""
    if entry.task.done() or seconds <= 0:
        return
    await asyncio.wait({entry.task}, timeout=seconds)
