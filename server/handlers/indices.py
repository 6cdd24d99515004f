"""Index management: create, delete, get, exists, mappings, settings, refresh, ``_cat/indices|count``."""

from __future__ import annotations

import asyncio
import fnmatch
import logging
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cluster.embedded import EmbeddedCluster
from cluster.load_stats import weighted_average
from cluster.names import resolve_date_math, resolve_expression, validate_index_name
from cluster.settings import flatten_settings, is_static_setting, nest_settings
from cluster.state import IndexMeta
from native.errors import ActionRequestValidation, IllegalArgument, IndexNotFound, ParsingError, QuidditchError
from native.mapping import Mapping
from server.cat import CatColumn, render_cat
from server.errors import broadcast_failures
from server.handlers.field_caps_values import drop_empty_fields
from server.http import check_params, cluster_of, es_json, flag, json_body

log = logging.getLogger(__name__)


def resolve(
    request: Request, expression: str | None, params: dict[str, str] | None = None, *, allow_closed: bool = False,
    ignore_aliases: bool = False,
) -> list[IndexMeta]:
    """Indices named by an index expression (names, wildcards, aliases), as ES resolves them.

    Closed indices are skipped by wildcards and refused by name (``index_closed_exception``) unless the API
    works on closed indices (``allow_closed``) or ``expand_wildcards`` asks for them.
    """
    cluster = cluster_of(request)
    params = params or {}
    state = cluster.master.state
    indices = state.indices
    wildcards = {w.strip() for w in params.get("expand_wildcards", "").split(",") if w.strip()}
    expand_closed = bool(wildcards & {"closed", "all"}) or (allow_closed and not wildcards)
    names = resolve_expression(
        expression,
        indices,
        aliases={} if ignore_aliases else state.aliases(),  # ``ignore_aliases``: wildcards match indices only
        ignore_unavailable=flag(params, "ignore_unavailable"),
        allow_no_indices=flag(params, "allow_no_indices", True),
        expand_hidden=bool(wildcards & {"all", "hidden"}),
        closed={m.name: m.uuid for m in indices.values() if not m.is_open},
        expand_closed=expand_closed,
        forbid_closed=not allow_closed,
        hidden={m.name for m in indices.values() if str(m.settings.get("index.hidden", "false")).lower() == "true"},
        expand_open=not wildcards or bool(wildcards & {"open", "all"}),
    )
    return [indices[n] for n in names]


async def create_index(request: Request) -> Response:
    check_params(request)
    name = request.path_params["index"]
    body = await json_body(request)
    if body is not None and not isinstance(body, dict):
        raise ParsingError("request body must be an object")
    body = dict(body or {})
    for key in ("mappings", "settings", "aliases"):
        if body.get(key) is not None and not isinstance(body[key], dict):
            raise ParsingError(f"key [{key}] must be an object")
    if isinstance(body.get("aliases"), dict):
        body["aliases"] = {resolve_date_math(alias) or alias: props for alias, props in body["aliases"].items()}
    cluster = cluster_of(request)
    await asyncio.to_thread(cluster.master.create_index, name, body)
    return es_json(request, {"acknowledged": True, "shards_acknowledged": True, "index": name})


async def delete_index(request: Request) -> Response:
    params = check_params(request)
    cluster = cluster_of(request)
    expression = request.path_params["index"]
    state = cluster.master.state
    parts: list[str] = []
    for part in expression.split(","):
        if part in state.aliases() and part not in state.indices:
            if flag(params, "ignore_unavailable"):  # ES ignores aliases here: the name is simply not an index
                continue
            raise IllegalArgument(
                f"The provided expression [{part}] matches an alias, specify the corresponding concrete indices "
                "instead."
            )
        parts.append(part)
    if not parts:
        return es_json(request, {"acknowledged": True})
    metas = resolve(request, ",".join(parts), params, allow_closed=True, ignore_aliases=True)
    for meta in metas:
        await asyncio.to_thread(cluster.master.delete_index, meta.name)
    return es_json(request, {"acknowledged": True})


