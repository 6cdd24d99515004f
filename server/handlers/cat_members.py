"""``_cat`` tables of the cluster's members and shard copies: shards, allocation, recovery, nodes, master and
node attributes, from cluster state (every member, every copy). What is measured in a process (heap, load,
disk, document counts) is this node's, or asked of another member's leaf when the cluster can reach it; the
rest of another member's row is left empty.
"""

from __future__ import annotations

import os
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.cat import format_time_millis
from server.handlers.cat_common import CAT_PARAMS
from server.handlers.cat_common import cat_response as _cat
from server.handlers.cat_common import columns as _cols
from server.handlers.indices import index_stats, resolve
from server.handlers.members import NODE_ATTRIBUTES, Member, members, role_letters, select_members
from server.handlers.shard_view import recoveries, shard_views
from server.http import check_params, cluster_of

__all__ = ["cat_allocation", "cat_master", "cat_nodeattrs", "cat_nodes", "cat_recovery", "cat_shards"]


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
