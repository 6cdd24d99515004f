"""``_bulk``: NDJSON action/document pairs parsed and written a segment at a time, items answered in request order."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.embedded import EmbeddedCluster
from cluster.names import resolve_date_math, validate_index_name
from cluster.search_request import SourceFilter, parse_source_filter
from cluster.source_filter import filter_source
from cluster.writes import ItemResult, WriteItem
from native.errors import ActionRequestValidation, IllegalArgument, QuidditchError
from native.versioning import INTERNAL, parse_version, parse_version_type, validation_error, write_validation_errors
from server.cbor import wants_cbor
from server.handlers.documents import (
    _forced_refresh,
    _refresh_flag,
    _refuse_data_stream_only,
    _token,
    _update_body,
    write_timeout,
)
from server.http import JSON_TYPE, check_params, cluster_of, es_json, flag, read_body
from server.jsonio import dumps, iter_ndjson, loads

# -- _bulk ----------------------------------------------------------------------------------------------------
BULK_ACTIONS = ("index", "create", "update", "delete")
BULK_META_KEYS = {"_index", "_id", "routing", "_routing", "if_seq_no", "if_primary_term", "op_type", "pipeline",
                  "require_alias", "retry_on_conflict", "version", "version_type", "_source", "dynamic_templates",
                  "require_data_stream", "list_executed_pipelines"}  # fmt: skip


def _malformed(line_no: int, expected: str, found: str) -> IllegalArgument:
    return IllegalArgument(f"Malformed action/metadata line [{line_no}], expected {expected} but found [{found}]")


def _parse_action_line(line_no: int, line: bytes) -> tuple[str, dict[str, Any]]:
    try:
        action_obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        try:
            action_obj = loads(line)
        except QuidditchError as exc:
            raise IllegalArgument(f"Malformed action/metadata line [{line_no}], {exc.reason}") from None
    if not isinstance(action_obj, dict):
        raise _malformed(line_no, "START_OBJECT", _token(action_obj))
    if not action_obj:
        raise _malformed(line_no, "FIELD_NAME", "END_OBJECT")
    action, meta = next(iter(action_obj.items()))
    if action not in BULK_ACTIONS:
        raise IllegalArgument(
            f"Malformed action/metadata line [{line_no}], expected one of [create, delete, index, update] but "
            f"found [{action}]"
        )
    if not isinstance(meta, dict):
        raise _malformed(line_no, "START_OBJECT", _token(meta))
    if len(action_obj) != 1:
        raise _malformed(line_no, "END_OBJECT", "FIELD_NAME")
    for key, value in meta.items():
        if key not in BULK_META_KEYS:
            raise IllegalArgument(f"Action/metadata line [{line_no}] contains an unknown parameter [{key}]")
        if isinstance(value, dict | list) and key not in ("dynamic_templates", "_source"):
            raise IllegalArgument(
                f"Malformed action/metadata line [{line_no}], expected a simple value for field [{key}] but found "
                f"[{_token(value)}]"
            )
    return action, meta


def _meta_flag(meta: dict[str, Any], key: str, default: bool) -> bool:
    value = meta.get(key)
    if value is None:
        return default
    return value is True or str(value).lower() == "true"


# what an action line says, as WriteItem takes it: action, index, id, routing, if_seq_no, if_primary_term,
# require_alias, version, version_type, dynamic_templates, pipeline
_Action = tuple[str, Any, str | None, Any, Any, Any, bool, int | None, str, dict[str, str] | None, str | None]


def _action(line_no: int, line: bytes, default_index: str | None, default_routing: str | None,
            require_alias: bool, default_pipeline: str | None = None) -> _Action:  # fmt: skip
    action, meta = _parse_action_line(line_no, line)
    if _meta_flag(meta, "require_data_stream", False):
        raise IllegalArgument("[require_data_stream] is set but data streams are not supported by this server")
    if action == "index" and str(meta.get("op_type", "index")) == "create":
        action = "create"
    doc_id = meta.get("_id")
    version, version_type = _bulk_versioning(action, meta, doc_id is not None)
    return (action, meta.get("_index", default_index), str(doc_id) if doc_id is not None else None,
            meta.get("routing", meta.get("_routing", default_routing)), meta.get("if_seq_no"),
            meta.get("if_primary_term"), _meta_flag(meta, "require_alias", require_alias), version,
            version_type, _dynamic_templates(line_no, action, meta),
            str(meta["pipeline"]) if meta.get("pipeline") is not None else default_pipeline)  # fmt: skip


def _dynamic_templates(line_no: int, action: str, meta: dict[str, Any]) -> dict[str, str] | None:
    """An action line's ``dynamic_templates``: an object of field path → template name (index/create)."""
    raw = meta.get("dynamic_templates")
    if raw is None:
        return None
    if action == "update":
        raise IllegalArgument(f"Update request in line [{line_no}] does not accept dynamic_templates")
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise IllegalArgument(
            f"Malformed action/metadata line [{line_no}], expected a simple value for field [dynamic_templates] "
            f"but found [{_token(raw)}]"
        )
    return {str(k): v for k, v in raw.items()} or None


