"""Aliases: ``_alias`` / ``_aliases`` put, delete, get and exists, and the atomic ``POST _aliases``."""

from __future__ import annotations

import asyncio
import fnmatch
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.master import AliasAction
from cluster.names import AliasesNotFound, match_names, resolve_date_math
from cluster.state import IndexMeta
from native.errors import ActionRequestValidation, IllegalArgument, ParsingError
from server.handlers.indices import resolve
from server.http import check_params, cluster_of, es_json, json_body

ALIAS_BODY_KEYS = frozenset({"filter", "routing", "index_routing", "search_routing", "is_write_index", "is_hidden"})


def _split(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in (p.strip() for p in value.split(",")) if v]
    if isinstance(value, list):
        return [str(v) for v in value]
    raise ParsingError(f"expected a string or an array of strings but got [{value}]")


async def put_alias(request: Request) -> Response:
    params = check_params(request)
    body = await json_body(request) or {}
    if not isinstance(body, dict):
        raise ParsingError("request body must be an object")
    for key in body:
        if key not in ALIAS_BODY_KEYS:
            raise IllegalArgument(f"Unsupported field [{key}]")  # ES's RestIndexPutAliasAction
        value = body[key]
        if key != "filter" and isinstance(value, list | dict):
            token = "START_ARRAY" if isinstance(value, list) else "START_OBJECT"
            raise IllegalArgument(f"[{key}] Unexpected token [{token}]")
    names = _split(request.path_params["name"])
    metas = resolve(request, request.path_params["index"], params, allow_closed=True)
    action = AliasAction("add", tuple(m.name for m in metas), tuple(names), body)
    await asyncio.to_thread(cluster_of(request).master.update_aliases, [action])
    return es_json(request, {"acknowledged": True})


def _matching_aliases(metas: list[IndexMeta], pattern: str | None) -> dict[str, list[str]]:
    return {m.name: match_names(pattern, list(m.aliases)) for m in metas}


async def delete_alias(request: Request) -> Response:
    params = check_params(request)
    metas = resolve(request, request.path_params["index"], params, allow_closed=True)
    pattern = request.path_params["name"]
    found = _matching_aliases(metas, pattern)
    if not any(found.values()):
        raise AliasesNotFound(_split(pattern))
    actions = [AliasAction("remove", (index,), tuple(aliases)) for index, aliases in found.items() if aliases]
    await asyncio.to_thread(cluster_of(request).master.update_aliases, actions)
    return es_json(request, {"acknowledged": True})


