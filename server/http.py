"""Request and response plumbing shared by every handler: parameters, bodies, rendering."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from cluster.embedded import EmbeddedCluster
from native.did_you_mean import param_hint
from native.errors import IllegalArgument, ParsingError
from server.cbor import CBOR_CONTENT_TYPE, wants_cbor
from server.cbor import dumps as cbor_dumps
from server.filter_path import apply_filter_path
from server.jsonio import dumps, loads
from server.negotiation import check_content_type

JSON_TYPE = "application/json; charset=UTF-8"
PRODUCT_HEADERS = {"X-Elastic-Product": "Elasticsearch"}
# Accepted on every API (ES's common options) plus no-ops that real tools send.
COMMON_PARAMS = frozenset({
    "pretty", "human", "error_trace", "filter_path", "format", "source", "source_content_type",
    "master_timeout", "timeout", "wait_for_active_shards", "typed_keys", "ignore_unavailable",
    "allow_no_indices", "expand_wildcards", "ignore_throttled", "max_concurrent_shard_requests",
    "request_cache", "preference", "ccs_minimize_roundtrips", "pre_filter_shard_size",
    "batched_reduce_size", "local", "include_defaults", "flat_settings", "cluster_manager_timeout",
    "allow_partial_search_results", "search_type", "rest_total_hits_as_int", "include_type_name",
})  # fmt: skip


def check_params(request: Request, allowed: Iterable[str] = ()) -> dict[str, str]:
    """The query parameters, or a 400 naming the first one the API does not know (as ES does)."""
    params = dict(request.query_params)
    if not params:  # the common case: nothing to check
        return params
    allowed_set = allowed if isinstance(allowed, set | frozenset) else frozenset(allowed)
    unknown = [k for k in params if k not in COMMON_PARAMS and k not in allowed_set]
    if unknown:
        names = ", ".join(f"[{k}]{param_hint(k, allowed_set)}" for k in sorted(unknown))
        plural = "s" if len(unknown) > 1 else ""
        raise IllegalArgument(f"request [{request.url.path}] contains unrecognized parameter{plural}: {names}")
    return params


async def read_body(request: Request) -> bytes:
    body = await _body_of(request)
    if not body and "source" in request.query_params:
        # ES: the ``source`` parameter stands for a body and says its type in ``source_content_type``
        if "source_content_type" not in request.query_params:
            raise IllegalArgument("source and source_content_type parameters are required")
        body = request.query_params["source"].encode()
        check_content_type(request.query_params["source_content_type"], bool(body))
        return body
    check_content_type(request.headers.get("content-type"), bool(body))
    return body


async def _body_of(request: Request) -> bytes:
    """``request.body()`` without its copy of a body that arrived in one piece (``BodyLimitMiddleware`` hands
    the body over whole; Starlette joins it with a trailing ``b""``, which copies a 100 MB ``_bulk``)."""
    if hasattr(request, "_body"):
        return request._body
    chunks = [chunk async for chunk in request.stream() if chunk]
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    request._body = body
    return body


async def json_body(request: Request, *, required: bool = False) -> Any:
    body = await read_body(request)
    if not body.strip():
        if required:
            raise ParsingError("request body is required")
        return None
    return loads(body)


def flag(params: dict[str, str], name: str, default: bool = False) -> bool:
    value = params.get(name)
    if value is None:
        return default
    if value in ("", "true"):
        return True
    if value == "false":
        return False
    raise IllegalArgument(f"Failed to parse value [{value}] as only [true] or [false] are allowed.")


def es_json(request: Request, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    params = request.query_params
    if params.get("filter_path"):
        body = apply_filter_path(body, params["filter_path"])
    pretty = "pretty" in params and params["pretty"] != "false"
    if request.method == "HEAD":
        return Response(b"", status, headers=headers, media_type=JSON_TYPE)
    if wants_cbor(request.headers.get("accept")):
        return Response(cbor_dumps(body), status, headers=headers, media_type=CBOR_CONTENT_TYPE)
    return Response(dumps(body, pretty), status, headers=headers, media_type=JSON_TYPE)


def cluster_of(request: Request) -> EmbeddedCluster:
    """The cluster the app serves (set by ``server.app.create_app``)."""
    cluster: EmbeddedCluster = request.app.state.cluster
    return cluster
