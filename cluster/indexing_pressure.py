"""Indexing pressure: a byte budget for the write requests a node is working on (ES's ``IndexingPressure``).

Every ``_bulk`` holds its body size in the budget from the moment its body is read until its response is
built, error and cancellation included. A request that would take the node past
``indexing_pressure.memory.limit`` is refused at once with ES's 429 ``es_rejected_execution_exception``;
the bytes already in flight are left to finish. A single request larger than the whole budget is refused
too, as in ES (``http.max_content_length`` caps bodies below the default budget anyway).

Quidditch is one coordinating and primary stage (replicas are not written through this node yet), so
``replica_bytes`` is always 0 in the message, and ``coordinating_and_primary_bytes`` is what is in flight.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from native.errors import RejectedExecution

__all__ = ["IndexingPressure", "default_limit"]

MIN_LIMIT = 64 << 20


def default_limit() -> int:
    """10 % of physical memory, at least 64 MB (ES: 10 % of the heap)."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        physical = 0
    return max(MIN_LIMIT, physical // 10)


class IndexingPressure:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.current = 0  # coordinating and primary bytes in flight
        self.total = 0  # bytes ever admitted
        self.rejections = 0

    @contextlib.contextmanager
    def coordinating(self, size: int) -> Iterator[None]:
        """Hold ``size`` bytes while the block runs (event-loop only: no lock needed)."""
        if self.current + size > self.limit:
            self.rejections += 1
            raise RejectedExecution(
                f"rejected execution of coordinating operation [coordinating_and_primary_bytes={self.current}, "
                f"replica_bytes=0, all_bytes={self.current}, coordinating_operation_bytes={size}, "
                f"max_coordinating_and_primary_bytes={self.limit}]"
            )
        self.current += size
        self.total += size
        try:
            yield
        finally:
            self.current -= size
