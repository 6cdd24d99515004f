"""Write and search load per shard, as ES reports them in ``_stats`` (``indexing.write_load``,
``recent_write_load``, ``peak_write_load``; ``search.recent_search_load``).

A load is busy time over elapsed time: 1.0 is one thread kept busy the whole time. ``write_load`` is the time
spent applying writes to the shard (WAL append, fsync and tantivy indexing, measured around each shard-level
bulk) divided by the time since the shard started (here: since this process started, or since the index was
created when that is later and the caller knows it; a shard is not tracked across restarts). The recent
loads are exponentially weighted moving rates (the weight of older busy time halves every ``HALF_LIFE_S``, as
ES's default of 5 minutes): the decayed busy time over the decayed elapsed time. ``peak_write_load`` is the
highest recent write load seen by a ``_stats`` read. Loads of several shards are averaged, weighted by each
shard's elapsed time, as ES does.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

__all__ = ["HALF_LIFE_S", "PROCESS_START", "EwmRate", "LoadTracker", "ShardLoad", "weighted_average"]

HALF_LIFE_S = 300.0
PROCESS_START = time.time()


class EwmRate:
    """An exponentially weighted moving rate: ``add(amount, at)``, ``rate(at)``."""

    def __init__(self, start: float, half_life: float = HALF_LIFE_S) -> None:
        self._lambda = math.log(2) / half_life
        self._start = start
        self._last = start
        self._sum = 0.0

    def add(self, amount: float, at: float) -> None:
        at = max(at, self._last)
        self._sum = self._sum * math.exp(-self._lambda * (at - self._last)) + amount
        self._last = at

    def rate(self, at: float) -> float:
        at = max(at, self._last)
        elapsed = at - self._start
        if elapsed <= 0:
            return 0.0
        decayed = self._sum * math.exp(-self._lambda * (at - self._last))
        window = (1 - math.exp(-self._lambda * elapsed)) / self._lambda
        return decayed / window if window > 0 else 0.0


@dataclass
class ShardLoad:
    started: float
    busy_ns: int = 0
    recent: EwmRate = field(init=False)
    peak: float = 0.0

    def __post_init__(self) -> None:
        self.recent = EwmRate(self.started)

    def elapsed(self, now: float) -> float:
        return max(now - self.started, 0.0)

    def load(self, now: float) -> float:
        elapsed = self.elapsed(now)
        return self.busy_ns / 1e9 / elapsed if elapsed > 0 else 0.0


class LoadTracker:
    """Busy time per (index uuid, shard), thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shards: dict[tuple[str, int], ShardLoad] = {}

    def _entry(self, key: tuple[str, int], created: float | None) -> ShardLoad:
        entry = self._shards.get(key)
        if entry is None:
            start = PROCESS_START if created is None else max(PROCESS_START, created)
            entry = self._shards[key] = ShardLoad(start)
        return entry

    def record(self, uuid: str, shard: int, busy_ns: int, created: float | None = None) -> None:
        """Add ``busy_ns`` of work; ``created``: the index creation time (epoch seconds) when known."""
        now = time.time()
        with self._lock:
            entry = self._entry((uuid, shard), created)
            entry.busy_ns += busy_ns
            entry.recent.add(busy_ns / 1e9, now)

    def read(self, uuid: str, shard: int, created: float | None = None) -> tuple[int, float, float, float, float]:
        """(busy ns, elapsed s, load, recent load, peak recent load) of one shard."""
        now = time.time()
        with self._lock:
            entry = self._entry((uuid, shard), created)
            recent = entry.recent.rate(now)
            entry.peak = max(entry.peak, recent)
            return entry.busy_ns, entry.elapsed(now), entry.load(now), recent, entry.peak


def weighted_average(pairs: list[tuple[float, float]]) -> float:
    """The average of (value, weight) pairs; 0.0 when every weight is 0."""
    total = sum(w for _, w in pairs)
    return sum(v * w for v, w in pairs) / total if total > 0 else 0.0
