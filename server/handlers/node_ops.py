"""``GET /_nodes/hot_threads`` (plain text, as ES) and ``POST /_nodes/reload_secure_settings``.

Hot threads are measured, not invented: each thread's CPU time is read from ``/proc/self/task/<tid>/stat``
at the start and end of ``interval``, the busiest ``threads`` are listed with their share of the interval and
their Python stack. ``type=cpu`` is the only kind a Python process can measure; ``wait``, ``block`` and ``mem``
are accepted (ES knows them) and answered with the header and a line saying the node does not measure them.

Quidditch keeps no secure-settings keystore: reloading succeeds with nothing to reload, and a password is
wrong by definition (the empty keystore has none), which ES reports per node as a ``security_exception``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
import traceback
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from cluster.embedded import EmbeddedCluster
from native.dates import parse_time_value
from native.errors import IllegalArgument
from server.handlers.members import NODE_ATTRIBUTES, local_member, role_letters, select_members
from server.http import check_params, es_json, json_body

_TYPES = ("cpu", "wait", "block", "mem")
_SORTS = ("cpu", "total")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _thread_cpu_seconds(native_id: int) -> float | None:
    try:
        with open(f"/proc/self/task/{native_id}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14 and 15 of stat)


def _cpu_times() -> dict[int, float]:
    out: dict[int, float] = {}
    for thread in threading.enumerate():
        if thread.native_id is not None:
            seconds = _thread_cpu_seconds(thread.native_id)
            if seconds is not None:
                out[thread.native_id] = seconds
    return out


def _int_param(params: dict[str, str], name: str, default: int) -> int:
    try:
        return int(params.get(name, default))
    except ValueError:
        raise IllegalArgument(f"Failed to parse int parameter [{name}] with value [{params[name]}]") from None


async def hot_threads(request: Request) -> Response:
    params = check_params(request, {"threads", "interval", "snapshots", "type", "sort", "ignore_idle_threads",
                                    "node_id"})  # fmt: skip
    kind = params.get("type", "cpu")
    if kind not in _TYPES:
        raise IllegalArgument(f"type not supported [{kind}]")
    sort = params.get("sort", "total")
    if sort not in _SORTS:
        raise IllegalArgument(f"sort order not supported [{sort}]")
    if sort == "cpu" and kind != "cpu":
        raise IllegalArgument("sort order [cpu] can only be used with type [cpu]")
    threads = _int_param(params, "threads", 3)
    snapshots = _int_param(params, "snapshots", 10)
    interval_text = params.get("interval", "500ms")
    interval = parse_time_value(interval_text)
    ignore_idle = params.get("ignore_idle_threads", "true") != "false"
    host = request.app.state.settings.host
    node_ids = [i for i in request.path_params.get("node_id", "_all").split(",") if i]
    if not _selects_me(request, node_ids):
        return PlainTextResponse("")
    me = local_member(request)
    attrs = ", ".join(f"{k}={v}" for k, v in NODE_ATTRIBUTES.items())
    lines = [
        f"::: {{{me.name}}}{{{me.id}}}{{{me.id}}}{{{host}}}{{{host}}}{{{me.transport_address}}}"
        f"{{{role_letters(me.node)}}}{{{attrs}}}",
        f"   Hot threads at {datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}Z, interval={interval_text}, "
        f"busiestThreads={threads}, ignoreIdleThreads={str(ignore_idle).lower()}:",
        "   ",
    ]
    if kind != "cpu":
        lines.append(f"   [{kind}] usage is not measured by this node: it reports [cpu] only")
        return PlainTextResponse("\n".join(lines) + "\n")
    before = _cpu_times()
    await asyncio.sleep(interval)
    after = _cpu_times()
    frames = sys._current_frames()
    names = {t.native_id: t for t in threading.enumerate() if t.native_id is not None}
    used = sorted(((after[tid] - before.get(tid, after[tid]), tid) for tid in after if tid in names), reverse=True)
    interval_ms = interval * 1000
    for seconds, tid in used[:threads]:
        if ignore_idle and seconds <= 0:
            continue
        thread = names[tid]
        share = 100.0 * seconds / interval if interval > 0 else 0.0
        lines.append(f"   {share:.1f}% [cpu={share:.1f}%, other=0.0%] ({seconds * 1000:.1f}ms out of "
                     f"{interval_ms:.0f}ms) cpu usage by thread '{thread.name}'")  # fmt: skip
        frame = frames.get(thread.ident) if thread.ident is not None else None
        stack = traceback.extract_stack(frame) if frame is not None else []
        lines.append(f"     {snapshots}/{snapshots} snapshots sharing following {len(stack)} elements")
        lines.extend(f"       {f.name}({os.path.basename(f.filename)}:{f.lineno})" for f in reversed(stack))
        lines.append("   ")
    return PlainTextResponse("\n".join(lines) + "\n")


async def reload_secure_settings(request: Request) -> Response:
    check_params(request, {"node_id"})
    body = await json_body(request) or {}
    if not isinstance(body, dict):
        raise IllegalArgument("request body must be an object")
    unknown = [k for k in body if k != "secure_settings_password"]
    if unknown:
        raise IllegalArgument(f"[reload_secure_settings] unknown field [{unknown[0]}]")
    cluster: EmbeddedCluster = request.app.state.cluster
    node_ids = [i for i in request.path_params.get("node_id", "_all").split(",") if i]
    nodes: dict[str, Any] = {}
    if _selects_me(request, node_ids):
        node: dict[str, Any] = {"name": cluster.node_name}
        if body.get("secure_settings_password"):
            node["reload_exception"] = {"type": "security_exception",
                                        "reason": "Provided keystore password was incorrect"}  # fmt: skip
        nodes[cluster.node_id] = node
    return es_json(request, {
        "_nodes": {"total": len(nodes), "successful": len(nodes), "failed": 0},
        "cluster_name": cluster.cluster_name,
        "nodes": nodes,
    })  # fmt: skip


def _selects_me(request: Request, node_ids: list[str]) -> bool:
    """Whether ``node_ids`` names this node (these APIs act on the process that answers)."""
    return any(m.local for m in select_members(request, node_ids))


routes = [
    Route("/_nodes/hot_threads", hot_threads, methods=["GET"]),
    Route("/_nodes/{node_id}/hot_threads", hot_threads, methods=["GET"]),
    Route("/_nodes/reload_secure_settings", reload_secure_settings, methods=["POST"]),
    Route("/_nodes/{node_id}/reload_secure_settings", reload_secure_settings, methods=["POST"]),
]


async def nodes_usage(request: Request) -> Response:
    """``GET /_nodes/usage``: the REST handlers this node served since it started, by handler name (ES keys
    them by its own action names; these are Quidditch's handlers). Aggregation usage is not recorded, so the
    ``aggregations`` metric is refused by name."""
    check_params(request)
    metric = request.path_params.get("metric", "_all")
    metrics = {m.strip() for m in metric.split(",") if m.strip()}
    for name in metrics:
        if name not in ("_all", "rest_actions"):
            raise IllegalArgument(f"request [{request.url.path}] contains unrecognized metric: [{name}]"
                                  if name != "aggregations" else "[aggregations] usage is not recorded by this node")
    cluster: EmbeddedCluster = request.app.state.cluster
    clients = request.app.state.http_clients
    node_ids = [i for i in request.path_params.get("node_id", "_all").split(",") if i]
    nodes: dict[str, Any] = {}
    if _selects_me(request, node_ids):
        nodes[cluster.node_id] = {"timestamp": int(time.time() * 1000), "since": clients.since,
                          "rest_actions": dict(sorted(clients.rest_actions.items()))}  # fmt: skip
    return es_json(request, {
        "_nodes": {"total": len(nodes), "successful": len(nodes), "failed": 0},
        "cluster_name": cluster.cluster_name,
        "nodes": nodes,
    })  # fmt: skip


usage_routes = [
    Route("/_nodes/usage", nodes_usage, methods=["GET"]),
    Route("/_nodes/usage/{metric}", nodes_usage, methods=["GET"]),
    Route("/_nodes/{node_id}/usage", nodes_usage, methods=["GET"]),
    Route("/_nodes/{node_id}/usage/{metric}", nodes_usage, methods=["GET"]),
]
