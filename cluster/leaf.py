"""The leaf: executes root requests on the shards of this node.

Every method takes and returns protobuf messages (``cluster/protos/leaf.proto``) and is synchronous: the
transports call it from worker threads (``LocalLeafClient``) or a gRPC server thread pool. Shard
failures are reported per shard inside the response, never raised, so one bad shard yields a partial
result instead of a failed request.
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import orjson
import tantivy

from cluster import leaf_reads
from cluster.config import ClusterConfig
from cluster.errors import error_to_pb, unexpected_to_pb
from cluster.explain import convert, field_names
from cluster.load_stats import LoadTracker
from cluster.node import DataNode
from cluster.profile import Laps
from cluster.protos import leaf_pb2 as pb
from cluster.recovery import Recoveries
from cluster.replication import Replicator
from cluster.request_cache import CachedResult, CacheKey, ShardRequestCache, cacheable
from cluster.shard_failures import NoShardAvailable, UnavailableShards
from cluster.state import ClusterState
from native import aggs as native_aggs
from native import fielddata
from native.can_match import can_match
from native.errors import QuidditchError
from native.field_usage import FieldUsageTracker, agg_usage, fetch_usage, query_usage, sort_usage
from native.highlight import Highlighter, parse_highlight
from native.inner_hits import InnerHits, inner_hits_for
from native.named_queries import NamedQueries, named_clauses
from native.nested import lucene_doc_count
from native.query import QueryAst, compile_query, parse_query
from native.query.ast import MatchAll
from native.replica import StalePrimaryTerm
from native.rescore import Rescorer, rescore_hits
from native.schema import CompiledMapping
from native.search import ShardHits, SortField, query_shard
from native.shard import Shard, WriteOp
from native.slicing import ShardSlice, slice_field, slice_filter
from native.source_field_stats import SourceFieldStats, source_field_stats
from native.suggest import parse_suggest, shard_suggest
from native.track_scores import with_scores

if TYPE_CHECKING:
    from cluster.shard_state_actions import ShardStateActions
    from cluster.transport import Transport

log = logging.getLogger(__name__)
# Parsed requests by their JSON bytes: dashboards and benchmarks repeat the same bodies, and the parsed
# forms (``QueryAst``, ``AggTree``, ``SortField``) are frozen, so one parse serves every repeat.
_PARSE_CACHE_SIZE = 512


def _fill(result: pb.ShardSearchResult, total: int, max_score: float | None, agg_partial: bytes) -> None:
    result.total = total
    if max_score is not None:
        result.max_score = max_score
        result.has_max_score = True
    if agg_partial:
        result.agg_partial = agg_partial


class LeafService:
    def __init__(
        self,
        node: DataNode,
        *,
        workers: int = 4,
        config: ClusterConfig | None = None,
        transport: Transport | None = None,
        shard_state_actions: ShardStateActions | None = None,
    ) -> None:
        self.node = node
        self.config = config or ClusterConfig()
        # Replication (``cluster.replication``, ``cluster.recovery``): how this node reaches the others, whom it
        # reports copies to, and the last cluster state it applied (its routing table names the copies). The
        # embedded server has none of them: its state routes nothing, so writes are not forwarded.
        self.transport = transport
        self.shard_state_actions = shard_state_actions
        self.cluster_state: ClusterState | None = None
        self.replication = Replicator(self)
        self.recovery = Recoveries(self)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="leaf-shard")
        cache = functools.lru_cache(maxsize=_PARSE_CACHE_SIZE)
        self._query_of = cache(self._parse_query_json)
        self._aggs_of = cache(self._parse_aggs_json)
        self._sort_of = cache(self._parse_sort_json)
        self.request_cache = ShardRequestCache()
        self.field_usage = FieldUsageTracker()  # ``_field_usage_stats``
        # How long a bulk waits for this node to apply the state its coordinator wrote with (the index, its
        # mapping): 0 in the embedded server (one state for both), some seconds on a cluster's data node.
        self.state_wait_s = 0.0
        self.write_load = LoadTracker()  # time spent applying writes, per shard (``_stats`` indexing loads)
        # (index uuid, shard) → (the searcher measured, its _source-only field stats): measured once per refresh
        self._source_fields: dict[tuple[str, int], tuple[Any, SourceFieldStats]] = {}
        self.max_buckets = native_aggs.DEFAULT_MAX_BUCKETS  # ``search.max_buckets``, kept current from state

    def _parse(self, body: object) -> QueryAst:
        return parse_query(
            body,  # type: ignore[arg-type]
            max_nested_depth=self.config.max_nested_depth,
            max_clause_count=self.config.max_clause_count,
        )

    # The cached parsers (errors are not cached: lru_cache stores only returned values).
    def _parse_query_json(self, query_json: bytes) -> QueryAst:
        return self._parse(orjson.loads(query_json) if query_json else None)

    @staticmethod
    def _parse_aggs_json(aggs_json: bytes) -> native_aggs.AggTree | None:
        body = orjson.loads(aggs_json) if aggs_json else None
        return native_aggs.parse_aggs(body) if body else None

    @staticmethod
    def _parse_sort_json(sort_json: bytes) -> tuple[SortField, ...]:
        return tuple(SortField(**spec) for spec in orjson.loads(sort_json)) if sort_json else ()

    # -- search -------------------------------------------------------------------------------------------
    def search(self, request: pb.SearchRequest) -> pb.SearchResponse:
        if request.can_match:
            return self._can_match(request)
        query_json = request.query_json
        sort = self._sort_of(request.sort_json)
        after = orjson.loads(request.search_after_json) if request.search_after_json else None
        aggs_json = request.aggs_json
        gens = request.searcher_generations
        min_score = request.min_score if request.has_min_score else None
        # size 0 on the current readers: the shard request cache may answer (see ``cluster.request_cache``)
        may_cache = (
            request.limit == 0
            and not any(gens)
            and request.pin_seconds <= 0
            and not request.suggest_json
            and not request.rescore_json
            and not any(request.shard_slice_json)
            and not request.profile
            and cacheable(query_json, aggs_json)
        )

        shard_after = request.shard_search_after_json
        shard_slices = request.shard_slice_json

        def one(i: int) -> pb.ShardSearchResult:
            ref = request.shards[i]
            result = pb.ShardSearchResult(shard=ref)
            search_after = orjson.loads(shard_after[i]) if i < len(shard_after) and shard_after[i] else after
            laps = Laps(request.profile)
            try:
                shard = self.node.shard(ref.uuid, ref.shard)
                asked = gens[i] if i < len(gens) and gens[i] else 0
                gen, searcher, compiled = shard.view(asked)
                gen = asked or gen
                if request.pin_seconds > 0:
                    shard.pin(gen, request.pin_seconds)
                result.searcher_generation = gen
                laps.lap("reader")
                cache_key: CacheKey | None = None
                if may_cache and self._request_cache_enabled(request, ref.uuid):
                    cache_key = (ref.index, query_json, aggs_json, request.sort_json, request.search_after_json,
                                 min_score)  # fmt: skip
                    cached = self.request_cache.get(shard, gen, compiled, cache_key)
                    if cached is not None:
                        _fill(result, cached.total, cached.max_score, cached.agg_partial)
                        return result
                ast = self._query_of(query_json)
                laps.lap("parse")
                query = compile_query(
                    ast,
                    compiled,
                    now_millis=request.now_millis,
                    max_clause_count=self.config.max_clause_count,
                    searcher=searcher,
                )
                sliced = i < len(shard_slices) and bool(shard_slices[i])
                if sliced:
                    part = ShardSlice.from_json(shard_slices[i])
                    only = slice_filter(searcher, compiled.schema, part, slice_field(compiled, part.field),
                                        (ref.uuid, ref.shard, gen))  # fmt: skip
                    query = tantivy.Query.boolean_query(
                        [(tantivy.Occur.Must, query), (tantivy.Occur.Must, tantivy.Query.const_score_query(only, 0.0))]
                    )
                laps.lap("compile")
                hits = query_shard(
                    searcher,
                    compiled,
                    query,
                    limit=request.limit,
                    sort=sort,
                    search_after=search_after,
                    min_score=min_score,
                    matches_all=type(ast) is MatchAll and not sliced,
                )
                if request.track_scores:
                    hits = with_scores(searcher, compiled.schema, query, hits)
                if request.rescore_json:
                    hits = self._rescored(request, hits, searcher, compiled)
                laps.lap("search", hits.total)
                if request.suggest_json:
                    specs = parse_suggest(orjson.loads(request.suggest_json))
                    result.suggest_json = orjson.dumps(shard_suggest(specs, searcher, compiled, ref.index))
                tree = self._aggs_of(aggs_json) if aggs_json else None
                agg_partial = (
                    native_aggs.execute_shard(
                        tree, searcher, query, compiled, now_millis=request.now_millis, index_name=ref.index,
                        max_buckets=self.max_buckets,
                        named=self._named(query_json, searcher, compiled, request.now_millis)
                        if b"top_hits" in aggs_json else None,
                        explain=_explainer(shard, searcher, query) if b'"explain"' in aggs_json else None,
                    )
                    if tree is not None
                    else b""
                )
                if tree is not None:
                    laps.lap("aggregations")
                _fill(result, hits.total, hits.max_score, agg_partial)
                if not request.untracked:
                    self._record_usage(ref, ast, compiled, sort, tree, bool(request.track_scores))
                if cache_key is not None:
                    self.request_cache.put(
                        shard, gen, compiled, cache_key, CachedResult(hits.total, hits.max_score, agg_partial)
                    )
                # ``query_shard`` returns the hits in the shard's share of the global order already
                ordered = hits.hits
                if request.fetch:
                    highlighter = None
                    if request.highlight_json:
                        highlighter = self._highlighter(
                            request.highlight_json, ref.uuid, searcher, query, ast, compiled, request.now_millis
                        )
                    window = ordered[request.fetch_from :]
                    if window and not request.untracked:
                        self.field_usage.record(ref.uuid, ref.shard, fetch_usage())
                    laps.lap("fetch_reader")
                    inner = _inner_hits(ast, searcher, compiled, request.now_millis, ref.index)
                    named = self._named(query_json, searcher, compiled, request.now_millis)
                    self._load_docs(
                        result.docs, searcher, [(h.segment_ord, h.doc) for h in window], highlighter, named, inner
                    )
                    laps.lap("fetch_load", len(window))
                result.profile_json = laps.to_json()
                add = result.hits.add
                for hit in ordered:
                    if hit.score is None:
                        add(sort_values_json=orjson.dumps(hit.sort_values), segment_ord=hit.segment_ord,
                            doc=hit.doc, tiebreak=hit.tiebreak)  # fmt: skip
                    else:
                        add(sort_values_json=orjson.dumps(hit.sort_values), segment_ord=hit.segment_ord,
                            doc=hit.doc, tiebreak=hit.tiebreak, score=hit.score, has_score=True)  # fmt: skip
            except QuidditchError as exc:
                result.error.CopyFrom(error_to_pb(exc))
            except Exception as exc:  # a bug or a tantivy error: fail this shard, not the node
                log.exception("leaf search failed", extra={"index": ref.index, "shard": ref.shard})
                result.error.CopyFrom(unexpected_to_pb(exc))
            return result

        if len(request.shards) == 1:  # on the caller's thread: its own deadline bounds the wait for it
            results = [one(0)]
        else:
            futures = [self._pool.submit(one, i) for i in range(len(request.shards))]
            timeout = request.timeout_seconds if request.HasField("timeout_seconds") else None
            concurrent.futures.wait(futures, timeout=timeout)
            results = []
            for ref, future in zip(request.shards, futures, strict=True):
                if future.done():
                    results.append(future.result())
                else:  # still searching (or not started: cancelled) at the deadline: ES's partial results
                    future.cancel()
                    results.append(pb.ShardSearchResult(shard=ref, timed_out=True))
        return pb.SearchResponse(results=results)

    def readers_free(self, shards: Iterable[pb.ShardRef]) -> bool:
        """Whether a search of ``shards`` would start without waiting for a shard's index swap."""
        try:
            return all(self.node.shard(ref.uuid, ref.shard).readers_free() for ref in shards)
        except QuidditchError:
            return False

    def _can_match(self, request: pb.SearchRequest) -> pb.SearchResponse:
        """The can_match pre-filter: per shard, whether the query may match (``native.can_match``); a shard
        that cannot answer says it may (the query phase then reports its failure)."""
        ast = self._query_of(request.query_json)
        response = pb.SearchResponse()
        for ref in request.shards:
            result = response.results.add(shard=ref)
            try:
                _, searcher, compiled = self.node.shard(ref.uuid, ref.shard).view(0)
                result.cannot_match = not can_match(ast, compiled, searcher, request.now_millis)
            except QuidditchError:
                pass
        return response

    def _request_cache_enabled(self, request: pb.SearchRequest, index_uuid: str) -> bool:
        if request.HasField("request_cache"):
            return request.request_cache
        meta = self.node.index_meta(index_uuid)
        return meta is None or str(meta.setting("index.requests.cache.enable", "true")).lower() != "false"

    def _rescored(
        self, request: pb.SearchRequest, hits: ShardHits, searcher: tantivy.Searcher, compiled: CompiledMapping
    ) -> ShardHits:
        """The shard's hits after the request's rescorers (``native.rescore``)."""
        rescorers = [
            (r, compile_query(self._parse(r.query), compiled, now_millis=request.now_millis,
                              max_clause_count=self.config.max_clause_count, searcher=searcher))
            for r in (Rescorer(**entry) for entry in orjson.loads(request.rescore_json))
        ]  # fmt: skip
        rescored = rescore_hits(searcher, compiled.schema, hits.hits, rescorers)
        return ShardHits(rescored, hits.total, rescored[0].score if rescored else hits.max_score)

    def _highlighter(
        self,
        highlight_json: bytes,
        index_uuid: str,
        searcher: tantivy.Searcher,
        query: tantivy.Query,
        ast: QueryAst,
        compiled: CompiledMapping,
        now_millis: int,
    ) -> Highlighter:
        """The fetch phase's highlighter: the query (or a field's ``highlight_query``) and the index's limits."""
        meta = self.node.index_meta(index_uuid)
        keys = ("index.highlight.max_analyzed_offset", "index.highlight.max_number_of_fragments")
        settings = {key: meta.setting(key) for key in keys} if meta is not None else {}

        def compile_json(body: dict[str, Any]) -> tuple[QueryAst, tantivy.Query]:
            parsed = self._parse(body)
            return parsed, compile_query(parsed, compiled, now_millis=now_millis,
                                         max_clause_count=self.config.max_clause_count, searcher=searcher)  # fmt: skip

        specs = parse_highlight(orjson.loads(highlight_json))
        return Highlighter(searcher, query, compiled, specs, ast=ast, compile_json=compile_json, settings=settings)

    def _named(
        self, query_json: bytes, searcher: tantivy.Searcher, compiled: CompiledMapping, now_millis: int
    ) -> NamedQueries | None:
        """The request's named clauses (``_name``) compiled for this shard, or None when it names none."""
        if b'"_name"' not in query_json:
            return None
        clauses = named_clauses(orjson.loads(query_json))
        if not clauses:
            return None

        def compile_clause(clause: dict[str, Any]) -> tantivy.Query:
            return compile_query(self._parse(clause), compiled, now_millis=now_millis,
                                 max_clause_count=self.config.max_clause_count, searcher=searcher)  # fmt: skip

        return NamedQueries(searcher, compiled.schema, clauses, compile_clause)

    @staticmethod
    def _load_docs(
        out: Any,
        searcher: tantivy.Searcher,
        refs: Sequence[tuple[int, int]],
        highlighter: Highlighter | None,
        named: NamedQueries | None = None,
        inner: InnerHits | None = None,
    ) -> None:
        """Append a ``StoredDoc`` per (segment, doc) address to the repeated field ``out``."""
        matched = named.scores(refs) if named is not None else None
        for i, (segment_ord, doc_id) in enumerate(refs):
            fields = searcher.doc(tantivy.DocAddress(segment_ord, doc_id)).to_dict()
            doc = out.add(
                id=str(fields["_id"][0]),
                source=bytes(fields["_source"][0]),
                version=int(fields["_version"][0]),
                seq_no=int(fields["_seq_no"][0]),
                primary_term=int(fields["_primary_term"][0]),
                found=True,
            )
            if fields.get("_routing"):
                doc.routing = str(fields["_routing"][0])
            if highlighter is not None:
                marked = highlighter.highlight(orjson.loads(doc.source))
                if marked:
                    doc.highlight_json = orjson.dumps(marked)
            if inner is not None:
                doc.inner_hits_json = orjson.dumps(inner.render(doc.id, doc.version, doc.seq_no, doc.primary_term))
            if matched is not None and matched[i]:
                doc.matched_queries_json = orjson.dumps(matched[i])

    def fetch(self, request: pb.FetchRequest) -> pb.FetchResponse:
        response = pb.FetchResponse()
        laps = Laps(request.profile)
        try:
            shard = self.node.shard(request.shard.uuid, request.shard.shard)
            _, searcher, compiled = shard.view(request.searcher_generation)
            laps.lap("fetch_reader")
            highlighter = None
            if request.highlight_json:
                ast = self._query_of(request.query_json)
                query = compile_query(ast, compiled, now_millis=request.now_millis, searcher=searcher)
                highlighter = self._highlighter(
                    request.highlight_json, request.shard.uuid, searcher, query, ast, compiled, request.now_millis
                )
            inner = None
            if request.query_json:
                inner = _inner_hits(self._query_of(request.query_json), searcher, compiled, request.now_millis,
                                    request.shard.index)  # fmt: skip
            named = self._named(request.query_json, searcher, compiled, request.now_millis)
            refs = [(r.segment_ord, r.doc) for r in request.docs]
            self._load_docs(response.docs, searcher, refs, highlighter, named, inner)
            laps.lap("fetch_load", len(request.docs))
            response.profile_json = laps.to_json()
        except QuidditchError as exc:
            response.error.CopyFrom(error_to_pb(exc))
        except Exception as exc:
            log.exception("leaf fetch failed", extra={"index": request.shard.index})
            response.error.CopyFrom(unexpected_to_pb(exc))
        return response

    # -- replication ----------------------------------------------------------------------------------------
    def apply_state(self, old: ClusterState | None, new: ClusterState) -> None:
        """A cluster-state listener (after ``DataNode.apply_state``): the routing table replication reads, and
        the peer recoveries this node owes."""
        self.cluster_state = new
        self.recovery.apply_state(new)
        self.replication.after_state(new)

    def replicate(self, request: pb.ReplicateRequest) -> pb.ReplicateResponse:
        """Apply a primary's operations to this node's replica copy (``native.replica``)."""
        try:
            if self.recovery.offer(request):  # the copy is recovering: kept until its shard is open
                return pb.ReplicateResponse(local_checkpoint=-1)
            shard = self.node.shard(request.shard.uuid, request.shard.shard)
            shard.apply_replica(list(request.records), request.primary_term, request.global_checkpoint,
                                request.promotion_checkpoint)
            if request.refresh:
                _refresh_after_write(shard)
            return pb.ReplicateResponse(local_checkpoint=shard.local_checkpoint)
        except StalePrimaryTerm as exc:
            return pb.ReplicateResponse(error=error_to_pb(exc), stale_primary=True)
        except QuidditchError as exc:
            return pb.ReplicateResponse(error=error_to_pb(exc))
        except Exception as exc:
            log.exception("replica write failed", extra={"index": request.shard.index, "shard": request.shard.shard})
            return pb.ReplicateResponse(error=unexpected_to_pb(exc))

    def recover(self, request: pb.RecoverRequest) -> pb.RecoverResponse:
        """One step of a peer recovery this node's primary serves (``cluster.recovery``)."""
        return self.recovery.serve(request)

    # -- writes and reads by id ---------------------------------------------------------------------------
    def bulk(
        self,
        request: pb.BulkRequest,
        parsed: Sequence[dict[str, Any] | None] | None = None,
        records: list[bytes] | None = None,
    ) -> pb.BulkResponse:
        """Apply a shard-level bulk on its primary. ``parsed`` (in-process callers only) holds, per op, the
        already parsed ``source`` or None; it saves the shard a second parse of each document. ``records``
        receives the WAL payloads written, for the replicas (``cluster.replication``: transports call
        ``self.replication.bulk``, which forwards them)."""
        response = pb.BulkResponse()
        started_ns = time.perf_counter_ns()
        try:
            return self._bulk(request, parsed, response, records)
        finally:
            self.write_load.record(request.shard.uuid, request.shard.shard, time.perf_counter_ns() - started_ns)

    def _bulk(self, request: pb.BulkRequest, parsed: Sequence[dict[str, Any] | None] | None,
              response: pb.BulkResponse, records: list[bytes] | None = None) -> pb.BulkResponse:  # fmt: skip
        try:
            known = self.node.index_meta(request.shard.uuid)
            if self.state_wait_s and (known is None or known.mapping_version < request.mapping_version):
                # (in a cluster: the state the coordinator wrote with is on its way here)
                if not self.node.wait_for(request.shard.uuid, request.shard.shard, request.mapping_version,
                                          self.state_wait_s):  # fmt: skip
                    log.warning("a shard bulk waited %.0fs for a cluster state this node has not applied",
                                self.state_wait_s, extra={"index": request.shard.index, "shard": request.shard.shard,
                                                          "mapping_version": request.mapping_version})  # fmt: skip
            shard = self.node.shard(request.shard.uuid, request.shard.shard)
            if request.HasField("columns"):
                self._index_columns(shard, request.columns, parsed, response, records)
                if request.refresh:
                    _refresh(shard)
                return response
            ops: list[WriteOp] = []
            append = ops.append
            hints = parsed if parsed is not None and len(parsed) == len(request.ops) else None
            for i, op in enumerate(request.ops):
                kind = op.op
                if kind == "update" or op.has_if_seq_no or op.has_version or op.routing:
                    update = orjson.loads(op.update_json) if op.update_json else {}
                    append(
                        WriteOp(
                            kind,
                            op.id,
                            op.source or None,
                            op.if_seq_no if op.has_if_seq_no else None,
                            op.if_primary_term if op.has_if_seq_no else None,
                            op.auto_id,
                            update.get("doc"),
                            update.get("upsert"),
                            bool(update.get("doc_as_upsert", False)),
                            bool(update.get("detect_noop", True)),
                            version=op.version if op.has_version else None,
                            version_type=op.version_type or "internal",
                            routing=op.routing or None,
                        )
                    )
                else:  # index, create, delete without conditions: the common case, built positionally
                    hint = hints[i] if hints is not None else None
                    append(WriteOp(kind, op.id, op.source or None, None, None, op.auto_id, parsed=hint))
            add = response.results.add
            for res in shard.write(ops, records=records):
                if res.error is None:
                    add(id=res.id, result=res.result, version=res.version, seq_no=res.seq_no,
                        primary_term=res.primary_term, status=res.status)  # fmt: skip
                else:
                    msg = add(id=res.id, result=res.result, version=res.version, seq_no=res.seq_no,
                              primary_term=res.primary_term, status=res.status)  # fmt: skip
                    msg.error.CopyFrom(error_to_pb(res.error))
            if request.refresh:
                _refresh_after_write(shard)
        except NoShardAvailable as exc:  # a failed shard: every item of the shard bulk fails with ES's 503
            count = len(request.columns.ids) if request.HasField("columns") else len(request.ops)
            response.error.CopyFrom(error_to_pb(UnavailableShards(exc.index, exc.shard, count)))
        except QuidditchError as exc:
            response.error.CopyFrom(error_to_pb(exc))
        return response

    @staticmethod
    def _index_columns(
        shard: Shard, columns: pb.IndexColumns, parsed: Sequence[dict[str, Any] | None] | None,
        response: pb.BulkResponse, records: list[bytes] | None = None,
    ) -> None:
        ids, sources = columns.ids, columns.sources
        hints = parsed if parsed is not None and len(parsed) == len(ids) else None
        routings = [r or None for r in columns.routings] if columns.routings else None
        result = shard.index_columns(columns.op, ids, sources, auto_id=columns.auto_id, parsed=hints,
                                     routings=routings, records=records)  # fmt: skip
        out = response.columns
        out.seq_nos.extend(result.seq_nos)
        out.versions.extend(result.versions)
        out.updated.extend(result.updated)
        out.primary_term = result.primary_term
        for pos, exc in result.errors.items():
            out.failed.append(pos)
            out.errors.append(error_to_pb(exc))

    def get(self, request: pb.GetRequest) -> pb.StoredDoc:
        shard = self.node.shard(request.shard.uuid, request.shard.shard)
        doc = shard.get(request.id, realtime=not request.not_realtime)
        if doc is None or doc.source is None:
            return pb.StoredDoc(id=request.id, found=False)
        return pb.StoredDoc(
            id=doc.id,
            source=doc.source,
            version=doc.version,
            seq_no=doc.seq_no,
            primary_term=doc.primary_term,
            found=True,
            routing=doc.routing or "",
        )

    # -- per-document and per-shard reads (``cluster.leaf_reads``) ---------------------------------------
    def explain(self, request: pb.ExplainRequest) -> pb.ExplainResponse:
        return leaf_reads.explain(self.node, self._query_of, self.config.max_clause_count, request)

    def validate(self, request: pb.ValidateRequest) -> pb.ValidateResponse:
        return leaf_reads.validate(self.node, self._query_of, self.config.max_clause_count, request)

    def termvectors(self, request: pb.TermvectorsRequest) -> pb.TermvectorsResponse:
        return leaf_reads.termvectors(self.node, request)

    def refresh(self, request: pb.RefreshRequest) -> pb.RefreshResponse:
        """Refresh each shard; one that fails (a commit refused by the disk) is reported, its writes kept."""
        response = pb.RefreshResponse()
        for ref in request.shards:
            try:
                _refresh(self.node.shard(ref.uuid, ref.shard))
            except NoShardAvailable:  # a failed shard counts in the total, not as successful or failed (as ES)
                continue
            except QuidditchError as exc:
                response.failures.add(shard=ref, error=error_to_pb(exc))
                continue
            except Exception as exc:
                log.exception("leaf refresh failed", extra={"index": ref.index, "shard": ref.shard})
                response.failures.add(shard=ref, error=_refresh_failure(exc))
                continue
            response.successful += 1
        return response

    def forcemerge(self, request: pb.ForcemergeRequest) -> pb.ForcemergeResponse:
        """Merge the shards one after another (ES runs one force merge per node at a time); searches and
        writes go on meanwhile."""
        response = pb.ForcemergeResponse()
        for ref in request.shards:
            try:
                merged = self.node.shard(ref.uuid, ref.shard).forcemerge(
                    request.max_num_segments or 1, only_expunge_deletes=request.only_expunge_deletes
                )
            except QuidditchError as exc:
                response.failures.add(shard=ref, error=error_to_pb(exc))
                continue
            except Exception as exc:
                log.exception("leaf forcemerge failed", extra={"index": ref.index, "shard": ref.shard})
                response.failures.add(shard=ref, error=unexpected_to_pb(exc))
                continue
            response.successful += 1
            response.merged += int(merged)
        return response

    def stats(self, request: pb.StatsRequest) -> pb.StatsResponse:
        response = pb.StatsResponse()
        for ref in request.shards:
            try:
                shard = self.node.shard(ref.uuid, ref.shard)
            except NoShardAvailable:  # a failed shard has no stats (ES leaves unassigned shards out)
                continue
            size = 0
            for dirpath, _, files in os.walk(shard.path):
                for name in files:
                    try:
                        size += os.path.getsize(f"{dirpath}/{name}")
                    except OSError:
                        pass
            _, searcher, compiled = shard.view()
            if request.clear_fielddata:
                fielddata.clear(searcher, list(request.clear_fields) or None)
            stats = response.shards.add(shard=ref, num_docs=lucene_doc_count(searcher, compiled), size_in_bytes=size,
                                        max_seq_no=shard.max_seq_no)  # fmt: skip
            for seg in shard.segments():
                stats.segments.add(name=seg.name, num_docs=seg.num_docs, deleted_docs=seg.deleted_docs,
                                   size_in_bytes=seg.size_in_bytes)  # fmt: skip
            if request.source_fields:
                measured = self._source_field_stats(ref, searcher, compiled)
                stats.completion_bytes.update(measured.completion)
                stats.dense_vector_values = measured.dense_vector_values
                stats.sparse_vector_values = measured.sparse_vector_values
            stats.fielddata_bytes.update(fielddata.memory(searcher))
            if request.field_usage:
                started, fields = self.field_usage.read(ref.uuid, ref.shard)
                stats.field_usage_json = orjson.dumps({"started": started, "fields": fields})
            busy, elapsed, load, recent, peak = self.write_load.read(ref.uuid, ref.shard)
            stats.write_load.CopyFrom(pb.WriteLoad(index_time_nanos=busy, elapsed_seconds=elapsed, load=load,
                                                   recent=recent, peak=peak))  # fmt: skip
            memory, evictions, hits, misses = self.request_cache.stats(shard)
            cache = stats.request_cache
            cache.memory_size_in_bytes, cache.evictions, cache.hit_count, cache.miss_count = (
                memory, evictions, hits, misses
            )
        return response

    def _record_usage(self, ref: pb.ShardRef, ast: QueryAst, compiled: CompiledMapping, sort: Any, tree: Any,
                      track_scores: bool) -> None:  # fmt: skip
        """Count the structures this shard search read (``native.field_usage``); never fails the search."""
        try:
            sort_fields = list(sort or ())
            scored = track_scores or not sort_fields or any(s.field == "_score" for s in sort_fields)
            self.field_usage.record(ref.uuid, ref.shard, query_usage(ast, compiled, scored),
                                    sort_usage(sort_fields, compiled),
                                    agg_usage(tree.nodes, compiled) if tree is not None else {})  # fmt: skip
        except Exception:
            log.exception("field usage accounting failed")

    def _source_field_stats(self, ref: pb.ShardRef, searcher: Any, compiled: CompiledMapping) -> SourceFieldStats:
        key = (ref.uuid, ref.shard)
        cached = self._source_fields.get(key)
        if cached is not None and cached[0] is searcher:
            return cached[1]
        measured = source_field_stats(searcher, compiled)
        self._source_fields[key] = (searcher, measured)
        return measured

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        self.recovery.close()
        self.replication.close()


