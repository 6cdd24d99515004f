"""Waiting for the cluster state to change, without polling: a write waits for its shard's primary this way.

The master calls its listeners on whatever thread publishes (``Master.subscribe``); ``StateChanges`` turns
each publication into a wake-up of the asyncio waiters, on their own loops.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Protocol

from cluster.state import ClusterState


class StateSource(Protocol):
    @property
    def state(self) -> ClusterState: ...

    def subscribe(self, listener: Callable[[ClusterState, ClusterState], None]) -> None: ...


class StateChanges:
    def __init__(self, master: StateSource) -> None:
        self._master = master
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = set()
        master.subscribe(self._published)

    def _published(self, old: ClusterState, new: ClusterState) -> None:
        with self._lock:
            waiters, self._waiters = self._waiters, set()
        for loop, fut in waiters:
            try:
                loop.call_soon_threadsafe(_wake, fut)
            except RuntimeError:  # that loop is closed: nobody waits any more
                pass

    async def wait_after(self, version: int, deadline: float) -> bool:
        """Wait until the state's version is past ``version`` (True) or ``deadline`` passes (False)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        entry = (loop, fut)
        with self._lock:
            self._waiters.add(entry)
        try:
            if self._master.state.version != version:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(asyncio.shield(fut), remaining)
            except TimeoutError:
                return self._master.state.version != version
            return True
        finally:
            with self._lock:
                self._waiters.discard(entry)


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
