"""The ``_cat`` APIs beyond indices/count/health: nodes, shards, aliases, templates and the rest.

Columns follow ES's ``RestTable`` definitions (names, aliases, defaults). Nodes, shards, allocation and the
master come from cluster state (every member, every copy); what is measured in a process (heap, load, disk,
document counts of local shards) is this node's, and another member's is left empty, with numbers Quidditch
does not track reported as zero.
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
from server.cat import CatColumn, format_time_millis, render_cat
from server.handlers.index_stats import segment_name
from server.handlers.indices import index_stats, resolve
from server.handlers.members import NODE_ATTRIBUTES, Member, members, role_letters, select_members
from server.handlers.node_info import thread_pools
from server.handlers.shard_view import recoveries, shard_views
from server.http import check_params, cluster_of, flag

CAT_PARAMS = {"v", "h", "s", "help", "bytes", "time", "local", "format"}


def _cat(request: Request, rows: list[dict[str, Any]], columns: list[CatColumn], params: dict[str, str]) -> Response:
    content, media = render_cat(rows, columns, params)
    return Response(content, media_type=media)


def _cols(spec: str) -> list[CatColumn]:
    """``name:alias1/alias2:kind`` per line; a leading ``-`` marks a non-default column."""
    out = []
    for line in spec.strip().splitlines():
        name, aliases, kind = [*line.strip().split(":"), "", ""][:3]
        default = not name.startswith("-")
        name = name.lstrip("-")
        out.append(CatColumn(name, tuple(a for a in aliases.split("/") if a), default=default, kind=kind or "str"))  # type: ignore[arg-type]
    return out


def _id(request: Request) -> str:
    """This node's id (from its data directory; cluster state lists it under the same id)."""
    return cluster_of(request).node_id


def _host(request: Request) -> str:
    host: str = request.app.state.settings.host
    return host


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
SHARD_COLUMNS = _cols("""
index:i/idx
shard:s/sh
prirep:p/pr/primaryOrReplica
state:st
docs:d/dc:int
store:sto:bytes
dataset::bytes
ip
id
node:n
-sync_id
-unassigned.reason:ur
-unassigned.at:ua
-unassigned.for:uf
-unassigned.details:ud
""")


async def cat_shards(request: Request) -> Response:
    params = check_params(request, CAT_PARAMS)
    params.setdefault("expand_wildcards", "all")
    metas = resolve(request, request.path_params.get("index"), params)
    stats = await index_stats(request, metas)
    cluster = cluster_of(request)
    by_id = {m.id: m for m in members(request)}
    rows = []
    for m in metas:
        views_of = shard_views(request, m)
        # ``index_stats`` asks this node's copy when it holds one, else the primary's node
        measured = {s: cluster.node_id if any(v.node == cluster.node_id for v in views)
                    else next((v.node for v in views if v.primary and v.node), None)
                    for s, views in views_of.items()}  # fmt: skip
        for s, views in views_of.items():
            for v in views:
                prirep = "p" if v.primary else "r"
                if v.node is None:
                    row: dict[str, Any] = {"index": m.name, "shard": s, "prirep": prirep, "state": "UNASSIGNED",
                                           "unassigned.reason": v.reason, "unassigned.at": _at(v.at_millis),
                                           "unassigned.for": _since(v.at_millis)}  # fmt: skip
                    if v.details:  # a copy that failed: why
                        row["unassigned.details"] = v.details
                    rows.append(row)
                    continue
                node = by_id.get(v.node)
                row = {"index": m.name, "shard": s, "prirep": prirep, "state": v.state, "id": v.node,
                       "ip": node.host if node else None,
                       "node": _node_label(v.node, v.relocating_node, by_id)}  # fmt: skip
                if v.node == measured.get(s) and s in stats[m.name].shards:  # the copy whose leaf was asked
                    docs, size = stats[m.name].shards[s]
                    row.update({"docs": docs, "store": size, "dataset": size})
                rows.append(row)
    return _cat(request, rows, SHARD_COLUMNS, params)


def _node_label(node: str, relocating_to: str | None, by_id: dict[str, Member]) -> str:
    """The ``node`` column: the node's name, and for a move ``name -> ip id target-name`` as ES prints it."""
    name = by_id[node].name if node in by_id else node
    if not relocating_to:
        return name
    target = by_id.get(relocating_to)
    return f"{name} -> {target.host if target else ''} {relocating_to} {target.name if target else relocating_to}"


def _at(millis: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(millis / 1000)) + f".{millis % 1000:03d}Z"


