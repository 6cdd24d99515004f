"""``_terms_enum``: the indexed terms of a field that start with a string (Kibana's value suggestions).

ES walks each shard's terms dictionary. Here the walk is a ``composite`` aggregation over the field,
restricted by a ``prefix`` query (and the request's ``index_filter``), paged in key order until ``size``
terms are found, the terms run out, or ``timeout`` (1s) passes, when ``complete`` is false. A document
holding other values besides a matching one brings them into a page, so keys are checked against the
prefix again. Unlike ES (whose terms dictionary still holds the terms of deleted documents until a merge)
only live documents contribute.

ES serves ``keyword``, ``constant_keyword``, ``flattened``, ``version`` and ``ip`` fields; for any other
field (or an unmapped one) it finds no terms, and so does this.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.search_request import parse_timeout
from native.errors import IllegalArgument, ParsingError, XContentParseError
from native.mapping import Mapping
from server.handlers.indices import resolve
from server.handlers.search import run_search
from server.http import check_params, es_json, json_body

TERMS_TYPES = frozenset({"keyword", "constant_keyword", "flattened", "version", "ip"})
_BODY_KEYS = frozenset({"field", "string", "size", "timeout", "case_insensitive", "index_filter", "search_after"})
_PAGE = 1000


def _parse(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ParsingError("request body is required")
    for key in body:
        if key not in _BODY_KEYS:
            raise XContentParseError(f"[terms_enum_request] unknown field [{key}]")
    field = body.get("field")
    if not isinstance(field, str) or not field:
        raise IllegalArgument("field cannot be null")
    size = body.get("size", 10)
    if isinstance(size, bool) or not isinstance(size, int):
        raise XContentParseError(f"[terms_enum_request] failed to parse field [size]: [{size}] is not an integer")
    if size < 0:
        raise IllegalArgument("size cannot be negative")
    string = body.get("string", "")
    after = body.get("search_after")
    for name, value in (("string", string), ("search_after", after)):
        if value is not None and not isinstance(value, str):
            raise XContentParseError(f"[terms_enum_request] failed to parse field [{name}]: expected a string")
    case_insensitive = body.get("case_insensitive", False)
    if not isinstance(case_insensitive, bool):
        raise XContentParseError("[terms_enum_request] failed to parse field [case_insensitive]: expected a boolean")
    timeout = parse_timeout(body.get("timeout", "1s"))
    return {"field": field, "size": size, "string": string or "", "after": after,
            "case_insensitive": case_insensitive, "timeout": 1.0 if timeout is None else timeout,
            "index_filter": body.get("index_filter")}  # fmt: skip


async def terms_enum(request: Request) -> Response:
    params = check_params(request)
    req = _parse(await json_body(request))
    metas = resolve(request, request.path_params.get("index"), params)
    field = req["field"]
    types = {leaf.type for leaf in (Mapping(meta.mappings).leaf(field) for meta in metas) if leaf is not None}
    terms: list[str] = []
    complete = True
    shards = sum(meta.number_of_shards for meta in metas)
    if types & TERMS_TYPES:
        terms, complete = await _walk(request, req, types)
    return es_json(
        request,
        {"_shards": {"total": shards, "successful": shards, "failed": 0}, "terms": terms, "complete": complete},
    )


def _matches(term: str, prefix: str, case_insensitive: bool) -> bool:
    return term.lower().startswith(prefix.lower()) if case_insensitive else term.startswith(prefix)


async def _walk(request: Request, req: dict[str, Any], types: set[str]) -> tuple[list[str], bool]:
    field, prefix, wanted = req["field"], req["string"], req["size"]
    filters: list[Any] = []
    if req["index_filter"] is not None:
        filters.append(req["index_filter"])
    if prefix and not types & {"ip"}:  # an ip's terms are matched as text below, not by a prefix query
        filters.append({"prefix": {field: {"value": prefix, "case_insensitive": req["case_insensitive"]}}})
    query = {"bool": {"filter": filters}} if filters else {"match_all": {}}
    deadline = time.monotonic() + req["timeout"]
    after: Any = {"t": req["after"]} if req["after"] is not None else None
    out: list[str] = []
    while len(out) < wanted:
        composite: dict[str, Any] = {"size": _PAGE, "sources": [{"t": {"terms": {"field": field}}}]}
        if after is not None:
            composite["after"] = after
        body = {"size": 0, "track_total_hits": False, "query": query, "aggs": {"t": {"composite": composite}}}
        response = await run_search(request, request.path_params.get("index"), body, {})
        agg = response["aggregations"]["t"]
        for bucket in agg["buckets"]:
            term = str(bucket["key"]["t"])
            if _matches(term, prefix, req["case_insensitive"]) and len(out) < wanted:
                out.append(term)
        after = agg.get("after_key")
        if len(agg["buckets"]) < _PAGE or after is None:
            return out, True
        if time.monotonic() > deadline:
            return out, False
    return out, True


routes = [
    Route("/_terms_enum", terms_enum, methods=["GET", "POST"]),
    Route("/{index}/_terms_enum", terms_enum, methods=["GET", "POST"]),
]
