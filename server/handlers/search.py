"""``_search``, ``_count``, ``_msearch`` and scroll."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.names import resolve_date_math
from cluster.root import validate_window
from cluster.scroll import Pages, check_slices_per_scroll
from cluster.search_request import SearchSpec, parse_search, preferred_shards, query_from_params, routing_values
from cluster.search_stats import parse_stats_groups
from cluster.state import IndexMeta
from native.aggs.typed_keys import apply_typed_keys
from native.dates import parse_time_value
from native.errors import ActionRequestValidation, IllegalArgument, IndexNotFound, ParsingError, QuidditchError
from native.mapping import Mapping
from native.suggest import parse_suggest
from server.errors import error_body, error_status
from server.handlers.indices import resolve
from server.handlers.pit import check_keep_alive, pit_indices, pit_search
from server.http import check_params, cluster_of, es_json, flag, json_body, read_body
from server.jsonio import iter_ndjson, loads

SEARCH_PARAMS = {
    "q", "df", "default_operator", "analyzer", "analyze_wildcard", "lenient", "from", "size", "sort",
    "_source", "_source_includes", "_source_excludes", "track_total_hits", "track_scores", "scroll",
    "version", "seq_no_primary_term", "routing", "explain", "stored_fields", "docvalue_fields",
    "terminate_after", "stats", "suggest_field", "suggest_mode", "suggest_size", "suggest_text",
    "search_type", "min_score", "request_cache", "preference", "include_named_queries_score",
    "allow_partial_search_results", "batched_reduce_size", "pre_filter_shard_size", "ccs_minimize_roundtrips",
    "typed_keys",
}  # fmt: skip
MSEARCH_HEADER_KEYS = frozenset({
    "index", "indices", "search_type", "request_cache", "preference", "routing", "allow_no_indices",
    "expand_wildcards", "ignore_unavailable", "ignore_throttled", "allow_partial_search_results",
    "ccs_minimize_roundtrips",
})  # fmt: skip
# msearch URL parameters that are defaults for every search in the body
MSEARCH_SHARED_PARAMS = ("ignore_unavailable", "allow_no_indices", "expand_wildcards", "rest_total_hits_as_int",
                         "search_type", "ignore_throttled", "preference", "routing", "request_cache",
                         "typed_keys", "pre_filter_shard_size", "max_concurrent_shard_requests")  # fmt: skip


def _keep_alive(value: str) -> float:
    try:
        return parse_time_value(value)
    except ValueError as exc:
        raise IllegalArgument(f"failed to parse setting [scroll] with value [{value}] as a time value: {exc}") from None


def _check_indices_boost(request: Request, spec: SearchSpec, params: dict[str, str]) -> None:
    """A concrete name in ``indices_boost`` must be an index or alias (unless ``ignore_unavailable``)."""
    if not spec.indices_boost or flag(params, "ignore_unavailable"):
        return
    indices = cluster_of(request).master.state.indices
    aliases = {a for m in indices.values() for a in m.aliases}
    for name, _ in spec.indices_boost:
        if "*" not in name and "?" not in name and name not in indices and name not in aliases:
            raise IndexNotFound(name)


async def run_search(
    request: Request, index: str | None, body: Any, params: dict[str, str], spec: SearchSpec | None = None
) -> dict[str, Any]:
    if body is not None and not isinstance(body, dict):
        raise ParsingError("request body must be an object")
    cluster = cluster_of(request)
    if spec is None:
        spec = parse_search(body, params)
    if spec.pit is not None:
        response = await pit_search(request, index, spec)
        if flag(params, "typed_keys"):
            typed_keys(response, spec, pit_indices(request, cluster.pits.get(spec.pit.id, None)))
        return response
    scroll = params.get("scroll")
    keep_alive = _keep_alive(scroll) if scroll is not None else None
    if keep_alive is not None and scroll is not None:
        check_keep_alive(request, keep_alive, scroll)
    metas = resolve(request, resolve_date_math(index), params)
    if spec.slice is not None and scroll is not None:
        check_slices_per_scroll(spec.slice, metas)
    _check_indices_boost(request, spec, params)
    query = cluster.root.parse(spec.query)
    validate_window(
        spec, metas, scroll=scroll is not None, default_window=cluster.config.default_max_result_window, query=query
    )
    if keep_alive is not None:
        pages = Pages(cluster.root, metas, spec, keep_alive)
        response, phase = await pages.next()
        ctx = cluster.scrolls.open(pages, phase.total, keep_alive)
        response = {"_scroll_id": ctx.id, **response}
    else:
        response, _ = await cluster.root.search(metas, spec)
    if flag(params, "typed_keys"):
        typed_keys(response, spec, metas)
    return response


def typed_keys(response: dict[str, Any], spec: SearchSpec, metas: list[IndexMeta]) -> None:
    """``typed_keys``: aggregation names prefixed with their result type (``native.aggs.typed_keys``),
    suggestion names with their suggester (``term#``, ``phrase#``, ``completion#``)."""
    if spec.suggest and isinstance(response.get("suggest"), dict):
        kinds = {s.name: s.kind for s in parse_suggest(spec.suggest)}
        response["suggest"] = {f"{kinds[k]}#{k}" if k in kinds else k: v for k, v in response["suggest"].items()}
    if not spec.aggs or not isinstance(response.get("aggregations"), dict):
        return
    mappings = [Mapping(m.mappings) for m in metas]

    def field_type(name: str) -> str | None:
        for mapping in mappings:
            leaf = mapping.leaf(name)
            if leaf is not None:
                return str(leaf.type)
        return None

    response["aggregations"] = apply_typed_keys(spec.aggs, response["aggregations"], field_type)


def took_since(response: dict[str, Any], started: float) -> dict[str, Any]:
    """``took``: the request's wall time in whole milliseconds from its arrival (parsing, index resolution,
    query and fetch phases), as ES measures it on the coordinating node."""
    if "took" in response:
        response["took"] = max(int(response["took"]), int((time.monotonic() - started) * 1000))
    return response


async def search(request: Request) -> Response:
    started = time.monotonic()
    params = check_params(request, SEARCH_PARAMS)
    body = await json_body(request)
    response = await run_search(request, request.path_params.get("index"), body, params)
    return es_json(request, took_since(response, started))


async def count(request: Request) -> Response:
    params = check_params(request, {"q", "df", "default_operator", "analyzer", "analyze_wildcard", "lenient",
                                    "routing", "min_score", "terminate_after"})  # fmt: skip
    terminate_after: int | None = None
    if "terminate_after" in params:
        try:
            terminate_after = int(params["terminate_after"])
        except ValueError:
            raise IllegalArgument(
                f"Failed to parse int parameter [terminate_after] with value [{params['terminate_after']}]"
            ) from None
        if terminate_after < 0:
            raise IllegalArgument("terminateAfter must be > 0")
    body = await json_body(request)
    query = None
    groups: tuple[str, ...] = ()
    if isinstance(body, dict):
        for key in body:
            if key not in ("query", "stats"):
                raise ParsingError(f"request does not support [{key}]")
        query = body.get("query")
        groups = parse_stats_groups(body.get("stats"), None)
    if "q" in params:
        query = query_from_params(params)
    metas = resolve(request, resolve_date_math(request.path_params.get("index")), params)
    root = cluster_of(request).root
    counted = await root.count(
        metas, query, terminate_after=terminate_after or None, routing=routing_values(params),
        only_shards=preferred_shards(params.get("preference")), stats_groups=groups,
        preference=params.get("preference"),
    )  # fmt: skip
    return es_json(request, counted)


async def msearch(request: Request) -> Response:
    started = time.monotonic()
    params = check_params(request, {"max_concurrent_searches", "rest_total_hits_as_int", "search_type",
                                    "ccs_minimize_roundtrips", "typed_keys", "include_named_queries_score",
                                    "routing"})  # fmt: skip
    started = time.monotonic()
    body = await read_body(request)
    lines = list(iter_ndjson(body))
    if not lines:
        raise ActionRequestValidation("Validation Failed: 1: no requests added;")
    default_index = request.path_params.get("index")
    shared = {k: params[k] for k in MSEARCH_SHARED_PARAMS if k in params}
    # Bodies are parsed up front: a malformed one fails the whole request, as in ES's REST layer.
    searches: list[tuple[str | None, Any, dict[str, str], SearchSpec]] = []
    i = 0
    while i < len(lines):
        header = loads(lines[i][1])
        if i + 1 >= len(lines):
            raise IllegalArgument("msearch request must be terminated by a newline [\\n]")
        search_body = loads(lines[i + 1][1])
        i += 2
        if not isinstance(header, dict):
            raise ParsingError("msearch header must be an object")
        sub_params = dict(shared)
        for key, value in header.items():
            if key not in MSEARCH_HEADER_KEYS:
                raise IllegalArgument(f"key [{key}] is not supported in the metadata section")
            if key in ("index", "indices"):
                continue
            if isinstance(value, list):
                value = ",".join(str(v) for v in value)
            sub_params[key] = str(value).lower() if isinstance(value, bool) else str(value)
        index = header.get("index", header.get("indices", default_index))
        if isinstance(index, list):
            index = ",".join(index)
        if search_body is not None and not isinstance(search_body, dict):
            raise ParsingError("msearch body must be an object")
        sub_spec = parse_search(search_body, sub_params)
        if sub_spec.pit is not None and index is not None:
            raise ActionRequestValidation(
                "Validation Failed: 1: [indices] cannot be used with point in time. Do not specify any index with "
                "point in time.;"
            )
        searches.append((index, search_body, sub_params, sub_spec))
    responses: list[dict[str, Any]] = []
    for index, search_body, sub_params, spec in searches:
        try:
            sub_started = time.monotonic()
            result = took_since(await run_search(request, index, search_body, sub_params, spec), sub_started)
            result["status"] = 200
            responses.append(result)
        except QuidditchError as exc:
            responses.append(error_body(exc) | {"status": error_status(exc)})
    return es_json(request, {"took": int((time.monotonic() - started) * 1000), "responses": responses})


async def scroll(request: Request) -> Response:
    started = time.monotonic()
    params = check_params(request, {"scroll", "scroll_id", "rest_total_hits_as_int"})
    body = await json_body(request)
    body = body if isinstance(body, dict) else {}
    scroll_id = body.get("scroll_id", params.get("scroll_id", request.path_params.get("scroll_id")))
    if not scroll_id:
        raise ActionRequestValidation("Validation Failed: 1: scrollId is missing;")
    keep = body.get("scroll", params.get("scroll"))
    cluster = cluster_of(request)
    renew = _keep_alive(keep) if keep else None
    if renew is not None:
        check_keep_alive(request, renew, str(keep))
    ctx = cluster.scrolls.get(str(scroll_id), renew)
    response, _ = await ctx.pages.next(max(ctx.expires_at - time.monotonic(), 0.0))
    response = took_since(response, started)
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
    freed, all_found = cluster_of(request).scrolls.clear(ids)
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
    # a date-math index name may hold an encoded "/" (``<logs-{now/d}>``)
    Route("/{index:path}/_search", search, methods=["GET", "POST"]),
    Route("/{index:path}/_count", count, methods=["GET", "POST"]),
]