# An explicit refresh (``_refresh``, ``?refresh=true|wait_for``) also waits this long at most for a background
# mapping rebuild to be swapped in, so that the new fields are searchable when it returns, as in ES.
REBUILD_WAIT_S = 300.0


def _refresh(shard: Shard) -> None:
    shard.refresh()
    shard.await_rebuild(REBUILD_WAIT_S)


def _refresh_after_write(shard: Shard) -> None:
    """``?refresh=true|wait_for`` after writes that are already durable: a failed refresh does not undo them
    (their WAL records stand and a later refresh commits them), so it is logged, not answered as a failure."""
    try:
        _refresh(shard)
    except Exception:
        log.exception("refresh after a write failed", extra={"index": shard.index_name, "shard": shard.shard_id})


def _refresh_failure(exc: BaseException) -> pb.Error:
    """A refresh's storage failure as ES reports a failed engine refresh."""
    return pb.Error(status=500, es_type="refresh_failed_engine_exception", reason=f"Refresh failed: {exc}")


def _inner_hits(
    ast: QueryAst, searcher: tantivy.Searcher, compiled: Any, now_millis: int, index: str
) -> InnerHits | None:
    """The ``inner_hits`` of the search's ``nested`` queries (``native.inner_hits``), None when none asks."""

    def compile_for(node: QueryAst, view_searcher: tantivy.Searcher, level: str) -> tantivy.Query:
        return compile_query(node, compiled, now_millis=now_millis, searcher=view_searcher, nested_level=level)

    return inner_hits_for(ast, searcher, compiled, compile_for, index)


def _explainer(shard: Any, searcher: tantivy.Searcher, query: tantivy.Query) -> Callable[[Any], dict[str, Any]]:
    """``address → ES explanation`` of ``query``'s score there (``top_hits`` with ``explain``)."""
    names: list[list[str]] = []

    def explain(address: Any) -> dict[str, Any]:
        if not names:
            names.append(field_names(shard))
        try:
            raw = orjson.loads(query.explain(searcher, address).to_json())
        except ValueError:
            return {"value": 0.0, "description": "no matching term", "details": []}
        return convert(raw, names[0], address.doc)

    return explain
