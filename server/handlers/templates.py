"""Templates: ``_index_template`` (with ``_simulate``), ``_component_template`` and legacy ``_template``."""

from __future__ import annotations

import asyncio
import fnmatch
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster import templates
from cluster.master import TemplateMissing, stored_alias
from cluster.names import match_names
from cluster.settings import nest_settings
from native.errors import IllegalArgument, ParsingError
from server.http import check_params, cluster_of, es_json, flag, json_body

JSON = "application/json; charset=UTF-8"


def _block_out(block: dict[str, Any], flat: bool) -> dict[str, Any]:
    out = dict(block)
    if "settings" in out:
        out["settings"] = dict(out["settings"]) if flat else nest_settings(out["settings"])
    if isinstance(out.get("aliases"), dict):  # as ES returns them: ``routing`` split into index/search routing
        out["aliases"] = {name: stored_alias(name, props or {}) for name, props in out["aliases"].items()}
    return out


def _composable_out(body: dict[str, Any], flat: bool) -> dict[str, Any]:
    out = dict(body)
    if "template" in out:
        out["template"] = _block_out(out["template"], flat)
    return out


def _select(request: Request, stored: dict[str, Any], what: str) -> list[str]:
    name = request.path_params.get("name")
    if name and "," in name:  # ES takes one name or pattern here
        raise IllegalArgument(f"template name [{name}] must not contain a ','")
    names = match_names(name, sorted(stored))
    if name and not names and "*" not in name:
        raise TemplateMissing(f"{what} matching [{name}] not found")
    return names


# -- composable -------------------------------------------------------------------------------------------
async def put_index_template(request: Request) -> Response:
    params = check_params(request, {"create", "cause"})
    body = await json_body(request, required=True)
    await asyncio.to_thread(cluster_of(request).master.put_index_template, request.path_params["name"], body,
                            create=flag(params, "create"))  # fmt: skip
    return es_json(request, {"acknowledged": True})


async def get_index_template(request: Request) -> Response:
    params = check_params(request)
    stored = dict(cluster_of(request).master.state.index_templates)
    names = _select(request, stored, "index template")
    flat = flag(params, "flat_settings")
    name = request.path_params.get("name")
    return es_json(request, {"index_templates": [
        {"name": n, "index_template": _composable_out(stored[n], flat)} for n in names
    ]}, status=404 if name and not names else 200)  # fmt: skip  # ES: a wildcard that matches nothing is a 404


async def exists_index_template(request: Request) -> Response:
    check_params(request)
    found = match_names(request.path_params["name"], list(cluster_of(request).master.state.index_templates))
    return Response(b"", 200 if found else 404, media_type=JSON)


async def delete_index_template(request: Request) -> Response:
    check_params(request)
    await _delete(request, "index_templates", "index_template")
    return es_json(request, {"acknowledged": True})


async def _delete(request: Request, kind: str, what: str) -> None:
    stored = dict(getattr(cluster_of(request).master.state, kind))
    name = request.path_params["name"]
    names = match_names(name, sorted(stored))
    if not names:
        if "*" in name:
            return
        raise TemplateMissing(f"{what} matching [{name}] not found")
    await asyncio.to_thread(cluster_of(request).master.delete_templates, kind, names)


def _simulated(state: Any, body: dict[str, Any], flat: bool) -> dict[str, Any]:
    contribution = templates.Contribution()
    for component in body.get("composed_of") or []:
        if component in state.component_templates:
            templates._apply_block(contribution, state.component_templates[component]["template"])
    templates._apply_block(contribution, body.get("template") or {})
    settings = {"index.number_of_shards": "1", "index.number_of_replicas": "1", **contribution.settings}
    return {"settings": settings if flat else nest_settings(settings), "mappings": contribution.mappings,
            "aliases": contribution.aliases}  # fmt: skip


def _overlapping(state: Any, name: str | None, patterns: list[str], exclude: str | None) -> list[dict[str, Any]]:
    out = []
    for other, body in sorted(state.index_templates.items()):
        if other == exclude:
            continue
        theirs = body["index_patterns"]
        if name is not None:
            hit = any(fnmatch.fnmatchcase(name, p) for p in theirs)
        else:
            hit = any(templates._overlap(a, b) for a in patterns for b in theirs)
        if hit:
            out.append({"name": other, "index_patterns": theirs})
    return out


async def simulate_index(request: Request) -> Response:
    """The settings, mappings and aliases a new index would get; a template in the body takes part as if it
    were stored (as ES adds it to a copy of the cluster state). ``overlapping``: the other templates, legacy
    first, whose patterns match the index too."""
    params = check_params(request, {"include_defaults", "cause", "create"})
    state = cluster_of(request).master.state
    index = request.path_params["name"]
    candidates = dict(state.index_templates)
    given = await json_body(request)
    simulated_name = "simulate_index_template"
    if given is not None:
        candidates[simulated_name] = templates.normalize_composable(simulated_name, given, state.component_templates)
    chosen = templates.matching_composable(index, candidates)
    if chosen is None:
        return es_json(request, {"overlapping": []})
    legacy = [{"name": n, "index_patterns": b["index_patterns"]} for n, b in sorted(state.legacy_templates.items())
              if any(fnmatch.fnmatchcase(index, p) for p in b["index_patterns"])]  # fmt: skip
    composable = [{"name": n, "index_patterns": b["index_patterns"]} for n, b in sorted(state.index_templates.items())
                  if n != chosen and any(fnmatch.fnmatchcase(index, p) for p in b["index_patterns"])]  # fmt: skip
    body = {
        "template": _simulated(state, candidates[chosen], flag(params, "flat_settings")),
        "overlapping": legacy + composable,
    }
    return es_json(request, body)


