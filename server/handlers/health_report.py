"""``GET /_health_report[/{feature}]`` and ``GET /_features`` / ``POST /_features/_reset``.

The health report has ES's indicators for what this server has: ``master_is_stable`` (one node, its own
master), ``shards_availability`` (from the same counts as ``_cluster/health``: an unassigned primary is red,
an unassigned replica yellow), ``disk`` (the data path against the low/high/flood-stage watermarks) and
``shards_capacity`` (open shard copies against ``cluster.max_shards_per_node``). The overall status is the
worst indicator's. Indicators of features Quidditch does not have (ILM, SLM, repositories, data stream
lifecycle, file settings) are not listed, and asking for one by name is a 404 naming it.

Feature states (``_features``) belong to system indices owned by ES plugins; Quidditch has none, so the
list is empty and a reset resets nothing.
"""

from __future__ import annotations

import shutil
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.settings import FLOOD_STAGE, HIGH_WATERMARK, LOW_WATERMARK, min_free_bytes
from native.errors import ResourceNotFound
from server.handlers.members import local_member, members
from server.handlers.root import health_body
from server.http import check_params, cluster_of, es_json

_RANK = {"green": 0, "unknown": 1, "yellow": 2, "red": 3}
DEFAULT_MAX_SHARDS_PER_NODE = 1000


def _master(request: Request) -> dict[str, Any]:
    master = next((m for m in members(request) if m.master), local_member(request))
    return {"status": "green", "symptom": "The cluster has a stable master node",
            "details": {"current_master": {"node_id": master.id, "name": master.name},
                        "recent_masters": [{"node_id": master.id, "name": master.name}]}}  # fmt: skip


def _shards(request: Request) -> dict[str, Any]:
    body = health_body(cluster_of(request))
    unassigned_primaries = body["unassigned_primary_shards"]
    unassigned_replicas = body["unassigned_shards"] - unassigned_primaries
    if unassigned_primaries:
        status, symptom = "red", f"This cluster has {unassigned_primaries} unavailable primary shard(s)."
    elif unassigned_replicas:
        status, symptom = "yellow", f"This cluster has {unassigned_replicas} unavailable replica shard(s)."
    else:
        status, symptom = "green", "This cluster has all shards available."
    details = {"started_primaries": body["active_primary_shards"], "unassigned_primaries": unassigned_primaries,
               "started_replicas": body["active_shards"] - body["active_primary_shards"],
               "unassigned_replicas": unassigned_replicas, "initializing_primaries": 0,
               "initializing_replicas": 0, "creating_primaries": 0, "creating_replicas": 0,
               "restarting_primaries": 0, "restarting_replicas": 0}  # fmt: skip
    return {"status": status, "symptom": symptom, "details": details}


def _disk(request: Request) -> dict[str, Any]:
    cluster = cluster_of(request)
    disk = shutil.disk_usage(cluster.data_dir)
    setting = cluster.master.cluster_setting
    free = {key: min_free_bytes(key, setting(key), setting(key + ".max_headroom"), disk.total)
            for key in (LOW_WATERMARK, HIGH_WATERMARK, FLOOD_STAGE)}  # fmt: skip
    if disk.free < free[FLOOD_STAGE] or cluster.disk.flooded:
        status, symptom = "red", "1 node is out of disk or running low on disk space."
    elif disk.free < free[HIGH_WATERMARK]:
        status, symptom = "yellow", "1 node is running low on disk space."
    else:
        status, symptom = "green", "The cluster has enough available disk space."
    details = {"indices_with_readonly_block": sum(
        1 for m in cluster.master.state.indices.values()
        if str(m.settings.get("index.blocks.read_only_allow_delete", "false")).lower() == "true"),
        "nodes_with_enough_disk_space": 1 if status == "green" else 0,
        "nodes_over_high_watermark": 1 if status == "yellow" else 0,
        "nodes_over_flood_stage_watermark": 1 if status == "red" else 0, "nodes_with_unknown_disk_status": 0}
    return {"status": status, "symptom": symptom, "details": details}


def _capacity(request: Request) -> dict[str, Any]:
    cluster = cluster_of(request)
    value = cluster.master.cluster_setting("cluster.max_shards_per_node")
    limit = DEFAULT_MAX_SHARDS_PER_NODE if value is None else int(value)
    used = sum(m.number_of_shards * (1 + m.number_of_replicas) for m in cluster.master.state.indices.values()
               if m.is_open)  # fmt: skip
    status = "red" if used >= limit else "yellow" if used >= limit - 10 else "green"
    symptom = ("The cluster has enough room to add new shards." if status == "green"
               else "Cluster is close to reaching the configured maximum number of shards for data nodes.")
    return {"status": status, "symptom": symptom,
            "details": {"data": {"max_shards_in_cluster": limit, "current_used_shards": used}}}  # fmt: skip


INDICATORS = {"master_is_stable": _master, "shards_availability": _shards, "disk": _disk,
              "shards_capacity": _capacity}  # fmt: skip


async def health_report(request: Request) -> Response:
    params = check_params(request, {"verbose", "size"})
    feature = request.path_params.get("feature")
    names = list(INDICATORS)
    if feature is not None:
        if feature not in INDICATORS:
            raise ResourceNotFound(f"Did not find indicator {feature}")
        names = [feature]
    indicators = {name: INDICATORS[name](request) for name in names}
    if params.get("verbose") == "false":
        for indicator in indicators.values():
            indicator.pop("details", None)
    body: dict[str, Any] = {"cluster_name": cluster_of(request).cluster_name}
    if feature is None:
        body["status"] = max((i["status"] for i in indicators.values()), key=lambda s: _RANK[s])
    body["indicators"] = indicators
    return es_json(request, body)


async def get_features(request: Request) -> Response:
    check_params(request)
    return es_json(request, {"features": []})


async def reset_features(request: Request) -> Response:
    check_params(request)
    return es_json(request, {"features": []})


routes = [
    Route("/_health_report", health_report, methods=["GET"]),
    Route("/_health_report/{feature}", health_report, methods=["GET"]),
    Route("/_features", get_features, methods=["GET"]),
    Route("/_features/_reset", reset_features, methods=["POST"]),
]
