"""``POST /_reindex``, its background task (``GET /_tasks/{id}``) and ``POST /_reindex/{id}/_rethrottle``."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.reindex import DEFAULT_BATCH, ReindexRequest, ReindexTask, ReindexTasks, reindex
from cluster.search_request import parse_sort, parse_source_filter
from cluster.throttle import Throttle, parse_requests_per_second
from native.errors import ActionRequestValidation, IllegalArgument, ParsingError, ResourceNotFound, ScriptingDisabled
from native.versioning import INTERNAL, parse_version_type, validation_error
from server.handlers.cluster_admin import _node
from server.handlers.indices import resolve
from server.http import check_params, cluster_of, es_json, flag, json_body

PARAMS = {"refresh", "wait_for_completion", "requests_per_second", "slices", "max_docs", "scroll",
          "require_alias", "timeout", "wait_for_active_shards"}  # fmt: skip
BODY_KEYS = {"source", "dest", "conflicts", "max_docs", "size", "script"}
SOURCE_KEYS = {"index", "query", "_source", "size", "sort", "slice", "remote", "runtime_mappings"}
DEST_KEYS = {"index", "op_type", "version_type", "routing", "pipeline", "type"}
ACTION = "indices:data/write/reindex"


def _tasks(request: Request) -> ReindexTasks:
    state = request.app.state
    if not hasattr(state, "reindex_tasks"):
        state.reindex_tasks = ReindexTasks()
    tasks: ReindexTasks = state.reindex_tasks
    return tasks


def _object(body: dict[str, Any], key: str, allowed: set[str]) -> dict[str, Any]:
    value = body.get(key)
    if not isinstance(value, dict):
        raise ParsingError(f"[reindex] failed to parse field [{key}]")
    for name in value:
        if name not in allowed:
            raise ParsingError(f"[{key}] unknown field [{name}]")
    return value


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise IllegalArgument(f"Failed to parse int parameter [{name}] with value [{value}]") from None


def parse_reindex(request: Request, body: Any, params: dict[str, str]) -> ReindexRequest:
    if not isinstance(body, dict):
        raise ParsingError("request body is required")
    for key in body:
        if key not in BODY_KEYS:
            raise ParsingError(f"[reindex] unknown field [{key}]")
    if body.get("script") is not None:
        raise ScriptingDisabled("cannot execute [inline] scripts")
    source = _object(body, "source", SOURCE_KEYS)
    dest = _object(body, "dest", DEST_KEYS)
    if source.get("remote") is not None:
        raise IllegalArgument("reindex from [remote] is not supported")
    if source.get("runtime_mappings"):
        raise ScriptingDisabled("cannot execute [inline] scripts")
    problems: list[str] = []
    raw_index = source.get("index")
    if isinstance(raw_index, list):
        raw_index = ",".join(str(i) for i in raw_index)
    if not raw_index:
        problems.append("use _all if you really want to copy from all existing indexes")
    dest_index = dest.get("index")
    if not dest_index:
        problems.append("index must be specified")
    conflicts = body.get("conflicts", "abort")
    if conflicts not in ("abort", "proceed"):
        problems.append(f'conflicts may only be "proceed" or "abort" but was [{conflicts}]')
    raw_max = body.get("max_docs", body.get("size", params.get("max_docs")))
    max_docs = _int(raw_max, "max_docs") if raw_max is not None else None
    if max_docs is not None and max_docs < 0:
        problems.append(f"maxDocs should be greater than 0 if the request is limited to some number of documents or "
                        f"-1 if it isn't but it was [{max_docs}]")  # fmt: skip
    batch = _int(source.get("size", DEFAULT_BATCH), "size")
    if batch <= 0:
        problems.append(f"batch size must be greater than 0 but was [{batch}]")
    if problems:
        raise ActionRequestValidation("Validation Failed: " + "".join(f"{i}: {p};" for i, p in enumerate(problems, 1)))
    op_type = str(dest.get("op_type", "index"))
    if op_type not in ("index", "create"):
        raise IllegalArgument(f"opType must be 'create' or 'index', found: [{op_type}]")
    version_type = parse_version_type(str(dest["version_type"]) if dest.get("version_type") is not None else None)
    if op_type == "create" and version_type != INTERNAL:
        raise validation_error(["create operations only support internal versioning. use index instead"])
    if dest.get("pipeline"):
        raise IllegalArgument(f"pipeline with id [{dest['pipeline']}] does not exist")
    routing = dest.get("routing")
    if routing is not None and routing not in ("keep", "discard") and not str(routing).startswith("="):
        raise IllegalArgument(f"Unsupported routing command [{routing}]")
    metas = resolve(request, str(raw_index), params)
    writes = cluster_of(request).writes
    target = dest_index if dest_index in writes.master.state.indices else None
    if target is None:
        try:
            target = writes._write_target(str(dest_index), False)
        except IllegalArgument:
            target = str(dest_index)
    if any(m.name == target for m in metas):
        raise ActionRequestValidation(
            f"Validation Failed: 1: reindex cannot write into an index its reading from [{target}];"
        )
    return ReindexRequest(
        sources=tuple(metas),
        dest=str(dest_index),
        query=source.get("query"),
        source_filter=parse_source_filter(source.get("_source")),
        sort=tuple(parse_sort(source.get("sort"))),
        batch_size=batch,
        max_docs=max_docs,
        op_type=op_type,
        routing=str(routing) if routing is not None else None,
        abort_on_conflict=conflicts == "abort",
        refresh=flag(params, "refresh"),
        version_type=version_type,
    )


def _status(result: dict[str, Any]) -> int:
    return max((f["status"] for f in result["failures"]), default=200)


async def reindex_handler(request: Request) -> Response:
    params = check_params(request, PARAMS)
    body = await json_body(request, required=True)
    parsed = parse_reindex(request, body, params)
    cluster = cluster_of(request)
    cluster.root.parse(parsed.query)  # a bad query is a 400 now, not a failed background task
    throttle = Throttle(parse_requests_per_second(params.get("requests_per_second")))
    if not flag(params, "wait_for_completion", True):
        sources = ", ".join(m.name for m in parsed.sources)
        work = reindex(cluster.root, cluster.writes, parsed, throttle)
        task = _tasks(request).start(f"reindex from [{sources}] to [{parsed.dest}]", work, throttle=throttle)
        return es_json(request, {"task": f"{cluster_of(request).node_id}:{task.id}"})
    result = await reindex(cluster.root, cluster.writes, parsed, throttle)
    return es_json(request, result, status=_status(result))


def _task_or_404(request: Request) -> ReindexTask:
    raw = request.path_params["task_id"]
    node, _, number = raw.rpartition(":")
    if not node or not number.isdigit():
        raise IllegalArgument(f"malformed task id {raw}")
    task = _tasks(request).get(int(number)) if node == cluster_of(request).node_id else None
    if task is None:
        raise ResourceNotFound(f"task [{raw}] isn't running and hasn't stored its results")
    return task


def _task_info(task: ReindexTask, node_id: str) -> dict[str, Any]:
    status = dict(task.result) if task.result is not None else {"total": 0, "updated": 0, "created": 0,
                                                                 "deleted": 0, "batches": 0,
                                                                 **task.throttle.status()}  # fmt: skip
    for key in ("took", "timed_out", "failures"):
        status.pop(key, None)
    running_ns = int((time.monotonic() - task.started) * 1e9) if not task.completed else 0
    return {
        "node": node_id, "id": task.id, "type": "transport", "action": task.action, "status": status,
        "description": task.description, "start_time_in_millis": task.start_millis,
        "running_time_in_nanos": max(running_ns, 0), "cancellable": True, "cancelled": False, "headers": {},
    }  # fmt: skip


async def get_task(request: Request) -> Response:
    params = check_params(request, {"wait_for_completion", "timeout"})
    task = _task_or_404(request)
    if flag(params, "wait_for_completion") and task.handle is not None:
        await asyncio.shield(task.handle)
    body: dict[str, Any] = {"completed": task.completed, "task": _task_info(task, cluster_of(request).node_id)}
    if task.result is not None:
        body["response"] = task.result
    elif task.error is not None:
        err = task.error
        body["error"] = err.to_dict() if hasattr(err, "to_dict") else {"type": "exception", "reason": str(err)}
    return es_json(request, body)


async def rethrottle(request: Request) -> Response:
    params = check_params(request, {"requests_per_second"})
    if "requests_per_second" not in params:
        raise ActionRequestValidation("Validation Failed: 1: requests_per_second must be set;")
    rate = parse_requests_per_second(params["requests_per_second"])
    node_id, _, number = request.path_params["task_id"].rpartition(":")
    if node_id and number.isdigit() and node_id != cluster_of(request).node_id:  # as ES: the node's failure, in a 200
        cause = {"type": "no_such_node_exception", "reason": f"No such node [{node_id}]", "node_id": node_id}
        failure = {"type": "failed_node_exception", "reason": f"Failed node [{node_id}]", "node_id": node_id,
                   "caused_by": cause}  # fmt: skip
        return es_json(request, {"nodes": {}, "node_failures": [failure]})
    task = _task_or_404(request)
    task.throttle.set_rate(rate)
    node = _node(request) | {"host": request.app.state.settings.host, "ip": request.app.state.settings.host}
    own = cluster_of(request).node_id
    node["tasks"] = {f"{own}:{task.id}": _task_info(task, own)}
    return es_json(request, {"nodes": {own: node}})


routes = [
    Route("/_reindex", reindex_handler, methods=["POST"]),
    Route("/_reindex/{task_id}/_rethrottle", rethrottle, methods=["POST"]),
    Route("/_delete_by_query/{task_id}/_rethrottle", rethrottle, methods=["POST"]),
    Route("/_update_by_query/{task_id}/_rethrottle", rethrottle, methods=["POST"]),
    Route("/_tasks/{task_id}", get_task, methods=["GET"]),
]
