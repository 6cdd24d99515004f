"""``profile: true``: where a search spent its time, measured on our own phases, in ES's response shape.

Measured (``time.perf_counter_ns``) on each shard by the leaf (``Laps``): taking the reader (``next_reader``),
reading the query (``rewrite_time``: the leaf's parse of the query JSON), compiling it into a tantivy query
(``create_weight``), the tantivy search that matches, scores and collects the top hits (``next_doc``, with the
number of matches as its count, and the collector's time), executing the aggregations, and loading the
documents of the fetch phase (``load_stored_fields``). The root adds its own part of the fetch phase (source
filtering and ``fields``/``docvalue_fields``, the ``FetchSourcePhase`` and ``FetchFieldsPhase`` children).

What tantivy does not expose is not invented: a query is one entry (the whole compiled query, named after its
parsed form, no per-clause children); the breakdown keys ES has and we cannot measure are 0; the aggregations
of a shard run as one tantivy pass and are one entry. There is no ``dfs`` section: no DFS phase runs.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

_QUERY_KEYS = ("set_min_competitive_score", "match", "shallow_advance", "next_doc", "score", "compute_max_score",
               "advance", "build_scorer", "create_weight", "count_weight")  # fmt: skip


class Laps:
    """Nanoseconds per named step since the previous lap (a no-op when profiling is off)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.ns: dict[str, int] = {}
        self.counts: dict[str, int] = {}
        self._last = time.perf_counter_ns() if enabled else 0

    def lap(self, name: str, count: int = 1) -> None:
        if not self.enabled:
            return
        now = time.perf_counter_ns()
        self.ns[name] = self.ns.get(name, 0) + max(now - self._last, 1)
        self.counts[name] = self.counts.get(name, 0) + count
        self._last = now

    def to_json(self) -> bytes:
        return orjson.dumps({"ns": self.ns, "counts": self.counts}) if self.enabled else b""


def _read(raw: bytes) -> tuple[dict[str, int], dict[str, int]]:
    if not raw:
        return {}, {}
    data = orjson.loads(raw)
    return data.get("ns", {}), data.get("counts", {})


def _query_entry(query: Any, ns: dict[str, int], counts: dict[str, int]) -> dict[str, Any]:
    breakdown = {key: 0 for key in _QUERY_KEYS} | {f"{key}_count": 0 for key in _QUERY_KEYS}
    breakdown["create_weight"] = ns.get("compile", 0)
    breakdown["create_weight_count"] = counts.get("compile", 0)
    breakdown["next_doc"] = ns.get("search", 0)
    breakdown["next_doc_count"] = counts.get("search", 0)
    kind = type(query).__name__ if query is not None else "MatchAll"
    return {
        "type": f"{kind}Query",
        "description": str(query) if query is not None else "*:*",
        "time_in_nanos": breakdown["create_weight"] + breakdown["next_doc"],
        "breakdown": dict(sorted(breakdown.items())),
    }


def shard_profile(
    *, index: str, shard: int, node_id: str, query_ast: Any, search_raw: bytes, fetch_raw: bytes,
    root_fetch: dict[str, Any] | None, agg_names: list[str], limit: int, sorted_by_field: bool,
) -> dict[str, Any]:  # fmt: skip
    """One ``profile.shards[]`` entry from the leaf's measures of the query (and fetch) phases and the root's."""
    ns, counts = _read(search_raw)
    fetch_ns, fetch_counts = _read(fetch_raw)
    for key in ("fetch_reader", "fetch_load"):  # single-shard query-and-fetch: loaded by the query phase
        if key in ns:
            fetch_ns[key] = fetch_ns.get(key, 0) + ns[key]
            fetch_counts[key] = fetch_counts.get(key, 0) + counts.get(key, 0)
    collector = "TopDocs" if limit else "Count"
    search: dict[str, Any] = {
        "query": [_query_entry(query_ast, ns, counts)],
        "rewrite_time": ns.get("parse", 0),
        "collector": [{
            "name": f"{collector}{'(order_by_field)' if sorted_by_field and limit else ''}",
            "reason": "search_top_hits" if limit else "search_count",
            "time_in_nanos": ns.get("search", 0),
        }],
    }  # fmt: skip
    out: dict[str, Any] = {
        "id": f"[{node_id}][{index}][{shard}]",
        "node_id": node_id,
        "shard_id": shard,
        "index": index,
        "cluster": "(local)",
        "searches": [search],
        "aggregations": [],
    }
    if agg_names and "aggregations" in ns:
        out["aggregations"].append({
            "type": "AggregationCollector",
            "description": ",".join(agg_names),
            "time_in_nanos": ns["aggregations"],
            "breakdown": {"initialize": 0, "initialize_count": 0, "collect": ns["aggregations"],
                          "collect_count": counts.get("aggregations", 0), "build_aggregation": 0,
                          "build_aggregation_count": 0, "reduce": 0, "reduce_count": 0, "post_collection": 0,
                          "post_collection_count": 0, "build_leaf_collector": 0, "build_leaf_collector_count": 0},
        })  # fmt: skip
    if root_fetch is not None:
        out["fetch"] = _fetch_entry(fetch_ns, fetch_counts, root_fetch)
    return out


