"""Cluster APIs: ``_cluster/settings|state|stats|pending_tasks|health?level=``, ``_remote/info``,
``_resolve/cluster``, reroute.

Quidditch answers as a one-node Elasticsearch cluster would: the node is master, data and ingest; every
primary is started on it and replicas stay unassigned.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.names import resolve_expression
from cluster.settings import nest_settings
from cluster.state import ClusterState, IndexMeta
from native.dates import parse_time_value
from native.errors import IllegalArgument, ParsingError, QuidditchError
from native.mapping import Mapping
from server.deprecation import warning_header
from server.handlers.allocation_explain import allocation_explain
from server.handlers.cluster_stats import cluster_stats
from server.handlers.health_waits import HealthWaits, health_expand_wildcards
from server.handlers.members import local_member, members, state_node_entry
from server.handlers.node_info import thread_pools
from server.handlers.reroute import reroute
from server.handlers.root import cluster_health_of, health_body, index_health_body
from server.handlers.shard_view import routing_json, shard_views
from server.http import check_params, cluster_of, es_json, flag, json_body

STATE_METRICS = ("version", "master_node", "blocks", "nodes", "metadata", "routing_table", "routing_nodes",
                 "customs")  # fmt: skip


def _settings_out(flat: dict[str, Any], flat_settings: bool) -> dict[str, Any]:
    return dict(flat) if flat_settings else nest_settings(flat)


async def get_settings(request: Request) -> Response:
    params = check_params(request)
    state = cluster_of(request).master.state
    flat = flag(params, "flat_settings")
    body: dict[str, Any] = {
        "persistent": _settings_out(dict(state.persistent), flat),
        "transient": _settings_out(dict(state.transient), flat),
    }
    if flag(params, "include_defaults"):
        defaults = {"action.auto_create_index": "true", "search.max_buckets": "65536",
                    "cluster.max_shards_per_node": "1000",
                    "cluster.name": cluster_of(request).cluster_name}  # fmt: skip
        body["defaults"] = _settings_out(defaults, flat)
    return es_json(request, body)


async def put_settings(request: Request) -> Response:
    params = check_params(request)
    body = await json_body(request, required=True)
    if not isinstance(body, dict):
        raise ParsingError("request body must be an object")
    for key in body:
        if key not in ("persistent", "transient"):
            raise IllegalArgument(f"[cluster_update_settings_request] unknown field [{key}]")
    if not body.get("persistent") and not body.get("transient") and not ("persistent" in body or "transient" in body):
        raise IllegalArgument("Validation Failed: 1: no settings to update;")
    persistent, transient = await asyncio.to_thread(
        cluster_of(request).master.put_cluster_settings, body.get("persistent"), body.get("transient")
    )
    flat = flag(params, "flat_settings")
    # ES warns when transient settings are set (resetting them with null is the way out, and does not warn)
    setting = _sets_a_value(body.get("transient"))
    headers = warning_header(request.app.state.settings.version_number, TRANSIENT_WARNING) if setting else None
    return es_json(request, {
        "acknowledged": True,
        "persistent": _settings_out(persistent, flat),
        "transient": _settings_out(transient, flat),
    }, headers=headers)  # fmt: skip


TRANSIENT_WARNING = ("[transientSettings removal] Updating cluster settings through transientSettings is deprecated. "
                     "Prefer using persistent settings instead.")  # fmt: skip


def _sets_a_value(settings: Any) -> bool:
    if isinstance(settings, dict):
        return any(_sets_a_value(v) for v in settings.values())
    return settings is not None


def _node(request: Request) -> dict[str, Any]:
    """This node as ``_cluster/state`` lists it."""
    return state_node_entry(request, local_member(request))


def _routing_table(request: Request, metas: list[IndexMeta], state: ClusterState) -> dict[str, Any]:
    return {"indices": {m.name: {"shards": {str(s): [routing_json(v) for v in views]
                                            for s, views in shard_views(request, m, state).items()}}
                        for m in metas}}  # fmt: skip


def _index_metadata(state: ClusterState, meta: IndexMeta, flat_settings: bool) -> dict[str, Any]:
    settings = dict(meta.settings)
    if not meta.is_open:
        settings["index.verified_before_close"] = "true"
    return {
        "version": meta.mapping_version,
        "mapping_version": meta.mapping_version,
        "settings_version": 1,
        "aliases_version": 1,
        "routing_num_shards": meta.number_of_shards,
        "state": meta.state,
        "settings": settings if flat_settings else nest_settings(settings),
        "mappings": {"_doc": Mapping(meta.mappings).to_dict()},
        "aliases": sorted(meta.aliases),
        "primary_terms": {str(s): r.primary_term if (r := state.shard_routing(meta.uuid, s)) else 1
                          for s in range(meta.number_of_shards)},
        "in_sync_allocations": {str(s): sorted(r.in_sync) if (r := state.shard_routing(meta.uuid, s)) else []
                                for s in range(meta.number_of_shards)},
        "rollover_info": {},
        "system": False,
        "timestamp_range": {"shards": []},
    }


def state_body(request: Request, state: ClusterState, metrics: set[str], metas: list[IndexMeta],
               flat_settings: bool) -> dict[str, Any]:  # fmt: skip
    cluster = cluster_of(request)
    body: dict[str, Any] = {"cluster_name": cluster.cluster_name, "cluster_uuid": state.cluster_uuid}
    if "version" in metrics:
        body["version"] = state.version
        body["state_uuid"] = f"{state.cluster_uuid[:12]}{state.version:010d}"
    everyone = members(request)
    if "master_node" in metrics:
        body["master_node"] = next((m.id for m in everyone if m.master), None)
    if "blocks" in metrics:
        closed = {m.name: {"4": {"description": "index closed", "retryable": False, "levels": ["read", "write"]}}
                  for m in metas if not m.is_open}  # fmt: skip
        body["blocks"] = {"indices": closed} if closed else {}
    if "nodes" in metrics:
        body["nodes"] = {m.id: state_node_entry(request, m) for m in everyone}
    if "metadata" in metrics:
        voters = sorted(m.id for m in everyone if m.node.has_role("master"))
        body["metadata"] = {
            "cluster_uuid": state.cluster_uuid,
            "cluster_uuid_committed": True,
            "cluster_coordination": {"term": 1, "last_committed_config": voters, "last_accepted_config": voters,
                                     "voting_config_exclusions": list(_exclusions(request))},
            "templates": {n: _legacy_out(t, flat_settings) for n, t in state.legacy_templates.items()},
            "indices": {m.name: _index_metadata(state, m, flat_settings) for m in metas},
            "index-graveyard": {"tombstones": []},
            "component_template": {"component_template": dict(state.component_templates)},
            "index_template": {"index_template": dict(state.index_templates)},
            "persistent": dict(state.persistent),
        }  # fmt: skip
    opened = [m for m in metas if m.is_open]
    if "routing_table" in metrics:
        body["routing_table"] = _routing_table(request, opened, state)
    if "routing_nodes" in metrics:
        views = [v for m in opened for copies in shard_views(request, m, state).values() for v in copies]
        body["routing_nodes"] = {
            "unassigned": [routing_json(v) for v in views if v.node is None],
            "nodes": {m.id: [routing_json(v) for v in views if v.node == m.id] for m in everyone
                      if m.node.has_role("data")},
        }  # fmt: skip
    return body


def _legacy_out(template: dict[str, Any], flat_settings: bool) -> dict[str, Any]:
    out = dict(template)
    out["settings"] = dict(template.get("settings") or {}) if flat_settings else nest_settings(
        template.get("settings") or {})  # fmt: skip
    return out


async def cluster_state(request: Request) -> Response:
    params = check_params(request, {"wait_for_metadata_version", "wait_for_timeout"})
    cluster = cluster_of(request)
    metric_param = request.path_params.get("metric")
    if metric_param is None or metric_param == "_all":
        metrics = set(STATE_METRICS)
    else:
        metrics = {m.strip() for m in metric_param.split(",") if m.strip()}
        for m in metrics:
            if m not in STATE_METRICS and m != "_all":
                raise IllegalArgument(f"request [{request.url.path}] contains unrecognized metric: [{m}]")
        if "_all" in metrics:
            metrics = set(STATE_METRICS)
    wanted_version = params.get("wait_for_metadata_version")
    if wanted_version is not None:
        deadline = time.monotonic() + parse_time_value(params.get("wait_for_timeout", "1m"))
        while (version := cluster.master.state.version) < int(wanted_version):
            if time.monotonic() >= deadline:
                return es_json(request, {"cluster_name": cluster.cluster_name, "wait_for_timed_out": True})
            await next_state(cluster, version, deadline)
    state = cluster.master.state
    index_expr = request.path_params.get("index")
    if index_expr is None:
        metas = list(state.indices.values())
    else:
        names = resolve_expression(
            index_expr, state.indices, aliases=state.aliases(),
            ignore_unavailable=flag(params, "ignore_unavailable"),
            allow_no_indices=flag(params, "allow_no_indices", True), expand_closed=True,
        )  # fmt: skip
        metas = [state.indices[n] for n in names]
        expand = health_expand_wildcards(params.get("expand_wildcards"))
        if expand is not None and any(c in index_expr for c in "*?"):  # the states a wildcard expands to
            metas = [m for m in metas if ("open" if m.is_open else "closed") in expand]
    return es_json(request, state_body(request, state, metrics, metas, flag(params, "flat_settings")))


async def pending_tasks(request: Request) -> Response:
    check_params(request)
    return es_json(request, {"tasks": []})




async def health(request: Request) -> Response:
    params = check_params(
        request,
        {"wait_for_status", "wait_for_nodes", "wait_for_events", "wait_for_no_relocating_shards",
         "wait_for_no_initializing_shards", "level", "index", "wait_for_active_shards"},
    )  # fmt: skip
    cluster = cluster_of(request)
    level = params.get("level", "cluster")
    if level not in ("cluster", "indices", "shards"):
        raise IllegalArgument(f"No enum constant org.elasticsearch.action.ClusterStatsLevel.{level.upper()}")
    index = request.path_params.get("index") or params.get("index")

    def build() -> dict[str, Any]:
        state = cluster.master.state
        names = (
            resolve_expression(index, state.indices, aliases=state.aliases(), expand_closed=True)
            if index and index not in ("_all", "*") else None
        )  # fmt: skip
        if expand is not None and (names is None or index is None or "*" in index):
            names = [n for n in (names if names is not None else sorted(state.indices))
                     if ("open" if state.indices[n].is_open else "closed") in expand]  # fmt: skip
        result = cluster_health_of(cluster, names)
        body = health_body(cluster, names, result)
        if level != "cluster":
            body["indices"] = {n: index_health_body(h, level == "shards") for n, h in result.indices.items()}
        return body

    expand = health_expand_wildcards(params.get("expand_wildcards"))
    waits = HealthWaits.from_params(params)
    deadline = time.monotonic() + parse_time_value(params.get("timeout", "30s"))
    version = cluster.master.state.version
    body = build()
    while not waits.met(body):
        if time.monotonic() >= deadline:
            body["timed_out"] = True
            return es_json(request, body, status=408)
        await next_state(cluster, version, deadline)
        version = cluster.master.state.version
        body = build()
    return es_json(request, body)


async def next_state(cluster: Any, version: int, deadline: float) -> None:
    """Until the cluster state is newer than ``version`` or ``deadline`` (re-checked at least every second, for
    what a node learns outside cluster state, such as a shard that failed to open)."""
    remaining = min(1.0, deadline - time.monotonic())
    changes = getattr(cluster, "state_changes", None)
    if changes is None:
        await asyncio.sleep(min(0.05, max(0.0, remaining)))
    else:
        await changes.wait_past(version, remaining)


async def remote_info(request: Request) -> Response:
    check_params(request)
    return es_json(request, {})


async def resolve_cluster(request: Request) -> Response:
    """``_resolve/cluster``: this cluster is the only one (``(local)``); no remote clusters are configured."""
    params = check_params(request)
    settings = request.app.state.settings
    entry: dict[str, Any] = {"connected": True, "skip_unavailable": False}
    name = request.path_params.get("name")
    if name is not None:
        for part in name.split(","):
            remote = part.lstrip("-").split(":", 1)
            if len(remote) == 2:
                raise NoSuchRemoteCluster(remote[0])
        state = cluster_of(request).master.state
        wildcards = {w.strip() for w in params.get("expand_wildcards", "open").split(",") if w.strip()}
        closed = {m.name: m.uuid for m in state.indices.values() if not m.is_open}
        try:
            names = resolve_expression(
                name, state.indices, aliases=state.aliases(), ignore_unavailable=flag(params, "ignore_unavailable"),
                expand_hidden=bool(wildcards & {"all", "hidden"}), closed=closed,
                expand_closed=bool(wildcards & {"all", "closed"}),
            )  # fmt: skip
            entry["matching_indices"] = bool(names)
        except QuidditchError as exc:
            entry["matching_indices"] = False
            entry["error"] = exc.reason
    entry["version"] = {
        "number": settings.version_number,
        "build_flavor": "default",
        "minimum_wire_compatibility_version": "7.17.0",
        "minimum_index_compatibility_version": "7.0.0",
    }
    return es_json(request, {"(local)": entry})


class NoSuchRemoteCluster(QuidditchError):
    status = 404
    es_type = "no_such_remote_cluster_exception"

    def __init__(self, alias: str) -> None:
        super().__init__(f"no such remote cluster: [{alias}]")


def _exclusions(request: Request) -> list[dict[str, str]]:
    state = request.app.state
    if not hasattr(state, "voting_config_exclusions"):
        state.voting_config_exclusions = []
    exclusions: list[dict[str, str]] = state.voting_config_exclusions
    return exclusions


async def post_voting_exclusions(request: Request) -> Response:
    params = check_params(request, {"node_ids", "node_names"})
    ids = [n for n in params.get("node_ids", "").split(",") if n]
    names = [n for n in params.get("node_names", "").split(",") if n]
    if bool(ids) == bool(names):
        raise IllegalArgument("You must set [node_names] or [node_ids] but not both")
    exclusions = _exclusions(request)
    known = members(request)
    for node_id in ids:
        name = next((m.name for m in known if m.id == node_id), "_absent_")
        entry = {"node_id": node_id, "node_name": name}
        if entry not in exclusions:
            exclusions.append(entry)
    for name in names:
        entry = {"node_id": next((m.id for m in known if m.name == name), "_absent_"), "node_name": name}
        if entry not in exclusions:
            exclusions.append(entry)
    return Response(b"", 200)


async def delete_voting_exclusions(request: Request) -> Response:
    check_params(request, {"wait_for_removal"})
    _exclusions(request).clear()
    return Response(b"", 200)


INFO_TARGETS = ("_all", "http", "ingest", "thread_pool", "script")


async def cluster_info(request: Request) -> Response:
    check_params(request)
    targets = [t.strip() for t in request.path_params["target"].split(",")]
    for t in targets:
        if t not in INFO_TARGETS:
            raise IllegalArgument(f"request [{request.url.path}] contains unrecognized target: [{t}]")
    if "_all" in targets:
        if len(targets) > 1:
            raise IllegalArgument(f"request [{request.url.path}] contains _all and individual target "
                                  f"[{','.join(targets)}]")  # fmt: skip
        targets = list(INFO_TARGETS[1:])
    body: dict[str, Any] = {"cluster_name": cluster_of(request).cluster_name}
    if "http" in targets:
        body["http"] = request.app.state.http_clients.stats(request.app.state.settings.port)
    if "ingest" in targets:
        body["ingest"] = {"total": {"count": 0, "time_in_millis": 0, "current": 0, "failed": 0}, "pipelines": {}}
    if "thread_pool" in targets:
        body["thread_pool"] = {p.name: {"threads": p.size, "queue": p.queue, "active": p.active,
                                        "rejected": p.rejected, "largest": p.largest, "completed": p.completed}
                               for p in thread_pools(cluster_of(request))}  # fmt: skip
    if "script" in targets:
        body["script"] = {"compilations": 0, "cache_evictions": 0, "compilation_limit_triggered": 0}
    return es_json(request, body)


routes = [
    Route("/_info/{target}", cluster_info, methods=["GET"]),
    Route("/_cluster/voting_config_exclusions", post_voting_exclusions, methods=["POST"]),
    Route("/_cluster/voting_config_exclusions", delete_voting_exclusions, methods=["DELETE"]),
    Route("/_cluster/settings", get_settings, methods=["GET"]),
    Route("/_cluster/settings", put_settings, methods=["PUT"]),
    Route("/_cluster/state", cluster_state, methods=["GET"]),
    Route("/_cluster/state/{metric}", cluster_state, methods=["GET"]),
    Route("/_cluster/state/{metric}/{index}", cluster_state, methods=["GET"]),
    Route("/_cluster/stats", cluster_stats, methods=["GET"]),
    Route("/_cluster/stats/nodes/{node_id}", cluster_stats, methods=["GET"]),
    Route("/_cluster/pending_tasks", pending_tasks, methods=["GET"]),
    Route("/_cluster/health", health, methods=["GET"]),
    Route("/_cluster/health/{index}", health, methods=["GET"]),
    Route("/_cluster/reroute", reroute, methods=["POST"]),
    Route("/_cluster/allocation/explain", allocation_explain, methods=["GET", "POST"]),
    Route("/_remote/info", remote_info, methods=["GET"]),
    Route("/_resolve/cluster", resolve_cluster, methods=["GET"]),
    Route("/_resolve/cluster/{name}", resolve_cluster, methods=["GET"]),
]
