"""The ``_cat`` APIs beyond indices/count/health: segments, thread pools, aliases, templates and the rest
(members and shard copies: ``cat_members``), with their route table.

Columns follow ES's ``RestTable`` definitions (names, aliases, defaults); numbers Quidditch does not track are
reported as zero.
"""

from __future__ import annotations

import os
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from cluster.names import match_names
from native.errors import IllegalArgument
from server.cat import format_time_millis
from server.handlers.cat_common import CAT_PARAMS
from server.handlers.cat_common import cat_response as _cat
from server.handlers.cat_common import columns as _cols
from server.handlers.cat_common import local_host as _host
from server.handlers.cat_common import local_id as _id
from server.handlers.cat_members import (
    cat_allocation,
    cat_master,
    cat_nodeattrs,
    cat_nodes,
    cat_recovery,
    cat_shards,
)
from server.handlers.index_stats import segment_name
from server.handlers.indices import index_stats, resolve
from server.handlers.node_info import thread_pools
from server.http import check_params, cluster_of, flag

# -- help -------------------------------------------------------------------------------------------------
CAT_ENDPOINTS = [
    "/_cat/allocation", "/_cat/shards", "/_cat/shards/{index}", "/_cat/master", "/_cat/nodes", "/_cat/tasks",
    "/_cat/indices", "/_cat/indices/{index}", "/_cat/segments", "/_cat/segments/{index}", "/_cat/count",
    "/_cat/count/{index}", "/_cat/recovery", "/_cat/recovery/{index}", "/_cat/health", "/_cat/pending_tasks",
    "/_cat/aliases", "/_cat/aliases/{alias}", "/_cat/thread_pool", "/_cat/thread_pool/{thread_pools}",
    "/_cat/plugins", "/_cat/fielddata", "/_cat/fielddata/{fields}", "/_cat/nodeattrs", "/_cat/repositories",
    "/_cat/snapshots/{repository}", "/_cat/templates", "/_cat/component_templates", "/_cat/circuit_breaker",
]  # fmt: skip


async def cat_help(request: Request) -> Response:
    check_params(request, CAT_PARAMS)
    return PlainTextResponse("=^.^=\n" + "".join(e + "\n" for e in CAT_ENDPOINTS))


# -- shards / allocation / segments / recovery ------------------------------------------------------------
SEGMENT_COLUMNS = _cols("""
index:i/idx
shard:s/sh
prirep:p/pr/primaryOrReplica
ip
-id
segment:seg
generation:g/gen
docs.count:dc/docsCount:int
docs.deleted:dd/docsDeleted:int
size:si:bytes
size.memory:sm/sizeMemory:int
committed:ic/isCommitted
searchable:is/isSearchable
version:v
compound:ico/isCompound
""")


async def cat_segments(request: Request) -> Response:
    params = check_params(request, CAT_PARAMS)
    metas = resolve(request, request.path_params.get("index"), params)
    stats = await index_stats(request, metas)
    rows = []
    for m in metas:
        for s, segments in sorted(stats[m.name].segments.items()):
            for i, (docs, deleted, size) in enumerate(segments):
                rows.append({"index": m.name, "shard": s, "prirep": "p", "ip": _host(request), "id": _id(request),
                             "segment": segment_name(i), "generation": i, "docs.count": docs,
                             "docs.deleted": deleted, "size": size, "size.memory": 0, "committed": "true",
                             "searchable": "true", "version": "9.12.0", "compound": "true"})  # fmt: skip
    return _cat(request, rows, SEGMENT_COLUMNS, params)


THREAD_POOL_COLUMNS = _cols("""
node_name
-node_id:id
-ephemeral_node_id:eid
-pid:p
-host:h
-ip:i
-port:po
name:n
-type:t
active:a:int
-pool_size:psz:int
queue:q:int
-queue_size:qs:int
rejected:r:int
-largest:l:int
-completed:c:int
-core:cr
-max:mx
-size:sz
-keep_alive:ka
""")