async def simulate_template(request: Request) -> Response:
    params = check_params(request, {"include_defaults", "cause", "create"})
    state = cluster_of(request).master.state
    body = await json_body(request)
    name = request.path_params.get("name")
    if body is None:
        if name is None or name not in state.index_templates:
            raise TemplateMissing(f"unable to simulate template [{name}] that does not exist")
        template = state.index_templates[name]
    else:
        template = templates.normalize_composable(name or "simulated", body, state.component_templates)
    return es_json(request, {
        "template": _simulated(state, template, flag(params, "flat_settings")),
        "overlapping": _overlapping(state, None, template["index_patterns"], name),
    })  # fmt: skip


# -- component --------------------------------------------------------------------------------------------
async def put_component_template(request: Request) -> Response:
    params = check_params(request, {"create", "cause"})
    body = await json_body(request, required=True)
    await asyncio.to_thread(cluster_of(request).master.put_component_template, request.path_params["name"], body,
                            create=flag(params, "create"))  # fmt: skip
    return es_json(request, {"acknowledged": True})


async def get_component_template(request: Request) -> Response:
    params = check_params(request, {"include_defaults"})
    stored = dict(cluster_of(request).master.state.component_templates)
    names = _select(request, stored, "component template")
    flat = flag(params, "flat_settings")
    return es_json(request, {"component_templates": [
        {"name": n, "component_template": {**stored[n], "template": _block_out(stored[n]["template"], flat)}}
        for n in names
    ]})  # fmt: skip


async def exists_component_template(request: Request) -> Response:
    check_params(request)
    found = match_names(request.path_params["name"], list(cluster_of(request).master.state.component_templates))
    return Response(b"", 200 if found else 404, media_type=JSON)


async def delete_component_template(request: Request) -> Response:
    check_params(request)
    await _delete(request, "component_templates", "component template")
    return es_json(request, {"acknowledged": True})


# -- legacy -----------------------------------------------------------------------------------------------
async def put_legacy_template(request: Request) -> Response:
    params = check_params(request, {"create", "order", "cause"})
    body = await json_body(request, required=True)
    if not isinstance(body, dict):
        raise ParsingError("request body must be an object")
    if "order" in params:
        body = {**body, "order": int(params["order"])}
    await asyncio.to_thread(cluster_of(request).master.put_legacy_template, request.path_params["name"], body,
                            create=flag(params, "create"))  # fmt: skip
    return es_json(request, {"acknowledged": True})


async def get_legacy_template(request: Request) -> Response:
    params = check_params(request)
    stored = dict(cluster_of(request).master.state.legacy_templates)
    name = request.path_params.get("name")
    names = match_names(name, sorted(stored))
    flat = flag(params, "flat_settings")
    body = {n: _block_out(stored[n], flat) for n in names}
    if name and not names:
        return es_json(request, {}, status=404)
    return es_json(request, body)


async def exists_legacy_template(request: Request) -> Response:
    check_params(request)
    found = match_names(request.path_params["name"], list(cluster_of(request).master.state.legacy_templates))
    return Response(b"", 200 if found else 404, media_type=JSON)


async def delete_legacy_template(request: Request) -> Response:
    check_params(request)
    await _delete(request, "legacy_templates", "index_template")
    return es_json(request, {"acknowledged": True})


routes = [
    Route("/_index_template", get_index_template, methods=["GET"]),
    Route("/_index_template/_simulate_index/{name}", simulate_index, methods=["POST"]),
    Route("/_index_template/_simulate", simulate_template, methods=["POST"]),
    Route("/_index_template/_simulate/{name}", simulate_template, methods=["POST"]),
    Route("/_index_template/{name}", get_index_template, methods=["GET"]),
    Route("/_index_template/{name}", exists_index_template, methods=["HEAD"]),
    Route("/_index_template/{name}", put_index_template, methods=["PUT", "POST"]),
    Route("/_index_template/{name}", delete_index_template, methods=["DELETE"]),
    Route("/_component_template", get_component_template, methods=["GET"]),
    Route("/_component_template/{name}", get_component_template, methods=["GET"]),
    Route("/_component_template/{name}", exists_component_template, methods=["HEAD"]),
    Route("/_component_template/{name}", put_component_template, methods=["PUT", "POST"]),
    Route("/_component_template/{name}", delete_component_template, methods=["DELETE"]),
    Route("/_template", get_legacy_template, methods=["GET"]),
    Route("/_template/{name}", get_legacy_template, methods=["GET"]),
    Route("/_template/{name}", exists_legacy_template, methods=["HEAD"]),
    Route("/_template/{name}", put_legacy_template, methods=["PUT", "POST"]),
    Route("/_template/{name}", delete_legacy_template, methods=["DELETE"]),
]
