"""``GET|POST /{index}/_termvectors[/{id}]`` and ``[/{index}]/_mtermvectors`` (see ``cluster.termvectors``)."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster import shard_reads
from cluster.embedded import EmbeddedCluster
from cluster.termvectors import TermVectorOptions
from native.errors import ActionRequestValidation, IllegalArgument, ParsingError, QuidditchError, RoutingMissing
from native.mapping import routing_required
from server.handlers.explain import single_index
from server.http import check_params, es_json, json_body

PARAMS = {"fields", "field_statistics", "term_statistics", "offsets", "positions", "payloads", "routing",
          "realtime", "version", "version_type", "preference"}  # fmt: skip
BODY_KEYS = {"doc", "fields", "filter", "per_field_analyzer", "offsets", "positions", "payloads", "term_statistics",
             "field_statistics", "routing", "version", "version_type", "_index", "_id", "realtime",
             "preference"}  # fmt: skip
FLAGS = ("positions", "offsets", "payloads", "term_statistics", "field_statistics")
DEFAULTS = {"positions": True, "offsets": True, "payloads": True, "term_statistics": False, "field_statistics": True}


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value)
    if text in ("", "true"):
        return True
    if text == "false":
        return False
    raise IllegalArgument(f"Failed to parse value [{value}] for [{name}] as only [true] or [false] are allowed.")


def _fields(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return tuple(f.strip() for f in value.split(",") if f.strip())
    if isinstance(value, list):
        return tuple(str(f) for f in value)
    raise ParsingError(f"failed to parse field [fields]: expected a string or an array but got [{value}]")


def _options(spec: dict[str, Any], params: dict[str, str]) -> TermVectorOptions:
    """Per-document options: the body (or mtermvectors entry) wins over the URL parameters."""
    values = {name: _bool(spec.get(name, params.get(name, DEFAULTS[name])), name) for name in FLAGS}
    fields = _fields(spec["fields"]) if "fields" in spec else _fields(params.get("fields"))
    analyzers = spec.get("per_field_analyzer") or {}
    rules = spec.get("filter")
    if not isinstance(analyzers, dict) or (rules is not None and not isinstance(rules, dict)):
        raise ParsingError("failed to parse term vectors request")
    return TermVectorOptions(fields=fields, per_field_analyzer={str(k): str(v) for k, v in analyzers.items()},
                             filter=rules, **values)  # fmt: skip


async def _one(request: Request, index: str, doc_id: str | None, spec: dict[str, Any],
               params: dict[str, str]) -> dict[str, Any]:  # fmt: skip
    started = time.monotonic()
    for key in spec:
        if key not in BODY_KEYS:
            raise ParsingError(f"failed to parse term vectors request: unknown field [{key}]")
    doc = spec.get("doc")
    if doc_id is None and doc is None:
        raise ActionRequestValidation("Validation Failed: 1: id or doc is missing;")
    if doc is not None and not isinstance(doc, dict):
        raise ParsingError("failed to parse term vectors request: [doc] must be an object")
    opts = _options(spec, params)
    cluster: EmbeddedCluster = request.app.state.cluster
    meta = single_index(request, index, params)
    routing = spec.get("routing", params.get("routing"))
    if routing is None and doc is None and routing_required(meta.mappings):
        raise RoutingMissing(meta.name, doc_id)
    out: dict[str, Any] = {"_index": meta.name}
    if doc is None:
        assert doc_id is not None
        out["_id"] = doc_id
    realtime = spec.get("realtime", params.get("realtime", True))
    client = cluster.writes.shard_client(meta, shard_reads.doc_shard(meta, doc_id, routing))
    read = await shard_reads.termvectors(client, meta, doc_id=doc_id, routing=routing, doc=doc, opts=opts,
                                         realtime=str(realtime).lower() != "false")  # fmt: skip
    if not read.found:
        return out | {"found": False, "took": int((time.monotonic() - started) * 1000)}
    out["_version"] = read.version
    vectors = read.term_vectors
    out["found"] = True
    out["took"] = int((time.monotonic() - started) * 1000)
    if vectors:
        out["term_vectors"] = vectors
    return out


async def termvectors(request: Request) -> Response:
    params = check_params(request, PARAMS)
    body = await json_body(request)
    if body is not None and not isinstance(body, dict):
        raise ParsingError("request body must be an object")
    doc_id = request.path_params.get("id")
    result = await _one(request, request.path_params["index"], doc_id, body or {}, params)
    return es_json(request, result)


async def mtermvectors(request: Request) -> Response:
    params = check_params(request, PARAMS | {"ids"})
    body = await json_body(request)
    if body is not None and not isinstance(body, dict):
        raise ParsingError("request body must be an object")
    body = body or {}
    default_index = request.path_params.get("index")
    entries: list[dict[str, Any]]
    if "docs" in body:
        if not isinstance(body["docs"], list):
            raise ParsingError("failed to parse multi term vectors request: [docs] must be an array")
        entries = [dict(d) for d in body["docs"]]
    else:
        ids = body.get("ids") or [i for i in params.get("ids", "").split(",") if i]
        entries = [{"_id": str(i)} for i in ids]
    if not entries:
        raise ActionRequestValidation("Validation Failed: 1: multi term vectors: no documents requested;")
    for entry in entries:  # as ES: a malformed item fails the whole request
        if not isinstance(entry, dict):
            raise ParsingError("failed to parse multi term vectors request: a doc must be an object")
        for key in entry:
            if key not in BODY_KEYS and key not in ("_index", "_id"):
                raise ParsingError(f"failed to parse term vectors request: unknown field [{key}]")
    docs: list[dict[str, Any]] = []
    for entry in entries:
        index = entry.pop("_index", default_index)
        doc_id = entry.pop("_id", None)
        if index is None:
            raise ActionRequestValidation("Validation Failed: 1: index is missing;")
        try:
            docs.append(await _one(request, str(index), None if doc_id is None else str(doc_id), entry, params))
        except QuidditchError as exc:
            error = exc.to_dict()
            docs.append({"_index": error.get("index", index), "_id": doc_id, "error": error})
    return es_json(request, {"docs": docs})


routes = [
    Route("/_mtermvectors", mtermvectors, methods=["GET", "POST"]),
    Route("/{index}/_mtermvectors", mtermvectors, methods=["GET", "POST"]),
    Route("/{index}/_termvectors", termvectors, methods=["GET", "POST"]),
    Route("/{index}/_termvectors/{id}", termvectors, methods=["GET", "POST"]),
]
