"""What every ``_cat`` handler module shares: the common parameters, column specs and the response."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.cat import CatColumn, render_cat
from server.http import cluster_of

__all__ = ["CAT_PARAMS", "cat_response", "columns", "local_host", "local_id"]

CAT_PARAMS = {"v", "h", "s", "help", "bytes", "time", "local", "format"}


def cat_response(request: Request, rows: list[dict[str, Any]], table: list[CatColumn], params: dict[str, str]
                 ) -> Response:  # fmt: skip
    """The table in the format ``params`` ask for (text with ``v``/``h``/``s``, or ``format=json``)."""
    content, media = render_cat(rows, table, params)
    return Response(content, media_type=media)


def columns(spec: str) -> list[CatColumn]:
    """``name:alias1/alias2:kind`` per line; a leading ``-`` marks a non-default column."""
    out = []
    for line in spec.strip().splitlines():
        name, aliases, kind = [*line.strip().split(":"), "", ""][:3]
        default = not name.startswith("-")
        name = name.lstrip("-")
        out.append(CatColumn(name, tuple(a for a in aliases.split("/") if a), default=default, kind=kind or "str"))  # type: ignore[arg-type]
    return out


def local_id(request: Request) -> str:
    """This node's id (from its data directory; cluster state lists it under the same id)."""
    return cluster_of(request).node_id


def local_host(request: Request) -> str:
    host: str = request.app.state.settings.host
    return host
