"""Single documents: index, create, get, exists, _source, delete, update, _mget (``_bulk``: ``handlers.bulk``)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.doc_fields import fetch_mapping, stored_values
from cluster.embedded import EmbeddedCluster
from cluster.names import validate_index_name
from cluster.routing import shard_for
from cluster.search_request import SourceFilter, parse_source_filter
from cluster.source_filter import filter_source
from cluster.state import IndexMeta
from cluster.writes import WriteItem
from native.dates import parse_time_value
from native.did_you_mean import field_hint
from native.errors import (
    ActionRequestValidation,
    ElasticsearchParseError,
    IllegalArgument,
    IndexNotFound,
    ParsingError,
    QuidditchError,
    ResourceNotFound,
    RoutingMissing,
    ScriptingDisabled,
    VersionConflict,
    XContentParseError,
)
from native.ignored import IgnoredFields
from native.mapping import routing_required, source_enabled
from native.versioning import (
    INTERNAL,
    check_read_version,
    parse_version,
    parse_version_type,
    read_conflict,
    validation_error,
    write_validation_errors,
)
from server.http import check_params, cluster_of, es_json, flag, json_body, read_body
from server.jsonio import loads
from server.routing import DOC_ID

WRITE_PARAMS = {"refresh", "routing", "if_seq_no", "if_primary_term", "op_type", "version", "version_type",
                "pipeline", "require_alias", "require_data_stream"}  # fmt: skip
GET_PARAMS = {"realtime", "refresh", "routing", "_source", "_source_includes", "_source_excludes",
              "stored_fields", "version", "version_type"}  # fmt: skip


def _forced_refresh(params: dict[str, str]) -> bool:
    """``refresh=true`` (or empty) forces a refresh and says so in the response; ``wait_for`` does not."""
    return params.get("refresh", "false") in ("", "true")


def _refresh_flag(params: dict[str, str]) -> bool:
    value = params.get("refresh", "false")
    if value in ("", "true", "wait_for"):
        return True
    if value == "false":
        return False
    raise IllegalArgument(f"Unknown value for refresh: [{value}].")


def _int_param(params: dict[str, str], name: str) -> int | None:
    if name not in params:
        return None
    try:
        return int(params[name])
    except ValueError:
        raise IllegalArgument(f"Failed to parse int parameter [{name}] with value [{params[name]}]") from None


def _refuse_data_stream_only(params: dict[str, str]) -> None:
    """``require_data_stream=true``: data streams are not built yet, so no target can be one."""
    if flag(params, "require_data_stream"):
        raise IllegalArgument("[require_data_stream] is set but data streams are not supported by this server")


def _write_item(action: str, index: str, doc_id: str | None, params: dict[str, str], **fields: Any) -> WriteItem:
    """A single-document write: the id from the path, routing and the optimistic-concurrency parameters."""
    return WriteItem(
        action=action,
        index=index,
        id=doc_id,
        routing=params.get("routing"),
        if_seq_no=_int_param(params, "if_seq_no"),
        if_primary_term=_int_param(params, "if_primary_term"),
        **fields,
    )


def write_timeout(params: dict[str, str]) -> float | None:
    """``?timeout`` of a write: how long its shard groups wait for a started primary (None: ES's 1m)."""
    raw = params.get("timeout")
    if raw is None:
        return None
    try:
        seconds = parse_time_value(raw)
    except ValueError as exc:
        raise IllegalArgument(f"failed to parse setting [timeout] with value [{raw}] as a time value: {exc}") from None
    return None if seconds < 0 else seconds


async def _write_one(request: Request, item: WriteItem, params: dict[str, str]) -> Response:
    """Apply one write and answer with its result (its ``status`` as the HTTP status), or raise its error."""
    status, body = await _write_result(request, item, params)
    return es_json(request, body, status=status)


async def _write_result(request: Request, item: WriteItem, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
    validate_index_name(item.index)
    writes = cluster_of(request).writes
    refresh = _refresh_flag(params)
    with writes.pressure.coordinating(len(item.source) if item.source is not None else 0):  # as ES: every write
        result = (await writes.write([item], refresh=refresh, forced_refresh=_forced_refresh(params),
                                     timeout_s=write_timeout(params)))[0]  # fmt: skip
    if "error" in result.body:
        raise _ItemFailure(result.status, result.body["error"])
    body = dict(result.body)
    status = body.pop("status")
    return status, body


class _ItemFailure(QuidditchError):
    def __init__(self, status: int, error: dict[str, Any]) -> None:
        extra = {k: v for k, v in error.items() if k not in ("type", "reason", "caused_by")}
        cause = None
        if "caused_by" in error:
            cause = _ItemFailure(status, error["caused_by"])
        super().__init__(error.get("reason", ""), caused_by=cause, **extra)
        self.status = status
        self.es_type = error.get("type", "exception")


async def index_doc(request: Request) -> Response:
    params = check_params(request, WRITE_PARAMS)
    _refuse_data_stream_only(params)
    index = request.path_params["index"]
    doc_id = request.path_params.get("id")
    body = await read_body(request)
    if not body.strip():
        raise ParsingError("request body is required")
    loads(body)  # strict JSON checks (duplicates, NaN) before it is stored
    op_type = params.get("op_type", "index")
    if request.url.path.rstrip("/").split("/")[-2] == "_create" or op_type == "create":
        action = "create"
    elif op_type == "index":
        action = "index"
    else:
        raise IllegalArgument(f"opType must be 'create' or 'index', found: [{op_type}]")
    version, version_type = _versioning(params, action, doc_id)
    if doc_id is None and action == "create":
        raise ActionRequestValidation("Validation Failed: 1: an id must be provided if version type or value are set;")
    alias_only, pipeline = flag(params, "require_alias"), params.get("pipeline")
    item = _write_item(action, index, doc_id, params, source=body, require_alias=alias_only, version=version,
                       version_type=version_type, pipeline=pipeline)  # fmt: skip
    return await _write_one(request, item, params)


def _versioning(params: dict[str, str], action: str, doc_id: str | None) -> tuple[int | None, str]:
    """The ``version``/``version_type`` of a single-document write, validated as ES does (400 otherwise)."""
    version_type = parse_version_type(params.get("version_type"))
    version = parse_version(params["version"]) if "version" in params else None
    errors = write_validation_errors(version_type, version, create=action == "create", has_id=doc_id is not None,
                                     if_seq_no="if_seq_no" in params)  # fmt: skip
    if errors:
        raise validation_error(errors)
    return (version, version_type) if version_type != INTERNAL else (None, INTERNAL)


async def delete_doc(request: Request) -> Response:
    params = check_params(request, WRITE_PARAMS)
    index = request.path_params["index"]
    index = _read_target(cluster_of(request), index).name
    version, version_type = _versioning(params, "delete", request.path_params["id"])
    item = _write_item("delete", index, request.path_params["id"], params, version=version,
                       version_type=version_type)  # fmt: skip
    return await _write_one(request, item, params)


_UPDATE_VERSIONING = ("internal versioning can not be used for optimistic concurrency control. Please use "
                      "`if_seq_no` and `if_primary_term` instead")  # fmt: skip
UPDATE_KEYS = {"doc", "upsert", "doc_as_upsert", "detect_noop", "script", "scripted_upsert", "_source"}


_UPDATE_MAX_DEPTH = 250


def _depth(value: Any) -> int:
    """How deeply objects and arrays nest in ``value`` (iteratively)."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth + 1)
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def _update_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ParsingError("request body must be an object")
    for key in body:
        if key not in UPDATE_KEYS:
            raise ParsingError(f"[UpdateRequest] unknown field [{key}]{field_hint(key, UPDATE_KEYS)}")
    if "script" in body:
        raise ScriptingDisabled("cannot execute [inline] scripts")
    if "doc" not in body:
        raise ActionRequestValidation("Validation Failed: 1: script or doc is missing;")
    for key in ("doc", "upsert"):
        if key in body and not isinstance(body[key], dict):
            raise ParsingError(f"[UpdateRequest] failed to parse field [{key}]")
    for key in ("doc_as_upsert", "detect_noop", "scripted_upsert"):
        if key in body and not isinstance(body[key], bool):
            raise ParsingError(f"[UpdateRequest] failed to parse field [{key}]")
    if body.get("scripted_upsert"):  # it runs the script on the upsert document: there is no script
        raise ScriptingDisabled("[scripted_upsert] needs a script: cannot execute [inline] scripts")
    if _depth(body) > _UPDATE_MAX_DEPTH:
        # the partial document travels to the shard as orjson, which stops at 255 levels: refuse it here
        raise XContentParseError(f"[UpdateRequest] the document is nested deeper than [{_UPDATE_MAX_DEPTH}] levels")
    return {k: body[k] for k in ("doc", "upsert", "doc_as_upsert", "detect_noop") if k in body}


async def update_doc(request: Request) -> Response:
    params = check_params(request, WRITE_PARAMS | {"retry_on_conflict", "_source", "lang",
                                                   "_source_includes", "_source_excludes"})  # fmt: skip
    if "version" in params or "version_type" in params:
        raise validation_error([_UPDATE_VERSIONING])
    body = await json_body(request, required=True)
    update = _update_body(body)
    index = request.path_params["index"]
    item = _write_item("update", index, request.path_params["id"], params, update=update,
                       require_alias=flag(params, "require_alias"))  # fmt: skip
    cluster = cluster_of(request)
    if index not in cluster.master.state.indices and "upsert" not in update and not update.get("doc_as_upsert"):
        if not item.require_alias or not any(index in m.aliases for m in cluster.master.state.indices.values()):
            raise IndexNotFound(index)
    fetch = None
    if isinstance(body, dict) and "_source" in body:
        fetch = parse_source_filter(body["_source"])
    elif any(k in params for k in ("_source", "_source_includes", "_source_excludes")):
        fetch = parse_source_filter(params.get("_source"), params.get("_source_includes"),
                                    params.get("_source_excludes"))  # fmt: skip
    if fetch is None or not fetch.enabled:
        return await _write_one(request, item, params)
    validate_index_name(item.index)
    with cluster.writes.pressure.coordinating(0):
        result = (await cluster.writes.write([item], refresh=_refresh_flag(params),
                                             forced_refresh=_forced_refresh(params),
                                             timeout_s=write_timeout(params)))[0]  # fmt: skip
    if "error" in result.body:
        raise _ItemFailure(result.status, result.body["error"])
    out = dict(result.body)
    status = out.pop("status")
    out["get"] = await _updated_source(cluster, result.index, str(result.id), params.get("routing"), fetch)
    return es_json(request, out, status=status)


async def _updated_source(cluster: EmbeddedCluster, index: str, doc_id: str, routing: str | None,
                          fetch: SourceFilter) -> dict[str, Any]:  # fmt: skip
    """The ``get`` of an update response asking for ``_source``: the document as the update left it (read
    back at once, realtime)."""
    meta = cluster.master.state.indices[index]
    doc = await cluster.writes.get(meta, doc_id, routing)
    if not doc.found:
        return {"found": False}
    out: dict[str, Any] = {"_seq_no": doc.seq_no, "_primary_term": doc.primary_term, "found": True}
    if routing is not None:
        out["_routing"] = routing
    out["_source"] = filter_source(orjson.loads(doc.source), fetch)
    return out


def _read_target(cluster: EmbeddedCluster, name: str) -> IndexMeta:
    """The one index a single-document read of ``name`` (an index or an alias of one index) goes to."""
    indices = cluster.master.state.indices
    meta = indices.get(name)
    if meta is not None:
        return meta
    holders = [m for m in indices.values() if name in m.aliases]
    if not holders:
        raise IndexNotFound(name)
    if len(holders) > 1:
        names = ", ".join(sorted(m.name for m in holders))
        raise IllegalArgument(
            f"alias [{name}] has more than one index associated with it [{names}], can't execute a single index op"
        )
    return holders[0]


async def _get(request: Request, index: str, doc_id: str, params: dict[str, str]) -> dict[str, Any]:
    cluster = cluster_of(request)
    meta = _read_target(cluster, index)
    index = meta.name
    version_type = parse_version_type(params.get("version_type"))
    version = parse_version(params["version"]) if "version" in params else None
    check_read_version(version_type, version)
    if params.get("routing") is None and routing_required(meta.mappings):
        raise RoutingMissing(index, doc_id)
    if flag(params, "refresh"):
        await cluster.writes.refresh([meta])
    realtime = flag(params, "realtime", default=True)
    doc = await cluster.writes.get(meta, doc_id, params.get("routing"), realtime=realtime,
                                   preference=params.get("preference"))
    if not doc.found:
        return {"_index": index, "_id": doc_id, "found": False}
    why = read_conflict(doc.version, version)
    if why is not None:
        raise VersionConflict(f"[{doc_id}]: version conflict, {why}", index_uuid=meta.uuid,
                              shard=str(shard_for(params.get("routing") or doc_id, meta.number_of_shards)),
                              index=index)  # fmt: skip
    out: dict[str, Any] = {
        "_index": index,
        "_id": doc_id,
        "_version": doc.version,
        "_seq_no": doc.seq_no,
        "_primary_term": doc.primary_term,
    }
    if doc.routing:
        out["_routing"] = doc.routing
    out["found"] = True
    stored = _list_of(params.get("stored_fields"))
    source_filter = parse_source_filter(
        params.get("_source"), params.get("_source_includes"), params.get("_source_excludes")
    )
    asked = any(k in params for k in ("_source", "_source_includes", "_source_excludes"))
    if stored is not None and not asked and "_source" not in stored:
        source_filter = SourceFilter(enabled=False)  # as ES: stored_fields alone fetch no _source
    source = orjson.loads(doc.source)
    if source_filter.enabled and source_enabled(meta.mappings):
        out["_source"] = filter_source(source, source_filter)
    if stored:
        mapping = fetch_mapping(meta.mappings, meta.settings)
        if "_ignored" in stored:
            ignored = IgnoredFields(mapping, meta.settings).of(source)
            if ignored:
                out["_ignored"] = list(ignored)
        fields = stored_values(mapping, source, stored)
        if fields:
            out["fields"] = fields
    return out


def _list_of(value: Any) -> list[str] | None:
    """A comma-separated parameter or a JSON string/array as a list (None when absent)."""
    if value is None:
        return None
    if isinstance(value, list):
        return [str(v) for v in value]
    return [v.strip() for v in str(value).split(",") if v.strip()]


async def get_doc(request: Request) -> Response:
    params = check_params(request, GET_PARAMS)
    out = await _get(request, request.path_params["index"], request.path_params["id"], params)
    return es_json(request, out, status=200 if out["found"] else 404)


async def get_source(request: Request) -> Response:
    params = check_params(request, GET_PARAMS)
    index, doc_id = request.path_params["index"], request.path_params["id"]
    out = await _get(request, index, doc_id, params)
    if not out["found"]:
        raise ResourceNotFound(f"Document not found [{index}]/[{doc_id}]")
    if "_source" not in out:
        raise ResourceNotFound(f"Source not found [{index}]/[{doc_id}]")
    return es_json(request, out["_source"])


def _token(value: Any) -> str:
    """The Jackson token ES names in its bulk parse errors for a JSON value."""
    if isinstance(value, dict):
        return "START_OBJECT"
    if isinstance(value, list):
        return "START_ARRAY"
    if isinstance(value, str):
        return "VALUE_STRING"
    if isinstance(value, bool):
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int):
        return "VALUE_NUMBER_INT"
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT"
    return "VALUE_NULL"


_MGET_ITEM_KEYS = {"_index", "_id", "routing", "stored_fields", "version", "version_type", "_source"}


def _mget_items(body: Any, default_index: str | None) -> list[dict[str, Any]]:
    """The items of an ``_mget`` body as ES parses them (``MultiGetRequest``): ``docs`` or ``ids``."""
    if not isinstance(body, dict):
        raise ParsingError("request body must be an object")
    specs: list[dict[str, Any]] = []
    for key, value in body.items():
        if key == "docs":
            if not isinstance(value, list):
                raise ParsingError("docs array element should include an object")
            for spec in value:
                if not isinstance(spec, dict):
                    raise ParsingError("docs array element should include an object")
                for name in spec:
                    if name not in _MGET_ITEM_KEYS:
                        raise ElasticsearchParseError(f"failed to parse multi get request. unknown field [{name}]")
                specs.append(dict(spec))
        elif key == "ids":
            if not isinstance(value, list):
                raise ElasticsearchParseError(
                    f"unknown parameter [ids] in request body or parameter is of the wrong type[{_token(value)}] "
                )
            specs.extend({"_id": i} for i in value)
        else:
            raise ElasticsearchParseError(
                f"unknown parameter [{key}] in request body or parameter is of the wrong type[{_token(value)}] "
            )
    errors = []
    for i, spec in enumerate(specs):
        spec.setdefault("_index", default_index)
        if spec["_index"] is None:
            errors.append(f"index is missing for doc {i}")
        if spec.get("_id") is None:
            errors.append(f"id is missing for doc {i}")
        else:
            spec["_id"] = str(spec["_id"]).lower() if isinstance(spec["_id"], bool) else str(spec["_id"])
    if not specs:
        errors.append("no documents to get")
    if errors:
        raise validation_error(errors)
    return specs


async def mget(request: Request) -> Response:
    params = check_params(request, GET_PARAMS)
    body = await json_body(request, required=True)
    specs = _mget_items(body, request.path_params.get("index"))
    docs = []
    for spec in specs:
        index, doc_id = str(spec["_index"]), spec["_id"]
        doc_params = dict(params)
        if "_source" in spec:
            raw = spec["_source"]
            doc_params.pop("_source_includes", None)
            doc_params.pop("_source_excludes", None)
            if isinstance(raw, bool):
                doc_params["_source"] = str(raw).lower()
            elif isinstance(raw, list):
                doc_params["_source"] = ",".join(str(v) for v in raw)
            elif isinstance(raw, dict):
                doc_params.pop("_source", None)
                inc, exc = raw.get("includes", raw.get("include")), raw.get("excludes", raw.get("exclude"))
                if inc is not None:
                    doc_params["_source_includes"] = ",".join(inc) if isinstance(inc, list) else str(inc)
                if exc is not None:
                    doc_params["_source_excludes"] = ",".join(exc) if isinstance(exc, list) else str(exc)
            else:
                doc_params["_source"] = str(raw)
        for key in ("routing", "version", "version_type"):
            if spec.get(key) is not None:
                doc_params[key] = str(spec[key])
        if spec.get("stored_fields") is not None:
            fields = spec["stored_fields"]
            doc_params["stored_fields"] = ",".join(fields) if isinstance(fields, list) else str(fields)
        try:
            docs.append(await _get(request, index, doc_id, doc_params))
        except QuidditchError as exc:
            if exc.status >= 500:
                raise
            docs.append({"_index": index, "_id": doc_id, "error": exc.to_dict() | {"root_cause": [exc.to_dict()]}})
    return es_json(request, {"docs": docs})


routes = [
    Route("/_mget", mget, methods=["GET", "POST"]),
    Route("/{index}/_mget", mget, methods=["GET", "POST"]),
    Route("/{index}/_doc", index_doc, methods=["POST"]),
    Route(f"/{{index}}/_doc/{DOC_ID}", index_doc, methods=["PUT", "POST"]),
    Route(f"/{{index}}/_create/{DOC_ID}", index_doc, methods=["PUT", "POST"]),
    Route(f"/{{index}}/_doc/{DOC_ID}", get_doc, methods=["GET", "HEAD"]),
    Route(f"/{{index}}/_doc/{DOC_ID}", delete_doc, methods=["DELETE"]),
    Route(f"/{{index}}/_source/{DOC_ID}", get_source, methods=["GET", "HEAD"]),
    Route(f"/{{index}}/_update/{DOC_ID}", update_doc, methods=["POST"]),
]
