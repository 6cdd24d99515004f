"""Point in time: ``POST /{index}/_pit``, ``DELETE /_pit`` and searches that name a PIT (``cluster.pit``)."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.names import resolve_date_math
from cluster.pit import PitContext, context_missing
from cluster.root import targets_for
from cluster.search_request import SearchSpec
from cluster.state import IndexMeta
from native.dates import parse_time_value
from native.errors import ActionRequestValidation, IllegalArgument, ParsingError
from server.handlers.indices import resolve
from server.http import check_params, cluster_of, es_json, json_body

OPEN_PARAMS = {
    "keep_alive", "ignore_unavailable", "expand_wildcards", "allow_no_indices", "routing", "preference",
    "allow_partial_search_results", "max_concurrent_shard_requests",
}  # fmt: skip
DEFAULT_MAX_KEEP_ALIVE_S = 24 * 3600.0


def keep_alive_of(value: str, setting: str = "keep_alive") -> float:
    try:
        seconds = parse_time_value(value)
    except ValueError as exc:
        raise IllegalArgument(
            f"failed to parse setting [{setting}] with value [{value}] as a time value: {exc}"
        ) from None
    return seconds


def check_keep_alive(request: Request, seconds: float, text: str) -> None:
    """``search.max_keep_alive`` (cluster setting, default 24h) bounds every scroll and PIT keep-alive."""
    state = cluster_of(request).master.state
    raw = state.transient.get("search.max_keep_alive", state.persistent.get("search.max_keep_alive"))
    limit = DEFAULT_MAX_KEEP_ALIVE_S if raw is None else parse_time_value(str(raw))
    if seconds > limit:
        shown = "24h" if raw is None else str(raw)
        raise IllegalArgument(
            f"Keep alive for [{text}] is too large. It must be less than [{shown}]. This limit can be set by "
            "changing the [search.max_keep_alive] cluster level setting."
        )


def pit_indices(request: Request, ctx: PitContext) -> list[IndexMeta]:
    """The indices a PIT was opened on, as they are now (one deleted since: its context is gone)."""
    indices = cluster_of(request).master.state.indices
    metas: list[IndexMeta] = []
    for name, uuid in zip(ctx.index_names, ctx.index_uuids, strict=True):
        meta = indices.get(name)
        if meta is None or meta.uuid != uuid:
            raise context_missing(ctx.id)
        metas.append(meta)
    return metas


async def pit_search(request: Request, index: str | None, spec: SearchSpec) -> dict[str, Any]:
    """A search over a PIT's pinned readers; the answer carries ``pit_id``."""
    assert spec.pit is not None
    if index is not None:
        raise ActionRequestValidation(
            "Validation Failed: 1: [indices] cannot be used with point in time. Do not specify any index with "
            "point in time.;"
        )
    cluster = cluster_of(request)
    if spec.pit.keep_alive is not None:
        check_keep_alive(request, spec.pit.keep_alive, spec.pit.keep_alive_text)
    ctx = cluster.pits.get(spec.pit.id, spec.pit.keep_alive)
    metas = pit_indices(request, ctx)
    response, _ = await cluster.root.search(
        metas, spec, generations=ctx.generations, pin_seconds=max(ctx.expires_at - time.monotonic(), 0.0),
        nodes=ctx.nodes or None,
    )
    return {"pit_id": ctx.id, **response}


async def open_pit(request: Request) -> Response:
    params = check_params(request, OPEN_PARAMS)
    body = await json_body(request)
    if isinstance(body, dict):
        for key in body:
            if key != "index_filter":
                raise ParsingError(f"[open_point_in_time] unknown field [{key}]")
        if body.get("index_filter"):
            raise IllegalArgument("[index_filter] is not supported in an open point in time request by this server")
    if "keep_alive" not in params:
        raise ActionRequestValidation("Validation Failed: 1: [keep_alive] is not specified;")
    keep_alive = keep_alive_of(params["keep_alive"])
    check_keep_alive(request, keep_alive, params["keep_alive"])
    for name in ("routing", "preference"):
        if name in params:
            raise IllegalArgument(f"[{name}] is not supported in an open point in time request by this server")
    cluster = cluster_of(request)
    metas = resolve(request, resolve_date_math(request.path_params["index"]), params)
    targets = targets_for(metas)
    phase = await cluster.root.query_phase(
        targets, SearchSpec(size=0), limit=0, query=None, aggs=None, now_millis=int(time.time() * 1000),
        pin_seconds=keep_alive,
    )  # fmt: skip
    failed = len(phase.failures) + len(phase.timed_out)
    ctx = cluster.pits.open([m.name for m in metas], [m.uuid for m in metas], phase.generations, keep_alive,
                            phase.context_nodes())
    return es_json(request, {
        "id": ctx.id,
        "_shards": {"total": len(targets), "successful": len(targets) - failed, "skipped": 0, "failed": failed},
    })  # fmt: skip


async def close_pit(request: Request) -> Response:
    check_params(request)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise ActionRequestValidation("Validation Failed: 1: [id] of point-in-time must be provided;")
    for key in body:
        if key != "id":
            raise ParsingError(f"[close_point_in_time] unknown field [{key}]")
    pit_id = body.get("id")
    if not isinstance(pit_id, str) or not pit_id:
        raise ActionRequestValidation("Validation Failed: 1: [id] of point-in-time must be provided;")
    freed = cluster_of(request).pits.close([pit_id])
    # ES: closing succeeds also when the PIT had expired already (``num_freed: 0``)
    return es_json(request, {"succeeded": True, "num_freed": freed})


routes = [
    Route("/_pit", close_pit, methods=["DELETE"]),
    Route("/{index}/_pit", open_pit, methods=["POST"]),
]
