"""Node-level limits and defaults the cluster layer enforces (fed from ``server.settings``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from native.errors import RejectedExecution

LEAF_TRANSPORTS = ("local", "grpc")


@dataclass(frozen=True)
class ClusterConfig:
    max_nested_depth: int = 30
    max_clause_count: int = 4096
    default_max_result_window: int = 10_000
    default_refresh_interval: str = "1s"
    search_queue_size: int = 1000
    write_queue_size: int = 10_000
    indexing_pressure_limit: int = 0  # bytes of writes in flight; 0: ``indexing_pressure.default_limit()``
    # the deadline of a search that sets no ``timeout``, in seconds (negative: none): the server setting
    # ``search_default_search_timeout``
    default_search_timeout_s: float = 300.0
    # the longest wait for another node's answer to a shard call that has no deadline of its own (a search
    # without one, a realtime GET, refresh, stats, a shard bulk); a hung node fails those calls after it
    transport_timeout_s: float = 60.0
    # a bulk or index request's ``timeout`` when it sets none (ES's 1m): how long a write waits for its
    # shard's primary to be started (and for a new primary after its node is lost)
    default_write_timeout_s: float = 60.0
    # how the embedded server reaches its own leaf: "local" (in-process ``LocalLeafClient``) or "grpc" (its leaf
    # servicer on a loopback port and a ``GrpcLeafClient``: every leaf call crosses the wire, as in a cluster);
    # the server setting ``leaf_transport`` (``QUIDDITCH_LEAF_TRANSPORT``)
    leaf_transport: str = "local"

    def __post_init__(self) -> None:
        if self.leaf_transport not in LEAF_TRANSPORTS:
            raise ValueError(f"unknown leaf transport [{self.leaf_transport}]: expected one of {list(LEAF_TRANSPORTS)}")


class Backpressure:
    """A bounded queue in front of a pool: past ``capacity`` waiting requests, answer 429 at once."""

    def __init__(self, name: str, workers: int, capacity: int) -> None:
        self.name = name
        self.workers = workers
        self.capacity = capacity
        self._slots = asyncio.Semaphore(workers)
        self._waiting = 0
        # thread-pool statistics (``_nodes/stats``, ``_cat/thread_pool``): running, refused, done, most at once
        self.active = 0
        self.rejected = 0
        self.completed = 0
        self.largest = 0

    @property
    def queued(self) -> int:
        return self._waiting

    @property
    def free(self) -> bool:
        """Whether a request would be admitted at once (a slot is free and nobody waits for one)."""
        return not self._slots.locked() and not self._waiting

    @contextlib.asynccontextmanager
    async def admit(self) -> AsyncIterator[None]:
        if self._waiting >= self.capacity:
            self.rejected += 1
            raise RejectedExecution(
                f"rejected execution of {self.name} request: queue capacity = {self.capacity}, "
                f"queued tasks = {self._waiting}"
            )
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        self.active += 1
        self.largest = max(self.largest, self.active)
        try:
            yield
        finally:
            self.active -= 1
            self.completed += 1
            self._slots.release()
