"""``GET /_nodes[/{node_id}]/stats[/{metric}[/{index_metric}]]``: the one node's statistics, in ES's shapes.

Statistics that have a real counterpart here are measured (process RSS and CPU, documents, store and
segment files of the local shards, search counts, file system and its watermarks, bytes admitted by the
indexing-pressure budget, cluster-state publications); JVM-only sections (garbage collectors, memory pools)
and transport (a single node has no transport connections) are present with zero or no entries, which is
what tools that read them (Rally, Kibana) need to see for a non-JVM node. ``metric`` and ``index_metric``
select sections as ES does, an unknown name is ES's 400, and a node filter that matches nothing gives an
empty ``nodes`` map.
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from cluster.embedded import EmbeddedCluster
from cluster.segment_files import segment_file_sizes
from cluster.settings import FLOOD_STAGE, HIGH_WATERMARK, LOW_WATERMARK, min_free_bytes
from native.errors import IllegalArgument, QuidditchError
from server.handlers.index_stats import node_indices_section
from server.handlers.members import NODE_ATTRIBUTES, es_roles, select_members
from server.handlers.node_info import thread_pools
from server.handlers.stats_fields import indexing_pressure_section
from server.http import check_params, es_json
from server.suggest_names import did_you_mean

__all__ = ["STARTED", "nodes_stats", "rss_bytes"]

STATS_METRICS = ("indices", "os", "process", "jvm", "thread_pool", "fs", "transport", "http", "breaker", "script",
                 "discovery", "ingest", "adaptive_selection", "script_cache", "indexing_pressure", "repositories",
                 "allocations")  # fmt: skip
# ``index_metric`` names and the key each has in the ``indices`` section
INDEX_METRICS = {
    "docs": "docs", "store": "store", "indexing": "indexing", "get": "get", "search": "search", "merge": "merges",
    "refresh": "refresh", "flush": "flush", "warmer": "warmer", "query_cache": "query_cache",
    "fielddata": "fielddata", "completion": "completion", "segments": "segments", "translog": "translog",
    "request_cache": "request_cache", "recovery": "recovery", "bulk": "bulk", "shard_stats": "shards",
    "mappings": "mappings", "dense_vector": "dense_vector", "sparse_vector": "sparse_vector",
}  # fmt: skip
STARTED = time.time()
# ES's transport handling-time histogram: <1ms, [1,2), [2,4) … [32768,65536), >=65536
_HISTOGRAM = ([{"lt_millis": 1, "count": 0}]
              + [{"ge_millis": 1 << i, "lt_millis": 1 << (i + 1), "count": 0} for i in range(16)]
              + [{"ge_millis": 65536, "count": 0}])  # fmt: skip


def rss_bytes() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _names(request: Request, raw: str, known: Any, kind: str) -> set[str]:
    items = {i.strip() for i in raw.split(",") if i.strip()}
    if "_all" in items:
        if len(items) > 1:
            raise IllegalArgument(f"request [{request.url.path}] contains _all and individual {kind}s "
                                  f"[{','.join(sorted(items))}]")  # fmt: skip
        return set(known)
    for name in sorted(items):
        if name not in known:
            raise IllegalArgument(f"request [{request.url.path}] contains unrecognized {kind}: [{name}]"
                                  + did_you_mean(name, known))  # fmt: skip
    return items


def _fs(cluster: EmbeddedCluster) -> dict[str, Any]:
    disk = shutil.disk_usage(cluster.data_dir)
    setting = cluster.master.cluster_setting
    free = {key: min_free_bytes(key, setting(key), setting(key + ".max_headroom"), disk.total)
            for key in (LOW_WATERMARK, HIGH_WATERMARK, FLOOD_STAGE)}  # fmt: skip
    mount, kind = _mount_of(os.path.abspath(cluster.data_dir))
    return {
        "timestamp": int(time.time() * 1000),
        "total": {"total_in_bytes": disk.total, "free_in_bytes": disk.free, "available_in_bytes": disk.free},
        "data": [{
            "path": os.path.abspath(cluster.data_dir), "mount": mount, "type": kind, "total_in_bytes": disk.total,
            "free_in_bytes": disk.free, "available_in_bytes": disk.free,
            "low_watermark_free_space_in_bytes": free[LOW_WATERMARK],
            "high_watermark_free_space_in_bytes": free[HIGH_WATERMARK],
            "flood_stage_free_space_in_bytes": free[FLOOD_STAGE],
        }],
    }  # fmt: skip


def _mount_of(path: str) -> tuple[str, str]:
    """The mount point holding ``path`` and its file-system type, from ``/proc/mounts`` (Linux)."""
    best, kind = "/", "unknown"
    try:
        with open("/proc/mounts", encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 3 and (path == parts[1] or path.startswith(parts[1].rstrip("/") + "/")):
                    if len(parts[1]) >= len(best):
                        best, kind = parts[1], parts[2]
    except OSError:
        pass
    return best, kind


def _update_stats(count: int, published: bool, human: bool) -> dict[str, Any]:
    """One ``cluster_state_update`` entry: how many updates; their phase times are not measured (zero)."""
    phases = ("computation", "notification", *(("context_construction", "commit", "completion", "master_apply",
                                                "publication") if published else ()))  # fmt: skip
    out: dict[str, Any] = {"count": count}
    for phase in phases:
        if human:
            out[f"{phase}_time"] = "0s"
        out[f"{phase}_time_millis"] = 0
    return out


def _sections(request: Request, wanted: set[str]) -> dict[str, Any]:
    cluster: EmbeddedCluster = request.app.state.cluster
    usage = resource.getrusage(resource.RUSAGE_SELF)
    now = int(time.time() * 1000)
    pressure = cluster.writes.pressure
    state = cluster.master.state
    metas = [m for m in state.indices.values() if m.is_open]
    human = request.query_params.get("human", "false") != "false"
    sections: dict[str, Any] = {
        "os": {"timestamp": now,
               "cpu": {"percent": 0, "load_average": dict(zip(("1m", "5m", "15m"), os.getloadavg(), strict=True))},
               "mem": {"total_in_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")}},
        "process": {"timestamp": now,
                    "open_file_descriptors": len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0,
                    "cpu": {"percent": 0, "total_in_millis": int((usage.ru_utime + usage.ru_stime) * 1000)},
                    "mem": {"total_virtual_in_bytes": 0, "resident_in_bytes": rss_bytes()}},
        "jvm": {"timestamp": now, "uptime_in_millis": int((time.time() - STARTED) * 1000),
                "mem": {"heap_used_in_bytes": rss_bytes(), "heap_used_percent": 0, "heap_committed_in_bytes": 0,
                        "heap_max_in_bytes": 0, "non_heap_used_in_bytes": 0, "pools": {}},
                "threads": {"count": 0, "peak_count": 0}, "gc": {"collectors": {}}, "buffer_pools": {},
                "classes": {"current_loaded_count": 0, "total_loaded_count": 0, "total_unloaded_count": 0}},
        "thread_pool": {p.name: {"threads": p.size, "queue": p.queue, "active": p.active, "rejected": p.rejected,
                                 "largest": p.largest, "completed": p.completed} for p in thread_pools(cluster)},
        "transport": {"server_open": 0, "total_outbound_connections": 0, "rx_count": 0, "rx_size_in_bytes": 0,
                      "tx_count": 0, "tx_size_in_bytes": 0, "inbound_handling_time_histogram": _HISTOGRAM,
                      "outbound_handling_time_histogram": _HISTOGRAM, "actions": {}},
        "http": request.app.state.http_clients.stats(request.app.state.settings.port),
        "breakers": {},
        "script": {"compilations": 0, "cache_evictions": 0, "compilation_limit_triggered": 0},
        "script_cache": {"sum": {"compilations": 0, "cache_evictions": 0, "compilation_limit_triggered": 0}},
        "discovery": {
            "cluster_state_queue": {"total": 0, "pending": 0, "committed": 0},
            "published_cluster_states": {"full_states": state.version, "incompatible_diffs": 0,
                                         "compatible_diffs": 0},
            "cluster_state_update": {kind: _update_stats(state.version if kind == "success" else 0, kind != "unchanged",
                                                         human) for kind in ("unchanged", "success", "failure")},
        },
        "ingest": {"total": {"count": 0, "time_in_millis": 0, "current": 0, "failed": 0}, "pipelines": {}},
        "adaptive_selection": {},
        "indexing_pressure": indexing_pressure_section(pressure),
        "repositories": {},
    }  # fmt: skip
    if "fs" in wanted:
        sections["fs"] = _fs(cluster)
    if "allocations" in wanted:
        on_disk = sum(size["size_in_bytes"] for size in segment_file_sizes(cluster.node, metas).values())
        sections["allocations"] = {
            "shards": sum(m.number_of_shards for m in metas), "undesired_shards": 0, "forecasted_ingest_load": 0.0,
            "forecasted_disk_usage_in_bytes": on_disk, "current_disk_usage_in_bytes": on_disk,
        }  # fmt: skip
    return sections


async def nodes_stats(request: Request) -> Response:
    params = check_params(request, {"level", "completion_fields", "fielddata_fields", "fields", "groups", "types",
                                    "include_segment_file_sizes", "include_unloaded_segments"})  # fmt: skip
    cluster: EmbeddedCluster = request.app.state.cluster
    metric = request.path_params.get("metric", "_all")
    wanted = _names(request, metric or "_all", STATS_METRICS, "metric")
    index_metric = request.path_params.get("index_metric")
    if index_metric is not None and "indices" not in wanted:
        raise IllegalArgument(f"request [{request.url.path}] contains index metrics [{index_metric}] but indices "
                              "stats not requested")  # fmt: skip
    level = params.get("level", "node")
    if level not in ("node", "indices", "shards"):
        raise IllegalArgument(f"level parameter must be one of [node] or [indices] or [shards] but was [{level}]")
    node_ids = [i for i in request.path_params.get("node_id", "_all").split(",") if i]
    nodes: dict[str, Any] = {}
    for member in select_members(request, node_ids):
        node: dict[str, Any] = {
            "timestamp": int(time.time() * 1000), "name": member.name,
            "transport_address": member.transport_address, "host": member.host, "ip": member.host,
            "roles": es_roles(member.node), "attributes": {**NODE_ATTRIBUTES, **member.node.attributes},
        }  # fmt: skip
        if not member.local:  # another process's measures are its own: cluster state knows who it is
            if "indices" in wanted:
                remote = await _remote_indices(cluster, member.id)
                if remote is not None:
                    node["indices"] = remote
            nodes[member.id] = node
            continue
        if "indices" in wanted:
            node["indices"] = await _indices(request, cluster, index_metric, params)
        for name, value in _sections(request, wanted).items():
            key = "breaker" if name == "breakers" else name
            if key in wanted:
                node[name] = value
        nodes[member.id] = node
    body = {
        "_nodes": {"total": len(nodes), "successful": len(nodes), "failed": 0},
        "cluster_name": cluster.cluster_name,
        "nodes": nodes,
    }
    return es_json(request, body)


REMOTE_STATS_TIMEOUT_S = 10.0


async def _remote_indices(cluster: EmbeddedCluster, node_id: str) -> dict[str, Any] | None:
    """Docs, store and shard count of another member's copies, asked of its leaf when the cluster has a
    ``transport`` to reach it (None without one, or when it does not answer in time)."""
    from cluster.protos import leaf_pb2 as pb

    transport = getattr(cluster, "transport", None)
    if transport is None:
        return None
    state = cluster.master.state
    refs = [pb.ShardRef(index=m.name, uuid=m.uuid, shard=r.shard) for m in state.indices.values() if m.is_open
            for r in state.routing.get(m.uuid, ()) if any(c.node == node_id for c in r.copies)]  # fmt: skip
    try:
        response = await asyncio.wait_for(transport.client(node_id).stats(pb.StatsRequest(shards=refs)),
                                          REMOTE_STATS_TIMEOUT_S)  # fmt: skip
    except (QuidditchError, TimeoutError):
        return None
    docs = sum(st.num_docs for st in response.shards)
    size = sum(st.size_in_bytes for st in response.shards)
    return {"docs": {"count": docs, "deleted": 0}, "shard_stats": {"total_count": len(refs)},
            "store": {"size_in_bytes": size, "total_data_set_size_in_bytes": size, "reserved_in_bytes": 0}}


async def _indices(request: Request, cluster: EmbeddedCluster, index_metric: str | None,
                   params: dict[str, str]) -> dict[str, Any]:  # fmt: skip
    chosen = _names(request, index_metric or "_all", INDEX_METRICS, "index metric")
    section = await node_indices_section(request, params)
    per_shard = section.pop("shards", None)  # level=shards
    section["search"]["open_contexts"] = len(cluster.scrolls)
    metas = [m for m in cluster.master.state.indices.values() if m.is_open]
    section["shards"] = {"total_count": sum(m.number_of_shards for m in metas)}
    section.pop("shard_stats", None)
    if params.get("include_segment_file_sizes", "false") != "false":
        section["segments"]["file_sizes"] = segment_file_sizes(cluster.node, metas)
    keys = {INDEX_METRICS[name] for name in chosen}
    out = {k: v for k, v in section.items() if k in keys}
    if "indices" in section:  # level=indices: each index's sections, with the same metrics
        out["indices"] = {name: {k: v for k, v in s.items() if k in keys} for name, s in section["indices"].items()}
    if per_shard is not None:  # ES writes this second ``shards`` key after ``shards.total_count``: it wins here
        out["shards"] = {name: [{sid: {k: v for k, v in s.items() if k in keys} for sid, s in row.items()}
                                for row in rows] for name, rows in per_shard.items()}  # fmt: skip
    return out
