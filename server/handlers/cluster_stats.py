"""``GET /_cluster/stats``: the cluster's indices and nodes, summed as ES sums them.

Measured: document, store and segment counts of the open shards; mapping field counts and the
deduplicated mapping sizes (as ES counts them, from the mappings' JSON); the source modes in use; the
node's memory (``/proc/meminfo``), processors, open file descriptors and data-path disk; bytes admitted by
the indexing-pressure budget. A single node runs everything, so ``nodes.count`` has every role once.
"""

from __future__ import annotations

import os
import shutil
import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from cluster.state import IndexMeta
from native.mapping import Mapping
from server.handlers.indices import index_stats
from server.handlers.members import es_roles, members
from server.handlers.root import health_body
from server.handlers.stats_fields import fielddata_section, indexing_pressure_section
from server.http import check_params, cluster_of, es_json

__all__ = ["cluster_stats", "memory_stats"]


def memory_stats() -> dict[str, Any]:
    """``/proc/meminfo``: total, free (ES reads the OS's available memory as free) and used bytes."""
    info: dict[str, int] = {}
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                info[key] = int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    total = info.get("MemTotal") or os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    free = info.get("MemAvailable", info.get("MemFree", 0))
    used = total - free
    return {"total_in_bytes": total, "adjusted_total_in_bytes": total, "free_in_bytes": free,
            "used_in_bytes": used, "free_percent": round(100 * free / total) if total else 0,
            "used_percent": round(100 * used / total) if total else 0}  # fmt: skip


def _source_mode(meta: IndexMeta) -> str:
    mode = meta.settings.get("index.mapping.source.mode")
    if mode:
        return str(mode).lower()
    source = meta.mappings.get("_source") if isinstance(meta.mappings, dict) else None
    if isinstance(source, dict) and str(source.get("enabled", True)).lower() == "false":
        return "disabled"
    return "stored"


def _mappings(metas: list[IndexMeta]) -> dict[str, Any]:
    field_types: dict[str, dict[str, Any]] = {}
    total_fields = 0
    unique: dict[bytes, int] = {}  # mapping JSON -> its field count (ES deduplicates identical mappings)
    source_modes: dict[str, int] = {}
    for m in metas:
        leaves = list(Mapping(m.mappings).iter_leaves())
        total_fields += len(leaves)
        unique.setdefault(orjson.dumps(m.mappings, option=orjson.OPT_SORT_KEYS), len(leaves))
        mode = _source_mode(m)
        source_modes[mode] = source_modes.get(mode, 0) + 1
        for leaf in leaves:
            entry = field_types.setdefault(leaf.type, {"name": leaf.type, "count": 0, "index_count": 0,
                                                       "_indices": set()})  # fmt: skip
            entry["count"] += 1
            entry["_indices"].add(m.name)
    for entry in field_types.values():
        entry["index_count"] = len(entry.pop("_indices"))
    return {
        "total_field_count": total_fields,
        "total_deduplicated_field_count": sum(unique.values()),
        "total_deduplicated_mapping_size_in_bytes": sum(len(k) for k in unique),
        "field_types": sorted(field_types.values(), key=lambda e: e["name"]),
        "runtime_field_types": [],
        "source_modes": dict(sorted(source_modes.items())),
    }


def _min_max_avg(values: list[int]) -> dict[str, float]:
    values = values or [0]
    return {"min": min(values), "max": max(values), "avg": sum(values) / len(values)}


