"""``GET /_nodes[/{node_id}][/{metrics}]``: node info, filtered by node and by metric as ES does.

The path is read as ES's ``RestNodesInfoAction`` reads it: ``/_nodes/os,jvm`` names metrics when every item
is a metric name, else node ids (``/_nodes/_local``); ``/_nodes/{ids}/{metrics}`` and
``/_nodes/{ids}/info/{metrics}`` name both. A node filter that matches no node gives an empty ``nodes`` map
(ES's answer); an unknown metric is ES's 400. The node's identity fields (name, addresses, roles, version,
attributes) are always present; each metric adds its own section. Every member of cluster state is listed:
another node's sections are the ones cluster state knows (settings, addresses), its process's own (os,
jvm, thread pools) only for this node.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from cluster.embedded import EmbeddedCluster
from native.aggs.spec import KNOWN_KINDS
from native.errors import IllegalArgument
from server.handlers.members import NODE_ATTRIBUTES, Member, es_roles, select_members
from server.http import check_params, es_json

__all__ = ["NODE_ATTRIBUTES", "PoolStats", "nodes_info", "thread_pools"]

INFO_METRICS = ("settings", "os", "process", "jvm", "thread_pool", "transport", "http", "remote_cluster_server",
                "plugins", "ingest", "aggregations", "indices")  # fmt: skip


@dataclass(frozen=True)
class PoolStats:
    """One of the node's worker pools, as ``_nodes`` info/stats and ``_cat/thread_pool`` report it."""

    name: str
    size: int
    queue_size: int
    active: int
    queue: int
    rejected: int
    completed: int
    largest: int


def thread_pools(cluster: EmbeddedCluster) -> list[PoolStats]:
    """The pools that exist here: ``search`` and ``write`` (bounded queues, 429 past them), and
    ``generic``, the default thread pool blocking work runs on (its use is not counted)."""
    out = [PoolStats(q.name, q.workers, q.capacity, q.active, q.queued, q.rejected, q.completed, q.largest)
           for q in (cluster.root.queue, cluster.writes.queue)]  # fmt: skip
    generic = min(32, (os.cpu_count() or 1) + 4)  # asyncio's default executor
    out.append(PoolStats("generic", generic, -1, 0, 0, 0, 0, 0))
    return sorted(out, key=lambda p: p.name)


_NO_FIELD = ("other",)
_NUMERIC = ("boolean", "date", "numeric")
_ANY_VALUE = ("boolean", "date", "ip", "keyword", "numeric")
_AGG_TYPES: dict[str, tuple[str, ...]] = {
    "terms": _ANY_VALUE, "missing": _ANY_VALUE, "value_count": _ANY_VALUE, "cardinality": _ANY_VALUE,
    "histogram": ("numeric",), "date_histogram": _NUMERIC, "range": ("date", "numeric"),
    "date_range": ("date", "numeric"), "geo_distance": ("geo_point",), "geo_bounds": ("geo_point",),
    "geo_centroid": ("geo_point",),
    **{kind: _NUMERIC for kind in ("avg", "min", "max", "sum", "stats", "extended_stats", "percentiles",
                                   "percentile_ranks")},
}  # fmt: skip


def _parse_path(request: Request) -> tuple[list[str], set[str]]:
    parts = [p for p in request.path_params.get("rest", "").split("/") if p]
    if len(parts) == 3 and parts[1] == "info":
        parts = [parts[0], parts[2]]
    if not parts:
        return ["_all"], {"_all"}
    if len(parts) == 1:
        items = [i for i in parts[0].split(",") if i]
        if items and all(i in INFO_METRICS or i in ("_all", "_none") for i in items) and items != ["_all"]:
            return ["_all"], set(items)
        return items or ["_all"], {"_all"}
    if len(parts) == 2:
        return [i for i in parts[0].split(",") if i], {i for i in parts[1].split(",") if i}
    raise IllegalArgument(f"no handler found for uri [{request.url.path}]")


def _metrics(request: Request, asked: set[str]) -> set[str]:
    if asked == {"_all"}:
        return set(INFO_METRICS)
    if "_none" in asked:
        return set()
    unknown = sorted(asked - set(INFO_METRICS))
    if unknown:
        raise IllegalArgument(
            f"request [{request.url.path}] contains unrecognized metric"
            f"{'s' if len(unknown) > 1 else ''}: [{', '.join(unknown)}]"
        )
    return asked


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict):
        for key, child in value.items():
            _flat(f"{prefix}.{key}" if prefix else key, child, out)
    else:
        out[prefix] = value
    return out


