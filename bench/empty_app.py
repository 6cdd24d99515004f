"""The smallest Starlette app (returns ``{}``): the floor for one HTTP request on this machine."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def _empty(request: Request) -> JSONResponse:
    return JSONResponse({})


app = Starlette(routes=[Route("/", _empty, methods=["GET", "POST"])])