def _bulk_versioning(action: str, meta: dict[str, Any], has_id: bool) -> tuple[int | None, str]:
    """An action line's ``version``/``version_type``; an invalid one fails the whole request, as ES's
    ``BulkRequest.validate`` does."""
    if "version" not in meta and "version_type" not in meta:
        return None, INTERNAL
    version_type = parse_version_type(None if meta.get("version_type") is None else str(meta["version_type"]))
    version = parse_version(meta["version"]) if meta.get("version") is not None else None
    if action == "update":
        if version is not None or version_type != INTERNAL:
            raise IllegalArgument(
                "Update requests do not support versioning. Please use `if_seq_no` and `if_primary_term` instead"
            )
        return None, INTERNAL
    errors = write_validation_errors(version_type, version, create=action == "create", has_id=has_id,
                                     if_seq_no=meta.get("if_seq_no") is not None)  # fmt: skip
    if errors:
        raise validation_error(errors)
    return (version, version_type) if version_type != INTERNAL else (None, INTERNAL)


def _uniform_documents(
    body: bytes, default_index: str | None, default_routing: str | None, require_alias: bool
) -> list[WriteItem] | None:
    """The items of a body in the bulk loaders' shape, or None for ``parse_bulk``'s general walk.

    The shape: one and the same ``index``/``create`` action line before every document, no blank lines, no
    ``\r``. Its items are what the general walk makes of it, with the action parsed and the index name
    checked once instead of per line (0.4 instead of 2 µs per document).
    """
    if b"\r" in body:
        return None
    lines = body.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    if len(lines) < 2 or len(lines) % 2:
        return None
    actions, sources = lines[0::2], lines[1::2]
    first = actions[0]
    if actions.count(first) != len(actions) or not all(sources) or any(s.isspace() for s in sources):
        return None
    try:
        action, index, doc_id, routing, if_seq_no, if_primary_term, alias_only, version, _, forced, pipeline = (
            _action(1, first, default_index, default_routing, require_alias)
        )
        if action not in ("index", "create") or index is None or version is not None or forced or pipeline:
            return None
        name = resolve_date_math(str(index)) or ""
        validate_index_name(name)
    except QuidditchError:
        return None  # the general walk reports it where ES does
    return [WriteItem(action, name, doc_id, routing, source, if_seq_no, if_primary_term, None, alias_only)
            for source in sources]  # fmt: skip


# A ``_bulk`` body is applied in segments of about this many bytes (whole action/document pairs), so the
# parsed documents, shard requests and item results of only one segment are alive at a time: the request
# then costs its body, its rendered response and one segment, not ~30x its body (measured: 99 MB of small
# documents peaked at 2.97 GB). ES parses the whole body before it writes anything; so does the first pass.
BULK_SEGMENT_BYTES = 2 << 20
BULK_SEGMENT_ITEMS = 4096


