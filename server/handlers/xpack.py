"""``GET /_xpack``, ``/_xpack/usage`` and the ``_license`` family: what Kibana reads at start-up.

Quidditch runs under the equivalent of ES's free **basic** license, which never expires; there is no way to
install another one (a signed license cannot be verified here, and the paid features are not built), so
``PUT _license`` is refused by name and ``POST _license/start_trial`` is ES's 403. The feature table is
truthful: a feature is ``available``/``enabled`` only when this server implements it (security follows the
``security_enabled`` setting), so Kibana does not offer screens whose APIs would fail.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from native.errors import IllegalArgument
from server.http import check_params, cluster_of, es_json

# ES 8's x-pack feature names; only the ones this server implements are on (security: see _features)
_FEATURES = (
    "aggregate_metric", "analytics", "archive", "ccr", "data_streams", "data_tiers", "enrich", "enterprise_search",
    "eql", "esql", "frozen_indices", "graph", "ilm", "logstash", "ml", "monitoring", "rollup", "searchable_snapshots",
    "security", "slm", "spatial", "sql", "transform", "universal_profiling", "voting_only", "watcher",
)  # fmt: skip
_IMPLEMENTED: frozenset[str] = frozenset()
_CATEGORIES = ("build", "license", "features")
_ISSUE_DATE_MS = 1_700_000_000_000  # the basic license is "issued" once, at a fixed date


def license_uid(request: Request) -> str:
    """One uid per cluster, derived from the cluster uuid so it is stable across restarts."""
    cluster_uuid = cluster_of(request).master.state.cluster_uuid or "quidditch"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"quidditch-basic-license:{cluster_uuid}"))


def _features(request: Request) -> dict[str, dict[str, bool]]:
    security_on = bool(request.app.state.security.enabled)
    out: dict[str, dict[str, bool]] = {}
    for name in _FEATURES:
        if name == "security":
            out[name] = {"available": True, "enabled": security_on}
        else:
            on = name in _IMPLEMENTED
            out[name] = {"available": on, "enabled": on}
    return out


async def xpack_info(request: Request) -> Response:
    params = check_params(request, {"categories", "accept_enterprise"})
    wanted = [c.strip() for c in params.get("categories", "_all").split(",") if c.strip()]
    if "_all" in wanted:
        wanted = list(_CATEGORIES)
    if "_none" in wanted:
        wanted = []
    for category in wanted:
        if category not in _CATEGORIES:
            raise IllegalArgument(f"Unknown category [{category}]")
    body: dict[str, Any] = {}
    if "build" in wanted:
        body["build"] = {"hash": "quidditch", "date": "2026-11-01T00:00:00.000Z"}
    if "license" in wanted:
        body["license"] = {"uid": license_uid(request), "type": "basic", "mode": "basic", "status": "active"}
    if "features" in wanted:
        body["features"] = _features(request)
    if params.get("human", "true") != "false":
        body["tagline"] = "You know, for X"
    return es_json(request, body)


async def xpack_usage(request: Request) -> Response:
    check_params(request)
    return es_json(request, _features(request))


async def get_license(request: Request) -> Response:
    check_params(request, {"accept_enterprise"})
    from datetime import UTC, datetime

    issued = datetime.fromtimestamp(_ISSUE_DATE_MS / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    body = {
        "license": {
            "status": "active",
            "uid": license_uid(request),
            "type": "basic",
            "issue_date": issued,
            "issue_date_in_millis": _ISSUE_DATE_MS,
            "max_nodes": 1000,
            "max_resource_units": None,
            "issued_to": cluster_of(request).cluster_name,
            "issuer": "elasticsearch",
            "start_date_in_millis": -1,
        }
    }
    return es_json(request, body)


async def put_license(request: Request) -> Response:
    check_params(request, {"acknowledge"})
    raise IllegalArgument("installing a license is not supported by this server: it runs under the basic license")


async def delete_license(request: Request) -> Response:
    check_params(request)
    return es_json(request, {"acknowledged": True})  # ES: deleting the basic license is a no-op


async def basic_status(request: Request) -> Response:
    check_params(request)
    return es_json(request, {"eligible_to_start_basic": False})  # the basic license is already active


async def trial_status(request: Request) -> Response:
    check_params(request)
    return es_json(request, {"eligible_to_start_trial": False})  # no trial features to start


async def start_basic(request: Request) -> Response:
    check_params(request, {"acknowledge"})
    body = {"acknowledged": True, "basic_was_started": False,
            "error_message": "Operation failed: Current license is basic."}  # fmt: skip
    return es_json(request, body, status=403)


async def start_trial(request: Request) -> Response:
    check_params(request, {"acknowledge", "type"})
    body = {"acknowledged": True, "trial_was_started": False,
            "error_message": "Operation failed: a trial license is not available on this server."}  # fmt: skip
    return es_json(request, body, status=403)


routes = [
    Route("/_xpack", xpack_info, methods=["GET"]),
    Route("/_xpack/usage", xpack_usage, methods=["GET"]),
    Route("/_license", get_license, methods=["GET"]),
    Route("/_license", put_license, methods=["PUT", "POST"]),
    Route("/_license", delete_license, methods=["DELETE"]),
    Route("/_license/basic_status", basic_status, methods=["GET"]),
    Route("/_license/trial_status", trial_status, methods=["GET"]),
    Route("/_license/start_basic", start_basic, methods=["POST"]),
    Route("/_license/start_trial", start_trial, methods=["POST"]),
]
