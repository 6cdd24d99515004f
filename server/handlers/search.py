"""``_search``, ``_count``, ``_msearch`` and scroll."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.embedded import EmbeddedCluster
from cluster.root import validate_window
from cluster.search_request import parse_search
from native.dates import parse_time_value
from native.errors import ActionRequestValidation, IllegalArgument, ParsingError, QuidditchError
from server.errors import error_body, error_status
from server.handlers.indices import resolve
from server.http import check_params, es_json, flag, json_body, read_body
from server.jsonio import iter_ndjson, loads

SEARCH_PARAMS = {
    "q", "df", "default_operator", "analyzer", "analyze_wildcard", "lenient", "from", "size", "sort",
    "_source", "_source_includes", "_source_excludes", "track_total_hits", "track_scores", "scroll",
    "version", "seq_no_primary_term", "routing", "explain", "stored_fields", "docvalue_fields",
    "terminate_after", "stats", "suggest_field", "suggest_mode", "suggest_size", "suggest_text",
    "search_type", "min_score",
}  # fmt: skip


def _cluster(request: Request) -> EmbeddedCluster:
    cluster: EmbeddedCluster = request.app.state.cluster
    return cluster


async def run_search(request: Request, index: str | None, body: Any, params: dict[str, str]) -> dict[str, Any]:
    if body is not None and not isinstance(body, dict):
        raise ParsingError("request body must be an object")
    cluster = _cluster(request)
    spec = parse_search(body, params)
    metas = resolve(request, index, params)
    scroll = params.get("scroll")
    validate_window(spec, metas, scroll=scroll is not None, default_window=cluster.config.default_max_result_window)
    if scroll is not None:
        keep_alive = parse_time_value(scroll)
        response, phase = await cluster.root.search(metas, spec)
        ctx = cluster.scrolls.open(metas, spec, phase.generations, spec.from_ + spec.size, phase.total, keep_alive)
        response = {"_scroll_id": ctx.id, **response}
        return response
    response, _ = await cluster.root.search(metas, spec)
    return response


async def search(request: Request) -> Response:
    params = check_params(request, SEARCH_PARAMS)
    body = await json_body(request)
    response = await run_search(request, request.path_params.get("index"), body, params)
    return es_json(request, response)


async def count(request: Request) -> Response:
    params = check_params(request, {"q", "df", "default_operator", "analyzer", "analyze_wildcard", "lenient",
                                    "routing", "min_score", "terminate_after"})  # fmt: skip
    body = await json_body(request)
    query = None
    if isinstance(body, dict):
        for key in body:
            if key != "query":
                raise ParsingError(f"request does not support [{key}]")
        query = body.get("query")
    if "q" in params:
        query = {"query_string": {"query": params["q"]}}
        if "df" in params:
            query["query_string"]["default_field"] = params["df"]
    metas = resolve(request, request.path_params.get("index"), params)
    return es_json(request, await _cluster(request).root.count(metas, query))


async def msearch(request: Request) -> Response:
    params = check_params(request, {"max_concurrent_searches", "rest_total_hits_as_int", "search_type",
                                    "ccs_minimize_roundtrips", "typed_keys"})  # fmt: skip
    body = await read_body(request)
    lines = list(iter_ndjson(body))
    if not lines:
        raise ActionRequestValidation("Validation Failed: 1: no requests added;")
    responses: list[dict[str, Any]] = []
    default_index = request.path_params.get("index")
    i = 0
    while i < len(lines):
        header = loads(lines[i][1])
        if i + 1 >= len(lines):
            raise IllegalArgument("msearch request must be terminated by a newline [\\n]")
        search_body = loads(lines[i + 1][1])
        i += 2
        if not isinstance(header, dict):
            raise ParsingError("msearch header must be an object")
        index = header.get("index", default_index)
        if isinstance(index, list):
            index = ",".join(index)
        sub_params = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in header.items()
                      if k in ("ignore_unavailable", "allow_no_indices", "expand_wildcards")}  # fmt: skip
        if "rest_total_hits_as_int" in params:
            sub_params["rest_total_hits_as_int"] = params["rest_total_hits_as_int"]
        try:
            result = await run_search(request, index, search_body, sub_params)
            result["status"] = 200
            responses.append(result)
        except QuidditchError as exc:
            responses.append(error_body(exc) | {"status": error_status(exc)})
    return es_json(request, {"took": 0, "responses": responses})


async def scroll(request: Request) -> Response:
    params = check_params(request, {"scroll", "scroll_id", "rest_total_hits_as_int"})
    body = await json_body(request)
    body = body if isinstance(body, dict) else {}
    scroll_id = body.get("scroll_id", params.get("scroll_id", request.path_params.get("scroll_id")))
    if not scroll_id:
        raise ActionRequestValidation("Validation Failed: 1: scrollId is missing;")
    keep = body.get("scroll", params.get("scroll"))
    cluster = _cluster(request)
    ctx = cluster.scrolls.get(str(scroll_id), parse_time_value(keep) if keep else None)
    response, _ = await cluster.root.search(
        ctx.indices, ctx.spec, scroll_offset=ctx.offset, generations=ctx.generations
    )
    ctx.offset += ctx.spec.size
    if flag(params, "rest_total_hits_as_int") and isinstance(response["hits"].get("total"), dict):
        response["hits"]["total"] = response["hits"]["total"]["value"]
    return es_json(request, {"_scroll_id": ctx.id, **response})


async def clear_scroll(request: Request) -> Response:
    check_params(request, {"scroll_id"})
    body = await json_body(request)
    ids: list[str] | None
    if isinstance(body, dict) and "scroll_id" in body:
        raw = body["scroll_id"]
        ids = [raw] if isinstance(raw, str) else list(raw)
    elif "scroll_id" in request.path_params:
        ids = request.path_params["scroll_id"].split(",")
    elif "scroll_id" in request.query_params:
        ids = request.query_params["scroll_id"].split(",")
    else:
        ids = None
    freed, all_found = _cluster(request).scrolls.clear(ids)
    return es_json(request, {"succeeded": True, "num_freed": freed}, status=200 if all_found else 404)


routes = [
    Route("/_search", search, methods=["GET", "POST"]),
    Route("/_count", count, methods=["GET", "POST"]),
    Route("/_msearch", msearch, methods=["GET", "POST"]),
    Route("/_search/scroll", scroll, methods=["GET", "POST"]),
    Route("/_search/scroll", clear_scroll, methods=["DELETE"]),
    Route("/_search/scroll/{scroll_id}", scroll, methods=["GET", "POST"]),
    Route("/_search/scroll/{scroll_id}", clear_scroll, methods=["DELETE"]),
    Route("/{index}/_search", search, methods=["GET", "POST"]),
    Route("/{index}/_count", count, methods=["GET", "POST"]),
    Route("/{index}/_msearch", msearch, methods=["GET", "POST"]),
]
