"""The shard request cache: size-0 shard results (total, max score, aggregation partial) by request.

As Elasticsearch's ``IndicesRequestCache``: only requests that return no hits are cached (aggregations,
counts), an entry is valid for one reader of one shard (a refresh starts an empty cache for that shard,
so a cached result is always what the current reader would compute), and requests whose result depends
on the time of the request (``now`` in date math) are never cached. ``index.requests.cache.enable:
false`` turns it off for an index.

Entries are keyed by the exact request JSON the root sends, so a repeated dashboard panel or a
benchmark loop costs one shard pass per refresh.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from native.schema import CompiledMapping
    from native.shard import Shard

__all__ = ["CachedResult", "ShardRequestCache", "cacheable"]

MAX_ENTRIES_PER_SHARD = 256
MAX_BYTES_PER_SHARD = 16 << 20

# (index name, query JSON, aggregations JSON, sort JSON, search_after JSON, min_score or None)
CacheKey = tuple[str, bytes, bytes, bytes, bytes, float | None]


@dataclass(frozen=True)
class CachedResult:
    total: int
    max_score: float | None
    agg_partial: bytes


def _size(key: CacheKey, result: CachedResult) -> int:
    return len(result.agg_partial) + len(key[1]) + len(key[2]) + len(key[3]) + len(key[4]) + 64


def cacheable(*request_json: bytes) -> bool:
    """False when the request uses the time of the request (``now`` in any date math), as ES decides."""
    return not any(b"now" in part for part in request_json)


class _ShardEntries:
    __slots__ = ("bytes", "compiled", "entries", "generation")

    def __init__(self, generation: int, compiled: CompiledMapping) -> None:
        self.generation = generation
        self.compiled = compiled
        self.entries: OrderedDict[CacheKey, CachedResult] = OrderedDict()
        self.bytes = 0


class ShardRequestCache:
    """Per shard, the results computed on its current reader (and mapping); thread-safe."""

    def __init__(self, max_entries: int = MAX_ENTRIES_PER_SHARD, max_bytes: int = MAX_BYTES_PER_SHARD) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        # keyed by the shard object: a closed or deleted shard takes its entries with it
        self._shards: weakref.WeakKeyDictionary[Shard, _ShardEntries] = weakref.WeakKeyDictionary()
        # per shard, for ``_stats``: [hits, misses, evictions] (they outlive the per-reader entries)
        self._counts: weakref.WeakKeyDictionary[Shard, list[int]] = weakref.WeakKeyDictionary()
        self.hits = 0
        self.misses = 0

    def _count(self, shard: Shard, which: int) -> None:
        counts = self._counts.get(shard)
        if counts is None:
            counts = self._counts[shard] = [0, 0, 0]
        counts[which] += 1

    def stats(self, shard: Shard) -> tuple[int, int, int, int]:
        """``(memory_size_in_bytes, evictions, hit_count, miss_count)`` of ``shard``, as ES's ``_stats`` has them."""
        with self._lock:
            entries = self._shards.get(shard)
            hits, misses, evictions = self._counts.get(shard, (0, 0, 0))
            return (entries.bytes if entries is not None else 0), evictions, hits, misses

    def get(self, shard: Shard, generation: int, compiled: CompiledMapping, key: CacheKey) -> CachedResult | None:
        with self._lock:
            found = self._shards.get(shard)
            if found is None or found.generation != generation or found.compiled is not compiled:
                self.misses += 1
                self._count(shard, 1)
                return None
            result = found.entries.get(key)
            if result is None:
                self.misses += 1
                self._count(shard, 1)
                return None
            found.entries.move_to_end(key)
            self.hits += 1
            self._count(shard, 0)
            return result

    def put(
        self, shard: Shard, generation: int, compiled: CompiledMapping, key: CacheKey, result: CachedResult
    ) -> None:
        size = _size(key, result)
        if size > self.max_bytes:
            return
        with self._lock:
            found = self._shards.get(shard)
            if found is None or found.compiled is not compiled or found.generation != generation:
                if found is not None and found.generation > generation and found.compiled is compiled:
                    return  # a result of an older reader, computed while the shard refreshed
                found = self._shards[shard] = _ShardEntries(generation, compiled)
            old = found.entries.pop(key, None)
            if old is not None:
                found.bytes -= _size(key, old)
            found.entries[key] = result
            found.bytes += size
            while len(found.entries) > self.max_entries or found.bytes > self.max_bytes:
                evicted_key, evicted = found.entries.popitem(last=False)
                found.bytes -= _size(evicted_key, evicted)
                self._count(shard, 2)