def _settings_body(meta: IndexMeta, flat: bool) -> dict[str, Any]:
    if flat:
        return dict(meta.settings)
    return nest_settings(meta.settings)


_FEATURES = ("aliases", "mappings", "settings")


async def get_index(request: Request) -> Response:
    params = check_params(request, {"features"})
    expression = request.path_params["index"]
    for part in expression.split(","):
        if part.startswith("_") and part != "_all":
            validate_index_name(part)  # ES: ``_foo`` is an invalid name, not a missing index
    metas = resolve(request, expression, params, allow_closed=True)
    if request.method == "HEAD":
        return es_json(request, {}, status=200 if metas else 404)
    features = [f.strip() for f in params.get("features", ",".join(_FEATURES)).split(",") if f.strip()]
    for feature in features:
        if feature not in _FEATURES:
            raise IllegalArgument(f"No feature for name [{feature}]")
    human = params.get("human", "false") != "false"
    body = {
        m.name: {
            "aliases": dict(m.aliases) if "aliases" in features else {},
            "mappings": Mapping(m.mappings).to_dict() if "mappings" in features else {},
            "settings": _human_settings(_settings_body(m, flag(params, "flat_settings")), m, request, human)
            if "settings" in features else {},
        }
        for m in metas
    }  # fmt: skip
    return es_json(request, body)


def _human_settings(settings: dict[str, Any], meta: IndexMeta, request: Request, human: bool) -> dict[str, Any]:
    """``?human``: ES adds ``creation_date_string`` and ``version.created_string`` to the index settings."""
    if not human:
        return settings
    created = _iso_millis(meta.creation_date)
    version = request.app.state.settings.version_number
    if "index.uuid" in settings:  # flat
        return {**settings, "index.creation_date_string": created, "index.version.created_string": version}
    index = dict(settings.get("index", {}))
    index["creation_date_string"] = created
    index["version"] = {**index.get("version", {}), "created_string": version}
    return {**settings, "index": index}


async def exists_index(request: Request) -> Response:
    params = check_params(request, {"features"})
    try:
        metas = resolve(request, request.path_params["index"], params, allow_closed=True)
    except IndexNotFound:
        return Response(b"", 404, media_type="application/json; charset=UTF-8")
    return Response(b"", 200 if metas else 404, media_type="application/json; charset=UTF-8")


async def get_mapping(request: Request) -> Response:
    params = check_params(request)
    remote = [p for p in (request.path_params.get("index") or "").split(",") if ":" in p]
    if remote:
        raise IllegalArgument("Cross-cluster calls are not supported in this context but remote indices were "
                              f"requested: [{', '.join(remote)}]")  # fmt: skip
    metas = resolve(request, request.path_params.get("index"), params, allow_closed=True)
    return es_json(request, {m.name: {"mappings": Mapping(m.mappings).to_dict()} for m in metas})


async def put_mapping(request: Request) -> Response:
    params = check_params(request, {"write_index_only"})
    body = await json_body(request, required=True)
    if not isinstance(body, dict):
        raise ParsingError("request body must be an object")
    cluster = cluster_of(request)
    for meta in resolve(request, request.path_params["index"], params, allow_closed=True):
        await asyncio.to_thread(cluster.master.put_mapping, meta.name, body)
    return es_json(request, {"acknowledged": True})