def parse_bulk(body: bytes, default_index: str | None, params: dict[str, str]) -> list[WriteItem | QuidditchError]:
    """NDJSON → items; a malformed action line fails the whole request (as ES does)."""
    return [item for segment in parse_bulk_segments(body, default_index, params) for item in segment]


def parse_bulk_segments(
    body: bytes, default_index: str | None, params: dict[str, str], segment_bytes: int = BULK_SEGMENT_BYTES
) -> Iterator[list[WriteItem | QuidditchError]]:
    """``parse_bulk`` a segment at a time. The whole body is checked before the first segment is yielded
    (malformed action lines and ``no requests added`` are 400s before anything is written)."""
    if not body.strip():
        raise ActionRequestValidation("Validation Failed: 1: no requests added;")
    if not body.endswith(b"\n"):
        raise IllegalArgument("The bulk request must be terminated by a newline [\\n]")
    require_alias = flag(params, "require_alias")
    default_routing = params.get("routing")
    cuts = _segment_cuts(body, default_index, default_routing, require_alias, segment_bytes)
    for (start, first_line), (end, _) in zip(cuts, [*cuts[1:], (len(body), 0)], strict=True):
        segment = body if (start, end) == (0, len(body)) else body[start:end]
        items: list[WriteItem | QuidditchError] | None
        items = _uniform_documents(segment, default_index, default_routing, require_alias)  # type: ignore[assignment]
        if items is None:
            items = _walk(_numbered(segment, first_line - 1), default_index, default_routing, require_alias)
        if "pipeline" in params:  # the request's pipeline, for the items that name none
            for item in items:
                if isinstance(item, WriteItem) and item.pipeline is None:
                    item.pipeline = params["pipeline"]
        if items:
            yield items


def _numbered(segment: bytes, before: int) -> Iterator[tuple[int, bytes]]:
    for line_no, line in iter_ndjson(segment):
        yield line_no + before, line


def _segment_cuts(body: bytes, default_index: str | None, default_routing: str | None, require_alias: bool,
                  segment_bytes: int) -> list[tuple[int, int]]:  # fmt: skip
    """``(byte offset, line number)`` where each segment starts: always at an action line, after about
    ``segment_bytes``. Walks the lines as ``_walk`` does (without keeping them), so a malformed action line
    anywhere raises here, before any segment is written; so does a body without any complete action."""
    cuts = [(0, 1)]
    seen: dict[bytes, str] = {}  # action line → its action
    last_cut, since_cut, items = 0, 0, 0
    need_source = False
    pos, line_no, size = 0, 0, len(body)
    find = body.find
    while pos < size:
        stop = find(b"\n", pos)
        if stop < 0:
            stop = size
        line_no += 1
        line = body[pos:stop]
        start, pos = pos, stop + 1
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line or line.isspace():
            continue
        if need_source:  # the document of the action before
            need_source = False
            items += 1
            continue
        if (start - last_cut >= segment_bytes or since_cut >= BULK_SEGMENT_ITEMS) and start > 0:
            cuts.append((start, line_no))
            last_cut, since_cut = start, 0
        action = seen.get(line)
        if action is None:  # raises as ``_walk`` would
            action = seen[line] = _action(line_no, line, default_index, default_routing, require_alias)[0]
        since_cut += 1
        if action == "delete":
            items += 1
        else:
            need_source = True
    if not items:
        raise ActionRequestValidation("Validation Failed: 1: no requests added;")
    return cuts


