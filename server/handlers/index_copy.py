"""Copies of an index: ``_clone``, ``_shrink`` and ``_split`` (the copy itself is ``cluster.resize``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.embedded import EmbeddedCluster
from cluster.resize import resize_index
from cluster.settings import flatten_settings
from native.errors import IllegalArgument, IndexNotFound, ParsingError
from server.deprecation import warning_header
from server.http import check_params, es_json, json_body


async def resize(request: Request, kind: str) -> Response:
    """``_clone``, ``_shrink``, ``_split``: a new index with the source's mappings and settings, then every
    document re-indexed into it."""
    params = check_params(request, {"copy_settings"})
    headers = None
    if "copy_settings" in params:  # ES 8: settings are always copied; ``true`` is deprecated, ``false`` refused
        if params["copy_settings"] not in ("", "true"):
            raise IllegalArgument(f"parameter [copy_settings] can not be explicitly set to [{params['copy_settings']}]")
        headers = warning_header(request.app.state.settings.version_number,
                                 "parameter [copy_settings] is deprecated and will be removed in 8.0.0")  # fmt: skip
    cluster: EmbeddedCluster = request.app.state.cluster
    source = cluster.master.state.indices.get(request.path_params["index"])
    if source is None:
        raise IndexNotFound(request.path_params["index"])
    target = request.path_params["target"]
    body = await json_body(request) or {}
    if not isinstance(body, dict):
        raise ParsingError("request body must be an object")
    if "mappings" in body:
        raise IllegalArgument("mappings are not allowed when resizing indices, all mappings are copied from the "
                              "source index")  # fmt: skip
    unknown = set(body) - {"settings", "aliases"}
    if unknown:
        raise ParsingError(f"unknown key [{sorted(unknown)[0]}] for create index")
    requested = flatten_settings(body.get("settings"))
    await resize_index(cluster, kind, source, target, requested, body.get("aliases"))
    return es_json(request, {"acknowledged": True, "shards_acknowledged": True, "index": target}, headers=headers)


async def clone(request: Request) -> Response:
    return await resize(request, "clone")


async def shrink(request: Request) -> Response:
    return await resize(request, "shrink")


async def split(request: Request) -> Response:
    return await resize(request, "split")


routes = [
    Route("/{index}/_clone/{target}", clone, methods=["PUT", "POST"]),
    Route("/{index}/_shrink/{target}", shrink, methods=["PUT", "POST"]),
    Route("/{index}/_split/{target}", split, methods=["PUT", "POST"]),
]