def index_setting_defaults(settings: dict[str, Any], max_result_window: int, refresh_interval: str) -> dict[str, Any]:
    """Flat defaults ``include_defaults=true`` reports for settings the index does not set explicitly."""
    shards = str(settings.get("index.number_of_shards", "1"))
    defaults: dict[str, Any] = {
        "index.store.type": "",
        "index.store.preload": [],
        "index.refresh_interval": refresh_interval,
        "index.max_result_window": str(max_result_window),
        "index.max_inner_result_window": "100",
        "index.max_rescore_window": "10000",
        "index.max_docvalue_fields_search": "100",
        "index.max_script_fields": "32",
        "index.max_terms_count": "65536",
        "index.max_regex_length": "1000",
        "index.max_ngram_diff": "1",
        "index.max_shingle_diff": "3",
        "index.max_refresh_listeners": "1000",
        "index.max_slices_per_scroll": "1024",
        "index.number_of_routing_shards": shards,
        "index.routing_partition_size": "1",
        "index.auto_expand_replicas": "false",
        "index.codec": "default",
        "index.hidden": "false",
        "index.blocks.read_only": "false",
        "index.blocks.read_only_allow_delete": "false",
        "index.blocks.read": "false",
        "index.blocks.write": "false",
        "index.blocks.metadata": "false",
        "index.default_pipeline": "_none",
        "index.final_pipeline": "_none",
        "index.gc_deletes": "60s",
        "index.query.default_field": ["*"],
        "index.mapping.total_fields.limit": "1000",
        "index.mapping.depth.limit": "20",
        "index.mapping.nested_fields.limit": "50",
        "index.mapping.nested_objects.limit": "10000",
        "index.mapping.field_name_length.limit": "9223372036854775807",
        "index.mapping.ignore_malformed": "false",
        "index.mapping.coerce": "false",
        "index.search.idle.after": "30s",
        "index.shard.check_on_startup": "false",
        "index.translog.durability": "REQUEST",
        "index.translog.sync_interval": "5s",
        "index.translog.flush_threshold_size": "10gb",
        "index.write.wait_for_active_shards": "1",
        "index.priority": "1",
        "index.soft_deletes.enabled": "true",
        "index.soft_deletes.retention_lease.period": "12h",
        "index.highlight.max_analyzed_offset": "1000000",
        "index.analyze.max_token_count": "10000",
        "index.unassigned.node_left.delayed_timeout": "1m",
        "index.merge.scheduler.max_thread_count": "1",
        "index.merge.policy.max_merged_segment": "5gb",
        "index.merge.policy.segments_per_tier": "10.0",
        "index.merge.policy.floor_segment": "2mb",
        "index.merge.policy.deletes_pct_allowed": "20.0",
        "index.merge.policy.expunge_deletes_allowed": "10.0",
        "index.merge.policy.max_merge_at_once": "10",
        "index.format": "0",
        "index.load_fixed_bitset_filters_eagerly": "true",
    }
    return {k: v for k, v in defaults.items() if k not in settings}


async def get_settings(request: Request) -> Response:
    params = check_params(request)
    metas = resolve(request, request.path_params.get("index"), params, allow_closed=True)
    name_filter = request.path_params.get("name")
    pats = name_filter.split(",") if name_filter and name_filter != "_all" else None  # ``_all``: every setting
    app_settings = request.app.state.settings
    flat_out = flag(params, "flat_settings")

    def _filtered(flat: dict[str, Any]) -> dict[str, Any]:
        if pats is None:
            return flat
        return {k: v for k, v in flat.items() if any(fnmatch.fnmatchcase(k, p) for p in pats)}

    out: dict[str, Any] = {}
    for m in metas:
        flat = _filtered(dict(m.settings))
        entry: dict[str, Any] = {"settings": flat if flat_out else nest_settings(flat)}
        if flag(params, "include_defaults"):
            defaults = index_setting_defaults(dict(m.settings), app_settings.index_max_result_window,
                                              app_settings.refresh_interval)  # fmt: skip
            defaults = _filtered(defaults)
            entry["defaults"] = defaults if flat_out else nest_settings(defaults)
        out[m.name] = entry
    return es_json(request, out)


async def put_settings(request: Request) -> Response:
    params = check_params(request, {"preserve_existing", "reopen"})
    body = await json_body(request, required=True)
    if not isinstance(body, dict):
        raise ParsingError("request body must be an object")
    body = body.get("settings", body)
    cluster = cluster_of(request)
    preserve = flag(params, "preserve_existing")
    static = any(is_static_setting(k) for k in flatten_settings(body))
    for meta in resolve(request, request.path_params.get("index"), params, allow_closed=True):
        if static and meta.is_open and flag(params, "reopen"):  # ES closes the index, updates it, reopens it
            await cluster.writes.refresh([meta])
            await asyncio.to_thread(cluster.master.set_index_state, [meta.name], "close")
            try:
                await asyncio.to_thread(cluster.master.put_settings, meta.name, body, preserve_existing=preserve)
            finally:
                await asyncio.to_thread(cluster.master.set_index_state, [meta.name], "open")
            continue
        await asyncio.to_thread(cluster.master.put_settings, meta.name, body, preserve_existing=preserve)
    return es_json(request, {"acknowledged": True})