def _walk(lines: Iterator[tuple[int, bytes]], default_index: str | None, default_routing: str | None,
          require_alias: bool) -> list[WriteItem | QuidditchError]:  # fmt: skip
    items: list[WriteItem | QuidditchError] = []
    valid_names: set[str] = set()
    # Action lines repeat (``{"index":{"_index":"logs"}}`` before every document): parse each distinct one once.
    seen: dict[bytes, _Action] = {}
    for line_no, line in lines:
        known = seen.get(line)
        if known is None:
            known = seen[line] = _action(line_no, line, default_index, default_routing, require_alias)
        (action, index, doc_id, routing, if_seq_no, if_primary_term, alias_only, version, version_type, forced,
         pipeline) = known
        item = WriteItem(action, str(index) if index is not None else "", doc_id, routing, None, if_seq_no,
                         if_primary_term, None, alias_only, version, version_type, forced, pipeline)  # fmt: skip
        if action != "delete":
            try:
                _, source = next(lines)
            except StopIteration:
                break  # as ES: a trailing action line without its document is ignored
            if action == "update":
                try:
                    update_body = loads(source)
                    item.update = _update_body(update_body)
                    if isinstance(update_body, dict) and "_source" in update_body:
                        item.returned_source = update_body["_source"]
                except QuidditchError as exc:
                    items.append(exc)
                    continue
            else:
                item.source = bytes(source)
        if index is None:
            items.append(ActionRequestValidation("Validation Failed: 1: index is missing;"))
            continue
        if item.index not in valid_names:
            try:
                item.index = resolve_date_math(item.index) or ""  # as ES: ``<logs-{now/d}>`` in ``_index``
                validate_index_name(item.index)
            except QuidditchError as exc:
                items.append(exc)
                continue
            valid_names.add(item.index)
        items.append(item)
    return items


async def bulk(request: Request) -> Response:
    started = time.monotonic()  # ``took``: the request's wall time in ms
    params = check_params(request, {"refresh", "routing", "pipeline", "require_alias", "_source",
                                    "_source_includes", "_source_excludes", "list_executed_pipelines",
                                    "require_data_stream"})  # fmt: skip
    _refuse_data_stream_only(params)
    started = time.monotonic()
    body = await read_body(request)
    cluster = cluster_of(request)
    refresh = _refresh_flag(params)
    # the response is rendered a segment at a time unless it is to be filtered, indented or CBOR
    render = not (request.query_params.get("filter_path") or "pretty" in request.query_params
                  or wants_cbor(request.headers.get("accept")))  # fmt: skip
    with cluster.writes.pressure.coordinating(len(body)):
        errors = False
        rendered: list[bytes] = []
        items_out: list[dict[str, Any]] = []
        segments = iter(parse_bulk_segments(body, request.path_params.get("index"), params))
        upcoming = next(segments, None)
        single = True
        touched: set[str] = set()  # indices written by a many-segment bulk: refreshed once, at the end
        while upcoming is not None:
            parsed, upcoming = upcoming, next(segments, None)
            single = single and upcoming is None
            items = [p for p in parsed if isinstance(p, WriteItem)]
            if "pipeline" in params:  # the request's pipeline, for the items that name none of their own
                for item in items:
                    if item.pipeline is None:
                        item.pipeline = params["pipeline"]
            results = await _write_bulk_items(cluster, items, params, refresh=refresh and single)
            if refresh and not single:
                touched.update(r.index for r in results if "error" not in r.body)
            out = bulk_response(parsed, results)
            del parsed, items, results
            errors = errors or out["errors"]
            if render:
                rendered.append(dumps(out["items"])[1:-1])
            else:
                items_out.extend(out["items"])
        if touched:
            indices = cluster.master.state.indices
            await cluster.writes.refresh([indices[name] for name in sorted(touched) if name in indices])
    took = int((time.monotonic() - started) * 1000)
    if render:
        head = b'{"errors":' + (b"true" if errors else b"false") + b',"took":%d,"items":[' % took
        return _BulkResponse(head, rendered)
    return es_json(request, {"errors": errors, "took": took, "items": items_out})


