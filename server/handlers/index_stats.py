"""Index statistics handlers: ``_stats``, ``_segments``, ``_recovery`` and ``_shard_stores``."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.closed_stats import closed_shard
from cluster.segment_files import segment_file_sizes, shard_commit
from cluster.state import IndexMeta
from cluster.translog_stats import translog_stats
from native.errors import IllegalArgument
from server.handlers.index_admin import _counters, _shards_header
from server.handlers.indices import IndexStats, index_stats, indexing_load, resolve
from server.handlers.members import NODE_ATTRIBUTES, es_roles, local_member, members
from server.handlers.root import index_status
from server.handlers.shard_view import recoveries
from server.handlers.stats_fields import completion_section, field_patterns, fielddata_section
from server.http import check_params, cluster_of, es_json, flag
from server.suggest_names import did_you_mean

STATS_METRICS = ("docs", "shard_stats", "store", "indexing", "get", "search", "merge", "refresh", "flush",
                 "warmer", "query_cache", "fielddata", "completion", "segments", "translog", "request_cache",
                 "recovery", "bulk", "dense_vector", "sparse_vector", "mappings")  # fmt: skip


# -- stats ------------------------------------------------------------------------------------------------
def _section(st: IndexStats, meta: IndexMeta, counters: dict[str, int], shards: int,
             search: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """``search``: the measured search counts (see ``cluster.search_stats``); zeros when not given."""
    indexed = max(st.max_seq_no + 1, 0)
    section = {
        "docs": {"count": st.docs, "deleted": st.deleted, "total_size_in_bytes": st.size},
        "shard_stats": {"total_count": shards},
        "store": {"size_in_bytes": st.size, "total_data_set_size_in_bytes": st.size, "reserved_in_bytes": 0},
        "indexing": {"index_total": indexed, "index_time_in_millis": 0, "index_current": 0, "index_failed": 0,
                     "delete_total": 0, "delete_time_in_millis": 0, "delete_current": 0, "noop_update_total": 0,
                     "is_throttled": False, "throttle_time_in_millis": 0, "write_load": 0.0,
                     "recent_write_load": 0.0, "peak_write_load": 0.0},
        "get": {"total": 0, "time_in_millis": 0, "exists_total": 0, "exists_time_in_millis": 0, "missing_total": 0,
                "missing_time_in_millis": 0, "current": 0},
        "search": {"open_contexts": 0, "query_total": 0, "query_time_in_millis": 0, "query_current": 0,
                   "fetch_total": 0, "fetch_time_in_millis": 0, "fetch_current": 0, "scroll_total": 0,
                   "scroll_time_in_millis": 0, "scroll_current": 0, "suggest_total": 0,
                   "suggest_time_in_millis": 0, "suggest_current": 0, "recent_search_load": 0.0},
        "merges": {"current": 0, "current_docs": 0, "current_size_in_bytes": 0, "total": counters.get("merge", 0),
                   "total_time_in_millis": counters.get("merge_time_in_millis", 0), "total_docs": 0,
                   "total_size_in_bytes": 0},
        "refresh": {"total": counters.get("refresh", 0), "total_time_in_millis": 0, "external_total": 0,
                    "external_total_time_in_millis": 0, "listeners": 0},
        "flush": {"total": counters.get("flush", 0), "periodic": 0, "total_time_in_millis": 0},
        "warmer": {"current": 0, "total": 0, "total_time_in_millis": 0},
        "query_cache": {"memory_size_in_bytes": 0, "total_count": 0, "hit_count": 0, "miss_count": 0,
                        "cache_size": 0, "cache_count": 0, "evictions": 0},
        "fielddata": fielddata_section({}, None),
        "completion": {"size_in_bytes": 0},
        "segments": {"count": sum(len(segs) for segs in st.segments.values()), "memory_in_bytes": 0},
        "translog": {"operations": 0, "size_in_bytes": 0, "uncommitted_operations": 0,
                     "uncommitted_size_in_bytes": 0, "earliest_last_modified_age": 0},
        "request_cache": dict(zip(("memory_size_in_bytes", "evictions", "hit_count", "miss_count"),
                                  st.request_cache, strict=True)),
        "recovery": {"current_as_source": 0, "current_as_target": 0, "throttle_time_in_millis": 0},
        "bulk": {"total_operations": 0, "total_time_in_millis": 0, "total_size_in_bytes": 0,
                 "avg_time_in_millis": 0, "avg_size_in_bytes": 0},
    }  # fmt: skip
    if search is not None:
        section["search"] = {"open_contexts": 0, **search}
    return section


def _measured(section: dict[str, Any], stats_of: IndexStats, shard: int | None, completion_fields: list[str] | None,
              fielddata_fields: list[str] | None) -> dict[str, Any]:  # fmt: skip
    """Fill ``section`` with what the leaves measured: completion sizes, fielddata, write loads, vector counts."""
    section["completion"] = completion_section(stats_of.completion_sizes(shard), completion_fields)
    section["fielddata"] = fielddata_section(stats_of.fielddata_sizes(shard), fielddata_fields)
    section["indexing"].update(stats_of.indexing_load(shard))
    dense, sparse = stats_of.vector_counts(shard)
    section["dense_vector"] = {"value_count": dense}
    section["sparse_vector"] = {"value_count": sparse}
    return section


def _shard_details(request: Request, meta: IndexMeta, shard: int, max_seq_no: int) -> dict[str, Any]:
    """What ES adds per shard copy at ``level=shards``: its last commit, sequence numbers, paths and
    search-idle state (shards are never search-idle here: refreshes do not pause; the idle time is the
    time since the shard's last search, or since the index was created)."""
    import time

    cluster = cluster_of(request)
    path = cluster.node.shard_dir(meta.uuid, shard)
    commit = shard_commit(cluster.node, meta, shard)
    last = cluster.root.search_stats.last_search(meta.uuid, shard)
    since = last if last is not None else meta.creation_date / 1000
    out: dict[str, Any] = {
        "seq_no": {"max_seq_no": max_seq_no, "local_checkpoint": max_seq_no, "global_checkpoint": max_seq_no},
        "shard_path": {"state_path": path, "data_path": path, "is_custom_data_path": False},
        "search_idle": False,
        "search_idle_time": max(0, int((time.time() - since) * 1000)),
    }
    if commit is not None:
        out["commit"] = commit
    return out


def _tier_preference(meta: IndexMeta) -> str:
    """The index's ``_tier_preference`` allocation setting (ES sets ``data_content`` on a new index)."""
    return meta.settings.get("index.routing.allocation.include._tier_preference") or "data_content"


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and key in out:
            out[key] = out[key] + value
        else:
            out[key] = value
    return out


def _pick(section: dict[str, Any], metrics: set[str] | None) -> dict[str, Any]:
    if metrics is None:
        return section
    return {k: v for k, v in section.items() if k in metrics}


def _closed_stats(request: Request, meta: IndexMeta, unloaded_segments: bool) -> IndexStats:
    """A closed index's stats from its shards' last commits (see ``cluster.closed_stats``)."""
    out = IndexStats()
    for s in range(meta.number_of_shards):
        shard = closed_shard(cluster_of(request).node, meta, s)
        out.docs += shard.docs
        out.size += shard.size_in_bytes
        out.max_seq_no = max(out.max_seq_no, shard.committed_seq_no)
        out.shards[s] = (shard.docs, shard.size_in_bytes)
        out.shard_max_seq_no[s] = shard.committed_seq_no
        out.segments[s] = list(shard.segments) if unloaded_segments else []
    return out


async def stats(request: Request) -> Response:
    params = check_params(request, {"level", "fields", "completion_fields", "fielddata_fields", "groups",
                                    "include_segment_file_sizes", "include_unloaded_segments", "forbid_closed_indices",
                                    "types"})  # fmt: skip
    metric_param = request.path_params.get("metric")
    metrics: set[str] | None = None
    if metric_param and metric_param != "_all":
        metrics = {name.strip() for name in metric_param.split(",")}
        metrics = {"merges" if name == "merge" else name for name in metrics}
        for name in metrics:
            if name not in STATS_METRICS and name != "merges":
                raise IllegalArgument(f"request [{request.url.path}] contains unrecognized metric: [{name}]"
                                      + did_you_mean(name, STATS_METRICS))  # fmt: skip
    metas = resolve(request, request.path_params.get("index"), params)
    level = params.get("level", "indices")
    if level not in ("cluster", "indices", "shards"):
        raise IllegalArgument(f"level parameter must be one of [cluster] or [indices] or [shards] but was [{level}]")
    groups = [g.strip() for g in params["groups"].split(",") if g.strip()] if "groups" in params else None
    search_stats = cluster_of(request).root.search_stats
    st = await index_stats(request, metas, source_fields=metrics is None
                           or bool(metrics & {"completion", "dense_vector", "sparse_vector"}))  # fmt: skip
    completion_fields = field_patterns(params, "completion_fields")
    fielddata_fields = field_patterns(params, "fielddata_fields")

    def per_field(section: dict[str, Any], stats_of: IndexStats, shard: int | None = None) -> dict[str, Any]:
        return _measured(section, stats_of, shard, completion_fields, fielddata_fields)

    counters = _counters(request)
    body: dict[str, Any] = {"_shards": _shards_header(metas)}
    all_pri: dict[str, Any] = {}
    indices: dict[str, Any] = {}
    for m in metas:
        if not m.is_open and not flag(params, "forbid_closed_indices", True):
            st[m.name] = _closed_stats(request, m, flag(params, "include_unloaded_segments"))
        elif not m.is_open:  # ES lists a closed index (when asked for one) with its state and no shard stats
            indices[m.name] = {"uuid": m.uuid, "health": index_status(cluster_of(request), m),
                               "status": "close", "creation_date": m.creation_date,
                               "tier_preference": _tier_preference(m), "primaries": {}, "total": {}}  # fmt: skip
            continue
        section = per_field(_section(st[m.name], m, counters.get(m.uuid, {}), m.number_of_shards,
                                     search_stats.of(m.uuid, groups=groups)), st[m.name])  # fmt: skip
        if flag(params, "include_segment_file_sizes"):
            section["segments"]["file_sizes"] = segment_file_sizes(cluster_of(request).node, [m])
        section["translog"] = translog_stats(cluster_of(request).node, m, st[m.name].shard_max_seq_no.items())
        all_pri = _merge(all_pri, section) if all_pri else copy.deepcopy(section)
        entry: dict[str, Any] = {
            "uuid": m.uuid, "health": index_status(cluster_of(request), m),
            "status": "open" if m.is_open else "close",
            "creation_date": m.creation_date, "tier_preference": _tier_preference(m),
            "primaries": _pick(section, metrics), "total": _pick(section, metrics),
        }  # fmt: skip
        if level == "shards":
            entry["shards"] = {
                str(s): [{"routing": {"state": "STARTED", "primary": True, "node": cluster_of(request).node_id,
                                      "relocating_node": None},
                          **_pick({**per_field(_section(IndexStats(docs=d, size=b,
                                                                   segments={s: st[m.name].segments.get(s, [])}),
                                                        m, {}, 1, search_stats.of(m.uuid, s, groups)), st[m.name], s),
                                   "translog": translog_stats(cluster_of(request).node, m,
                                                              [(s, st[m.name].shard_max_seq_no.get(s, -1))])},
                                  metrics),
                          **_shard_details(request, m, s, st[m.name].shard_max_seq_no.get(s, -1))}]
                for s, (d, b) in sorted(st[m.name].shards.items())
            }  # fmt: skip
        indices[m.name] = entry
    if not all_pri:
        all_pri = per_field(_section(IndexStats(), IndexMeta("", "", {}, {}, 0), {}, 0), IndexStats())
    if indices:  # loads are averaged over every shard, weighted by elapsed time, not summed
        all_pri["indexing"] = {**all_pri["indexing"], **indexing_load(
            [row for m in metas if m.is_open for row in st[m.name].write_load.values()])}
        all_pri["search"] = {**all_pri["search"], "recent_search_load": search_stats.recent_load(
            [(m.uuid, s) for m in metas if m.is_open for s in range(m.number_of_shards)])}
    body["_all"] = {"primaries": _pick(all_pri, metrics), "total": _pick(all_pri, metrics)}
    if level in ("indices", "shards"):
        body["indices"] = indices
    return es_json(request, body)


async def node_indices_section(request: Request, params: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``indices`` section of ``_nodes/stats``: the ``_stats`` sections of every open index, summed (the
    one node holds every shard); ``params``: the ``fields`` / ``completion_fields`` / ``fielddata_fields`` /
    ``groups`` of the request, as ``_stats`` reads them, and ``level``."""
    params = params or {}
    metas = [m for m in cluster_of(request).master.state.indices.values() if m.is_open]
    st = await index_stats(request, metas, source_fields=True)
    counters = _counters(request)
    total: dict[str, Any] = {}
    search_stats = cluster_of(request).root.search_stats
    completion_fields = field_patterns(params, "completion_fields")
    fielddata_fields = field_patterns(params, "fielddata_fields")
    groups = [g.strip() for g in params["groups"].split(",") if g.strip()] if "groups" in params else None
    level = params.get("level", "node")
    per_index: dict[str, Any] = {}
    per_shard: dict[str, Any] = {}
    for m in metas:
        section = _measured(_section(st[m.name], m, counters.get(m.uuid, {}), m.number_of_shards,
                                     search_stats.of(m.uuid, groups=groups)), st[m.name], None, completion_fields,
                            fielddata_fields)  # fmt: skip
        section["translog"] = translog_stats(cluster_of(request).node, m, st[m.name].shard_max_seq_no.items())
        total = _merge(total, section) if total else copy.deepcopy(section)
        if level == "indices":
            per_index[m.name] = section
        elif level == "shards":
            per_shard[m.name] = [
                {str(s): {**_measured(_section(IndexStats(docs=d, size=b, segments={s: st[m.name].segments.get(s, [])}),
                                               m, {}, 1, search_stats.of(m.uuid, s, groups)),
                                      st[m.name], s, completion_fields, fielddata_fields),
                          "translog": translog_stats(cluster_of(request).node, m,
                                                     [(s, st[m.name].shard_max_seq_no.get(s, -1))])}}
                for s, (d, b) in sorted(st[m.name].shards.items())
            ]  # fmt: skip
    if not total:
        return _measured(_section(IndexStats(), IndexMeta("", "", {}, {}, 0), {}, 0), IndexStats(), None, None, None)
    # loads are averaged over every shard, weighted by elapsed time, not summed
    total["indexing"].update(indexing_load([row for m in metas for row in st[m.name].write_load.values()]))
    total["search"]["recent_search_load"] = search_stats.recent_load(
        [(m.uuid, s) for m in metas for s in range(m.number_of_shards)])
    if level == "indices":  # ES adds each index's sections (``level=indices``) or each shard's (``shards``)
        total["indices"] = per_index
    elif level == "shards":
        total["shards"] = per_shard
    return total


# -- segments / recovery ----------------------------------------------------------------------------------
async def segments(request: Request) -> Response:
    params = check_params(request, {"verbose", "include_unloaded_segments"})
    metas = resolve(request, request.path_params.get("index"), params)
    st = await index_stats(request, metas)
    indices: dict[str, Any] = {}
    for m in metas:
        shards: dict[str, Any] = {}
        for s in range(m.number_of_shards):
            segs = {segment_name(i): {"generation": i, "num_docs": docs, "deleted_docs": deleted,
                                      "size_in_bytes": size, "committed": True, "search": True, "version": "9.12.0",
                                      "compound": True, "attributes": {}}
                    for i, (docs, deleted, size) in enumerate(st[m.name].segments.get(s, []))}  # fmt: skip
            shards[str(s)] = [{
                "routing": {"state": "STARTED", "primary": True, "node": cluster_of(request).node_id},
                "num_committed_segments": len(segs), "num_search_segments": len(segs), "segments": segs,
            }]  # fmt: skip
        indices[m.name] = {"shards": shards}
    return es_json(request, {"_shards": _shards_header(metas), "indices": indices})


def segment_name(generation: int) -> str:
    """Lucene's segment name: ``_`` and the generation in base 36."""
    digits = ""
    while True:
        generation, digit = divmod(generation, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[digit] + digits
        if not generation:
            return "_" + digits


async def recovery(request: Request) -> Response:
    params = check_params(request, {"active_only", "detailed"})
    metas = resolve(request, request.path_params.get("index"), params)
    out: dict[str, Any] = {}
    state = cluster_of(request).master.state
    everyone = {m.id: m for m in members(request)}

    def node(node_id: str | None) -> dict[str, Any]:
        m = everyone.get(node_id or "")
        if m is None:
            return {}
        return {"id": m.id, "host": m.host, "transport_address": m.transport_address, "ip": m.host, "name": m.name}

    for m in metas:
        if not m.is_open:
            continue
        for v in recoveries(state, m):
            if flag(params, "active_only") and v.stage == "DONE":
                continue
            out.setdefault(m.name, {"shards": []})["shards"].append({
                "id": v.shard, "type": v.type, "stage": v.stage, "primary": v.primary,
                "start_time_in_millis": m.creation_date, **({"stop_time_in_millis": m.creation_date}
                                                            if v.stage == "DONE" else {}),
                "total_time_in_millis": 0, "source": node(v.source), "target": node(v.target),
                "index": {"size": {"total_in_bytes": 0, "reused_in_bytes": 0, "recovered_in_bytes": 0,
                                   "percent": "0.0%"},
                          "files": {"total": 0, "reused": 0, "recovered": 0, "percent": "0.0%"},
                          "total_time_in_millis": 0, "source_throttle_time_in_millis": 0,
                          "target_throttle_time_in_millis": 0},
                "translog": {"recovered": 0, "total": 0, "percent": "100.0%" if v.stage == "DONE" else "0.0%",
                             "total_on_start": 0, "total_time_in_millis": 0},
                "verify_index": {"check_index_time_in_millis": 0, "total_time_in_millis": 0},
            })  # fmt: skip
    return es_json(request, out)


async def shard_stores(request: Request) -> Response:
    params = check_params(request, {"status"})
    metas = resolve(request, request.path_params.get("index"), params)
    statuses = {s.strip() for s in params.get("status", "yellow,red").split(",")}
    indices: dict[str, Any] = {}
    me = local_member(request)
    for m in metas:
        status = index_status(cluster_of(request), m)
        if "all" not in statuses and status not in statuses:
            continue
        indices[m.name] = {"shards": {
            str(s): {"stores": [{
                me.id: {"name": me.name, "ephemeral_id": me.id, "transport_address": me.transport_address,
                        "external_id": me.name, "attributes": dict(NODE_ATTRIBUTES), "roles": es_roles(me.node)},
                "allocation_id": own.allocation_id if (own := cluster_of(request).node.own_copy(m.uuid, s)) else "",
                "allocation": "primary",
            }]}
            for s in range(m.number_of_shards)
        }}  # fmt: skip
    return es_json(request, {"indices": indices})


routes = [
    Route("/_stats", stats, methods=["GET"]),
    Route("/_stats/{metric}", stats, methods=["GET"]),
    Route("/_segments", segments, methods=["GET"]),
    Route("/_recovery", recovery, methods=["GET"]),
    Route("/{index}/_stats", stats, methods=["GET"]),
    Route("/{index}/_stats/{metric}", stats, methods=["GET"]),
    Route("/{index}/_segments", segments, methods=["GET"]),
    Route("/{index}/_recovery", recovery, methods=["GET"]),
    Route("/_shard_stores", shard_stores, methods=["GET"]),
    Route("/{index}/_shard_stores", shard_stores, methods=["GET"]),
]