async def refresh(request: Request) -> Response:
    params = check_params(request)
    metas = resolve(request, request.path_params.get("index"), params)
    cluster = cluster_of(request)
    response = await cluster.writes.refresh(metas)
    total = sum(m.number_of_shards * (1 + m.number_of_replicas) for m in metas)
    shards: dict[str, Any] = {"total": total, "successful": response.successful, "failed": len(response.failures)}
    if response.failures:
        shards["failures"] = broadcast_failures(response.failures)
    # ES answers a broadcast that no shard completed with the status of its first failure
    status = response.failures[0].error.status if response.failures and not response.successful else 200
    return es_json(request, {"_shards": shards}, status=status)


_INDICES_COLUMNS = [
    CatColumn("health", ("h",)),
    CatColumn("status", ("s",)),
    CatColumn("index", ("i", "idx")),
    CatColumn("uuid", ("id", "uuid")),
    CatColumn("pri", ("p", "shards.primary", "shardsPrimary"), kind="int"),
    CatColumn("rep", ("r", "shards.replica", "shardsReplica"), kind="int"),
    CatColumn("docs.count", ("dc", "docsCount"), kind="int"),
    CatColumn("docs.deleted", ("dd", "docsDeleted"), kind="int"),
    CatColumn("store.size", ("ss", "storeSize"), kind="bytes"),
    CatColumn("pri.store.size", (), kind="bytes"),
    CatColumn("dataset.size", (), kind="bytes"),
    CatColumn("creation.date", ("cd",), default=False),
    CatColumn("creation.date.string", ("cds",), default=False),
]


@dataclass
class IndexStats:
    docs: int = 0
    size: int = 0
    max_seq_no: int = -1
    shards: dict[int, tuple[int, int]] = field(default_factory=dict)  # shard → (docs, bytes)
    shard_max_seq_no: dict[int, int] = field(default_factory=dict)  # shard → its highest sequence number
    # shard → its committed segments as (docs, deleted docs, bytes), in the searcher's order
    segments: dict[int, list[tuple[int, int, int]]] = field(default_factory=dict)
    # the shard request cache, summed: memory_size_in_bytes, evictions, hit_count, miss_count
    request_cache: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    # shard → completion field → bytes, and the vector counts (only when asked for with ``source_fields=True``)
    completion: dict[int, dict[str, int]] = field(default_factory=dict)
    fielddata: dict[int, dict[str, int]] = field(default_factory=dict)  # shard → text field → loaded bytes
    vectors: dict[int, tuple[int, int]] = field(default_factory=dict)  # shard → (dense, sparse) value counts
    # shard → (tracking started, epoch millis; field → structure → count), when asked with ``field_usage=True``
    field_usage: dict[int, tuple[int, dict[str, dict[str, int]]]] = field(default_factory=dict)

    def vector_counts(self, shard: int | None = None) -> tuple[int, int]:
        """(dense, sparse) vector value counts, summed over the shards (or of one shard)."""
        rows = [row for number, row in self.vectors.items() if shard is None or number == shard]
        return sum(r[0] for r in rows), sum(r[1] for r in rows)
    # shard → (index time ns, elapsed s, write load, recent write load, peak write load)
    write_load: dict[int, tuple[int, float, float, float, float]] = field(default_factory=dict)

    def indexing_load(self, shard: int | None = None) -> dict[str, Any]:
        """``index_time_in_millis`` and the write loads (averaged over shards, weighted by elapsed time)."""
        return indexing_load([row for number, row in self.write_load.items() if shard is None or number == shard])

    def completion_sizes(self, shard: int | None = None) -> dict[str, int]:
        """Completion field → bytes, summed over the shards (or of one shard)."""
        out: dict[str, int] = {}
        for number, sizes in self.completion.items():
            if shard is None or number == shard:
                for name, size in sizes.items():
                    out[name] = out.get(name, 0) + size
        return out

    def fielddata_sizes(self, shard: int | None = None) -> dict[str, int]:
        """Text field → bytes of loaded fielddata, summed over the shards (or of one shard)."""
        out: dict[str, int] = {}
        for number, sizes in self.fielddata.items():
            if shard is None or number == shard:
                for name, size in sizes.items():
                    out[name] = out.get(name, 0) + size
        return out

    @property
    def deleted(self) -> int:
        """Deleted documents still held by committed segments (a merge expunges them)."""
        return sum(deleted for segments in self.segments.values() for _, deleted, _ in segments)