class _BulkResponse(Response):
    """The rendered segments sent one after the other (joining them would copy the whole response)."""

    media_type = JSON_TYPE

    def __init__(self, head: bytes, parts: list[bytes]) -> None:
        super().__init__(b"")
        self.head, self.parts = head, parts
        length = len(head) + sum(map(len, parts)) + max(len(parts) - 1, 0) + 2
        self.headers["content-length"] = str(length)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        parts, self.parts = self.parts, []
        await send({"type": "http.response.body", "body": self.head, "more_body": True})
        for i in range(len(parts)):
            part, parts[i] = parts[i], b""  # sent parts are freed as the response goes out
            await send({"type": "http.response.body", "body": (b"," if i else b"") + part, "more_body": True})
        await send({"type": "http.response.body", "body": b"]}", "more_body": False})


def bulk_response(parsed: list[WriteItem | QuidditchError], results: list[ItemResult]) -> dict[str, Any]:
    """The ``_bulk`` response body: one item per action line, in request order."""
    out: list[dict[str, Any]] = []
    it = iter(results)
    errors = False
    for p in parsed:
        if isinstance(p, WriteItem):
            res = next(it)
            errors = errors or "error" in res.body
            out.append({res.action: res.body})
        else:
            errors = True
            out.append({"index": {"_index": None, "_id": None, "status": p.status, "error": p.to_dict()}})
    return {"errors": errors, "items": out}  # ``took`` is the caller's: it times the whole request


async def _write_bulk_items(
    cluster: EmbeddedCluster, items: list[WriteItem], params: dict[str, str], *, refresh: bool
) -> list[ItemResult]:
    """Write a bulk segment's items. An update that asks for its document (its own ``_source``, else the
    request's ``_source`` parameters) gets ES's ``get``: the document as that update left it, so the items up
    to it are written first and the document read before any later item of the segment can change it."""
    wanted: dict[int, SourceFilter] = {}
    for pos, item in enumerate(items):
        if item.action == "update":
            body = {"_source": item.returned_source} if item.returned_source is not None else {}
            source_filter = _update_source_filter(body, params)
            if source_filter is not None:
                wanted[pos] = source_filter
    forced = _forced_refresh(params)
    timeout_s = write_timeout(params)
    if not wanted:
        return await cluster.writes.write(items, refresh=refresh, forced_refresh=forced, timeout_s=timeout_s)
    results: list[ItemResult] = []
    cuts = [*sorted(wanted), len(items) - 1]
    start = 0
    for cut in cuts:
        if cut < start:
            continue
        chunk = items[start : cut + 1]
        last = cut == len(items) - 1
        results += await cluster.writes.write(chunk, refresh=refresh and last, forced_refresh=forced,
                                              timeout_s=timeout_s)
        result = results[cut]
        if cut in wanted and "error" not in result.body:
            doc = await cluster.writes.get(cluster.master.index(result.index), str(result.id), items[cut].routing)
            if doc.found:
                result.body["get"] = {"_seq_no": doc.seq_no, "_primary_term": doc.primary_term, "found": True,
                                      "_source": filter_source(orjson.loads(doc.source), wanted[cut])}  # fmt: skip
        start = cut + 1
    return results


def _update_source_filter(body: dict[str, Any], params: dict[str, str]) -> SourceFilter | None:
    """What of the updated document an update answers with (body ``_source`` or the URL's), or None."""
    if "_source" in body:
        wanted = parse_source_filter(body["_source"])
    elif any(k in params for k in ("_source", "_source_includes", "_source_excludes")):
        wanted = parse_source_filter(params.get("_source"), params.get("_source_includes"),
                                     params.get("_source_excludes"))  # fmt: skip
    else:
        return None
    return wanted if wanted.enabled else None


routes = [
    Route("/_bulk", bulk, methods=["POST", "PUT"]),
    Route("/{index}/_bulk", bulk, methods=["POST", "PUT"]),
]
