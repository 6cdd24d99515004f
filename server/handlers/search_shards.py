"""``GET|POST [/{index}]/_search_shards``: the shard copies a search would hit, and the nodes holding them."""

from __future__ import annotations

import fnmatch
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.routing import shard_for
from cluster.state import IndexMeta
from server.handlers.indices import resolve
from server.handlers.members import members, state_node_entry
from server.handlers.shard_view import routing_json, shard_views
from server.http import check_params, es_json

PARAMS = {"routing", "preference", "local", "master_timeout"}


async def search_shards(request: Request) -> Response:
    params = check_params(request, PARAMS)
    await request.body()  # a body (slice, …) is accepted and does not change the answer
    metas = resolve(request, request.path_params.get("index"), params)
    routing = [r for r in params.get("routing", "").split(",") if r]
    groups: list[list[dict[str, Any]]] = []
    indices: dict[str, dict[str, Any]] = {}
    expressions = [e for e in (request.path_params.get("index") or "").split(",") if e and not e.startswith("-")]
    for meta in sorted(metas, key=lambda m: m.name):
        indices[meta.name] = alias_filter(meta, expressions)
        shards = sorted({shard_for(r, meta.number_of_shards) for r in routing}) or range(meta.number_of_shards)
        views = shard_views(request, meta)
        for shard in shards:
            groups.append([routing_json(v) for v in views[shard]])
    holding = {v["node"] for group in groups for v in group if v["node"]}
    nodes = {m.id: state_node_entry(request, m) for m in members(request) if m.id in holding or m.local}
    return es_json(request, {"nodes": nodes, "indices": indices, "shards": groups})


def alias_filter(meta: IndexMeta, expressions: list[str]) -> dict[str, Any]:
    """ES's alias filter of one index: the aliases of it that the request named (by name or pattern), and the
    filter a search through them applies: none when the index itself is named or one of those aliases has no
    filter, else that filter (several: any of them, a ``bool`` ``should``)."""
    if not expressions or any(e in ("_all", "*") for e in expressions):
        return {}
    names = sorted(a for a in meta.aliases if any(fnmatch.fnmatchcase(a, e) for e in expressions))
    out: dict[str, Any] = {"aliases": names} if names else {}
    if any(fnmatch.fnmatchcase(meta.name, e) for e in expressions):
        return out
    filters = [(meta.aliases[a] or {}).get("filter") for a in names]
    if not filters or any(f is None for f in filters):
        return out
    rendered = [_rendered(f) for f in filters]
    out["filter"] = rendered[0] if len(rendered) == 1 else {
        "bool": {"should": rendered, "adjust_pure_negative": True, "boost": 1.0}
    }
    return out


def _rendered(query: Any) -> Any:
    """A stored alias filter as ES renders a query: a ``term`` in its long form (value and boost)."""
    if isinstance(query, dict) and len(query) == 1 and isinstance(query.get("term"), dict) and len(query["term"]) == 1:
        ((field, value),) = query["term"].items()
        if not isinstance(value, dict):
            value = {"value": value}
        return {"term": {field: {"boost": 1.0} | value}}
    return query


routes = [
    Route("/_search_shards", search_shards, methods=["GET", "POST"]),
    Route("/{index}/_search_shards", search_shards, methods=["GET", "POST"]),
]