def indexing_load(rows: list[tuple[int, float, float, float, float]]) -> dict[str, Any]:
    """The indexing time and loads of several shards' ``write_load`` rows (see ``IndexStats``)."""
    return {
        "index_time_in_millis": sum(row[0] for row in rows) // 1_000_000,
        "write_load": weighted_average([(row[2], row[1]) for row in rows]),
        "recent_write_load": weighted_average([(row[3], row[1]) for row in rows]),
        "peak_write_load": weighted_average([(row[4], row[1]) for row in rows]),
    }


def _stats_targets(cluster: EmbeddedCluster, metas: list[IndexMeta]) -> dict[str, list[Any]]:
    """Which client to ask for which shards: one copy of each (this node's when it holds one, else the primary's),
    grouped per node; shards on other members only when the cluster has a ``transport`` to reach them."""
    from cluster.protos import leaf_pb2 as pb

    state = cluster.master.state
    transport = getattr(cluster, "transport", None)
    groups: dict[str, list[Any]] = {}
    for m in metas:
        for s in range(m.number_of_shards):
            routing = state.shard_routing(m.uuid, s)
            if routing is None:  # not allocated yet (no member registered): this node's
                node = cluster.node_id
            elif any(c.node == cluster.node_id for c in routing.copies):
                node = cluster.node_id
            else:  # elsewhere, or nowhere (an unassigned primary): nothing to count
                node = routing.primary.node if routing.primary is not None else ""
            if node == cluster.node_id or (node and transport is not None):
                groups.setdefault(node, []).append(pb.ShardRef(index=m.name, uuid=m.uuid, shard=s))
    return groups


async def index_stats(request: Request, metas: list[IndexMeta], source_fields: bool = False,
                      field_usage: bool = False, clear_fielddata: list[str] | None = None,
                      ) -> dict[str, IndexStats]:  # fmt: skip
    """Docs and bytes per open index (and per shard), from the leaves; ``source_fields``: also the completion
    field sizes and vector counts (each shard reads its documents' ``_source`` once per refresh for them);
    ``clear_fielddata``: first drop the shards' loaded fielddata of these fields (all when empty)."""
    from cluster.protos import leaf_pb2 as pb

    cluster = cluster_of(request)
    metas = [m for m in metas if m.is_open]
    out = {m.name: IndexStats() for m in metas}
    for node, refs in _stats_targets(cluster, metas).items():
        request_pb = pb.StatsRequest(shards=refs, source_fields=source_fields, field_usage=field_usage,
                                     clear_fielddata=clear_fielddata is not None, clear_fields=clear_fielddata or [])
        if node == cluster.node_id:
            response = await cluster.leaf.stats(request_pb)
        else:
            try:
                response = await cluster.transport.client(node).stats(request_pb)  # type: ignore[attr-defined]
            except QuidditchError as exc:  # another member that does not answer: its shards count nothing
                log.warning("shard stats unavailable", extra={"node": node, "error": exc.reason})
                continue
        for st in response.shards:
            entry = out[st.shard.index]
            entry.docs += st.num_docs
            entry.size += st.size_in_bytes
            entry.max_seq_no = max(entry.max_seq_no, st.max_seq_no)
            entry.shards[st.shard.shard] = (st.num_docs, st.size_in_bytes)
            entry.shard_max_seq_no[st.shard.shard] = st.max_seq_no
            entry.segments[st.shard.shard] = [(g.num_docs, g.deleted_docs, g.size_in_bytes) for g in st.segments]
            load = st.write_load
            entry.write_load[st.shard.shard] = (load.index_time_nanos, load.elapsed_seconds, load.load, load.recent,
                                                load.peak)  # fmt: skip
            entry.vectors[st.shard.shard] = (st.dense_vector_values, st.sparse_vector_values)
            if st.field_usage_json:
                usage = orjson.loads(st.field_usage_json)
                entry.field_usage[st.shard.shard] = (int(usage["started"]), usage["fields"])
            if st.fielddata_bytes:
                entry.fielddata[st.shard.shard] = dict(st.fielddata_bytes)
            if st.completion_bytes:
                entry.completion[st.shard.shard] = dict(st.completion_bytes)
            cache = st.request_cache
            for i, value in enumerate((cache.memory_size_in_bytes, cache.evictions, cache.hit_count, cache.miss_count)):
                entry.request_cache[i] += value
    return out


