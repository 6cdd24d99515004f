"""Upkeep APIs that tools call on start or before an upgrade: ``_dangling`` and ``_migration``.

Both answer from what Quidditch keeps, not from a fixed shape:

- **Dangling indices** are index folders on disk that the cluster state does not know. A Quidditch node
  removes such folders when it starts (``DataNode._remove_orphans``: they are the leftovers of a deletion a
  kill interrupted) and deletes an index's files synchronously, so the list is empty; an index whose
  metadata is damaged keeps its files but stays in the cluster state (red), so it is not dangling either.
  Importing or deleting a dangling index by UUID therefore finds none, with ES's error.
- **Migration**: Quidditch has no system indices (no ``.security``, ``.tasks``, …), so no system feature
  needs a migration, and it tracks no deprecated settings, so the deprecation report is empty.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.names import resolve_expression
from native.errors import IllegalArgument
from server.http import check_params, cluster_of, es_json, flag


async def list_dangling(request: Request) -> Response:
    check_params(request)
    cluster = cluster_of(request)
    return es_json(
        request,
        {
            "_nodes": {"total": 1, "successful": 1, "failed": 0},
            "cluster_name": cluster.cluster_name,
            "dangling_indices": [],
        },
    )


async def import_or_delete_dangling(request: Request) -> Response:
    check_params(request, {"accept_data_loss"})
    uuid = request.path_params["uuid"]
    raise IllegalArgument(f"No dangling index found for UUID [{uuid}]")


async def feature_upgrade_status(request: Request) -> Response:
    check_params(request)
    return es_json(request, {"features": [], "migration_status": "NO_MIGRATION_NEEDED"})


async def feature_upgrade(request: Request) -> Response:
    check_params(request)
    return es_json(request, {"accepted": True, "features": []})


async def deprecations(request: Request) -> Response:
    params = check_params(request)
    if "index" in request.path_params:  # a missing index is a 404, as for any index API
        state = cluster_of(request).master.state
        resolve_expression(
            request.path_params["index"], state.indices, aliases=state.aliases(),
            ignore_unavailable=flag(params, "ignore_unavailable"), expand_closed=True,
        )  # fmt: skip
    return es_json(
        request,
        {
            "cluster_settings": [],
            "node_settings": [],
            "index_settings": {},
            "data_streams": {},
            "ilm_policies": {},
            "templates": {},
            "ml_settings": [],
        },
    )


routes = [
    Route("/_dangling", list_dangling, methods=["GET"]),
    Route("/_dangling/{uuid}", import_or_delete_dangling, methods=["POST", "DELETE"]),
    Route("/_migration/system_features", feature_upgrade_status, methods=["GET"]),
    Route("/_migration/system_features", feature_upgrade, methods=["POST"]),
    Route("/_migration/deprecations", deprecations, methods=["GET"]),
    Route("/{index}/_migration/deprecations", deprecations, methods=["GET"]),
]
