"""Index operations beyond CRUD: open/close, blocks, ``_stats``, flush, force merge, cache clear,
``_segments``, ``_recovery``, ``_resolve/index``, ``_mapping/field``,
``_disk_usage`` and ``_field_usage_stats`` (the copies ``_clone|_shrink|_split`` are in ``index_copy``).

Flush and force merge commit the shards (a Diagon commit is what a Lucene flush is); counters for the
stats that ES keeps per shard (flush, refresh) live in memory on the app, like ES's node-local stats.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Collection
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.embedded import EmbeddedCluster
from cluster.names import match_names
from cluster.resize import scan_documents
from cluster.settings import analysis_settings
from cluster.state import IndexMeta
from native.analysis import Analysis
from native.errors import IllegalArgument, IndexNotFound
from native.mapping import Mapping
from native.schema import flatten_source
from server.cat import format_byte_size
from server.handlers.indices import IndexStats, index_stats, resolve
from server.http import check_params, es_json, flag, json_body

BLOCKS = ("read_only", "read_only_allow_delete", "read", "write", "metadata")
STATS_METRICS = ("docs", "shard_stats", "store", "indexing", "get", "search", "merge", "refresh", "flush",
                 "warmer", "query_cache", "fielddata", "completion", "segments", "translog", "request_cache",
                 "recovery", "bulk", "dense_vector", "sparse_vector", "mappings")  # fmt: skip


def _cluster(request: Request) -> EmbeddedCluster:
    cluster: EmbeddedCluster = request.app.state.cluster
    return cluster


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
    cluster = _cluster(request)
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
    await asyncio.to_thread(_cluster(request).master.set_index_state, [m.name for m in metas], "open")
    return es_json(request, {"acknowledged": True, "shards_acknowledged": True})


async def _set_block(request: Request, value: bool) -> list[IndexMeta]:
    params = check_params(request)
    block = request.path_params["block"]
    if block not in BLOCKS:
        raise IllegalArgument(f"No enum constant org.elasticsearch.cluster.metadata.IndexMetadata.APIBlock.{block}")
    metas = resolve(request, request.path_params["index"], params, allow_closed=True)
    await asyncio.to_thread(_cluster(request).master.set_block, [m.name for m in metas], block, value)
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
    metas = resolve(request, request.path_params.get("index"), params)
    await _cluster(request).writes.refresh(metas)
    _bump(request, metas, "flush")
    return es_json(request, {"_shards": _shards_header(metas)})


async def forcemerge(request: Request) -> Response:
    params = check_params(request, {"max_num_segments", "only_expunge_deletes", "flush", "wait_for_completion"})
    if "max_num_segments" in params and flag(params, "only_expunge_deletes"):
        raise IllegalArgument(
            "Validation Failed: 1: cannot set only_expunge_deletes and max_num_segments at the same time, those two "
            "parameters are mutually exclusive;"
        )
    metas = resolve(request, request.path_params.get("index"), params)
    await _cluster(request).writes.refresh(metas)
    if not flag(params, "wait_for_completion", True):
        return es_json(request, {"task": "quidditch-node-0:1"})
    return es_json(request, {"_shards": _shards_header(metas)})


async def clear_cache(request: Request) -> Response:
    params = check_params(request, {"fielddata", "query", "request", "fields", "index"})
    metas = resolve(request, request.path_params.get("index") or params.get("index"), params)
    return es_json(request, {"_shards": _shards_header(metas)})


# -- stats ------------------------------------------------------------------------------------------------
def _section(st: IndexStats, meta: IndexMeta, counters: dict[str, int], shards: int) -> dict[str, Any]:
    indexed = max(st.max_seq_no + 1, 0)
    return {
        "docs": {"count": st.docs, "deleted": 0, "total_size_in_bytes": st.size},
        "shard_stats": {"total_count": shards},
        "store": {"size_in_bytes": st.size, "total_data_set_size_in_bytes": st.size, "reserved_in_bytes": 0},
        "indexing": {"index_total": indexed, "index_time_in_millis": 0, "index_current": 0, "index_failed": 0,
                     "delete_total": 0, "delete_time_in_millis": 0, "delete_current": 0, "noop_update_total": 0,
                     "is_throttled": False, "throttle_time_in_millis": 0, "write_load": 0.0},
        "get": {"total": 0, "time_in_millis": 0, "exists_total": 0, "exists_time_in_millis": 0, "missing_total": 0,
                "missing_time_in_millis": 0, "current": 0},
        "search": {"open_contexts": 0, "query_total": 0, "query_time_in_millis": 0, "query_current": 0,
                   "fetch_total": 0, "fetch_time_in_millis": 0, "fetch_current": 0, "scroll_total": 0,
                   "scroll_time_in_millis": 0, "scroll_current": 0, "suggest_total": 0,
                   "suggest_time_in_millis": 0, "suggest_current": 0},
        "merges": {"current": 0, "current_docs": 0, "current_size_in_bytes": 0, "total": 0,
                   "total_time_in_millis": 0, "total_docs": 0, "total_size_in_bytes": 0},
        "refresh": {"total": counters.get("refresh", 0), "total_time_in_millis": 0, "external_total": 0,
                    "external_total_time_in_millis": 0, "listeners": 0},
        "flush": {"total": counters.get("flush", 0), "periodic": 0, "total_time_in_millis": 0},
        "warmer": {"current": 0, "total": 0, "total_time_in_millis": 0},
        "query_cache": {"memory_size_in_bytes": 0, "total_count": 0, "hit_count": 0, "miss_count": 0,
                        "cache_size": 0, "cache_count": 0, "evictions": 0},
        "fielddata": {"memory_size_in_bytes": 0, "evictions": 0},
        "completion": {"size_in_bytes": 0},
        "segments": {"count": 1 if st.docs else 0, "memory_in_bytes": 0},
        "translog": {"operations": 0, "size_in_bytes": 0, "uncommitted_operations": 0,
                     "uncommitted_size_in_bytes": 0, "earliest_last_modified_age": 0},
        "request_cache": {"memory_size_in_bytes": 0, "evictions": 0, "hit_count": 0, "miss_count": 0},
        "recovery": {"current_as_source": 0, "current_as_target": 0, "throttle_time_in_millis": 0},
        "bulk": {"total_operations": 0, "total_time_in_millis": 0, "total_size_in_bytes": 0,
                 "avg_time_in_millis": 0, "avg_size_in_bytes": 0},
    }  # fmt: skip


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and key in out:
            out[key] = out[key] + value
        else:
            out[key] = value
    return out


def _pick(section: dict[str, Any], metrics: set[str] | None) -> dict[str, Any]:
    if metrics is None:
        return section
    return {k: v for k, v in section.items() if k in metrics}


async def stats(request: Request) -> Response:
    params = check_params(request, {"level", "fields", "completion_fields", "fielddata_fields", "groups",
                                    "include_segment_file_sizes", "include_unloaded_segments", "forbid_closed_indices",
                                    "types"})  # fmt: skip
    metric_param = request.path_params.get("metric")
    metrics: set[str] | None = None
    if metric_param and metric_param != "_all":
        metrics = {name.strip() for name in metric_param.split(",")}
        metrics = {"merges" if name == "merge" else name for name in metrics}
        for name in metrics:
            if name not in STATS_METRICS and name != "merges":
                raise IllegalArgument(f"request [{request.url.path}] contains unrecognized metric: [{name}]")
    metas = resolve(request, request.path_params.get("index"), params)
    level = params.get("level", "indices")
    st = await index_stats(request, metas)
    counters = _counters(request)
    body: dict[str, Any] = {"_shards": _shards_header(metas)}
    all_pri: dict[str, Any] = {}
    indices: dict[str, Any] = {}
    for m in metas:
        if not m.is_open:
            continue
        section = _section(st[m.name], m, counters.get(m.uuid, {}), m.number_of_shards)
        all_pri = _merge(all_pri, section) if all_pri else section
        entry: dict[str, Any] = {
            "uuid": m.uuid, "health": "yellow" if m.number_of_replicas else "green", "status": "open",
            "primaries": _pick(section, metrics), "total": _pick(section, metrics),
        }  # fmt: skip
        if level == "shards":
            entry["shards"] = {
                str(s): [{"routing": {"state": "STARTED", "primary": True, "node": "quidditch-node-0",
                                      "relocating_node": None},
                          **_pick(_section(IndexStats(docs=d, size=b), m, {}, 1), metrics)}]
                for s, (d, b) in sorted(st[m.name].shards.items())
            }  # fmt: skip
        indices[m.name] = entry
    if not all_pri:
        all_pri = _section(IndexStats(), IndexMeta("", "", {}, {}, 0), {}, 0)
    body["_all"] = {"primaries": _pick(all_pri, metrics), "total": _pick(all_pri, metrics)}
    if level in ("indices", "shards"):
        body["indices"] = indices
    return es_json(request, body)


# -- segments / recovery ----------------------------------------------------------------------------------
async def segments(request: Request) -> Response:
    params = check_params(request, {"verbose", "include_unloaded_segments"})
    metas = resolve(request, request.path_params.get("index"), params)
    st = await index_stats(request, metas)
    indices: dict[str, Any] = {}
    for m in metas:
        shards: dict[str, Any] = {}
        for s in range(m.number_of_shards):
            docs, size = st[m.name].shards.get(s, (0, 0))
            segs = {"_0": {"generation": 0, "num_docs": docs, "deleted_docs": 0, "size_in_bytes": size,
                           "committed": True, "search": True, "version": "9.12.0", "compound": True,
                           "attributes": {}}} if docs else {}  # fmt: skip
            shards[str(s)] = [{
                "routing": {"state": "STARTED", "primary": True, "node": "quidditch-node-0"},
                "num_committed_segments": len(segs), "num_search_segments": len(segs), "segments": segs,
            }]  # fmt: skip
        indices[m.name] = {"shards": shards}
    return es_json(request, {"_shards": _shards_header(metas), "indices": indices})


def recovery_rows(metas: list[IndexMeta]) -> list[tuple[IndexMeta, int]]:
    return [(m, s) for m in metas if m.is_open for s in range(m.number_of_shards)]


async def recovery(request: Request) -> Response:
    params = check_params(request, {"active_only", "detailed"})
    metas = resolve(request, request.path_params.get("index"), params)
    out: dict[str, Any] = {}
    for m, s in recovery_rows(metas):
        if flag(params, "active_only"):
            continue
        out.setdefault(m.name, {"shards": []})["shards"].append({
            "id": s, "type": "EMPTY_STORE", "stage": "DONE", "primary": True,
            "start_time_in_millis": m.creation_date, "stop_time_in_millis": m.creation_date,
            "total_time_in_millis": 0, "source": {},
            "target": {"id": "quidditch-node-0", "host": "127.0.0.1", "transport_address": "127.0.0.1:9300",
                       "ip": "127.0.0.1", "name": _cluster(request).node_name},
            "index": {"size": {"total_in_bytes": 0, "reused_in_bytes": 0, "recovered_in_bytes": 0,
                               "percent": "0.0%"},
                      "files": {"total": 0, "reused": 0, "recovered": 0, "percent": "0.0%"},
                      "total_time_in_millis": 0, "source_throttle_time_in_millis": 0,
                      "target_throttle_time_in_millis": 0},
            "translog": {"recovered": 0, "total": 0, "percent": "100.0%", "total_on_start": 0,
                         "total_time_in_millis": 0},
            "verify_index": {"check_index_time_in_millis": 0, "total_time_in_millis": 0},
        })  # fmt: skip
    return es_json(request, out)


async def shard_stores(request: Request) -> Response:
    params = check_params(request, {"status"})
    metas = resolve(request, request.path_params.get("index"), params)
    statuses = {s.strip() for s in params.get("status", "yellow,red").split(",")}
    indices: dict[str, Any] = {}
    for m in metas:
        status = "yellow" if m.number_of_replicas else "green"
        if "all" not in statuses and status not in statuses:
            continue
        indices[m.name] = {"shards": {
            str(s): {"stores": [{
                "quidditch-node-0": {"name": _cluster(request).node_name, "ephemeral_id": "quidditch-node-0",
                                     "transport_address": "127.0.0.1:9300", "external_id": "quidditch-node-0",
                                     "attributes": {}, "roles": ["data", "ingest", "master"]},
                "allocation_id": f"{m.uuid[:8]}-{s}", "allocation": "primary",
            }]}
            for s in range(m.number_of_shards)
        }}  # fmt: skip
    return es_json(request, {"indices": indices})


# -- rollover ---------------------------------------------------------------------------------------------
async def rollover(request: Request) -> Response:
    params = check_params(request, {"dry_run", "lazy"})
    body = await _object_body(request, "rollover", ("conditions", "settings", "mappings", "aliases"))
    alias = request.path_params["alias"]
    cluster = _cluster(request)
    conditions = body.get("conditions") or {}
    results: dict[str, bool] = {}
    if conditions:
        targets = cluster.master.state.aliases().get(alias) or []
        metas = [cluster.master.state.indices[t] for t in targets]
        st = await index_stats(request, metas)
        docs = sum(s.docs for s in st.values())
        for name, value in conditions.items():
            results[f"[{name}: {value}]"] = name in ("max_docs", "min_docs") and docs >= int(value)
    met = not conditions or any(v for k, v in results.items() if not k.startswith("[min_"))
    old, new, rolled = await asyncio.to_thread(
        cluster.master.rollover, alias, request.path_params.get("new_index"), body,
        dry_run=flag(params, "dry_run"), conditions_met=met,
    )  # fmt: skip
    return es_json(request, {
        "acknowledged": rolled, "shards_acknowledged": rolled, "old_index": old, "new_index": new,
        "rolled_over": rolled, "dry_run": flag(params, "dry_run"), "lazy": False, "conditions": results,
    })  # fmt: skip


# -- analyze ----------------------------------------------------------------------------------------------
ANALYZE_KEYS = frozenset({"analyzer", "text", "field", "tokenizer", "filter", "char_filter", "normalizer",
                          "explain", "attributes"})  # fmt: skip


async def analyze(request: Request) -> Response:
    params = check_params(request, {"analyzer", "text", "field"})
    body = await _object_body(request, "analyze_request", ANALYZE_KEYS)
    body = {**{k: v for k, v in params.items() if k in ("analyzer", "text", "field")}, **body}
    text = body.get("text")
    if text is None:
        raise IllegalArgument("Validation Failed: 1: text is missing;")
    texts = text if isinstance(text, list) else [text]
    index = request.path_params.get("index")
    analysis = Analysis.from_settings({})
    name = body.get("analyzer")
    default = "standard"
    if index is not None:
        default = "default"  # the index's ``default`` analyzer when it defines one (built in: standard)
        meta = resolve(request, index, {})[0]
        analysis = Analysis.from_settings(analysis_settings(meta.settings))
        if name is None and body.get("field"):
            field = _field_mapping(Mapping(meta.mappings).to_dict(), body["field"]) or {}
            name = field.get("analyzer", "standard") if field.get("type", "text") == "text" else "keyword"
    if body.get("tokenizer") is not None or body.get("filter"):
        tok = body.get("tokenizer", "standard")
        custom = {"analyzer": {"_custom": {"tokenizer": tok, "filter": body.get("filter") or []}}}
        if isinstance(tok, dict):
            custom = {
                "tokenizer": {"_tok": tok},
                "analyzer": {"_custom": {"tokenizer": "_tok", "filter": body.get("filter") or []}},
            }
        analysis = Analysis.from_settings(custom)
        name = "_custom"
    analyzer = analysis.normalizer(body["normalizer"]) if body.get("normalizer") else analysis.analyzer(
        name or default)  # fmt: skip
    tokens: list[dict[str, Any]] = []
    position = 0  # of the next text: after the last token, then ES's position_increment_gap (100)
    base = 0
    for piece in texts:
        last = -1
        # the analyzer's own offsets and positions: a removed stopword leaves a gap, as in Lucene
        for token in analyzer.pre_tokenize(piece).tokens:
            last = position + token.position
            tokens.append({"token": token.text, "start_offset": base + token.char_offset_from,
                           "end_offset": base + token.char_offset_to, "type": "word", "position": last})  # fmt: skip
        base += len(piece) + 1
        position = max(position, last + 1) + (100 if len(texts) > 1 else 0)
    return es_json(request, {"tokens": tokens})


# -- resolve / field mappings -----------------------------------------------------------------------------
async def resolve_index(request: Request) -> Response:
    params = check_params(request, {"mode"})
    state = _cluster(request).master.state
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
            entry: dict[str, Any] = {"name": name, "attributes": attributes}
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
    cluster = _cluster(request)
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
    """``_field_usage_stats``: ES's shape, one entry per started shard copy. Field accesses are not counted,
    so no field is listed (ES lists a field once a search has read it)."""
    params = check_params(request, {"fields"})
    metas = resolve(request, request.path_params["index"], params)
    body: dict[str, Any] = {"_shards": _shards_header(metas)}
    for meta in metas:
        body[meta.name] = {"shards": [{
            "tracking_id": f"{meta.uuid[:8]}-{shard}",
            "tracking_started_at_millis": meta.creation_date,
            "routing": {"state": "STARTED", "primary": True, "node": _cluster(request).node_name,
                        "relocating_node": None},
            "stats": {"all_fields": _empty_usage(), "fields": {}},
        } for shard in range(meta.number_of_shards)]}  # fmt: skip
    return es_json(request, body)


def _empty_usage() -> dict[str, Any]:
    inverted = dict.fromkeys(("terms", "postings", "proximity", "positions", "term_frequencies", "offsets",
                              "payloads"), 0)  # fmt: skip
    return {"any": 0, "inverted_index": inverted, "stored_fields": 0, "doc_values": 0, "points": 0, "norms": 0,
            "term_vectors": 0, "knn_vectors": 0}  # fmt: skip


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


async def get_field_mapping(request: Request) -> Response:
    params = check_params(request)
    metas = resolve(request, request.path_params.get("index"), params, allow_closed=True)
    fields = request.path_params["fields"]
    out: dict[str, Any] = {}
    for m in metas:
        mapping = Mapping(m.mappings).to_dict()
        found: dict[str, Any] = {}
        for path in match_names(fields, _leaf_paths(mapping)):
            field = _field_mapping(mapping, path)
            if field is not None:
                found[path] = {"full_name": path, "mapping": {path.rsplit(".", 1)[-1]: field}}
        for wanted in fields.split(","):
            if wanted in ("_id", "_index", "_source", "_routing") and wanted not in found:
                found[wanted] = {"full_name": wanted, "mapping": {}}
        out[m.name] = {"mappings": found}
    return es_json(request, out)


routes = [
    Route("/_stats", stats, methods=["GET"]),
    Route("/_stats/{metric}", stats, methods=["GET"]),
    Route("/_flush", flush, methods=["POST", "GET"]),
    Route("/_forcemerge", forcemerge, methods=["POST"]),
    Route("/_cache/clear", clear_cache, methods=["POST"]),
    Route("/_segments", segments, methods=["GET"]),
    Route("/_recovery", recovery, methods=["GET"]),
    Route("/_resolve/index/{name}", resolve_index, methods=["GET"]),
    Route("/_mapping/field/{fields}", get_field_mapping, methods=["GET"]),
    Route("/{index}/_mapping/field/{fields}", get_field_mapping, methods=["GET"]),
    Route("/{index}/_close", close_index, methods=["POST"]),
    Route("/{index}/_open", open_index, methods=["POST"]),
    Route("/{index}/_block/{block}", add_block, methods=["PUT"]),
    Route("/{index}/_block/{block}", remove_block, methods=["DELETE"]),
    Route("/{index}/_stats", stats, methods=["GET"]),
    Route("/{index}/_stats/{metric}", stats, methods=["GET"]),
    Route("/{index}/_flush", flush, methods=["POST", "GET"]),
    Route("/{index}/_forcemerge", forcemerge, methods=["POST"]),
    Route("/{index}/_cache/clear", clear_cache, methods=["POST"]),
    Route("/{index}/_segments", segments, methods=["GET"]),
    Route("/{index}/_recovery", recovery, methods=["GET"]),
    Route("/_shard_stores", shard_stores, methods=["GET"]),
    Route("/_analyze", analyze, methods=["GET", "POST"]),
    Route("/{alias}/_rollover", rollover, methods=["POST"]),
    Route("/{alias}/_rollover/{new_index}", rollover, methods=["POST"]),
    Route("/{index}/_analyze", analyze, methods=["GET", "POST"]),
    Route("/{index}/_shard_stores", shard_stores, methods=["GET"]),
    Route("/{index}/_disk_usage", disk_usage, methods=["POST"]),
    Route("/{index}/_field_usage_stats", field_usage_stats, methods=["GET"]),
]