async def cat_thread_pool(request: Request) -> Response:
    params = check_params(request, CAT_PARAMS)
    wanted = request.path_params.get("thread_pools")
    pools = {p.name: p for p in thread_pools(cluster_of(request))}  # as ``_nodes`` info and stats say
    rows = [{"node_name": cluster_of(request).node_name, "node_id": _id(request), "ephemeral_node_id": _id(request),
             "pid": os.getpid(), "host": _host(request), "ip": _host(request), "port": 9300, "name": name,
             "type": "fixed", "active": pools[name].active, "pool_size": pools[name].size,
             "queue": pools[name].queue, "queue_size": pools[name].queue_size, "rejected": pools[name].rejected,
             "largest": pools[name].largest, "completed": pools[name].completed, "core": None, "max": None,
             "size": pools[name].size, "keep_alive": None}
            for name in match_names(wanted, sorted(pools))]  # fmt: skip
    return _cat(request, rows, THREAD_POOL_COLUMNS, params)


# -- aliases / templates ----------------------------------------------------------------------------------
ALIAS_COLUMNS = _cols("""
alias:a
index:i/idx
filter:f/fi
routing.index:ri/routingIndex
routing.search:rs/routingSearch
is_write_index:w/isWriteIndex
""")


async def cat_aliases(request: Request) -> Response:
    params = check_params(request, CAT_PARAMS | {"expand_wildcards"})
    state = cluster_of(request).master.state
    wanted = request.path_params.get("alias")
    # ES lists every alias by default (``all``); an explicit ``expand_wildcards`` leaves out hidden aliases
    # unless it says ``hidden``, and the indices in the states it does not name
    states = {w.strip() for w in params.get("expand_wildcards", "all").split(",") if w.strip()}
    if "all" in states:
        states = {"open", "closed", "hidden"}
    rows = []
    for alias, indices in sorted(state.aliases().items()):
        if wanted and not match_names(wanted, [alias]):
            continue
        for index in indices:
            props = state.indices[index].aliases[alias]
            if props.get("is_hidden") is True and "hidden" not in states:
                continue
            if ("open" if state.indices[index].is_open else "closed") not in states:
                continue
            write = props.get("is_write_index")
            rows.append({"alias": alias, "index": index, "filter": "*" if props.get("filter") else "-",
                         "routing.index": props.get("index_routing", "-"),
                         "routing.search": props.get("search_routing", "-"),
                         "is_write_index": "-" if write is None else str(write).lower()})  # fmt: skip
    return _cat(request, rows, ALIAS_COLUMNS, params)


TEMPLATE_COLUMNS = _cols("name:n\nindex_patterns:t\norder:o/p\nversion:v\ncomposed_of:c")


async def cat_templates(request: Request) -> Response:
    params = check_params(request, CAT_PARAMS)
    state = cluster_of(request).master.state
    wanted = request.path_params.get("name")
    if wanted and "," in wanted:  # ES: one name or pattern
        raise IllegalArgument(f"template name [{wanted}] must not contain a ','")
    rows = []
    for name, body in state.legacy_templates.items():
        rows.append({"name": name, "index_patterns": "[" + ", ".join(body["index_patterns"]) + "]",
                     "order": body.get("order", 0), "version": body.get("version"), "composed_of": ""})  # fmt: skip
    for name, body in state.index_templates.items():
        rows.append({"name": name, "index_patterns": "[" + ", ".join(body["index_patterns"]) + "]",
                     "order": body.get("priority", 0), "version": body.get("version"),
                     "composed_of": "[" + ", ".join(body.get("composed_of") or []) + "]"})  # fmt: skip
    rows = [r for r in rows if not wanted or match_names(wanted, [r["name"]])]
    rows.sort(key=lambda r: r["name"])
    return _cat(request, rows, TEMPLATE_COLUMNS, params)


COMPONENT_COLUMNS = _cols("""
name:n
version:v
alias_count:a
mapping_count:m
settings_count:s
metadata_count:me
included_in:i
""")


def _mapping_count(mappings: Any) -> int:
    """ES counts the mapped fields of a component template (its top-level ``properties``)."""
    if not isinstance(mappings, dict):
        return 0
    body = mappings.get("_doc", mappings) if isinstance(mappings.get("_doc"), dict) else mappings
    properties = body.get("properties")
    return len(properties) if isinstance(properties, dict) else 0