def _iso_millis(epoch_millis: int) -> str:
    """``2024-05-01T10:00:00.000Z``: ES's ``strict_date_time`` in UTC."""
    import datetime

    moment = datetime.datetime.fromtimestamp(epoch_millis / 1000, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_millis % 1000:03d}Z"


async def cat_indices(request: Request) -> Response:
    params = check_params(request, {"v", "h", "s", "help", "bytes", "health", "pri", "time", "index"})
    if "expand_wildcards" not in params:
        params["expand_wildcards"] = "open,closed"
    metas = resolve(request, request.path_params.get("index"), params, allow_closed=True)
    stats = await index_stats(request, metas)
    rows: list[dict[str, str | int | float | None]] = []
    from server.handlers.root import index_status

    cluster = cluster_of(request)
    for m in metas:
        st = stats.get(m.name)
        docs, size, deleted = (st.docs, st.size, st.deleted) if st else (None, None, None)
        health = index_status(cluster, m)
        rows.append({
            "health": health, "status": m.state, "index": m.name,
            "uuid": m.uuid, "pri": m.number_of_shards, "rep": m.number_of_replicas, "docs.count": docs,
            "docs.deleted": deleted, "store.size": size, "pri.store.size": size,
            "dataset.size": size, "creation.date": str(m.creation_date),
            "creation.date.string": _iso_millis(m.creation_date),
        })  # fmt: skip
    if params.get("health"):
        if params["health"].lower() not in ("green", "yellow", "red"):
            raise IllegalArgument(f"unknown cluster health status [{params['health']}]")
        rows = [r for r in rows if r["health"] == params["health"].lower()]
    content, media = render_cat(rows, _INDICES_COLUMNS, params)
    return Response(content, media_type=media)


_COUNT_COLUMNS = [
    CatColumn("epoch", ("t", "time")),
    CatColumn("timestamp", ("ts", "hms", "hhmmss")),
    CatColumn("count", ("dc", "docs.count", "docsCount"), kind="int"),
]


async def cat_count(request: Request) -> Response:
    import time

    params = check_params(request, {"v", "h", "s", "help"})
    metas = resolve(request, request.path_params.get("index"), params)
    cluster = cluster_of(request)
    result = await cluster.root.count(metas, None)
    now = time.time()
    row = {"epoch": str(int(now)), "timestamp": time.strftime("%H:%M:%S", time.gmtime(now)), "count": result["count"]}
    content, media = render_cat([row], _COUNT_COLUMNS, params)
    return Response(content, media_type=media)


# ES 8's metadata fields as ``field_caps`` reports them: (searchable, aggregatable).
_METADATA_FIELDS = {
    "_id": (True, False), "_index": (True, True), "_routing": (True, False), "_source": (False, False),
    "_version": (False, True), "_seq_no": (True, True), "_ignored": (True, False), "_doc_count": (False, False),
    "_field_names": (True, False),
}  # fmt: skip
_FIELD_CAPS_FILTERS = {"+metadata", "-metadata", "-nested", "-multifield", "-parent"}


