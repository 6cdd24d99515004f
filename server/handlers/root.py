"""``GET /``, ``_cluster/health``, ``_cat/health``, ``_nodes``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.embedded import EmbeddedCluster
from cluster.health import ClusterHealth, IndexHealth, cluster_health, index_health
from cluster.state import IndexMeta
from native.dates import parse_time_value
from server.cat import CatColumn, render_cat
from server.http import check_params, cluster_of, es_json


async def info(request: Request) -> Response:
    check_params(request)
    settings = request.app.state.settings
    cluster = cluster_of(request)
    body = {
        "name": cluster.node_name,
        "cluster_name": cluster.cluster_name,
        "cluster_uuid": cluster.master.state.cluster_uuid,
        "version": {
            "number": settings.version_number,
            "build_flavor": "default",
            "build_type": "tar",
            "build_hash": "quidditch",
            "build_date": "2026-11-01T00:00:00.000Z",
            "build_snapshot": False,
            "lucene_version": "9.12.0",
            "minimum_wire_compatibility_version": "7.17.0",
            "minimum_index_compatibility_version": "7.0.0",
        },
        "tagline": "You Know, for Search",
    }
    return es_json(request, body)


def cluster_health_of(cluster: EmbeddedCluster, index_names: Collection[str] | None = None) -> ClusterHealth:
    """Health from the routing table, counting the copies that failed to open on this node as unassigned."""
    state = cluster.master.state
    failed = {m.uuid: list(cluster.node.failures(m.uuid)) for m in state.indices.values()}
    return cluster_health(state, failed, index_names, failed_node=cluster.node_id)


def index_status(cluster: EmbeddedCluster, meta: IndexMeta) -> str:
    """One index's health colour (``_cat/indices``, ``_stats``, shard stores)."""
    failed = list(cluster.node.failures(meta.uuid))
    return index_health(cluster.master.state, meta, failed, cluster.node_id).status


def health_body(cluster: EmbeddedCluster, index_names: Collection[str] | None = None,
                health: ClusterHealth | None = None) -> dict[str, Any]:  # fmt: skip
    h = health or cluster_health_of(cluster, index_names)
    return {
        "cluster_name": cluster.cluster_name,
        "status": h.status,
        "timed_out": False,
        "number_of_nodes": h.number_of_nodes,
        "number_of_data_nodes": h.number_of_data_nodes,
        "active_primary_shards": h.active_primary_shards,
        "active_shards": h.active_shards,
        "relocating_shards": h.relocating_shards,
        "initializing_shards": h.initializing_shards,
        "unassigned_shards": h.unassigned_shards,
        "unassigned_primary_shards": h.unassigned_primary_shards,
        "delayed_unassigned_shards": 0,
        "number_of_pending_tasks": 0,
        "number_of_in_flight_fetch": 0,
        "task_max_waiting_in_queue_millis": 0,
        "active_shards_percent_as_number": h.active_shards_percent,
    }


def index_health_body(h: IndexHealth, shards: bool) -> dict[str, Any]:
    """One index of ``_cluster/health?level=indices|shards``."""
    if h.damaged:  # metadata that does not parse: what is known of it
        return {"status": "red", "number_of_shards": h.number_of_shards, "active_primary_shards": 0,
                "active_shards": 0, "unassigned_shards": h.unassigned_shards,
                "unassigned_primary_shards": h.unassigned_primary_shards}  # fmt: skip
    out: dict[str, Any] = {
        "status": h.status, "number_of_shards": h.number_of_shards, "number_of_replicas": h.number_of_replicas,
        "active_primary_shards": h.active_primary_shards, "active_shards": h.active_shards,
        "relocating_shards": h.relocating_shards, "initializing_shards": h.initializing_shards,
        "unassigned_shards": h.unassigned_shards, "unassigned_primary_shards": h.unassigned_primary_shards,
    }  # fmt: skip
    if shards:
        out["shards"] = {
            str(s.shard): {"status": s.status, "primary_active": s.primary_active, "active_shards": s.active_shards,
                           "relocating_shards": s.relocating_shards, "initializing_shards": s.initializing_shards,
                           "unassigned_shards": s.unassigned_shards,
                           "unassigned_primary_shards": s.unassigned_primary_shards}
            for s in h.shards
        }  # fmt: skip
    return out


_RANK = {"green": 0, "yellow": 1, "red": 2}


async def health(request: Request) -> Response:
    params = check_params(
        request,
        {"wait_for_status", "wait_for_nodes", "wait_for_events", "wait_for_no_relocating_shards",
         "wait_for_no_initializing_shards", "level", "index"},
    )  # fmt: skip
    from cluster.names import resolve_expression

    cluster = cluster_of(request)
    index = request.path_params.get("index")
    names = resolve_expression(index, cluster.master.state.indices) if index else None
    wanted = params.get("wait_for_status")
    deadline = time.monotonic() + parse_time_value(params.get("timeout", "30s"))
    body = health_body(cluster, names)
    while wanted and _RANK[body["status"]] > _RANK.get(wanted, 0):
        if time.monotonic() >= deadline:
            body["timed_out"] = True
            return es_json(request, body, status=408)
        await asyncio.sleep(0.05)
        body = health_body(cluster, names)
    return es_json(request, body)


_HEALTH_COLUMNS = [
    CatColumn("epoch", ("t", "time")),
    CatColumn("timestamp", ("ts", "hms", "hhmmss")),
    CatColumn("cluster", ("cl",)),
    CatColumn("status", ("st",)),
    CatColumn("node.total", ("nt", "nodeTotal")),
    CatColumn("node.data", ("nd", "nodeData")),
    CatColumn("shards", ("t", "sh", "shards.total", "shardsTotal")),
    CatColumn("pri", ("p", "shards.primary", "shardsPrimary")),
    CatColumn("relo", ("r", "shards.relocating", "shardsRelocating")),
    CatColumn("init", ("i", "shards.initializing", "shardsInitializing")),
    CatColumn("unassign", ("u", "shards.unassigned", "shardsUnassigned")),
    CatColumn("unassign.pri", ("up", "shards.unassigned.primary"), default=False),
    CatColumn("pending_tasks", ("pt", "pendingTasks")),
    CatColumn("max_task_wait_time", ("mtwt", "maxTaskWaitTime")),
    CatColumn("active_shards_percent", ("asp", "activeShardsPercent")),
]


async def cat_health(request: Request) -> Response:
    params = check_params(request, {"v", "h", "s", "help", "ts", "time", "bytes"})
    body = health_body(cluster_of(request))
    now = time.time()
    row = {
        "epoch": str(int(now)),
        "timestamp": time.strftime("%H:%M:%S", time.gmtime(now)),
        "cluster": body["cluster_name"],
        "status": body["status"],
        "node.total": body["number_of_nodes"],
        "node.data": body["number_of_data_nodes"],
        "shards": body["active_shards"],
        "pri": body["active_primary_shards"],
        "relo": body["relocating_shards"],
        "init": body["initializing_shards"],
        "unassign": body["unassigned_shards"],
        "unassign.pri": body["unassigned_primary_shards"],
        "pending_tasks": 0,
        "max_task_wait_time": "-",
        "active_shards_percent": f"{body['active_shards_percent_as_number']:.1f}%",
    }
    content, media = render_cat([row], _HEALTH_COLUMNS, params)
    return Response(content, media_type=media)


routes = [
    Route("/", info, methods=["GET", "HEAD"]),
    Route("/_cluster/health", health, methods=["GET"]),
    Route("/_cluster/health/{index}", health, methods=["GET"]),
    Route("/_cat/health", cat_health, methods=["GET"]),
]