async def cat_component_templates(request: Request) -> Response:
    params = check_params(request, CAT_PARAMS)
    state = cluster_of(request).master.state
    wanted = request.path_params.get("name")
    rows = []
    for name in match_names(wanted, sorted(state.component_templates)):
        body = state.component_templates[name]
        template = body.get("template") or {}
        users = [t for t, b in sorted(state.index_templates.items()) if name in (b.get("composed_of") or [])]
        rows.append({"name": name, "version": body.get("version"),
                     "alias_count": len(template.get("aliases") or {}),
                     "mapping_count": _mapping_count(template.get("mappings")),
                     "settings_count": len(template.get("settings") or {}),
                     "metadata_count": len(body.get("_meta") or {}),
                     "included_in": "[" + ", ".join(users) + "]"})  # fmt: skip
    return _cat(request, rows, COMPONENT_COLUMNS, params)


# -- the empty or constant ones ---------------------------------------------------------------------------
PENDING_COLUMNS = _cols("insertOrder:o\ntimeInQueue:t\npriority:p\nsource:s")
PLUGIN_COLUMNS = _cols("-id\nname:n\ncomponent:c\nversion:v\n-description:d")
REPOSITORY_COLUMNS = _cols("id:repoId\ntype:t")
SNAPSHOT_COLUMNS = _cols("id:snapshot\nrepository:re\nstatus:s\nstart_epoch:ste\nstart_time:sti\nend_epoch:ete\n"
                         "end_time:eti\nduration:dur\nindices:i\nsuccessful_shards:ss\nfailed_shards:fs\n"
                         "total_shards:ts\n-reason:r")  # fmt: skip
FIELDDATA_COLUMNS = _cols("id\nhost:h\nip\nnode:n\nfield:f\nsize:s:bytes")
TASK_COLUMNS = _cols("""
-id
action:ac
task_id:ti
parent_task_id:pti
type:ty
start_time:start
timestamp:ts/hms/hhmmss
-running_time_ns
running_time:time
-node_id:ni
ip:i
-port:po
node:n
-version:v
-x_opaque_id:x
""")
# ``detailed``: ES adds the task description, shown by default
DETAILED_TASK_COLUMNS = [*TASK_COLUMNS, *_cols("description:desc")]
BREAKER_COLUMNS = _cols("""
node_id:id
-node_name:nn
breaker:br
limit:l:bytes
-limit_bytes:lb:int
estimated:e:bytes
-estimated_bytes:eb:int
tripped:t:int
-overhead:o
""")


async def cat_pending_tasks(request: Request) -> Response:
    return _cat(request, [], PENDING_COLUMNS, check_params(request, CAT_PARAMS))


async def cat_plugins(request: Request) -> Response:
    return _cat(request, [], PLUGIN_COLUMNS, check_params(request, CAT_PARAMS | {"include_bootstrap"}))


async def cat_repositories(request: Request) -> Response:
    return _cat(request, [], REPOSITORY_COLUMNS, check_params(request, CAT_PARAMS))


async def cat_snapshots(request: Request) -> Response:
    return _cat(request, [], SNAPSHOT_COLUMNS, check_params(request, CAT_PARAMS))


async def cat_fielddata(request: Request) -> Response:
    """One row per text field with fielddata loaded on the node (summed over its indices and shards);
    ``fields`` (path or parameter, comma-separated, wildcards) keeps only the matching fields."""
    params = check_params(request, CAT_PARAMS | {"fields"})
    cluster = cluster_of(request)
    metas = [m for m in cluster.master.state.indices.values() if m.is_open]
    sizes: dict[str, int] = {}
    for st in (await index_stats(request, metas)).values():
        for name, size in st.fielddata_sizes().items():
            sizes[name] = sizes.get(name, 0) + size
    wanted = request.path_params.get("fields") or params.get("fields")
    names = sorted(sizes) if not wanted else sorted(set(match_names(wanted, sorted(sizes))))
    rows = [{"id": cluster.node_id, "host": _host(request), "ip": _host(request), "node": cluster.node_name,
             "field": name, "size": sizes[name]} for name in names]  # fmt: skip
    return _cat(request, rows, FIELDDATA_COLUMNS, params)