def _fetch_entry(ns: dict[str, int], counts: dict[str, int], root_fetch: dict[str, Any]) -> dict[str, Any]:
    stored = root_fetch["stored_fields"]
    breakdown = {
        "next_reader": ns.get("fetch_reader", 0), "next_reader_count": counts.get("fetch_reader", 0),
        "load_stored_fields": ns.get("fetch_load", 0), "load_stored_fields_count": counts.get("fetch_load", 0),
        "load_source": 0, "load_source_count": 0,
    }  # fmt: skip
    entry: dict[str, Any] = {"type": "fetch", "description": "", "breakdown": breakdown,
                             "debug": {"stored_fields": stored}}  # fmt: skip
    children = []
    for phase in root_fetch["phases"]:
        child = {"type": phase["type"], "description": "", "time_in_nanos": phase["setup"] + phase["process"],
                 "breakdown": {"next_reader": phase["setup"], "next_reader_count": 1,
                               "process": phase["process"], "process_count": phase["count"]}}  # fmt: skip
        if phase.get("debug"):
            child["debug"] = phase["debug"]
        children.append(child)
    if stored:
        # reading _id, _routing and _source out of the loaded documents happened in the leaf's load step
        children.append({"type": "StoredFieldsPhase", "description": "", "time_in_nanos": 0,
                         "breakdown": {"next_reader": 0, "next_reader_count": 0, "process": 0,
                                       "process_count": 0}})  # fmt: skip
        entry["children"] = children
    entry["time_in_nanos"] = (breakdown["next_reader"] + breakdown["load_stored_fields"]
                              + sum(c["time_in_nanos"] for c in children))  # fmt: skip
    keys = ("type", "description", "time_in_nanos", "breakdown", "debug", "children")
    return {k: entry[k] for k in keys if k in entry}


class FetchClock:
    """The root's part of a profiled fetch phase: per shard and sub-phase, setup and per-hit processing."""

    def __init__(self, hide_id: bool, shards: list[int], fetch_raw: dict[int, bytes]) -> None:
        self.stored_fields = [] if hide_id else ["_id", "_routing", "_source"]
        self.shards = shards
        self.fetch_raw = fetch_raw
        self._phases: dict[int, dict[str, dict[str, Any]]] = {}
        self._mark = 0

    def start(self) -> None:
        self._mark = time.perf_counter_ns()

    def stop(self, shard: int, phase_type: str, fast_path: bool = False) -> None:
        now = time.perf_counter_ns()
        phases = self._phases.setdefault(shard, {})
        record = phases.get(phase_type)
        if record is None:
            record = {"type": phase_type, "process": 0, "count": 0}
            record["setup"] = max(time.perf_counter_ns() - now, 1)  # this shard's state for the sub-phase
            phases[phase_type] = record
            now = time.perf_counter_ns()
        record["process"] += max(now - self._mark, 1)
        record["count"] += 1
        if phase_type == "FetchSourcePhase":
            record.setdefault("debug", {"fast_path": 0})
            record["debug"]["fast_path"] += int(fast_path)
        self._mark = time.perf_counter_ns()

    def finish(self) -> dict[int, dict[str, Any]]:
        order = ("FetchSourcePhase", "FetchFieldsPhase")
        out: dict[int, dict[str, Any]] = {}
        for shard in self.shards:
            phases = self._phases.get(shard, {})
            out[shard] = {
                "stored_fields": self.stored_fields,
                "phases": [phases[name] for name in order if name in phases],
                "raw": self.fetch_raw.get(shard, b""),
            }
        return out
