"""The Starlette application: routes from every handler module, one error renderer, product headers."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cluster.config import ClusterConfig
from cluster.embedded import EmbeddedCluster
from native.errors import QuidditchError
from server.errors import MethodNotAllowed, NoHandlerFound, error_body, error_status, unexpected_error_body
from server.handlers import (
    aliases,
    analyze,
    async_search,
    bulk,
    by_query,
    capabilities,
    cat,
    cluster_admin,
    documents,
    explain,
    health_report,
    index_admin,
    index_copy,
    index_stats,
    indices,
    nodes,
    pit,
    reindex,
    root,
    search,
    search_shards,
    tasks,
    templates,
    terms_enum,
    termvectors,
    upkeep,
    validate,
    xpack,
)
from server.http import JSON_TYPE
from server.http_clients import HttpClients, HttpClientsMiddleware
from server.jsonio import dumps
from server.negotiation import BodyLimitMiddleware
from server.routing import CATCH_ALL, IndexedRouter, RawPathRouting, allowed_methods
from server.security import AuthenticationMiddleware, Security
from server.security import handlers as security
from server.settings import Settings, load_settings, parse_time_value

log = logging.getLogger(__name__)


_PRODUCT_NAME = b"x-elastic-product"
_PRODUCT = (_PRODUCT_NAME, b"Elasticsearch")


class ProductHeaderMiddleware:
    """``X-Elastic-Product: Elasticsearch`` on every response, errors included (clients check it).

    The header is appended to the response's own header list (Starlette builds one per response); only when
    a header of that name is already there (any case) is the list rebuilt without it, as before.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _with_product(message.get("headers", []))
            await send(message)

        await self.app(scope, receive, send_with_header)


def _with_product(headers: Any) -> list[tuple[bytes, bytes]]:
    if type(headers) is list:
        for name, _ in headers:
            if len(name) == 17 and name.lower() == _PRODUCT_NAME:
                break
        else:  # the common case: no such header yet
            headers.append(_PRODUCT)
            return headers
    rebuilt = [(k, v) for k, v in headers if k.lower() != _PRODUCT_NAME]
    rebuilt.append(_PRODUCT)
    return rebuilt


def _render(request: Request, body: dict[str, Any], status: int) -> Response:
    pretty = "pretty" in request.query_params and request.query_params["pretty"] != "false"
    if request.method == "HEAD":
        return Response(b"", status, media_type=JSON_TYPE)
    return Response(dumps(body, pretty), status, media_type=JSON_TYPE)


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, QuidditchError)
    trace = request.query_params.get("error_trace") == "true"
    return _render(request, error_body(exc, error_trace=trace), error_status(exc))


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc, extra={"path": request.url.path})
    trace = request.query_params.get("error_trace") == "true"
    return _render(request, unexpected_error_body(exc, error_trace=trace), 500)


async def _no_handler(request: Request) -> Response:
    allowed = allowed_methods(request.app.router, request.scope)
    if request.method == "OPTIONS" and allowed:  # as ES: the allowed methods, no body
        return Response(b"", 200, headers={"Allow": ",".join(allowed)})
    if allowed:
        raise MethodNotAllowed(request.url.path, request.method, allowed)
    raise NoHandlerFound(request.url.path, request.method)


def _transport_timeout_s(value: str) -> float:
    """``transport_timeout`` in seconds; ``-1`` (or ``0``): no bound (a year)."""
    seconds = parse_time_value(value)
    return seconds if seconds > 0 else 365 * 86_400.0


def cluster_config(settings: Settings) -> ClusterConfig:
    return ClusterConfig(
        max_nested_depth=settings.indices_query_bool_max_nested_depth,
        max_clause_count=settings.indices_query_max_clause_count,
        default_max_result_window=settings.index_max_result_window,
        default_refresh_interval=settings.refresh_interval,
        search_queue_size=settings.search_queue_size,
        default_search_timeout_s=parse_time_value(settings.search_default_search_timeout),
        write_queue_size=settings.write_queue_size,
        indexing_pressure_limit=settings.indexing_pressure_memory_limit,
        leaf_transport=settings.leaf_transport,
        transport_timeout_s=_transport_timeout_s(settings.transport_timeout),
    )


def create_app(settings: Settings | None = None, cluster: EmbeddedCluster | None = None) -> ASGIApp:
    settings = settings or load_settings()
    owned = cluster is None
    the_cluster = cluster or EmbeddedCluster(
        settings.data_dir,
        cluster_name=settings.cluster_name,
        node_name=settings.node_name,
        config=cluster_config(settings),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await the_cluster.start()
        try:
            yield
        finally:
            if owned:
                await the_cluster.stop()

    routes = [
        # admin families first: their literal paths (``/_cat``, ``/_alias/…``) must win over ``/{index}``
        *capabilities.routes,
        *pit.routes,
        *async_search.routes,
        *xpack.routes,
        *health_report.routes,
        *security.routes,
        *cluster_admin.routes,
        *upkeep.routes,
        *cat.routes,
        *aliases.routes,
        *templates.routes,
        # stats before the rest of index admin: ``/_stats/{metric}`` wins over ``/{index}/_flush`` and co
        *index_stats.routes,
        *index_admin.routes,
        *analyze.routes,
        *index_copy.routes,
        *root.routes,
        *tasks.routes,  # ``/_tasks/_cancel`` before reindex's ``/_tasks/{task_id}``
        *reindex.routes,
        *explain.routes,
        *validate.routes,
        *search_shards.routes,
        *termvectors.routes,
        *terms_enum.routes,
        Route("/_settings/{name}", indices.get_settings, methods=["GET"]),
        *nodes.routes,
        *search.routes,
        *by_query.routes,
        *bulk.routes,
        *documents.routes,
        *indices.routes,
        Route(CATCH_ALL, _no_handler, methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(RawPathRouting)],  # date-math names and encoded ids, before routing
        exception_handlers={QuidditchError: _domain_error, Exception: _unexpected_error},
    )
    # same routes, same answers; the route is picked from a per-path-shape candidate list, not a full scan
    app.router = IndexedRouter(routes, lifespan=lifespan)
    app.state.settings = settings
    app.state.cluster = the_cluster
    app.state.security = Security.from_settings(settings)  # authentication: see server/security
    limited = BodyLimitMiddleware(app, settings.http_max_content_length)
    app.state.http_clients = HttpClients()  # ``http`` of ``_nodes/stats`` and ``_info``: see server/http_clients
    return HttpClientsMiddleware(
        ProductHeaderMiddleware(AuthenticationMiddleware(limited, app.state.security)), app.state.http_clients
    )
