"""``GET /_capabilities``: which optional behaviours an endpoint supports (ES 8.15+).

Answers from one table of the capabilities Quidditch actually implements; anything not listed is
``supported: false``, as ES answers for a capability its version lacks.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from native.errors import ActionRequestValidation
from server.http import check_params, es_json

# (method, path) → capabilities implemented there; parameters accepted there (None: any known parameter)
CAPABILITIES: dict[tuple[str, str], frozenset[str]] = {
    # _cluster/health reports unassigned_primary_shards
    ("GET", "/_cluster/health"): frozenset({"unassigned_pri_shard_count"}),
    # highlight: max_analyzed_offset -1 = the index limit; number_of_fragments bounded by the index setting
    ("GET", "/_search"): frozenset({"highlight_max_analyzed_offset_default", "highlight_number_of_fragments_bounded"}),
}


async def capabilities(request: Request) -> Response:
    params = check_params(request, {"method", "path", "parameters", "capabilities", "local_only"})
    path = params.get("path")
    if not path:
        raise ActionRequestValidation("Validation Failed: 1: path is missing;")
    method = params.get("method", "GET").upper()
    wanted = {c for c in params.get("capabilities", "").split(",") if c}
    known = CAPABILITIES.get((method, path.rstrip("/") or "/"), frozenset())
    parameters = {p for p in params.get("parameters", "").split(",") if p}
    supported = wanted <= known and not parameters
    return es_json(request, {"supported": supported})


routes = [Route("/_capabilities", capabilities, methods=["GET"])]
