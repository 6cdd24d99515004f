"""``_async_search``: submit, get, status and delete (``cluster.async_search``); Kibana's Discover uses it."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.async_search import DEFAULT_KEEP_ALIVE_S, DEFAULT_WAIT_S, AsyncSearch, wait
from cluster.names import resolve_date_math
from cluster.search_request import parse_search
from cluster.state import IndexMeta
from native.errors import ParsingError, QuidditchError
from server.errors import error_body, error_status
from server.handlers.indices import resolve
from server.handlers.pit import keep_alive_of, pit_indices
from server.handlers.search import SEARCH_PARAMS, run_search, took_since, typed_keys
from server.http import check_params, cluster_of, es_json, flag, json_body

SUBMIT_PARAMS = (SEARCH_PARAMS - {"scroll"}) | {
    "wait_for_completion_timeout", "keep_on_completion", "keep_alive", "typed_keys", "max_concurrent_shard_requests",
}  # fmt: skip
GET_PARAMS = {"wait_for_completion_timeout", "keep_alive", "typed_keys", "rest_total_hits_as_int"}


def _answer(request: Request, entry: AsyncSearch, typed: bool, with_id: bool = True) -> Response:
    body = entry.body(with_id=with_id)
    if typed and "response" in body:  # typed_keys is a rendering option: of this request, not of the submit
        body["response"] = dict(body["response"])
        typed_keys(body["response"], entry.extra["spec"], entry.extra["indices"](request))
    error = entry.error()
    if error is not None:
        if not isinstance(error, QuidditchError):
            raise error
        failure = error_body(error)
        body["error"] = failure["error"]
        return es_json(request, body, status=error_status(error))
    return es_json(request, body)


def _seconds(params: dict[str, str], name: str, default: float) -> float:
    return keep_alive_of(params[name], name) if name in params else default


async def _timed(search: Awaitable[dict[str, Any]], started: float) -> dict[str, Any]:
    return took_since(await search, started)


async def submit(request: Request) -> Response:
    started = time.monotonic()
    params = check_params(request, SUBMIT_PARAMS)
    body = await json_body(request)
    if body is not None and not isinstance(body, dict):
        raise ParsingError("request body must be an object")
    wait_s = _seconds(params, "wait_for_completion_timeout", DEFAULT_WAIT_S)
    keep_alive = _seconds(params, "keep_alive", DEFAULT_KEEP_ALIVE_S)
    keep_on_completion = flag(params, "keep_on_completion")
    search_params = {k: v for k, v in params.items() if k in SEARCH_PARAMS and k != "typed_keys"}
    spec = parse_search(body, search_params)  # a bad request is a 400 now, not a failed search later
    index = request.path_params.get("index")
    registry = cluster_of(request).async_searches
    search: Any = _timed(run_search(request, index, body, search_params, spec), started)
    entry = registry.submit(search, keep_alive)
    pit = spec.pit

    def indices(req: Request) -> list[IndexMeta]:
        if pit is not None:
            return pit_indices(req, cluster_of(req).pits.get(pit.id, None))
        return resolve(req, resolve_date_math(index), search_params)

    entry.extra.update(spec=spec, indices=indices)
    try:
        entry.extra["shards"] = sum(m.number_of_shards for m in indices(request))
    except QuidditchError:  # the search itself reports it
        pass
    typed = flag(params, "typed_keys")
    await wait(entry, wait_s)
    if entry.done() and not keep_on_completion:
        error = entry.error()
        if error is not None:
            raise error
        return _answer(request, entry, typed, with_id=False)
    registry.keep(entry)
    return _answer(request, entry, typed)


async def get(request: Request) -> Response:
    params = check_params(request, GET_PARAMS)
    keep_alive = keep_alive_of(params["keep_alive"]) if "keep_alive" in params else None
    entry = cluster_of(request).async_searches.get(request.path_params["id"], keep_alive)
    await wait(entry, _seconds(params, "wait_for_completion_timeout", 0.0))
    return _answer(request, entry, flag(params, "typed_keys"))


async def status(request: Request) -> Response:
    params = check_params(request, {"keep_alive"})
    keep_alive = keep_alive_of(params["keep_alive"]) if "keep_alive" in params else None
    entry = cluster_of(request).async_searches.get(request.path_params["id"], keep_alive)
    return es_json(request, entry.status())


async def delete(request: Request) -> Response:
    check_params(request)
    cluster_of(request).async_searches.delete(request.path_params["id"])
    return es_json(request, {"acknowledged": True})


routes = [
    Route("/_async_search", submit, methods=["POST"]),
    Route("/_async_search/status/{id}", status, methods=["GET"]),
    Route("/_async_search/{id}", get, methods=["GET"]),
    Route("/_async_search/{id}", delete, methods=["DELETE"]),
    Route("/{index}/_async_search", submit, methods=["POST"]),
]