async def cat_tasks(request: Request) -> Response:
    params = check_params(request, CAT_PARAMS | {"detailed", "actions", "nodes", "parent_task_id"})
    from server.handlers.tasks import listed_tasks

    rows = []
    for task in listed_tasks(request, {**params, "detailed": "true"}):
        info = task.info
        started = info["start_time_in_millis"] / 1000
        rows.append({
            "id": task.key, "action": info["action"], "task_id": task.key, "parent_task_id": "-",
            "type": info["type"], "start_time": info["start_time_in_millis"],
            "timestamp": time.strftime("%H:%M:%S", time.gmtime(started)),
            "running_time_ns": info["running_time_in_nanos"],
            "running_time": format_time_millis(info["running_time_in_nanos"] / 1e6),
            "node_id": _id(request), "ip": _host(request), "port": 9300,
            "node": cluster_of(request).node_name,
            "version": request.app.state.settings.version_number,
            "x_opaque_id": info.get("headers", {}).get("X-Opaque-Id", "-"),
            "description": info.get("description", ""),
        })  # fmt: skip
    return _cat(request, rows, DETAILED_TASK_COLUMNS if flag(params, "detailed") else TASK_COLUMNS, params)


async def cat_circuit_breaker(request: Request) -> Response:
    params = check_params(request, CAT_PARAMS)
    rows = [{"node_id": _id(request), "node_name": cluster_of(request).node_name, "breaker": name,
             "limit": limit, "limit_bytes": limit, "estimated": 0, "estimated_bytes": 0, "tripped": 0,
             "overhead": "1.0"}
            for name, limit in (("request", 644245094), ("fielddata", 429496729), ("in_flight_requests", 1073741824),
                                ("parent", 1020054732))]  # fmt: skip
    wanted = request.path_params.get("names")
    if wanted:
        chosen = set(match_names(wanted, [str(r["breaker"]) for r in rows]))
        rows = [r for r in rows if r["breaker"] in chosen]
    return _cat(request, rows, BREAKER_COLUMNS, params)


routes = [
    Route("/_cat", cat_help, methods=["GET"]),
    Route("/_cat/shards", cat_shards, methods=["GET"]),
    Route("/_cat/shards/{index}", cat_shards, methods=["GET"]),
    Route("/_cat/allocation", cat_allocation, methods=["GET"]),
    Route("/_cat/allocation/{node_id}", cat_allocation, methods=["GET"]),
    Route("/_cat/segments", cat_segments, methods=["GET"]),
    Route("/_cat/segments/{index}", cat_segments, methods=["GET"]),
    Route("/_cat/recovery", cat_recovery, methods=["GET"]),
    Route("/_cat/recovery/{index}", cat_recovery, methods=["GET"]),
    Route("/_cat/nodes", cat_nodes, methods=["GET"]),
    Route("/_cat/master", cat_master, methods=["GET"]),
    Route("/_cat/nodeattrs", cat_nodeattrs, methods=["GET"]),
    Route("/_cat/thread_pool", cat_thread_pool, methods=["GET"]),
    Route("/_cat/thread_pool/{thread_pools}", cat_thread_pool, methods=["GET"]),
    Route("/_cat/aliases", cat_aliases, methods=["GET"]),
    Route("/_cat/aliases/{alias}", cat_aliases, methods=["GET"]),
    Route("/_cat/templates", cat_templates, methods=["GET"]),
    Route("/_cat/templates/{name}", cat_templates, methods=["GET"]),
    Route("/_cat/component_templates", cat_component_templates, methods=["GET"]),
    Route("/_cat/component_templates/{name}", cat_component_templates, methods=["GET"]),
    Route("/_cat/pending_tasks", cat_pending_tasks, methods=["GET"]),
    Route("/_cat/plugins", cat_plugins, methods=["GET"]),
    Route("/_cat/repositories", cat_repositories, methods=["GET"]),
    Route("/_cat/snapshots", cat_snapshots, methods=["GET"]),
    Route("/_cat/snapshots/{repository}", cat_snapshots, methods=["GET"]),
    Route("/_cat/fielddata", cat_fielddata, methods=["GET"]),
    Route("/_cat/fielddata/{fields}", cat_fielddata, methods=["GET"]),
    Route("/_cat/tasks", cat_tasks, methods=["GET"]),
    Route("/_cat/circuit_breaker", cat_circuit_breaker, methods=["GET"]),
    Route("/_cat/circuit_breaker/{names}", cat_circuit_breaker, methods=["GET"]),
]
