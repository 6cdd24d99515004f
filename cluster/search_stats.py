"""Search statistics per index, and per ``stats`` group, as ``_stats`` reports them under ``search``.

ES counts the query phase once per shard searched (``query_total``) and the fetch phase once per shard that
fetched documents (``fetch_total``); a search request naming ``stats: ["group", …]`` (body) or
``?stats=group,…`` adds the same counts under ``search.groups.<group>``, shown only when ``_stats`` is asked
for them with ``groups=`` (names, wildcards or ``_all``). Counts live in memory (ES's are per shard copy and
reset when the shard is reopened; here they reset with the process) and are kept per shard, keyed by index
uuid and shard number, so a deleted and recreated index starts from zero.
"""

from __future__ import annotations

import fnmatch
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cluster.load_stats import LoadTracker, weighted_average
from native.errors import ParsingError

__all__ = ["SearchCounts", "SearchStats", "parse_stats_groups", "search_counts"]


@dataclass
class SearchCounts:
    query_total: int = 0
    query_time_in_millis: int = 0
    fetch_total: int = 0
    fetch_time_in_millis: int = 0
    scroll_total: int = 0
    scroll_time_in_millis: int = 0
    busy_ns: int = 0  # the query and fetch phases' time, precisely (for the search load)

    def add(self, other: SearchCounts) -> None:
        self.query_total += other.query_total
        self.query_time_in_millis += other.query_time_in_millis
        self.fetch_total += other.fetch_total
        self.fetch_time_in_millis += other.fetch_time_in_millis
        self.scroll_total += other.scroll_total
        self.scroll_time_in_millis += other.scroll_time_in_millis
        self.busy_ns += other.busy_ns

    def to_json(self) -> dict[str, Any]:
        return {
            "query_total": self.query_total, "query_time_in_millis": self.query_time_in_millis, "query_current": 0,
            "fetch_total": self.fetch_total, "fetch_time_in_millis": self.fetch_time_in_millis, "fetch_current": 0,
            "scroll_total": self.scroll_total, "scroll_time_in_millis": self.scroll_time_in_millis,
            "scroll_current": 0, "suggest_total": 0, "suggest_time_in_millis": 0, "suggest_current": 0,
        }  # fmt: skip


@dataclass
class _IndexCounts:
    total: SearchCounts = field(default_factory=SearchCounts)
    groups: dict[str, SearchCounts] = field(default_factory=dict)


class SearchStats:
    """Thread-safe counters: ``record`` after a search, ``of`` when ``_stats`` is read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_shard: dict[tuple[str, int], _IndexCounts] = {}
        self._last_search: dict[tuple[str, int], float] = {}  # wall-clock seconds of the last query phase
        self._load = LoadTracker()  # ``recent_search_load``: busy time per shard

    def record(self, per_shard: Mapping[tuple[str, int], SearchCounts], groups: Iterable[str] = ()) -> None:
        """Add one search's counts ((index uuid, shard) → counts), also under each group."""
        names = tuple(groups)
        now = time.time()
        with self._lock:
            for key, counts in per_shard.items():
                if counts.query_total:
                    self._last_search[key] = now
                if counts.busy_ns:
                    self._load.record(key[0], key[1], counts.busy_ns)
                entry = self._by_shard.setdefault(key, _IndexCounts())
                entry.total.add(counts)
                for name in names:
                    entry.groups.setdefault(name, SearchCounts()).add(counts)

    def last_search(self, index_uuid: str, shard: int) -> float | None:
        """When the shard last ran a query phase (epoch seconds), or None."""
        with self._lock:
            return self._last_search.get((index_uuid, shard))

    def of(self, index_uuid: str, shard: int | None = None, groups: Iterable[str] | None = None) -> dict[str, Any]:
        """The ``search`` section of one index (or one of its shards); ``groups``: the ``groups=`` patterns
        (None: no groups)."""
        total = SearchCounts()
        by_group: dict[str, SearchCounts] = {}
        shards: list[int] = []
        with self._lock:
            for (uuid, number), entry in self._by_shard.items():
                if uuid != index_uuid or (shard is not None and number != shard):
                    continue
                shards.append(number)
                total.add(entry.total)
                for name, counts in entry.groups.items():
                    by_group.setdefault(name, SearchCounts()).add(counts)
        out = total.to_json()
        out["recent_search_load"] = self.recent_load([(index_uuid, s) for s in shards]) if shards else 0.0
        if groups is not None:
            patterns = list(groups)
            chosen = {name: counts.to_json() for name, counts in sorted(by_group.items())
                      if any(p == "_all" or fnmatch.fnmatchcase(name, p) for p in patterns)}  # fmt: skip
            if chosen:
                out["groups"] = chosen
        return out


    def recent_load(self, shards: Iterable[tuple[str, int]]) -> float:
        """``recent_search_load`` of (index uuid, shard)s: each shard's exponentially weighted busy time over
        elapsed time (see ``cluster.load_stats``), averaged weighted by elapsed time."""
        rows = []
        for uuid, number in shards:
            _, elapsed, _, recent, _ = self._load.read(uuid, number)
            rows.append((recent, elapsed))
        return weighted_average(rows)


def parse_stats_groups(body_value: Any, param: str | None) -> tuple[str, ...]:
    """The ``stats`` groups of a search request: ``?stats=a,b`` wins over the body's ``"stats": [...]``."""
    if param is not None:
        return tuple(g for g in (p.strip() for p in param.split(",")) if g)
    if body_value is None:
        return ()
    if isinstance(body_value, str):
        return (body_value,)
    if isinstance(body_value, list) and all(isinstance(g, str) for g in body_value):
        return tuple(body_value)
    if isinstance(body_value, dict):  # ES's SearchSourceBuilder: an object is not a value of [stats]
        raise ParsingError("Unknown key for a START_OBJECT in [stats].")
    raise ParsingError("[stats] must be a string or an array of strings")


def search_counts(searched: Iterable[tuple[str, int]], fetched: Iterable[tuple[str, int]], query_ms: int,
                  fetch_ms: int, query_ns: int = 0,
                  fetch_ns: int = 0) -> dict[tuple[str, int], SearchCounts]:  # fmt: skip
    """One search's counts by (index uuid, shard): ``searched`` and ``fetched`` name the shards that ran the
    query phase / the fetch phase (each is charged the phase's time, as ES times each shard's phase)."""
    out: dict[tuple[str, int], SearchCounts] = {}
    for key in searched:
        counts = out.setdefault(key, SearchCounts())
        counts.query_total += 1
        counts.query_time_in_millis = query_ms
        counts.busy_ns += query_ns
    for key in set(fetched):
        counts = out.setdefault(key, SearchCounts())
        counts.fetch_total += 1
        counts.fetch_time_in_millis = fetch_ms
        counts.busy_ns += fetch_ns
    return out
