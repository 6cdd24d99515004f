"""``GET|POST [/{index}]/_search_shards``: the shard copies a search would hit, and the nodes holding them."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.routing import shard_for
from server.handlers.cluster_admin import NODE_ID, _node, _shard_routing
from server.handlers.indices import resolve
from server.http import check_params, es_json

PARAMS = {"routing", "preference", "local", "master_timeout"}


async def search_shards(request: Request) -> Response:
    params = check_params(request, PARAMS)
    await request.body()  # a body (slice, …) is accepted and does not change the answer
    metas = resolve(request, request.path_params.get("index"), params)
    routing = [r for r in params.get("routing", "").split(",") if r]
    groups: list[list[dict[str, Any]]] = []
    indices: dict[str, dict[str, Any]] = {}
    for meta in sorted(metas, key=lambda m: m.name):
        indices[meta.name] = {}
        shards = sorted({shard_for(r, meta.number_of_shards) for r in routing}) or range(meta.number_of_shards)
        for shard in shards:
            copies = [_shard_routing(meta, shard, True)]
            copies += [_shard_routing(meta, shard, False) for _ in range(meta.number_of_replicas)]
            groups.append(copies)
    return es_json(request, {"nodes": {NODE_ID: _node(request)}, "indices": indices, "shards": groups})


routes = [
    Route("/_search_shards", search_shards, methods=["GET", "POST"]),
    Route("/{index}/_search_shards", search_shards, methods=["GET", "POST"]),
]
