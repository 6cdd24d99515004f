"""Index operations beyond CRUD: open/close, blocks, flush, force merge, cache clear, rollover,
``_resolve/index``, ``_mapping/field``, ``_disk_usage`` and ``_field_usage_stats`` (the copies
``_clone|_shrink|_split`` are in ``index_copy``, ``_stats``/``_segments``/``_recovery`` in ``index_stats``,
``_analyze`` in ``analyze``).

Flush commits the shards (a Diagon commit is what a Lucene flush is); force merge rewrites each shard into
fewer segments (``native.merge``). Counters for the stats that ES keeps per shard (flush, refresh) live in
memory on the app, like ES's node-local stats.
"""

from __future__ import annotations

import asyncio
import fnmatch
import time
from collections.abc import Collection
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.embedded import EmbeddedCluster
from cluster.names import match_names
from cluster.resize import scan_documents
from cluster.rollover_conditions import IndexFacts, evaluate, parse_conditions
from cluster.state import IndexMeta
from native.errors import ActionRequestValidation, IllegalArgument, IndexNotFound
from native.field_usage import render as render_usage
from native.mapping import Mapping
from native.schema import flatten_source
from server.cat import format_byte_size
from server.errors import broadcast_failures
from server.handlers.indices import IndexStats, index_stats, resolve
from server.handlers.mapping_defaults import with_defaults
from server.handlers.reindex import _tasks
from server.http import check_params, cluster_of, es_json, flag, json_body

BLOCKS = ("read_only", "read_only_allow_delete", "read", "write", "metadata")


def _counters(request: Request) -> dict[str, dict[str, int]]:
    state = request.app.state
    if not hasattr(state, "index_counters"):
        state.index_counters = {}
    counters: dict[str, dict[str, int]] = state.index_counters
    return counters


def _bump(request: Request, metas: list[IndexMeta], counter: str) -> None:
    counters = _counters(request)
    for m in metas:
        entry = counters.setdefault(m.uuid, {})
        entry[counter] = entry.get(counter, 0) + 1


def _shards_header(metas: list[IndexMeta]) -> dict[str, int]:
    total = sum(m.number_of_shards * (1 + m.number_of_replicas) for m in metas if m.is_open)
    successful = sum(m.number_of_shards for m in metas if m.is_open)
    return {"total": total, "successful": successful, "failed": 0}


async def _object_body(request: Request, parser: str, keys: Collection[str]) -> dict[str, Any]:
    """The optional JSON object body of an API whose ES parser ``parser`` accepts only ``keys``."""
    body = await json_body(request) or {}
    if not isinstance(body, dict):
        raise IllegalArgument("request body must be an object")
    for key in body:
        if key not in keys:
            raise IllegalArgument(f"[{parser}] unknown field [{key}]")
    return body


# -- open / close / blocks --------------------------------------------------------------------------------
async def close_index(request: Request) -> Response:
    params = check_params(request)
    metas = resolve(request, request.path_params["index"], params, allow_closed=True)
    cluster = cluster_of(request)
    open_ones = [m for m in metas if m.is_open]
    if open_ones:
        await cluster.writes.refresh(open_ones)
    await asyncio.to_thread(cluster.master.set_index_state, [m.name for m in metas], "close")
    return es_json(request, {
        "acknowledged": True, "shards_acknowledged": True,
        "indices": {m.name: {"closed": True} for m in metas},
    })  # fmt: skip


async def open_index(request: Request) -> Response:
    params = dict(check_params(request))
    params.setdefault("expand_wildcards", "closed")
    metas = resolve(request, request.path_params["index"], params, allow_closed=True)
    await asyncio.to_thread(cluster_of(request).master.set_index_state, [m.name for m in metas], "open")
    return es_json(request, {"acknowledged": True, "shards_acknowledged": True})


async def _set_block(request: Request, value: bool) -> list[IndexMeta]:
    params = check_params(request)
    block = request.path_params["block"]
    if block not in BLOCKS:
        raise IllegalArgument(f"No enum constant org.elasticsearch.cluster.metadata.IndexMetadata.APIBlock.{block}")
    metas = resolve(request, request.path_params["index"], params, allow_closed=True)
    await asyncio.to_thread(cluster_of(request).master.set_block, [m.name for m in metas], block, value)
    return metas


async def add_block(request: Request) -> Response:
    metas = await _set_block(request, True)
    return es_json(request, {
        "acknowledged": True, "shards_acknowledged": True,
        "indices": [{"name": m.name, "blocked": True} for m in metas],
    })  # fmt: skip