def _alias_listing(request: Request, params: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The ``GET _alias`` body and the concrete alias names asked for but not found.

    Without a name every resolved index is listed (``{"aliases": {}}`` when it has none); with one, only
    indices holding a matching alias.
    """
    name = request.path_params.get("name")
    metas = resolve(request, request.path_params.get("index"), params, allow_closed=True)
    body: dict[str, Any] = {}
    seen: set[str] = set()
    for meta in metas:
        aliases = match_names(name, sorted(meta.aliases)) if name else sorted(meta.aliases)
        seen.update(aliases)
        if aliases or not name:
            body[meta.name] = {"aliases": {a: dict(meta.aliases[a]) for a in aliases}}
    return body, missing_aliases(_split(name), seen)


def missing_aliases(requested: list[str], returned: set[str]) -> list[str]:
    """ES's ``RestGetAliasesAction``: the explicitly requested aliases not returned, sorted. A ``-name`` is an
    exclusion only after the first wildcard (before it, it is a literal name); an exclusion that matches a
    requested name excuses it."""
    first_wildcard = next((i for i, r in enumerate(requested) if "*" in r), len(requested))
    missing: set[str] = set()
    for i, name in enumerate(requested):
        if name == "_all" or "*" in name or (i > first_wildcard and name.startswith("-")):
            continue
        excluded = any(
            later.startswith("-") and (fnmatch.fnmatchcase(name, later[1:]) or later[1:] == "_all")
            for later in requested[max(i + 1, first_wildcard):]
        )
        if not excluded and name not in returned:
            missing.add(name)
    return sorted(missing)


async def get_alias(request: Request) -> Response:
    params = check_params(request)
    body, missing = _alias_listing(request, params)
    if missing:
        reason = f"alias [{missing[0]}] missing" if len(missing) == 1 else f"aliases [{','.join(missing)}] missing"
        return es_json(request, {"error": reason, "status": 404, **body}, status=404)
    return es_json(request, body)


async def exists_alias(request: Request) -> Response:
    params = check_params(request)
    try:
        body, missing = _alias_listing(request, params)
    except Exception:  # an unknown index means no such alias
        return Response(b"", 404, media_type="application/json; charset=UTF-8")
    found = bool(body) and not missing
    if found and request.path_params.get("name"):
        found = any(entry["aliases"] for entry in body.values())
    return Response(b"", 200 if found else 404, media_type="application/json; charset=UTF-8")


async def update_aliases(request: Request) -> Response:
    params = check_params(request)
    body = await json_body(request, required=True)
    if not isinstance(body, dict):
        raise ParsingError("request body must be an object")
    for key in body:
        if key != "actions":
            raise ParsingError(f"[aliases] unknown field [{key}]")
    raw_actions = body.get("actions")
    if not isinstance(raw_actions, list) or not raw_actions:
        raise ActionRequestValidation("Validation Failed: 1: No action specified;")
    parsed = [_parse_action(request, raw, params) for raw in raw_actions]
    await asyncio.to_thread(cluster_of(request).master.update_aliases, [a for a, _ in parsed if a is not None])
    if all(failure is None for _, failure in parsed):
        return es_json(request, {"acknowledged": True, "errors": False})
    # ES 8.14+: a ``remove`` that matched no alias (``must_exist`` not true) fails alone; the rest is applied
    results = []
    for raw, (action, failure) in zip(raw_actions, parsed, strict=True):
        op = next(iter(raw))
        described = {"type": op, "indices": list(failure[0] if failure else action.indices if action else ()),
                     "aliases": list(failure[1] if failure else action.aliases if action else ())}  # fmt: skip
        if failure is None:
            results.append({"action": described, "status": 200})
        else:
            error = AliasesNotFound(list(failure[1]))
            results.append({"action": described, "status": error.status, "error": error.to_dict()})
    return es_json(request, {"acknowledged": True, "errors": True, "action_results": results})


def _parse_action(request: Request, raw: Any, params: dict[str, str]
                  ) -> tuple[AliasAction | None, tuple[tuple[str, ...], tuple[str, ...]] | None]:  # fmt: skip
    """The action, or (None, (indices, aliases)) for a ``remove`` that matched no alias and may fail alone."""
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ParsingError("[aliases] failed to parse field [actions]")
    op, spec = next(iter(raw.items()))
    if op not in ("add", "remove", "remove_index"):
        raise ParsingError(f"[aliases] unknown field [{op}]")
    if not isinstance(spec, dict):
        raise ParsingError(f"[{op}] failed to parse")
    index_expr = _split(spec.get("index")) + _split(spec.get("indices"))
    if not index_expr:
        raise ActionRequestValidation("Validation Failed: 1: One of [index] or [indices] is required;")
    # as ES, alias names may be date math (index expressions are resolved with it by ``resolve``)
    alias_expr = [resolve_date_math(a) or a for a in _split(spec.get("alias")) + _split(spec.get("aliases"))]
    allowed = {"index", "indices", "alias", "aliases", "must_exist"} | (ALIAS_BODY_KEYS if op == "add" else set())
    for key in spec:
        if key not in allowed:
            raise ParsingError(f"[{op}] unknown field [{key}]")
    if "must_exist" in spec and op != "remove":
        raise IllegalArgument(f"[must_exist] is unsupported for [{op.upper()}]")
    metas = resolve(request, ",".join(index_expr), {**params, "allow_no_indices": "false"}, allow_closed=True)
    indices = tuple(m.name for m in metas)
    if op == "remove_index":
        return AliasAction("remove_index", indices), None
    if not alias_expr:
        raise ActionRequestValidation("Validation Failed: 1: One of [alias] or [aliases] is required;")
    must_exist = spec.get("must_exist")
    if op == "add":
        props = {k: v for k, v in spec.items() if k in ALIAS_BODY_KEYS}
        return AliasAction("add", indices, tuple(alias_expr), props), None
    found = {m.name: match_names(",".join(alias_expr), list(m.aliases)) for m in metas}
    if must_exist is True:
        for aliases in found.values():
            missing = [a for a in alias_expr if a not in aliases]
            if missing:
                raise AliasesNotFound(missing)
    if not any(found.values()):
        return None, (indices, tuple(alias_expr))
    names = sorted({a for aliases in found.values() for a in aliases})
    return AliasAction("remove", indices, tuple(names), must_exist=False), None


routes = [
    Route("/_aliases", update_aliases, methods=["POST"]),
    Route("/_aliases", get_alias, methods=["GET"]),
    Route("/_alias", get_alias, methods=["GET"]),
    Route("/_alias/{name}", get_alias, methods=["GET"]),
    Route("/_alias/{name}", exists_alias, methods=["HEAD"]),
    Route("/{index}/_alias", get_alias, methods=["GET"]),
    Route("/{index}/_aliases", get_alias, methods=["GET"]),
    Route("/{index}/_alias/{name}", get_alias, methods=["GET"]),
    Route("/{index}/_alias/{name}", exists_alias, methods=["HEAD"]),
    Route("/{index}/_alias/{name}", put_alias, methods=["PUT", "POST"]),
    Route("/{index}/_aliases/{name}", put_alias, methods=["PUT", "POST"]),
    Route("/{index}/_alias/{name}", delete_alias, methods=["DELETE"]),
    Route("/{index}/_aliases/{name}", delete_alias, methods=["DELETE"]),
]