def _since(millis: int) -> str:
    """The time since ``millis`` the way ``_cat`` prints a duration (``unassigned.for``)."""
    elapsed = max(0, int(time.time() * 1000) - millis)
    if elapsed < 1000:
        return f"{elapsed}ms"
    return f"{elapsed / 1000:.1f}s" if elapsed < 60_000 else f"{elapsed / 60_000:.1f}m"


ALLOCATION_COLUMNS = _cols("""
shards:s:int
-shards.undesired
-write_load.forecast
-disk.indices.forecast:dif:bytes
disk.indices:di/diskIndices:bytes
disk.used:du/diskUsed:bytes
disk.avail:da/diskAvail:bytes
disk.total:dt/diskTotal:bytes
disk.percent:dp/diskPercent:int
host:h
ip
node:n
-node.role:r/role/nodeRole
""")


async def cat_allocation(request: Request) -> Response:
    """One row per data node (its copies; disk measured for this node), then ``UNASSIGNED`` copies."""
    params = check_params(request, CAT_PARAMS)
    cluster = cluster_of(request)
    metas = [m for m in cluster.master.state.indices.values() if m.is_open]
    stats = await index_stats(request, metas)
    disk = os.statvfs(cluster.data_dir)
    total, avail = disk.f_blocks * disk.f_frsize, disk.f_bavail * disk.f_frsize
    views = [v for m in metas for copies in shard_views(request, m).values() for v in copies]
    rows: list[dict[str, Any]] = []
    node_ids = [n for n in request.path_params.get("node_id", "").split(",") if n]
    chosen = select_members(request, node_ids) if node_ids else members(request)
    for member in chosen:
        if not member.node.has_role("data"):
            continue
        row: dict[str, Any] = {
            "shards": sum(v.node == member.id for v in views), "host": member.host, "ip": member.host,
            "node": member.name, "node.role": role_letters(member.node), "shards.undesired": 0,
            "write_load.forecast": 0.0,
        }  # fmt: skip
        if member.local:
            row.update({
                "disk.indices": sum(s.size for s in stats.values()), "disk.used": total - avail, "disk.avail": avail,
                "disk.total": total, "disk.percent": int((total - avail) * 100 / total) if total else 0,
                "disk.indices.forecast": sum(s.size for s in stats.values()),
            })  # fmt: skip
        rows.append(row)
    unassigned = sum(v.node is None for v in views)
    if unassigned and not node_ids:
        rows.append({"shards": unassigned, "node": "UNASSIGNED"})
    return _cat(request, rows, ALLOCATION_COLUMNS, params)


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


RECOVERY_COLUMNS = _cols("""
index:i/idx
shard:s/sh
start_time:start
start_time_millis:start_millis
stop_time:stop
stop_time_millis:stop_millis
time:t/ti:time
type:ty
stage:st
source_host:shost
source_node:snode
target_host:thost
target_node:tnode
repository:rep
snapshot:snap
files:f
files_recovered:fr
files_percent:fp
files_total:tf
bytes:b
bytes_recovered:br
bytes_percent:bp
bytes_total:tb
translog_ops:to
translog_ops_recovered:tor
translog_ops_percent:top
""")


async def cat_recovery(request: Request) -> Response:
    params = check_params(request, CAT_PARAMS | {"active_only", "detailed"})
    # closed indices keep their shards (ES 7.2+); closing re-opens them from the existing store
    metas = resolve(request, request.path_params.get("index"), params, allow_closed=True)
    state = cluster_of(request).master.state
    everyone = {m.id: m for m in members(request)}
    rows = []
    for m in metas:
        for v in recoveries(state, m):
            if params.get("active_only") == "true" and v.stage == "DONE":
                continue
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(m.creation_date / 1000))
            kind = v.type.lower() if m.is_open else "existing_store"
            source, target = everyone.get(v.source or ""), everyone.get(v.target)
            done = v.stage == "DONE"
            rows.append({"index": m.name, "shard": v.shard, "start_time": stamp,
                         "start_time_millis": m.creation_date,
                         "stop_time": stamp if done else None, "stop_time_millis": m.creation_date if done else None,
                         "time": 0, "type": kind, "stage": v.stage.lower(),
                         "source_host": source.host if source else "n/a",
                         "source_node": source.name if source else "n/a",
                         "target_host": target.host if target else "n/a",
                         "target_node": target.name if target else v.target, "repository": "n/a", "snapshot": "n/a",
                         "files": 0, "files_recovered": 0, "files_percent": "0.0%", "files_total": 0, "bytes": 0,
                         "bytes_recovered": 0, "bytes_percent": "0.0%", "bytes_total": 0, "translog_ops": 0,
                         "translog_ops_recovered": 0,
                         "translog_ops_percent": "100.0%" if done else "0.0%"})  # fmt: skip
    return _cat(request, rows, RECOVERY_COLUMNS, params)