_LOCAL_ONLY = ("os", "process", "jvm", "thread_pool")  # measured in this process: not known of another node


def _sections(request: Request, member: Member, flat_settings: bool) -> dict[str, Any]:
    cluster: EmbeddedCluster = request.app.state.cluster
    settings = request.app.state.settings
    http_address = member.http_address
    http_host, _, http_port = http_address.rpartition(":")
    node_settings: dict[str, Any] = {
        "client": {"type": "node"},
        "cluster": {"name": cluster.cluster_name},
        "node": {"name": member.name, "attr": {**NODE_ATTRIBUTES, **member.node.attributes}},
        "path": {"data": [str(cluster.data_dir)] if member.local else []},
        "http": {"host": http_host, "port": http_port},
    }
    sections = {
        "settings": _flat("", node_settings, {}) if flat_settings else node_settings,
        "os": {"refresh_interval_in_millis": 1000, "name": os.uname().sysname, "pretty_name": os.uname().sysname,
               "arch": os.uname().machine, "version": os.uname().release,
               "available_processors": os.cpu_count() or 1, "allocated_processors": os.cpu_count() or 1},
        "process": {"refresh_interval_in_millis": 1000, "id": os.getpid(), "mlockall": False},
        "jvm": {"pid": os.getpid(), "version": "none", "vm_name": "CPython", "vm_vendor": "none",
                "start_time_in_millis": 0, "mem": {"heap_init_in_bytes": 0, "heap_max_in_bytes": 0,
                                                   "non_heap_init_in_bytes": 0, "non_heap_max_in_bytes": 0,
                                                   "direct_max_in_bytes": 0},
                "gc_collectors": [], "memory_pools": [], "input_arguments": []},
        "thread_pool": {p.name: {"type": "fixed", "size": p.size, "queue_size": p.queue_size}
                        for p in thread_pools(cluster)},
        "transport": {"bound_address": [member.transport_address], "publish_address": member.transport_address,
                      "profiles": {}},
        "http": {"bound_address": [http_address] if http_address else [], "publish_address": http_address,
                 "max_content_length_in_bytes": settings.http_max_content_length},
        "remote_cluster_server": {"bound_address": [], "publish_address": ""},
        "plugins": [],
        "modules": [],
        "ingest": {"processors": []},
        "aggregations": {kind: {"types": sorted(_AGG_TYPES.get(kind, _NO_FIELD))} for kind in sorted(KNOWN_KINDS)},
        "indices": {"index_version": 8521000},
        "total_indexing_buffer": int(settings.indexing_pressure_memory_limit),
    }  # fmt: skip
    return sections if member.local else {k: v for k, v in sections.items() if k not in _LOCAL_ONLY}


# which sections each metric brings in (``plugins`` also lists modules, ``indices`` the indexing buffer)
_METRIC_SECTIONS = {"plugins": ("plugins", "modules"), "indices": ("indices", "total_indexing_buffer")}


async def nodes_info(request: Request) -> Response:
    params = check_params(request)
    cluster: EmbeddedCluster = request.app.state.cluster
    settings = request.app.state.settings
    node_ids, asked = _parse_path(request)
    metrics = _metrics(request, asked)
    nodes: dict[str, Any] = {}
    for member in select_members(request, node_ids):
        node: dict[str, Any] = {
            "name": member.name,
            "transport_address": member.transport_address,
            "host": member.host,
            "ip": member.host,
            "version": settings.version_number,
            "transport_version": 8797000,
            "index_version": 8521000,
            "build_flavor": "default",
            "build_type": "tar",
            "build_hash": "quidditch",
            "roles": es_roles(member.node),
            "attributes": {**NODE_ATTRIBUTES, **member.node.attributes},
        }
        sections = _sections(request, member, params.get("flat_settings") == "true")
        for metric in INFO_METRICS:
            if metric in metrics:
                for key in _METRIC_SECTIONS.get(metric, (metric,)):
                    if key in sections:
                        node[key] = sections[key]
        nodes[member.id] = node
    body = {
        "_nodes": {"total": len(nodes), "successful": len(nodes), "failed": 0},
        "cluster_name": cluster.cluster_name,
        "nodes": nodes,
    }
    return es_json(request, body)
