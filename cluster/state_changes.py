"""Waiting for the next cluster state: what ``_cluster/health?wait_for_*`` and ``wait_for_metadata_version``
block on, instead of polling.

The master calls ``notify`` (it is one of its listeners) from whichever thread published; waiting coroutines
are woken on their own event loop. ``wait_past(version, timeout)`` returns as soon as the state is newer than
``version`` (at once if it already is), or when ``timeout`` passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable

from cluster.state import ClusterState

__all__ = ["StateChanges"]


class StateChanges:
    def __init__(self, current: Callable[[], ClusterState]) -> None:
        self._current = current
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = set()

    def notify(self, old: ClusterState | None, new: ClusterState) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for loop, future in waiters:
            with contextlib.suppress(RuntimeError):  # a loop that has closed meanwhile
                loop.call_soon_threadsafe(_wake, future)

    async def wait_past(self, version: int, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        entry = (loop, future)
        with self._lock:
            self._waiters.add(entry)
        try:
            if self._current().version > version:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(future, max(0.0, timeout))
        finally:
            with self._lock:
                self._waiters.discard(entry)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
