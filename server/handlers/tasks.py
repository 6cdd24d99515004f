"""``GET /_tasks`` and ``POST /_tasks[/{task_id}]/_cancel``: the node's tasks, as ES's task management API.

The tasks are the background runs of this node (``_reindex``, ``_update_by_query``, ``_delete_by_query``,
``_forcemerge`` with ``wait_for_completion=false``) that are still running, plus the listing request itself
(``cluster:monitor/tasks/lists``), as ES lists its own request. ``actions`` (wildcards), ``nodes``,
``parent_task_id`` and ``detailed`` filter and shape the list; ``group_by`` is ``nodes`` (default),
``parents`` or ``none``; ``wait_for_completion`` waits (up to ``timeout``) for the matching tasks to end.
Cancelling stops a running task at its next step; the task then reports the cancellation as its error.
"""

from __future__ import annotations

import asyncio
import fnmatch
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.reindex import ReindexTask
from native.dates import parse_time_value
from native.errors import IllegalArgument, ResourceNotFound
from server.handlers.members import NODE_ATTRIBUTES, es_roles, local_member, select_members
from server.handlers.reindex import _task_info, _tasks
from server.http import check_params, cluster_of, es_json, flag

__all__ = ["Listed", "listed_tasks"]

LIST_ACTION = "cluster:monitor/tasks/lists"


class Listed:
    """One task as listed: a background run, or the listing request itself."""

    def __init__(self, info: dict[str, Any], task: ReindexTask | None = None) -> None:
        self.info = info
        self.task = task

    @property
    def key(self) -> str:
        return f"{self.info['node']}:{self.info['id']}"


def listed_tasks(request: Request, params: dict[str, str], *, include_self: bool = True) -> list[Listed]:
    """The tasks matching ``actions``, ``nodes`` and ``parent_task_id``, with or without this request."""
    registry = _tasks(request)
    own_id = cluster_of(request).node_id
    out = [Listed(_task_info(t, own_id), t) for t in registry.running()]
    if include_self:
        own: dict[str, Any] = {
            "node": own_id, "id": next(registry._ids), "type": "transport", "action": LIST_ACTION,
            "start_time_in_millis": int(time.time() * 1000), "running_time_in_nanos": 0, "cancellable": False,
            "headers": {"X-Opaque-Id": request.headers["x-opaque-id"]} if "x-opaque-id" in request.headers else {},
        }  # fmt: skip
        out.append(Listed(own))
    actions = [a.strip() for a in params.get("actions", "").split(",") if a.strip()]
    if actions:
        out = [t for t in out if any(fnmatch.fnmatchcase(t.info["action"], a) for a in actions)]
    nodes = [n for n in params.get("nodes", "").split(",") if n]
    if nodes and not any(m.local for m in select_members(request, nodes)):
        out = []
    parent = params.get("parent_task_id")
    if parent and parent != "-1":
        out = []  # no task here has a parent
    if not flag(params, "detailed"):
        for t in out:
            t.info = {k: v for k, v in t.info.items() if k not in ("description", "status")}
    return out


def _node_entry(request: Request) -> dict[str, Any]:
    me = local_member(request)
    return {"name": me.name, "transport_address": me.transport_address, "host": me.host,
            "ip": me.transport_address, "roles": es_roles(me.node), "attributes": dict(NODE_ATTRIBUTES)}  # fmt: skip


def _grouped(request: Request, tasks: list[Listed], group_by: str) -> dict[str, Any]:
    if group_by == "none":
        return {"tasks": [t.info for t in tasks]}
    if group_by == "parents":
        return {"tasks": {t.key: t.info for t in tasks}}
    if not tasks:
        return {"nodes": {}}
    return {"nodes": {cluster_of(request).node_id: {**_node_entry(request), "tasks": {t.key: t.info for t in tasks}}}}


def _group_by(params: dict[str, str]) -> str:
    group_by = params.get("group_by", "nodes")
    if group_by not in ("nodes", "parents", "none"):
        raise IllegalArgument(f"unknown group_by [{group_by}], allowed values are [nodes, parents, none]")
    return group_by


async def list_tasks(request: Request) -> Response:
    params = check_params(request, {"actions", "detailed", "parent_task_id", "nodes", "group_by",
                                    "wait_for_completion", "timeout"})  # fmt: skip
    group_by = _group_by(params)
    tasks = listed_tasks(request, params)
    if flag(params, "wait_for_completion"):
        handles = [t.task.handle for t in tasks if t.task is not None and t.task.handle is not None]
        if handles:
            timeout = parse_time_value(params.get("timeout", "30s"))
            await asyncio.wait([asyncio.shield(h) for h in handles], timeout=None if timeout < 0 else timeout)
        tasks = [t for t in tasks if t.task is None or t.task.completed]
    return es_json(request, _grouped(request, tasks, group_by))


async def cancel_tasks(request: Request) -> Response:
    params = check_params(request, {"actions", "nodes", "parent_task_id", "wait_for_completion", "group_by"})
    group_by = _group_by(params)
    wanted = request.path_params.get("task_id")
    tasks = [t for t in listed_tasks(request, params, include_self=False) if wanted is None or t.key == wanted]
    if wanted is not None and not tasks:
        raise ResourceNotFound(f"task [{wanted}] is not found")
    for t in tasks:
        if t.task is not None and t.task.handle is not None and not t.task.handle.done():
            t.task.handle.cancel()
            t.info["cancelled"] = True
    if flag(params, "wait_for_completion"):
        handles = [t.task.handle for t in tasks if t.task is not None and t.task.handle is not None]
        if handles:
            await asyncio.wait(handles)
    return es_json(request, _grouped(request, tasks, group_by))


routes = [
    Route("/_tasks", list_tasks, methods=["GET"]),
    Route("/_tasks/_cancel", cancel_tasks, methods=["POST"]),
    Route("/_tasks/{task_id}/_cancel", cancel_tasks, methods=["POST"]),
]
