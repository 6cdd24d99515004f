"""``GET|POST /{index}/_explain/{id}``: how one document matches (and scores against) a query."""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster import shard_reads
from cluster.embedded import EmbeddedCluster
from cluster.search_request import parse_source_filter, query_from_params
from cluster.source_filter import filter_source
from cluster.state import IndexMeta
from native.errors import ActionRequestValidation, IllegalArgument, ParsingError
from server.handlers.indices import resolve
from server.http import check_params, es_json, json_body

PARAMS = {"routing", "preference", "_source", "_source_includes", "_source_excludes", "stored_fields", "q", "df",
          "default_operator", "analyzer", "analyze_wildcard", "lenient"}  # fmt: skip


def single_index(request: Request, expression: str, params: dict[str, str]) -> IndexMeta:
    """The one concrete index a single-document API names (an index or an alias of one index)."""
    metas = resolve(request, expression, params)
    if len(metas) != 1:
        raise IllegalArgument(
            f"Alias [{expression}] has more than one index associated with it "
            f"[[{', '.join(sorted(m.name for m in metas))}]], can't execute a single index op"
        )
    return metas[0]


async def explain(request: Request) -> Response:
    params = check_params(request, PARAMS)
    body = await json_body(request)
    if body is not None and not isinstance(body, dict):
        raise ParsingError("request body must be an object")
    body = body or {}
    for key in body:
        if key != "query":
            raise ParsingError(f"request does not support [{key}]")
    query = query_from_params(params) if "q" in params else body.get("query")
    if query is None:
        raise ActionRequestValidation("Validation Failed: 1: query is missing;")
    cluster: EmbeddedCluster = request.app.state.cluster
    meta = single_index(request, request.path_params["index"], params)
    doc_id = request.path_params["id"]
    cluster.root.parse(query)  # the 400s of a bad query, before any shard is asked
    (resolved,) = await cluster.root.resolve_lookups(query)
    if resolved != query:
        cluster.root.parse(resolved)
    client = cluster.writes.shard_client(meta, shard_reads.doc_shard(meta, doc_id, params.get("routing")))
    result = await shard_reads.explain(client, meta, doc_id, params.get("routing"), resolved,
                                       now_millis=int(time.time() * 1000))  # fmt: skip
    out: dict[str, Any] = {"_index": meta.name, "_id": doc_id, "matched": result.matched}
    if not result.found:
        return es_json(request, out, status=404)
    out["explanation"] = result.explanation
    wants_source = any(k in params for k in ("_source", "_source_includes", "_source_excludes"))
    source_filter = parse_source_filter(
        params.get("_source"), params.get("_source_includes"), params.get("_source_excludes")
    )
    if wants_source and source_filter.enabled:
        out["get"] = {
            "_seq_no": result.seq_no,
            "_primary_term": result.primary_term,
            "found": True,
            "_source": filter_source(orjson.loads(result.source), source_filter),
        }
    return es_json(request, out)


routes = [
    Route("/{index}/_explain/{id}", explain, methods=["GET", "POST"]),
]