async def cluster_stats(request: Request) -> Response:
    check_params(request, {"include_remotes"})
    cluster = cluster_of(request)
    state = cluster.master.state
    metas = list(state.indices.values())
    open_metas = [m for m in metas if m.is_open]
    stats = await index_stats(request, open_metas, source_fields=True)
    docs = sum(s.docs for s in stats.values())
    deleted = sum(s.deleted for s in stats.values())
    size = sum(s.size for s in stats.values())
    segments = sum(len(segs) for s in stats.values() for segs in s.segments.values())
    primaries = sum(m.number_of_shards for m in open_metas)
    per_index = [m.number_of_shards for m in open_metas]
    health = health_body(cluster)
    active_shards = int(health["active_shards"])
    everyone = members(request)
    count = len(everyone)
    roles = [es_roles(m.node) for m in everyone]
    settings = request.app.state.settings
    disk = shutil.disk_usage(cluster.data_dir)
    pressure = cluster.writes.pressure
    processors = os.cpu_count() or 1
    fds = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0
    body = {
        "_nodes": {"total": count, "successful": count, "failed": 0},
        "cluster_name": cluster.cluster_name,
        "cluster_uuid": state.cluster_uuid,
        "timestamp": int(time.time() * 1000),
        "status": health["status"],
        "indices": {
            "count": len(metas),
            "shards": {
                "total": active_shards, "primaries": primaries,
                "replication": (active_shards - primaries) / primaries if primaries else 0.0,
                "index": {"shards": _min_max_avg(per_index), "primaries": _min_max_avg(per_index),
                          "replication": {"min": 0.0, "max": 0.0, "avg": 0.0}},
            },
            "docs": {"count": docs, "deleted": deleted, "total_size_in_bytes": size},
            "store": {"size_in_bytes": size, "total_data_set_size_in_bytes": size, "reserved_in_bytes": 0},
            "fielddata": fielddata_section(
                {"": sum(sum(s.fielddata_sizes().values()) for s in stats.values())}, None),
            "query_cache": {"memory_size_in_bytes": 0, "total_count": 0, "hit_count": 0, "miss_count": 0,
                            "cache_size": 0, "cache_count": 0, "evictions": 0},
            "completion": {"size_in_bytes": sum(sum(s.completion_sizes().values()) for s in stats.values())},
            "dense_vector": {"value_count": sum(s.vector_counts()[0] for s in stats.values())},
            "sparse_vector": {"value_count": sum(s.vector_counts()[1] for s in stats.values())},
            "segments": {"count": segments, "memory_in_bytes": 0},
            "mappings": _mappings(metas),
            "analysis": {"char_filter_types": [], "tokenizer_types": [], "filter_types": [], "analyzer_types": [],
                         "built_in_char_filters": [], "built_in_tokenizers": [], "built_in_filters": [],
                         "built_in_analyzers": []},
            "versions": [{"version": settings.version_number, "index_count": len(metas),
                          "primary_shard_count": primaries, "total_primary_bytes": size}],
        },
        "nodes": {
            "count": {"total": count, "coordinating_only": sum(not r for r in roles),
                      **{role: sum(role in r for r in roles) for role in ("data", "ingest", "master")}},
            "versions": [settings.version_number],
            "os": {"available_processors": processors, "allocated_processors": processors,
                   "names": [{"name": os.uname().sysname, "count": 1}],
                   "pretty_names": [{"pretty_name": os.uname().sysname, "count": 1}],
                   "architectures": [{"arch": os.uname().machine, "count": 1}], "mem": memory_stats()},
            "process": {"cpu": {"percent": 0}, "open_file_descriptors": {"min": fds, "max": fds, "avg": fds}},
            "jvm": {"max_uptime_in_millis": 0, "versions": [], "mem": {"heap_used_in_bytes": 0,
                                                                     "heap_max_in_bytes": 0}, "threads": 0},
            "fs": {"total_in_bytes": disk.total, "free_in_bytes": disk.free, "available_in_bytes": disk.free},
            "plugins": [],
            "network_types": {"transport_types": {}, "http_types": {"asgi": 1}},
            "discovery_types": {"single-node": 1},
            "packaging_types": [{"flavor": "default", "type": "tar", "count": 1}],
            "ingest": {"number_of_pipelines": 0, "processor_stats": {}},
            "indexing_pressure": indexing_pressure_section(pressure),
        },
    }  # fmt: skip
    return es_json(request, body)