@dataclass(frozen=True)
class _IndexCap:
    """One field of one index, as ``field_caps`` merges it."""

    type: str
    searchable: bool
    aggregatable: bool
    metadata: bool = False
    meta: dict[str, Any] = field(default_factory=dict)
    passthrough: bool = False  # an object of type passthrough (reported as an object, flagged)


def _index_caps(mapping: Mapping, patterns: list[str], filters: set[str], types: set[str]) -> dict[str, _IndexCap]:
    """The matching fields of one index (leaves, their parent objects, metadata fields), after ``filters``."""
    import fnmatch

    def wanted(name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, p) for p in patterns)

    objects = dict(mapping.iter_objects())
    nested_paths = [p for p, kind in objects.items() if kind == "nested"]
    leaves = {leaf.path: leaf for leaf in mapping.iter_leaves()}
    out: dict[str, _IndexCap] = {}
    if "-metadata" not in filters:
        for name, (searchable, aggregatable) in _METADATA_FIELDS.items():
            if wanted(name) and (not types or name in types):
                out[name] = _IndexCap(name, searchable, aggregatable, metadata=True)
    if "+metadata" in filters:
        return out
    for path, leaf in leaves.items():
        if not wanted(path):
            continue
        if "-multifield" in filters and leaf.source_path != path:
            continue
        if "-nested" in filters and any(path.startswith(n + ".") for n in nested_paths):
            continue
        target = leaf
        if leaf.type == "alias":
            target = leaves.get(str(leaf.params.get("path", ""))) or leaf
        if not types or target.type in types:
            meta = {k: [v] for k, v in sorted((leaf.params.get("meta") or {}).items())}
            out[path] = _IndexCap(target.type, target.searchable, target.aggregatable, meta=meta)
        if "-parent" in filters:
            continue
        parent = path
        while "." in parent:
            parent = parent.rsplit(".", 1)[0]
            if parent in out:
                break
            kind = objects.get(parent)
            if kind is None:
                continue  # the parent of a multi-field is a field, not an object
            if "-nested" in filters and kind == "nested":
                break
            shown = "object" if kind == "passthrough" else kind
            if not types or shown in types:
                out[parent] = _IndexCap(shown, False, False, passthrough=kind == "passthrough")
    return out


def _merge_caps(
    per_index: dict[str, dict[str, _IndexCap]], include_unmapped: bool
) -> dict[str, dict[str, dict[str, Any]]]:
    """ES's response merge: one entry per (field, type); index lists only where indices disagree."""
    names = sorted({name for caps in per_index.values() for name in caps})
    fields: dict[str, dict[str, dict[str, Any]]] = {}
    for name in names:
        by_type: dict[str, list[tuple[str, _IndexCap]]] = {}
        unmapped = []
        for index, caps in per_index.items():
            cap = caps.get(name)
            if cap is None:
                unmapped.append(index)
            else:
                by_type.setdefault(cap.type, []).append((index, cap))
        with_unmapped = include_unmapped and bool(unmapped)
        multi = len(by_type) + (1 if with_unmapped else 0) > 1
        out: dict[str, dict[str, Any]] = {}
        for ftype, entries in by_type.items():
            searchable = all(c.searchable for _, c in entries)
            aggregatable = all(c.aggregatable for _, c in entries)
            entry: dict[str, Any] = {
                "type": ftype, "metadata_field": entries[0][1].metadata,
                "searchable": searchable, "aggregatable": aggregatable,
            }  # fmt: skip
            if multi:
                entry["indices"] = [i for i, _ in entries]
            if not searchable and any(c.searchable for _, c in entries):
                entry["non_searchable_indices"] = [i for i, c in entries if not c.searchable]
            if not aggregatable and any(c.aggregatable for _, c in entries):
                entry["non_aggregatable_indices"] = [i for i, c in entries if not c.aggregatable]
            meta: dict[str, list[Any]] = {}
            for _, c in entries:
                for k, values in c.meta.items():
                    meta.setdefault(k, [])
                    meta[k].extend(v for v in values if v not in meta[k])
            if meta:
                entry["meta"] = meta
            if any(c.passthrough for _, c in entries):
                if all(c.passthrough for _, c in entries):
                    entry["passthrough"] = True
                else:
                    entry["non_passthrough_indices"] = [i for i, c in entries if not c.passthrough]
            out[ftype] = entry
        if with_unmapped:
            out["unmapped"] = {"type": "unmapped", "metadata_field": False, "searchable": False,
                               "aggregatable": False, "indices": unmapped}  # fmt: skip
        fields[name] = out
    return fields