# -- nodes ------------------------------------------------------------------------------------------------
NODE_COLUMNS = _cols("""
-id:nodeId
-pid:p
ip:i
-port:po
-http_address:http
-version:v
-heap.current:hc/heapCurrent:bytes
heap.percent:hp/heapPercent:int
-heap.max:hm/heapMax:bytes
-ram.current:rc/ramCurrent:bytes
ram.percent:rp/ramPercent:int
-ram.max:rm/ramMax:bytes
-file_desc.current:fdc/fileDescriptorCurrent:int
-file_desc.percent:fdp/fileDescriptorPercent:int
-file_desc.max:fdm/fileDescriptorMax:int
cpu:int
load_1m:l
load_5m:l
load_15m:l
-uptime:u
node.role:r/role/nodeRole
master:m
name:n
-disk.total:dt/diskTotal:bytes
-disk.used:du/diskUsed:bytes
-disk.avail:d/da/disk/diskAvail:bytes
-disk.used_percent:dup/diskUsedPercent
""")


def _node_row(request: Request, member: Member, full_id: bool) -> dict[str, Any]:
    """One member. This node is measured: process RSS (reported as the heap, as ``_nodes/stats`` does), RAM
    from ``/proc/meminfo``, file descriptors, load, uptime and the data path's disk. Another member shows what
    cluster state knows of it (id, name, roles, addresses)."""
    settings = request.app.state.settings
    row: dict[str, Any] = {
        "id": member.id if full_id else member.id[:4], "ip": member.host, "port": member.port,
        "http_address": member.http_address or None, "version": settings.version_number,
        "node.role": role_letters(member.node), "master": "*" if member.master else "-", "name": member.name,
    }  # fmt: skip
    if not member.local:
        return row
    import resource
    import shutil

    from server.handlers.cluster_stats import memory_stats
    from server.handlers.node_stats import STARTED, rss_bytes

    cluster = cluster_of(request)
    load = os.getloadavg()
    mem = memory_stats()
    disk = shutil.disk_usage(cluster.data_dir)
    fds = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0
    fd_max = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    used = disk.total - disk.free
    row.update({
        "pid": os.getpid(), "heap.current": rss_bytes(), "heap.percent": 0, "heap.max": 0,
        "ram.current": mem["used_in_bytes"], "ram.percent": mem["used_percent"], "ram.max": mem["total_in_bytes"],
        "file_desc.current": fds, "file_desc.max": fd_max,
        "file_desc.percent": round(100 * fds / fd_max) if fd_max > 0 else 0,
        "cpu": 0, "load_1m": f"{load[0]:.2f}", "load_5m": f"{load[1]:.2f}", "load_15m": f"{load[2]:.2f}",
        "uptime": format_time_millis((time.time() - STARTED) * 1000),
        "disk.total": disk.total, "disk.used": used, "disk.avail": disk.free,
        "disk.used_percent": f"{100 * used / disk.total:.2f}" if disk.total else "0.00",
    })  # fmt: skip
    return row


async def cat_nodes(request: Request) -> Response:
    params = check_params(request, CAT_PARAMS | {"full_id", "include_unloaded_segments"})
    full_id = params.get("full_id") == "true"
    return _cat(request, [_node_row(request, m, full_id) for m in members(request)], NODE_COLUMNS, params)


MASTER_COLUMNS = _cols("id\nhost:h\nip\nnode:n")


async def cat_master(request: Request) -> Response:
    params = check_params(request, CAT_PARAMS)
    rows = [{"id": m.id, "host": m.host, "ip": m.host, "node": m.name} for m in members(request) if m.master]
    return _cat(request, rows, MASTER_COLUMNS, params)


NODEATTR_COLUMNS = _cols("node\n-id\n-pid\nhost:h\nip:i\n-port\nattr\nvalue")


async def cat_nodeattrs(request: Request) -> Response:
    params = check_params(request, CAT_PARAMS)
    # the same attributes ``GET _nodes`` reports (``xpack.installed``: ``GET /_xpack`` answers)
    rows = [{"node": m.name, "id": m.id, "pid": os.getpid() if m.local else None, "host": m.host, "ip": m.host,
             "port": m.port, "attr": attr, "value": value}
            for m in members(request) for attr, value in {**NODE_ATTRIBUTES, **m.node.attributes}.items()]  # fmt: skip
    return _cat(request, rows, NODEATTR_COLUMNS, params)


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