async def remove_block(request: Request) -> Response:
    metas = await _set_block(request, False)
    return es_json(request, {"acknowledged": True, "indices": [{"name": m.name, "unblocked": True} for m in metas]})


# -- maintenance ------------------------------------------------------------------------------------------
async def flush(request: Request) -> Response:
    params = check_params(request, {"force", "wait_if_ongoing"})
    if flag(params, "force") and not flag(params, "wait_if_ongoing", True):
        raise ActionRequestValidation("Validation Failed: 1: wait_if_ongoing must be true for a force flush;")
    metas = resolve(request, request.path_params.get("index"), params)
    await cluster_of(request).writes.refresh(metas)
    _bump(request, metas, "flush")
    return es_json(request, {"_shards": _shards_header(metas)})


async def forcemerge(request: Request) -> Response:
    params = check_params(request, {"max_num_segments", "only_expunge_deletes", "flush", "wait_for_completion"})
    if "max_num_segments" in params and flag(params, "only_expunge_deletes"):
        raise ActionRequestValidation(
            "Validation Failed: 1: cannot set only_expunge_deletes and max_num_segments at the same time, those two "
            "parameters are mutually exclusive;"
        )
    raw = params.get("max_num_segments", "-1")
    try:
        max_num_segments = int(raw)
    except ValueError:
        raise IllegalArgument(f"Failed to parse int parameter [max_num_segments] with value [{raw}]") from None
    metas = resolve(request, request.path_params.get("index"), params)
    work = _forcemerge(cluster_of(request), metas, max(max_num_segments, 1), flag(params, "only_expunge_deletes"),
                       _counters(request))  # fmt: skip
    if not flag(params, "wait_for_completion", True):
        names = ", ".join(m.name for m in metas)
        task = _tasks(request).start(f"Force-merge indices [{names}]", work, action="indices:admin/forcemerge")
        return es_json(request, {"task": f"{cluster_of(request).node_id}:{task.id}"})
    return es_json(request, await work)


async def _forcemerge(
    cluster: EmbeddedCluster,
    metas: list[IndexMeta],
    max_num_segments: int,
    only_expunge_deletes: bool,
    counters: dict[str, dict[str, int]],
) -> dict[str, Any]:
    """Merge the shards (``max_num_segments`` 1 when unset, ES's -1) and answer ES's ``_shards`` header; the
    ``_stats`` merge counters count the shards an index really merged (not those already merged) and the
    time its merge took."""
    failures = []
    for m in (m for m in metas if m.is_open):  # one index after another, as the leaf merges its shards
        started = time.monotonic()
        response = await cluster.writes.forcemerge(
            [m], max_num_segments=max_num_segments, only_expunge_deletes=only_expunge_deletes
        )
        failures.extend(response.failures)
        if response.merged:
            entry = counters.setdefault(m.uuid, {})
            entry["merge"] = entry.get("merge", 0) + response.merged
            entry["merge_time_in_millis"] = entry.get("merge_time_in_millis", 0) + int(
                (time.monotonic() - started) * 1000
            )
    shards: dict[str, Any] = dict(_shards_header(metas))
    if failures:
        shards["successful"] -= len(failures)
        shards["failed"] = len(failures)
        shards["failures"] = broadcast_failures(failures)
    return {"_shards": shards}


async def clear_cache(request: Request) -> Response:
    params = check_params(request, {"fielddata", "query", "request", "fields", "index"})
    metas = resolve(request, request.path_params.get("index") or params.get("index"), params)
    # ES: no cache named clears them all; ``fields`` limits the fielddata cleared to these fields
    named = [name for name in ("fielddata", "query", "request") if name in params]
    if flag(params, "fielddata") or not any(flag(params, n) for n in named):
        fields = [f.strip() for f in params.get("fields", "").split(",") if f.strip()]
        await index_stats(request, metas, clear_fielddata=fields)
    return es_json(request, {"_shards": _shards_header(metas)})


