"""Upkeep APIs that tools call on start or before an upgrade or a node's removal: ``_dangling``,
``_migration``, ``_internal/prevalidate_node_removal`` and ``_ssl/certificates``.

Both answer from what Quidditch keeps, not from a fixed shape:

- **Dangling indices** are index folders on disk that the cluster state does not know. A Quidditch node
  removes such folders when it starts (``DataNode._remove_orphans``: they are the leftovers of a deletion a
  kill interrupted) and deletes an index's files synchronously, so the list is empty; an index whose
  metadata is damaged keeps its files but stays in the cluster state (red), so it is not dangling either.
  Importing or deleting a dangling index by UUID therefore finds none, with ES's error.
- **Node removal prevalidation** checks what ES checks: whether the cluster is red and, if so, whether the
  node holds a copy of a red shard (here the one node holds every shard). A yellow or green cluster is
  ``no_problems``, as in ES, which leaves "is the data replicated elsewhere" to allocation.
- **SSL certificates** are those of ``--tls-cert`` (the HTTP layer's, PEM): each certificate of the chain file,
  the first with the private key; none when the server speaks plain HTTP.
- **Repositories metering**: snapshot repositories are not built, so each node meters none.
- **Migration**: Quidditch has no system indices (no ``.security``, ``.tasks``, …), so no system feature
  needs a migration, and it tracks no deprecated settings, so the deprecation report is empty.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.embedded import EmbeddedCluster
from cluster.names import resolve_expression
from cluster.state import damaged_shards
from native.errors import ActionRequestValidation, IllegalArgument, ResourceNotFound
from server.handlers.cluster_admin import _node
from server.handlers.members import select_members
from server.handlers.root import health_body
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
    return es_json(request, {"accepted": False, "features": []})  # nothing to migrate, so nothing started


async def repositories_metering(request: Request) -> Response:
    """``_nodes/{id}/_repositories_metering`` (and its archive clearing): snapshot repositories are not built, so
    every node meters none."""
    check_params(request)
    cluster = cluster_of(request)
    wanted = [n for n in request.path_params["node_id"].split(",") if n]
    nodes: dict[str, Any] = {m.id: {"repositories": []} for m in select_members(request, wanted)}
    return es_json(
        request,
        {
            "_nodes": {"total": len(nodes), "successful": len(nodes), "failed": 0},
            "cluster_name": cluster.cluster_name,
            "nodes": nodes,
        },
    )


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


_NODE_SELECTORS = {"names": "names", "ids": "IDs", "external_ids": "external IDs"}


async def prevalidate_node_removal(request: Request) -> Response:
    params = check_params(request, set(_NODE_SELECTORS))
    given = [key for key in _NODE_SELECTORS if key in params]
    if not given:
        raise ActionRequestValidation(
            "Validation Failed: 1: request must contain one of the parameters 'names', 'ids', or 'external_ids';"
        )
    if len(given) > 1:
        raise ActionRequestValidation(
            "Validation Failed: 1: request must contain only one of the parameters 'names', 'ids', or "
            "'external_ids';"
        )
    cluster = cluster_of(request)
    node = _node(request)
    key = given[0]
    wanted = [v for v in params[key].split(",") if v]
    own = {"names": node["name"], "ids": cluster.node_id, "external_ids": node["external_id"]}[key]
    unknown = [v for v in wanted if v != own]
    if unknown or not wanted:
        raise ResourceNotFound(f"could not resolve node {_NODE_SELECTORS[key]} [{', '.join(unknown or wanted)}]")
    health = health_body(cluster)
    if health["status"] != "red":
        result = {"is_safe": True, "reason": "no_problems", "message": ""}
    else:
        red = sorted(f"[{name}][{shard}]" for name, shard in _red_shards(cluster))
        result = {"is_safe": False, "reason": "red_shards_on_node",
                  "message": f"node contains copies of the following red shards: [{', '.join(red)}]"}  # fmt: skip
    return es_json(
        request,
        {
            "is_safe": result["is_safe"],
            "message": "" if result["is_safe"] else "cluster health is RED",
            "nodes": [{"name": node["name"], "id": cluster.node_id, "external_id": node["external_id"],
                       "result": result}],
        },
    )


def _red_shards(cluster: EmbeddedCluster) -> list[tuple[str, int]]:
    state = cluster.master.state
    red = [(meta.name, shard) for meta in state.indices.values() for shard in cluster.node.failures(meta.uuid)]
    return red + [(name, shard) for name, raw in state.damaged.items() for shard in range(damaged_shards(raw))]


async def ssl_certificates(request: Request) -> Response:
    check_params(request)
    path = request.app.state.settings.tls_cert
    if not path:
        return es_json(request, [])
    from cryptography import x509

    with open(path, "rb") as handle:
        chain = x509.load_pem_x509_certificates(handle.read())
    return es_json(
        request,
        [
            {
                "path": path,
                "format": "PEM",
                "alias": None,
                "subject_dn": cert.subject.rfc4514_string(),
                "serial_number": format(cert.serial_number, "x"),
                "has_private_key": i == 0,
                "expiry": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            }
            for i, cert in enumerate(chain)
        ],
    )


routes = [
    Route("/_dangling", list_dangling, methods=["GET"]),
    Route("/_dangling/{uuid}", import_or_delete_dangling, methods=["POST", "DELETE"]),
    Route("/_ssl/certificates", ssl_certificates, methods=["GET"]),
    Route("/_nodes/{node_id}/_repositories_metering", repositories_metering, methods=["GET"]),
    Route("/_nodes/{node_id}/_repositories_metering/{version}", repositories_metering, methods=["DELETE"]),
    Route("/_internal/prevalidate_node_removal", prevalidate_node_removal, methods=["POST"]),
    Route("/_migration/system_features", feature_upgrade_status, methods=["GET"]),
    Route("/_migration/system_features", feature_upgrade, methods=["POST"]),
    Route("/_migration/deprecations", deprecations, methods=["GET"]),
    Route("/{index}/_migration/deprecations", deprecations, methods=["GET"]),
]