def _list_param(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    raise ParsingError(f"expected a string or an array but got [{value}]")


async def field_caps(request: Request) -> Response:
    params = check_params(request, {"fields", "include_unmapped", "filters", "types", "include_empty_fields"})
    body = await json_body(request)
    if body is not None and not isinstance(body, dict):
        raise ParsingError("request body must be an object")
    body = body or {}
    unknown = set(body) - {"fields", "index_filter", "runtime_mappings"}
    if unknown:
        raise ParsingError(f"unknown field [{sorted(unknown)[0]}]")
    patterns = _list_param(params.get("fields")) or _list_param(body.get("fields"))
    if not patterns:
        raise ActionRequestValidation("Validation Failed: 1: no fields specified;")
    filters = set(_list_param(params.get("filters")))
    bad = filters - _FIELD_CAPS_FILTERS
    if bad:
        raise IllegalArgument(f"Invalid filter [{sorted(bad)[0]}]")
    types = set(_list_param(params.get("types")))
    metas = resolve(request, request.path_params.get("index"), params)
    if body.get("index_filter") is not None:
        # ES drops the indices whose shards all rewrite the filter to match_none; we drop those without a match
        cluster = cluster_of(request)
        counts = [await cluster.root.count([m], body["index_filter"]) for m in metas]
        metas = [m for m, c in zip(metas, counts, strict=True) if c["count"] > 0]
    metas = sorted(metas, key=lambda m: m.name)
    per_index = {m.name: _index_caps(Mapping(m.mappings), patterns, filters, types) for m in metas}
    if not flag(params, "include_empty_fields", default=True):
        root = cluster_of(request).root
        per_index = {m.name: await drop_empty_fields(root, m, per_index[m.name]) for m in metas}
    fields = _merge_caps(per_index, flag(params, "include_unmapped"))
    return es_json(request, {"indices": [m.name for m in metas], "fields": fields})


routes = [
    Route("/_mapping", get_mapping, methods=["GET"]),
    Route("/_settings", get_settings, methods=["GET"]),
    Route("/_settings", put_settings, methods=["PUT"]),
    Route("/_refresh", refresh, methods=["POST", "GET"]),
    Route("/_cat/indices", cat_indices, methods=["GET"]),
    Route("/_cat/indices/{index}", cat_indices, methods=["GET"]),
    Route("/_cat/count", cat_count, methods=["GET"]),
    Route("/_cat/count/{index}", cat_count, methods=["GET"]),
    Route("/_field_caps", field_caps, methods=["GET", "POST"]),
    Route("/{index}/_field_caps", field_caps, methods=["GET", "POST"]),
    Route("/{index}/_mapping", get_mapping, methods=["GET"]),
    Route("/{index}/_mapping", put_mapping, methods=["PUT", "POST"]),
    Route("/{index}/_settings", get_settings, methods=["GET"]),
    Route("/{index}/_settings/{name}", get_settings, methods=["GET"]),
    Route("/{index}/_settings", put_settings, methods=["PUT"]),
    Route("/{index}/_refresh", refresh, methods=["POST", "GET"]),
    Route("/{index}", create_index, methods=["PUT"]),
    Route("/{index}", delete_index, methods=["DELETE"]),
    Route("/{index}", exists_index, methods=["HEAD"]),
    Route("/{index}", get_index, methods=["GET"]),
]