# -- rollover ---------------------------------------------------------------------------------------------
async def rollover(request: Request) -> Response:
    params = check_params(request, {"dry_run", "lazy"})
    body = await _object_body(request, "rollover", ("conditions", "settings", "mappings", "aliases"))
    alias = request.path_params["alias"]
    cluster = cluster_of(request)
    conditions = parse_conditions(body.get("conditions"))
    source, _ = cluster.master.rollover_names(alias, request.path_params.get("new_index"))
    meta = cluster.master.state.indices[source]
    st = (await index_stats(request, [meta])).get(source, IndexStats())
    # sizes are ES's ``docs.total_size_in_bytes``: segment bytes in proportion to their live documents (an
    # empty index has none, whatever its files weigh)
    shard_sizes = [sum(b * d // (d + x) for d, x, b in segs if d + x) for segs in st.segments.values()]
    facts = IndexFacts(
        age_ms=int(time.time() * 1000) - meta.creation_date, docs=st.docs, size=sum(shard_sizes),
        max_shard_size=max(shard_sizes, default=0), max_shard_docs=max((d for d, _ in st.shards.values()), default=0),
    )  # fmt: skip
    results, met = evaluate(conditions, facts)
    old, new, rolled = await asyncio.to_thread(
        cluster.master.rollover, alias, request.path_params.get("new_index"), body,
        dry_run=flag(params, "dry_run"), conditions_met=met,
    )  # fmt: skip
    return es_json(request, {
        "acknowledged": rolled, "shards_acknowledged": rolled, "old_index": old, "new_index": new,
        "rolled_over": rolled, "dry_run": flag(params, "dry_run"), "lazy": False, "conditions": results,
    })  # fmt: skip


# -- resolve / field mappings -----------------------------------------------------------------------------
async def resolve_index(request: Request) -> Response:
    params = check_params(request, {"mode"})
    state = cluster_of(request).master.state
    wildcards = {w.strip() for w in params.get("expand_wildcards", "open").split(",")}
    expand_closed = bool(wildcards & {"closed", "all"})
    expand_hidden = bool(wildcards & {"hidden", "all"})
    indices: list[dict[str, Any]] = []
    aliases_out: list[dict[str, Any]] = []
    all_aliases = state.aliases()
    for part in request.path_params["name"].split(","):
        wildcard = "*" in part or "?" in part
        for name in sorted(state.indices):
            meta = state.indices[name]
            if not fnmatch.fnmatchcase(name, part) or any(i["name"] == name for i in indices):
                continue
            if wildcard and ((not meta.is_open and not expand_closed) or (name.startswith(".") and not expand_hidden)):
                continue
            attributes = ["open" if meta.is_open else "closed"]
            if meta.settings.get("index.hidden") == "true":
                attributes.append("hidden")
            entry: dict[str, Any] = {"name": name, "attributes": sorted(attributes)}  # ES lists them sorted
            if meta.aliases:
                entry["aliases"] = sorted(meta.aliases)
            indices.append(entry)
        for alias in sorted(all_aliases):
            if fnmatch.fnmatchcase(alias, part) and not any(a["name"] == alias for a in aliases_out):
                aliases_out.append({"name": alias, "indices": all_aliases[alias]})
        if (
            not wildcard
            and part not in state.indices
            and part not in all_aliases
            and not flag(params, "ignore_unavailable")
        ):
            raise IndexNotFound(part)
    return es_json(request, {"indices": indices, "aliases": aliases_out, "data_streams": []})


# -- disk usage / field usage -----------------------------------------------------------------------------
_USAGE_PARTS = ("inverted_index", "stored_fields", "doc_values", "points", "norms", "term_vectors", "knn_vectors")
_POINT_BYTES = {"long": 8, "double": 8, "date": 8, "date_nanos": 8, "integer": 4, "float": 4, "short": 2,
                "byte": 1, "half_float": 2, "scaled_float": 8, "unsigned_long": 8, "ip": 16, "boolean": 1,
                "geo_point": 8}  # fmt: skip


def _field_usage_bytes(leaf: Any, values: list[Any]) -> dict[str, int]:
    """Bytes one field's values take in each Lucene structure, estimated the way Lucene lays them out."""
    out = dict.fromkeys(_USAGE_PARTS, 0)
    raw = [v if isinstance(v, str) else orjson.dumps(v).decode() for v in values]
    out["stored_fields"] = sum(len(r.encode()) for r in raw)  # _source holds the value
    if not leaf.searchable and not leaf.aggregatable:
        return out
    width = _POINT_BYTES.get(leaf.type)
    if width is not None:
        if leaf.params.get("index", True) is not False:
            out["points"] = width * len(values)
    elif leaf.params.get("index", True) is not False:
        out["inverted_index"] = sum(len(r.encode()) for r in raw)
        if leaf.type in ("text", "match_only_text") and leaf.params.get("norms", True) is not False:
            out["norms"] = 1
    if leaf.aggregatable:
        out["doc_values"] = width * len(values) if width is not None else sum(len(r.encode()) for r in raw)
    return out


def _usage_entry(parts: dict[str, int], human: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    total = sum(parts.values())
    if human:
        entry["total"] = format_byte_size(total)
    entry["total_in_bytes"] = total
    inverted: dict[str, Any] = {"total_in_bytes": parts["inverted_index"]}
    if human:
        inverted = {"total": format_byte_size(parts["inverted_index"]), **inverted}
    entry["inverted_index"] = inverted
    for part in _USAGE_PARTS[1:]:
        if human:
            entry[part] = format_byte_size(parts[part])
        entry[f"{part}_in_bytes"] = parts[part]
    return entry


async def disk_usage(request: Request) -> Response:
    """``_disk_usage``: the store size per index (real) and, per field, what the field's values cost in each
    Lucene structure, estimated from every document (tantivy's files do not split bytes by field)."""
    params = check_params(request, {"run_expensive_tasks", "flush"})
    if not flag(params, "run_expensive_tasks"):
        raise IllegalArgument(
            "analyzing the disk usage of an index is expensive and resource-intensive, the parameter "
            "[run_expensive_tasks] must be set to [true] in order for the task to be performed."
        )
    metas = resolve(request, request.path_params["index"], params)
    cluster = cluster_of(request)
    await cluster.writes.refresh(metas)
    stats = await index_stats(request, metas)
    human = flag(params, "human")
    body: dict[str, Any] = {"_shards": _shards_header(metas)}
    for meta in metas:
        mapping = Mapping(meta.mappings)
        leaves = list(mapping.iter_leaves())
        per_field = {leaf.path: dict.fromkeys(_USAGE_PARTS, 0) for leaf in leaves}
        async for hits in scan_documents(cluster, [meta]):
            for hit in hits:
                flat = flatten_source(hit.get("_source") or {})
                for leaf in leaves:
                    values = flat.get(leaf.source_path)
                    if values:
                        for part, size in _field_usage_bytes(leaf, values).items():
                            per_field[leaf.path][part] += size
        fields = {path: parts for path, parts in per_field.items() if any(parts.values())}
        all_fields = {part: sum(p[part] for p in fields.values()) for part in _USAGE_PARTS}
        store = stats[meta.name].size
        entry: dict[str, Any] = {"store_size": format_byte_size(store)} if human else {}
        entry["store_size_in_bytes"] = store
        entry["all_fields"] = _usage_entry(all_fields, human)
        entry["fields"] = {path: _usage_entry(parts, human) for path, parts in sorted(fields.items())}
        body[meta.name] = entry
    return es_json(request, body)


async def field_usage_stats(request: Request) -> Response:
    """``_field_usage_stats``: per started shard copy, the structures of each field its searches read since
    tracking started (see ``native.field_usage`` for what is counted); ``fields`` filters the fields listed."""
    params = check_params(request, {"fields"})
    metas = resolve(request, request.path_params["index"], params)
    patterns = [p.strip() for p in params["fields"].split(",") if p.strip()] if "fields" in params else None
    stats = await index_stats(request, metas, field_usage=True)
    body: dict[str, Any] = {"_shards": _shards_header(metas)}
    for meta in metas:
        shards = []
        for shard in range(meta.number_of_shards):
            started, fields = stats.get(meta.name, IndexStats()).field_usage.get(shard, (meta.creation_date, {}))
            chosen = {f: c for f, c in sorted(fields.items())
                      if patterns is None or any(fnmatch.fnmatchcase(f, p) for p in patterns)}  # fmt: skip
            total: dict[str, int] = {}
            for counts in chosen.values():
                for kind, n in counts.items():
                    total[kind] = total.get(kind, 0) + n
            shards.append({
                "tracking_id": f"{meta.uuid[:8]}-{shard}",
                "tracking_started_at_millis": max(started, meta.creation_date),
                "routing": {"state": "STARTED", "primary": True, "node": cluster_of(request).node_name,
                            "relocating_node": None},
                "stats": {"all_fields": render_usage(total), "fields": {f: render_usage(c) for f, c in chosen.items()}},
            })  # fmt: skip
        body[meta.name] = {"shards": shards}
    return es_json(request, body)


def _field_mapping(mapping: dict[str, Any], path: str) -> dict[str, Any] | None:
    node: dict[str, Any] | None = {"properties": mapping.get("properties", {})}
    parts = path.split(".")
    for i, part in enumerate(parts):
        if node is None:
            return None
        props = node.get("properties", {})
        if part in props:
            node = props[part]
            continue
        fields = node.get("fields", {})
        rest = ".".join(parts[i:])
        if rest in fields:
            return dict(fields[rest])
        return None
    return dict(node) if node is not None else None


def _leaf_paths(mapping: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for name, field in (mapping.get("properties") or {}).items():
        path = f"{prefix}{name}"
        out.append(path)
        out.extend(_leaf_paths(field, path + "."))
        out.extend(f"{path}.{sub}" for sub in (field.get("fields") or {}))
    return out


# ``include_defaults=true``: the parameters ES reports for a field that does not set them (the common types).
_COMMON_DEFAULTS: dict[str, Any] = {"index": True, "store": False, "meta": {}, "copy_to": [], "fields": {}}
FIELD_DEFAULTS: dict[str, dict[str, Any]] = {
    "text": {**_COMMON_DEFAULTS, "analyzer": "default", "search_analyzer": "default",
             "search_quote_analyzer": "default", "norms": True, "index_options": "positions",
             "position_increment_gap": 100, "eager_global_ordinals": False, "fielddata": False,
             "index_phrases": False, "similarity": "BM25", "term_vector": "no"},
    "keyword": {**_COMMON_DEFAULTS, "doc_values": True, "norms": False, "index_options": "docs",
                "eager_global_ordinals": False, "ignore_above": 2147483647, "null_value": None,
                "normalizer": None, "split_queries_on_whitespace": False, "similarity": "BM25"},
    **{t: {**_COMMON_DEFAULTS, "doc_values": True, "coerce": True, "ignore_malformed": False, "null_value": None}
       for t in ("long", "integer", "short", "byte", "double", "float", "half_float", "unsigned_long")},
    "date": {**_COMMON_DEFAULTS, "doc_values": True, "format": "strict_date_optional_time||epoch_millis",
             "ignore_malformed": False, "null_value": None},
    "boolean": {**_COMMON_DEFAULTS, "doc_values": True, "null_value": None},
    "ip": {**_COMMON_DEFAULTS, "doc_values": True, "ignore_malformed": False, "null_value": None},
}  # fmt: skip


def _with_defaults(field: dict[str, Any]) -> dict[str, Any]:
    out = {**FIELD_DEFAULTS.get(str(field.get("type")), {}), **field}
    if field.get("type") == "text":  # the search analyzers default to the index one
        out["search_analyzer"] = field.get("search_analyzer", field.get("analyzer", "default"))
        out["search_quote_analyzer"] = field.get("search_quote_analyzer", out["search_analyzer"])
    return out


async def get_field_mapping(request: Request) -> Response:
    params = check_params(request)
    defaults = flag(params, "include_defaults")
    metas = resolve(request, request.path_params.get("index"), params, allow_closed=True)
    fields = request.path_params["fields"]
    defaults = flag(params, "include_defaults")
    out: dict[str, Any] = {}
    for m in metas:
        mapping = Mapping(m.mappings).to_dict()
        found: dict[str, Any] = {}
        for path in match_names(fields, _leaf_paths(mapping)):
            field = _field_mapping(mapping, path)
            if field is not None and defaults:
                field = _with_defaults(field)
            if field is not None:
                shown = with_defaults(field) if defaults else field
                found[path] = {"full_name": path, "mapping": {path.rsplit(".", 1)[-1]: shown}}
        for wanted in fields.split(","):
            if wanted in ("_id", "_index", "_source", "_routing") and wanted not in found:
                found[wanted] = {"full_name": wanted, "mapping": {}}
        out[m.name] = {"mappings": found}
    return es_json(request, out)


routes = [
    Route("/_flush", flush, methods=["POST", "GET"]),
    Route("/_forcemerge", forcemerge, methods=["POST"]),
    Route("/_cache/clear", clear_cache, methods=["POST"]),
    Route("/_resolve/index/{name}", resolve_index, methods=["GET"]),
    Route("/_mapping/field/{fields}", get_field_mapping, methods=["GET"]),
    Route("/{index}/_mapping/field/{fields}", get_field_mapping, methods=["GET"]),
    Route("/{index}/_close", close_index, methods=["POST"]),
    Route("/{index}/_open", open_index, methods=["POST"]),
    Route("/{index}/_block/{block}", add_block, methods=["PUT"]),
    Route("/{index}/_block/{block}", remove_block, methods=["DELETE"]),
    Route("/{index}/_flush", flush, methods=["POST", "GET"]),
    Route("/{index}/_forcemerge", forcemerge, methods=["POST"]),
    Route("/{index}/_cache/clear", clear_cache, methods=["POST"]),
    Route("/{alias}/_rollover", rollover, methods=["POST"]),
    Route("/{alias}/_rollover/{new_index}", rollover, methods=["POST"]),
    Route("/{index}/_disk_usage", disk_usage, methods=["POST"]),
    Route("/{index}/_field_usage_stats", field_usage_stats, methods=["GET"]),
]
