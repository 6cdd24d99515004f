"""``POST /{index}/_delete_by_query`` and ``POST /{index}/_update_by_query``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.by_query import PAGE, by_query
from cluster.embedded import EmbeddedCluster
from cluster.search_request import routing_values
from cluster.throttle import Throttle, parse_requests_per_second
from native.errors import IllegalArgument, ParsingError, ScriptingDisabled
from server.handlers.indices import resolve
from server.handlers.reindex import _tasks
from server.http import check_params, cluster_of, es_json, flag, json_body

PARAMS = {"refresh", "conflicts", "max_docs", "q", "df", "default_operator", "analyzer", "analyze_wildcard",
          "lenient", "routing", "scroll", "scroll_size", "slices", "wait_for_completion", "requests_per_second",
          "search_timeout", "pipeline", "version", "from", "size", "sort"}  # fmt: skip


async def _run(request: Request, action: str) -> Response:
    params = check_params(request, PARAMS)
    body = await json_body(request) or {}
    if not isinstance(body, dict):
        raise ParsingError("request body must be an object")
    for key in body:
        if key == "script":
            raise ScriptingDisabled("cannot execute [inline] scripts")
        if key not in ("query", "max_docs", "conflicts", "_source", "size", "sort", "slice"):
            raise ParsingError(f"Unknown key for a START_OBJECT in [{key}].")
    if body.get("slice"):  # each worker of a manual slicing would otherwise process every document
        raise IllegalArgument(f"[slice] is not supported in a {action_name(action)}-by-query request by this server")
    if params.get("pipeline", "_none") != "_none":  # ingest pipelines are not built yet: none can exist
        raise IllegalArgument(f"pipeline with id [{params['pipeline']}] does not exist")
    query = body.get("query")
    if "q" in params:
        query = {"query_string": {"query": params["q"]}}
        if "df" in params:
            query["query_string"]["default_field"] = params["df"]
    conflicts = body.get("conflicts", params.get("conflicts", "abort"))
    if conflicts not in ("abort", "proceed"):
        raise IllegalArgument(f'conflicts may only be "proceed" or "abort" but was [{conflicts}]')
    max_docs = body.get("max_docs", params.get("max_docs"))
    cluster: EmbeddedCluster = request.app.state.cluster
    metas = resolve(request, request.path_params["index"], params)
    background = not flag(params, "wait_for_completion", True)
    throttle = Throttle(parse_requests_per_second(params.get("requests_per_second")))
    if background:
        cluster.root.parse(query)  # a bad query is a 400 now, not a failed background task
    work = by_query(
        cluster.root,
        cluster.writes,
        metas,
        query,
        action=action,
        refresh=flag(params, "refresh"),
        abort_on_conflict=conflicts == "abort",
        max_docs=int(max_docs) if max_docs is not None else None,
        routing=routing_values(params),
        batch_size=_batch_size(body, params),
        throttle=throttle,
    )
    if background:
        kind = action_name(action)
        names = ", ".join(m.name for m in metas)
        task = _tasks(request).start(f"{kind}-by-query [{names}]", work, action=f"indices:data/write/{kind}/byquery",
                                     throttle=throttle)  # fmt: skip
        return es_json(request, {"task": f"{cluster_of(request).node_id}:{task.id}"})
    result = await work
    status = 409 if result["failures"] and any(f["status"] == 409 for f in result["failures"]) else 200
    return es_json(request, result, status=status)


def _batch_size(body: dict[str, Any], params: dict[str, str]) -> int:
    """``scroll_size`` (or the body's ``size``, its older name): documents read and written per batch."""
    raw = params.get("scroll_size", body.get("size", PAGE))
    try:
        size = int(raw)
    except (TypeError, ValueError):
        raise IllegalArgument(f"Failed to parse int parameter [scroll_size] with value [{raw}]") from None
    if size <= 0:
        raise IllegalArgument(f"[scroll_size] must be greater than 0 but was [{size}]")
    return size


def action_name(action: str) -> str:
    return "delete" if action == "delete" else "update"


async def delete_by_query(request: Request) -> Response:
    return await _run(request, "delete")


async def update_by_query(request: Request) -> Response:
    return await _run(request, "index")


routes = [
    Route("/{index}/_delete_by_query", delete_by_query, methods=["POST"]),
    Route("/{index}/_update_by_query", update_by_query, methods=["POST"]),
]
