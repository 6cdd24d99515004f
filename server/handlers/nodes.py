"""``_nodes`` info and ``_nodes/stats``: the one node of the embedded server, in ES's shapes.

Statistics that have a real counterpart here are measured (process RSS and CPU, documents and store
size of the local shards, file system); JVM-only sections (garbage collectors, memory pools) are present
with no entries, which is what tools that read them (Rally, Kibana) need to see for a non-JVM node.
"""

from __future__ import annotations

import os
import resource
import shutil
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.embedded import EmbeddedCluster
from server.handlers import node_ops
from server.handlers.index_stats import node_indices_section
from server.handlers.node_info import NODE_ATTRIBUTES, NODE_ID, NODE_ROLES, nodes_info
from server.http import check_params, es_json

_STATS_METRICS = ("indices", "os", "process", "jvm", "thread_pool", "fs", "transport", "http", "breaker", "script",
                  "discovery", "ingest", "adaptive_selection", "indexing_pressure")  # fmt: skip
_STARTED = time.time()


def _rss_bytes() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _base(request: Request) -> dict[str, Any]:
    cluster: EmbeddedCluster = request.app.state.cluster
    settings = request.app.state.settings
    return {
        "name": cluster.node_name,
        "transport_address": f"{settings.host}:9300",
        "host": settings.host,
        "ip": settings.host,
        "roles": list(NODE_ROLES),
        "attributes": dict(NODE_ATTRIBUTES),
    }


async def nodes_stats(request: Request) -> Response:
    check_params(request, {"level", "completion_fields", "fielddata_fields", "fields", "groups", "types",
                           "include_segment_file_sizes", "include_unloaded_segments"})  # fmt: skip
    cluster: EmbeddedCluster = request.app.state.cluster
    metric = request.path_params.get("metric", "_all")
    wanted = set(_STATS_METRICS) if metric in ("_all", "") else set(metric.split(","))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    disk = shutil.disk_usage(cluster.data_dir)
    sections: dict[str, Any] = {
        "os": {
            "timestamp": int(time.time() * 1000),
            "cpu": {"percent": 0, "load_average": dict(zip(("1m", "5m", "15m"), os.getloadavg(), strict=True))},
            "mem": {"total_in_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")},
        },
        "process": {
            "timestamp": int(time.time() * 1000),
            "open_file_descriptors": len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0,
            "cpu": {"percent": 0, "total_in_millis": int((usage.ru_utime + usage.ru_stime) * 1000)},
            "mem": {"total_virtual_in_bytes": 0, "resident_in_bytes": _rss_bytes()},
        },
        "jvm": {
            "timestamp": int(time.time() * 1000),
            "uptime_in_millis": int((time.time() - _STARTED) * 1000),
            "mem": {
                "heap_used_in_bytes": _rss_bytes(),
                "heap_used_percent": 0,
                "heap_committed_in_bytes": 0,
                "heap_max_in_bytes": 0,
                "non_heap_used_in_bytes": 0,
                "pools": {},
            },
            "threads": {"count": 0, "peak_count": 0},
            "gc": {"collectors": {}},
            "buffer_pools": {},
            "classes": {"current_loaded_count": 0, "total_loaded_count": 0, "total_unloaded_count": 0},
        },
        "thread_pool": {},
        "fs": {
            "timestamp": int(time.time() * 1000),
            "total": {"total_in_bytes": disk.total, "free_in_bytes": disk.free, "available_in_bytes": disk.free},
            "data": [],
        },
        "transport": {"server_open": 0, "rx_count": 0, "rx_size_in_bytes": 0, "tx_count": 0, "tx_size_in_bytes": 0},
        "http": {"current_open": 0, "total_opened": 0},
        "breakers": {},
        "script": {"compilations": 0, "cache_evictions": 0},
        "discovery": {},
        "ingest": {"total": {"count": 0, "time_in_millis": 0, "current": 0, "failed": 0}, "pipelines": {}},
        "adaptive_selection": {},
        "indexing_pressure": {"memory": {"current": {}, "total": {}}},
    }
    if "indices" in wanted:
        indices = await node_indices_section(request)
        indices["search"]["open_contexts"] = len(cluster.scrolls)
        sections["indices"] = indices
    node = _base(request) | {"timestamp": int(time.time() * 1000)}
    for name, value in sections.items():
        key = "breaker" if name == "breakers" else name
        if key in wanted or name in wanted:
            node[name] = value
    body = {
        "_nodes": {"total": 1, "successful": 1, "failed": 0},
        "cluster_name": cluster.cluster_name,
        "nodes": {NODE_ID: node},
    }
    return es_json(request, body)


routes = [
    *node_ops.routes,
    Route("/_nodes/stats", nodes_stats, methods=["GET"]),
    Route("/_nodes/stats/{metric}", nodes_stats, methods=["GET"]),
    Route("/_nodes/{node_id}/stats", nodes_stats, methods=["GET"]),
    Route("/_nodes/{node_id}/stats/{metric}", nodes_stats, methods=["GET"]),
    Route("/_nodes", nodes_info, methods=["GET"]),
    Route("/_nodes/{rest:path}", nodes_info, methods=["GET"]),
]
