"""The root: plans a search over shards, merges partial hits and aggregations, fetches the winners.

Query then fetch: leaves return sort values and doc addresses; the root keeps the global top
``from + size`` ordered by sort values then (shard, segment, doc), and fetches ``_source`` for those only.
The shards are reached through a ``Transport`` and the routing table of the current cluster state
(``cluster.fanout``: one request per node, retries on the next copy, failed shards in ``_shards.failures``);
the fetch phase asks the node that answered the query phase for that shard, and a scroll or a PIT keeps
reading the nodes its first page read (``QueryPhase.nodes``).

Before fan-out the root resolves ``terms`` lookups (``native.query.lookup``): each looked-up document is
read once with a realtime GET (``index_of`` + ``get_doc``, the master's index resolution and the write
coordinator's GET) and the request JSON is rewritten with its values, so leaves only see plain ``terms``.
"""

from __future__ import annotations

import asyncio
import fnmatch
import functools
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy
import orjson

from cluster.can_match import matching_targets, should_pre_filter
from cluster.collapse import collapsed_search
from cluster.config import Backpressure, ClusterConfig
from cluster.doc_fields import (
    add_ignored,
    doc_fields,
    fetch_mapping,
    parse_field_specs,
    stored_values,
    unmapped_fields,
)
from cluster.errors import error_from_pb
from cluster.fanout import LEAF_GRACE_S as LEAF_GRACE_S  # re-exported: its home was here
from cluster.fanout import SearchFanout, StateSource
from cluster.leaf_client import LeafClient
from cluster.pit import SHARD_DOC, shard_doc, with_tiebreaker
from cluster.pit import shard_after as shard_after_doc
from cluster.profile import FetchClock, shard_profile
from cluster.protos import leaf_pb2 as pb
from cluster.routing import shard_for
from cluster.search_failures import NODE_ID as NODE_ID  # re-exported: its home was here
from cluster.search_failures import all_failed_cause, failure_entries, grouped_failures
from cluster.search_limits import validate_window as validate_window  # re-exported: its home was here
from cluster.search_request import SearchSpec, SourceFilter
from cluster.search_stats import SearchStats, search_counts
from cluster.shard_copies import CopyPreference, retryable
from cluster.sort_format import needs_rendering, render_sort_values
from cluster.source_filter import filter_source
from cluster.state import ClusterState, IndexMeta
from cluster.transport import LocalTransport, Transport
from native import aggs as native_aggs
from native.errors import (
    IllegalArgument,
    ParsingError,
    QuidditchError,
    RequestTimeout,
    ScriptingDisabled,
    SearchPhaseError,
    SearchTimeout,
)
from native.ignored import IgnoredFields
from native.mapping import Mapping, source_enabled
from native.query import QueryAst, parse_query
from native.query.expensive import check_expensive
from native.query.lookup import LookupRef, extract_values, find_lookups, resolve_lookups
from native.search import SCORE_SORT, SortField, sort_key
from native.slicing import plan_slices
from native.suggest import merge_suggest, parse_suggest

log = logging.getLogger(__name__)

_PARSE_CACHE_SIZE = 512
IndexOf = Callable[[str], IndexMeta]  # an index or alias name → its (write) index, IndexNotFound otherwise
GetDoc = Callable[[IndexMeta, str, str | None], Awaitable[pb.StoredDoc]]  # realtime GET (index, id, routing)


@dataclass(frozen=True)
class ShardTarget:
    meta: IndexMeta
    shard: int

    def ref(self) -> pb.ShardRef:
        return pb.ShardRef(index=self.meta.name, uuid=self.meta.uuid, shard=self.shard)


NodeOf = Callable[[str, int], str]  # (index uuid, shard) → the id of the node whose copy was read
# query-and-fetch over several shards: at most this many documents loaded with the query phase (``_fetch_from``)
QUERY_AND_FETCH_DOCS = 64
RankedHit = tuple[tuple[Any, ...], int, int, int, tuple[Any, ...], float | None, int]


@dataclass
class QueryPhase:
    targets: list[ShardTarget]
    generations: list[int]
    # (sort key, shard, segment, doc, sort values, score, tiebreak), in global order
    hits: list[RankedHit]
    total: int
    max_score: float | None
    failures: list[tuple[ShardTarget, QuidditchError]]
    agg_partials: list[bytes]
    terminated_early: bool = False
    # query-and-fetch: documents fetched with the query phase, by (shard index, segment, doc) of their hit
    prefetched: dict[tuple[int, int, int], pb.StoredDoc] | None = None
    # shards that did not answer by the deadline: no hits from them, ``timed_out: true`` (ES's partial results)
    timed_out: list[ShardTarget] = field(default_factory=list)
    # ``profile: true``: per target, the leaf's measures of its query phase, then of its fetch (``cluster.profile``)
    profiles: dict[int, bytes] = field(default_factory=dict)
    fetch_profiles: dict[int, dict[str, Any]] = field(default_factory=dict)
    # each shard's ``suggest`` answer (``native.suggest.shard_suggest``)
    suggest_partials: list[dict[str, Any]] = field(default_factory=list)
    # per target, the node whose copy answered (or was tried last): the fetch phase, a scroll's or a PIT's
    # later pages go there; and per entry of ``failures``, the node it failed on
    nodes: list[str] = field(default_factory=list)
    failure_nodes: list[str] = field(default_factory=list)

    def context_nodes(self) -> list[str]:
        """Per target, the node whose readers later pages (scroll, PIT) must read: "" for a shard that failed
        or timed out (it pinned nothing; a later page reads any copy)."""
        missed = {id(t) for t, _ in self.failures} | {id(t) for t in self.timed_out}
        return [("" if id(t) in missed else node) for t, node in zip(self.targets, self.nodes, strict=False)]

    def node_of(self, target: ShardTarget) -> str:
        """The node that answered (or was tried last) for ``target`` (one of ``targets``)."""
        for i, t in enumerate(self.targets):
            if t is target and i < len(self.nodes) and self.nodes[i]:
                return self.nodes[i]
        return NODE_ID


# Snapshot passes (by-query, reindex, resize) renew their readers' pin by this much on every page.
SNAPSHOT_PIN_SECONDS = 300.0


def as_float32(score: float | None) -> float | None:
    """A score as ES renders it: the shortest decimal of the float32 value (1.6, not 1.600000023841858)."""
    if score is None:
        return None
    return _as_float32(score)


@functools.lru_cache(maxsize=4096)
def _as_float32(score: float) -> float:
    # cached: the same few scores repeat across hits and requests, and numpy's str() costs ~1.5 µs
    return float(str(numpy.float32(score)))


def targets_for(
    indices: Sequence[IndexMeta], routing: Sequence[str] = (), only_shards: Sequence[int] = ()
) -> list[ShardTarget]:
    """The shards a search reads: every shard of each index, or with ``routing`` values only the shards they
    hash to (as ES's ``?routing=``: documents indexed with other routing on other shards are not seen), and
    with ``only_shards`` (``preference=_shards:…``) only those of them."""
    targets = []
    for meta in indices:
        shards = range(meta.number_of_shards)
        if routing:
            shards = sorted({shard_for(value, meta.number_of_shards) for value in routing})  # type: ignore[assignment]
        targets += [ShardTarget(meta, shard) for shard in shards if not only_shards or shard in only_shards]
    return targets


def index_boosts(indices: Sequence[IndexMeta], entries: list[tuple[str, float]]) -> dict[str, float]:
    """``indices_boost``: per index, the first entry naming it, one of its aliases, or a pattern over either."""
    out: dict[str, float] = {}
    for meta in indices:
        names = [meta.name, *meta.aliases]
        for pattern, boost in entries:
            if any(fnmatch.fnmatchcase(n, pattern) for n in names):
                out[meta.name] = boost
                break
        else:
            out[meta.name] = 1.0
    return out


class Root:
    """Searches over the shards of the cluster: ``transport`` reaches each node's leaf, ``state`` gives the
    current cluster state (its routing table places the shard copies; ``cluster.fanout``). A bare
    ``LeafClient`` is one node holding every shard (``LocalTransport``)."""

    def __init__(
        self,
        transport: Transport | LeafClient,
        config: ClusterConfig | None = None,
        *,
        state: StateSource | None = None,
        index_of: IndexOf | None = None,
        get_doc: GetDoc | None = None,
    ) -> None:
        if not hasattr(transport, "local_node"):
            transport = LocalTransport(NODE_ID, transport)  # type: ignore[arg-type]
        self.transport: Transport = transport  # type: ignore[assignment]
        self.config = config or ClusterConfig()
        empty = ClusterState()
        self.fanout = SearchFanout(self.transport, state or (lambda: empty), self.config)
        self.queue = Backpressure("search", workers=8, capacity=self.config.search_queue_size)
        self.index_of = index_of
        self.get_doc = get_doc
        # Parsed queries and aggregations by their JSON (the handler validates, then ``search`` parses
        # again; dashboards repeat bodies). Parse results are frozen; errors are never cached.
        self._parsed: dict[bytes, Any] = {}
        self.max_buckets = native_aggs.DEFAULT_MAX_BUCKETS  # ``search.max_buckets``, kept current from state
        self.allow_expensive_queries = True  # ``search.allow_expensive_queries``, kept current from state
        self.node_of: NodeOf = lambda index_uuid, shard: ""  # from the routing table, set by whoever runs the root
        self.search_stats = SearchStats()  # ``_stats`` ``search`` section, per index and ``stats`` group

    @property
    def leaf(self) -> LeafClient:
        """This node's own leaf client."""
        return self.transport.client(self.transport.local_node)

    @leaf.setter
    def leaf(self, client: LeafClient) -> None:
        """One node holding every shard, reached through ``client`` (the embedded server's leaf over gRPC)."""
        self.transport = self.fanout.transport = LocalTransport(self.transport.local_node, client)

    def attach_documents(self, index_of: IndexOf, get_doc: GetDoc) -> None:
        """Where ``terms`` lookups read their documents (without it, a lookup is a 400)."""
        self.index_of, self.get_doc = index_of, get_doc

    async def resolve_lookups(self, *parts: Any) -> list[Any]:
        """``parts`` (query, post_filter, aggs JSON) with every ``terms`` lookup replaced by its values."""
        refs = find_lookups(*parts)
        if not refs:
            return list(parts)
        index_of, get_doc = self.index_of, self.get_doc
        if index_of is None or get_doc is None:
            raise ParsingError("[terms] query lookup is not supported")

        async def values_of(ref: LookupRef) -> list[Any]:
            doc = await get_doc(index_of(ref.index), ref.id, ref.routing)
            return extract_values(orjson.loads(doc.source), ref.path) if doc.found else []

        values = dict(zip(refs, await asyncio.gather(*(values_of(r) for r in refs)), strict=True))
        return [resolve_lookups(part, values) for part in parts]

    async def _resolved(self, spec: SearchSpec) -> SearchSpec:
        query, post_filter, aggs = await self.resolve_lookups(spec.query, spec.post_filter, spec.aggs)
        if (query, post_filter, aggs) == (spec.query, spec.post_filter, spec.aggs):
            return spec
        return replace(spec, query=query, post_filter=post_filter, aggs=aggs)

    def parse(self, query: dict[str, Any] | None) -> QueryAst:
        """Validate a query with this node's limits (400s happen here, before any fan-out)."""
        return self._cached(b"q", query, self._parse_query)  # type: ignore[no-any-return]

    def check_expensive(self, query: dict[str, Any] | None, indices: Sequence[IndexMeta]) -> None:
        """``search.allow_expensive_queries: false``: refuse what ES refuses then (``native.query.expensive``)."""
        if self.allow_expensive_queries or not query:
            return
        mappings = [Mapping(meta.mappings) for meta in indices]

        def field_types(field: str) -> list[str]:
            return [leaf.type for leaf in (m.leaf(field) for m in mappings) if leaf is not None]

        try:
            check_expensive(self.parse(query), field_types)
        except QuidditchError as exc:  # ES refuses it on the shards
            raise SearchPhaseError("all shards failed", caused_by=exc) from None

    def parse_aggs(self, aggs: dict[str, Any]) -> native_aggs.AggTree:
        return self._cached(b"a", aggs, native_aggs.parse_aggs)  # type: ignore[no-any-return]

    def _parse_query(self, query: dict[str, Any] | None) -> QueryAst:
        return parse_query(
            query, max_nested_depth=self.config.max_nested_depth, max_clause_count=self.config.max_clause_count
        )

    def _cached(self, kind: bytes, body: Any, parse: Callable[[Any], Any]) -> Any:
        if not body:
            return parse(body)
        try:
            key = kind + orjson.dumps(body)
        except (TypeError, orjson.JSONEncodeError):
            return parse(body)
        found = self._parsed.get(key)
        if found is None:
            found = parse(body)  # raises for a bad body: nothing is cached
            if len(self._parsed) >= _PARSE_CACHE_SIZE:
                self._parsed.clear()
            self._parsed[key] = found
        return found

    async def query_phase(
        self,
        targets: list[ShardTarget],
        spec: SearchSpec,
        *,
        limit: int,
        query: dict[str, Any] | None,
        aggs: dict[str, Any] | None,
        generations: list[int] | None = None,
        now_millis: int,
        boosts: list[float] | None = None,
        fetch_from: int | None = None,
        pin_seconds: float = 0.0,
        shard_after: Sequence[Sequence[Any] | None] | None = None,
        deadline: float | None = None,
        nodes: Sequence[str] | None = None,
    ) -> QueryPhase:
        """``deadline`` (``time.monotonic()``): shards that have not answered by then count as timed out.
        ``nodes``: per target, the node its ``generations`` entry lives on (a scroll's or PIT's readers)."""
        sort = spec.sort or list(SCORE_SORT)
        score_positions = {j for j, s in enumerate(sort) if s.field == "_score"}
        # ``_shard_doc`` (PIT tiebreaker): the leaf sorts by ``_doc``; its values become shard << 32 | doc below
        shard_doc_at = next((j for j, s in enumerate(sort) if s.field == SHARD_DOC), None)
        leaf_sort = [replace(s, field="_doc") if s.field == SHARD_DOC else s for s in sort]
        if shard_doc_at is not None and spec.search_after is not None and shard_after is None:
            shard_after = self._shard_doc_after(spec.search_after, sort, shard_doc_at, len(targets))
        request = pb.SearchRequest(
            shards=[t.ref() for t in targets],
            query_json=orjson.dumps(query) if query is not None else b"",
            sort_json=orjson.dumps([s.__dict__ for s in leaf_sort]),
            limit=limit,
            search_after_json=orjson.dumps(spec.search_after) if spec.search_after is not None else b"",
            aggs_json=orjson.dumps(aggs) if aggs else b"",
            has_min_score=spec.min_score is not None,
            min_score=spec.min_score or 0.0,
            now_millis=now_millis,
            searcher_generations=generations or [],
            fetch=fetch_from is not None,
            fetch_from=fetch_from or 0,
            highlight_json=orjson.dumps(spec.highlight) if spec.highlight and fetch_from is not None else b"",
            pin_seconds=pin_seconds,
            profile=spec.profile,
            track_scores=spec.track_scores and bool(spec.sort) and limit > 0,
            rescore_json=orjson.dumps([r.__dict__ for r in spec.rescore]) if spec.rescore else b"",
            suggest_json=orjson.dumps(spec.suggest) if spec.suggest else b"",
            untracked=spec.internal,
        )
        if spec.request_cache is not None:
            request.request_cache = spec.request_cache
        if shard_after is not None:
            request.shard_search_after_json.extend([orjson.dumps(a) if a is not None else b"" for a in shard_after])
        if spec.slice is not None:
            parts = plan_slices(spec.slice.id, spec.slice.max, len(targets), spec.slice.field, spec.pit is not None)
            request.shard_slice_json.extend([b"" if p is None else p.to_json() for p in parts])
        results, answered = await self.fanout.query(
            request, targets, deadline, self.queue, CopyPreference.parse(spec.preference), nodes
        )
        phase = QueryPhase(targets, [0] * len(targets), [], 0, None, [], [], nodes=answered)
        # One shard's hits arrive in the global order already (the leaf orders them the way the merge
        # below does): only hits of several shards need sort keys and the merge sort.
        merge = len(targets) > 1 or boosts is not None
        for i, result in enumerate(results):
            if result.HasField("error"):
                phase.failures.append((targets[i], error_from_pb(result.error)))
                phase.failure_nodes.append(answered[i])
                continue
            if result.timed_out:
                phase.timed_out.append(targets[i])
                continue
            phase.generations[i] = result.searcher_generation
            if result.profile_json:
                phase.profiles[i] = result.profile_json
            shard_hits = list(result.hits)
            total = result.total
            # terminate_after: ES stops collecting after N docs per shard (in index order); the leaf has
            # no such cut-off, so the root keeps the shard's first N hits in sort order and caps its count.
            if spec.terminate_after is not None and total > spec.terminate_after:
                total = spec.terminate_after
                shard_hits = shard_hits[: spec.terminate_after]
                phase.terminated_early = True
            phase.total += total
            # indices_boost multiplies every score of an index: a shard's own top hits stay its top hits.
            boost = boosts[i] if boosts else 1.0
            if result.has_max_score:
                shard_max = result.max_score * boost
                phase.max_score = shard_max if phase.max_score is None else max(phase.max_score, shard_max)
            for hit in shard_hits:
                values = tuple(orjson.loads(hit.sort_values_json))
                if shard_doc_at is not None:
                    values = (*values[:shard_doc_at], shard_doc(i, values[shard_doc_at]), *values[shard_doc_at + 1 :])
                score = hit.score * boost if hit.has_score else None
                if boost != 1.0 and score_positions:
                    values = tuple(
                        v * boost if j in score_positions and isinstance(v, int | float) else v
                        for j, v in enumerate(values)
                    )
                key = sort_key(values, sort) if merge else ()
                phase.hits.append((key, i, hit.segment_ord, hit.doc, values, score, hit.tiebreak))
            if result.agg_partial:
                phase.agg_partials.append(result.agg_partial)
            if result.suggest_json:
                phase.suggest_partials.append(orjson.loads(result.suggest_json))
            if fetch_from is not None:  # the documents of this shard's hits[fetch_from:], in order
                docs = phase.prefetched = phase.prefetched if phase.prefetched is not None else {}
                for hit, doc in zip(result.hits[fetch_from:], result.docs, strict=False):
                    docs[(i, hit.segment_ord, hit.doc)] = doc
        if merge:
            phase.hits.sort(key=lambda h: (h[0], h[1], h[6], h[2], h[3]))
        if phase.failures and len(phase.failures) == len(targets):
            raise SearchPhaseError(
                "all shards failed", caused_by=all_failed_cause(phase),
                failed_shards=grouped_failures(phase.failures, phase.failure_nodes),
            )  # fmt: skip
        return phase

    @staticmethod
    def _shard_doc_after(
        search_after: list[Any], sort: list[SortField], at: int, num_shards: int
    ) -> list[Sequence[Any] | None]:
        """Per shard, the ``search_after`` its leaf continues from when the sort ends in ``_shard_doc``: the
        tiebreaker value becomes each shard's own ``_doc`` bound. Without a tiebreaker value (ES accepts the
        values of the explicit sort alone), every shard continues strictly after the explicit values."""
        descending = sort[at].reverse
        if len(search_after) == len(sort) - 1 and at == len(sort) - 1:
            bound = -1 if descending else 1 << 62
            return [[*search_after, bound] for _ in range(num_shards)]
        if len(search_after) != len(sort):
            raise IllegalArgument(f"search_after has {len(search_after)} value(s) but sort has {len(sort)}.")
        value = search_after[at]
        return [
            [*search_after[:at], shard_after_doc(value, i, descending), *search_after[at + 1 :]]
            for i in range(num_shards)
        ]

    def _fetch_from(
        self, spec: SearchSpec, targets: list[ShardTarget], offset: int, limit: int, shard_limit: int, paging: bool
    ) -> int | None:
        """Where each shard's documents start when they come back with the query phase (query-and-fetch), else
        None (a fetch phase follows). One shard: from the page's offset, as ES does. Several shards in a cluster
        of several nodes: from 0 when at most ``QUERY_AND_FETCH_DOCS`` documents would be loaded in all (each
        shard loads its whole top ``from + size``, of which the page keeps ``size``): one network round trip
        saved (~1-2 ms through gRPC) for a few documents read in vain. The embedded server keeps its two phases:
        a hop there costs microseconds, and loading the extra documents would not."""
        if shard_limit != limit:  # (rescore: a shard's window is wider than the page)
            return None
        if len(targets) == 1:
            return offset
        if paging or spec.profile or limit * len(targets) > QUERY_AND_FETCH_DOCS:
            return None
        return 0 if len(self.fanout.state().nodes) > 1 else None

    def deadline(self, started: float, timeout_s: float | None) -> float | None:
        """When a search started at ``started`` (``time.monotonic()``) stops waiting for shards: its own
        ``timeout``, else the server's ``search_default_search_timeout`` (None: never)."""
        if timeout_s is not None:
            return started + timeout_s
        cap = self.config.default_search_timeout_s
        return None if cap < 0 else started + cap

    async def fetch(
        self,
        phase: QueryPhase,
        window: list[RankedHit],
        spec: SearchSpec,
        now_millis: int,
        deadline: float | None = None,
    ) -> list[dict[str, Any]]:
        """``deadline``: past it the fetch is abandoned with a ``timeout_exception`` (hits without their
        documents would be wrong, not partial)."""
        by_shard: dict[int, list[int]] = defaultdict(list)
        for pos, entry in enumerate(window):
            by_shard[entry[1]].append(pos)
        fetched: dict[int, pb.StoredDoc] = {}
        fetch_raw: dict[int, bytes] = {}
        lost: list[tuple[int, QuidditchError]] = []

        async def fetch_one(shard_index: int, positions: list[int]) -> None:
            request = pb.FetchRequest(
                shard=phase.targets[shard_index].ref(),
                searcher_generation=phase.generations[shard_index],
                docs=[pb.DocRef(segment_ord=window[p][2], doc=window[p][3]) for p in positions],
                highlight_json=orjson.dumps(spec.highlight) if spec.highlight else b"",
                query_json=orjson.dumps(spec.query) if spec.query is not None else b"",
                now_millis=now_millis,
                profile=spec.profile,
            )
            try:
                response = await self.fanout.fetch(phase.nodes[shard_index], request)
            except QuidditchError as exc:
                if not retryable(exc):
                    raise
                lost.append((shard_index, exc))  # its node is gone since the query phase: a failed shard
                return
            if response.HasField("error"):
                raise error_from_pb(response.error)
            if response.profile_json:
                fetch_raw[shard_index] = response.profile_json
            for pos, doc in zip(positions, response.docs, strict=True):
                fetched[pos] = doc

        prefetched = phase.prefetched
        if prefetched is not None and all((e[1], e[2], e[3]) in prefetched for e in window):
            fetched = {pos: prefetched[(e[1], e[2], e[3])] for pos, e in enumerate(window)}
        else:
            try:
                async with asyncio.timeout(None if deadline is None else max(deadline - time.monotonic(), 0.0)):
                    await asyncio.gather(*(fetch_one(s, ps) for s, ps in by_shard.items()))
            except TimeoutError:
                raise RequestTimeout("fetch phase did not finish before the search's deadline") from None
        for shard_index, error in sorted(lost, key=lambda entry: entry[0]):  # (ES: the shard's hits are left out)
            phase.failures.append((phase.targets[shard_index], error))
            phase.failure_nodes.append(phase.nodes[shard_index])
        hits: list[dict[str, Any]] = []
        with_score = not spec.explicit_sort or spec.track_scores
        field_specs = parse_field_specs(spec.docvalue_fields) + parse_field_specs(spec.fields)
        seq_no_field = any(name == "_seq_no" for name, _ in parse_field_specs(spec.docvalue_fields))
        mappings: dict[int, Mapping] = {}
        ignorers: dict[int, IgnoredFields] = {}
        fetch_specs = parse_field_specs(spec.fields)
        unmapped_patterns = [str(f["field"]) for f in spec.fields if isinstance(f, dict) and f.get("include_unmapped")]
        source_filter = spec.source if spec.source.enabled else None
        loads = orjson.loads
        clock = FetchClock(spec.hide_id, sorted({e[1] for e in window}), fetch_raw) if spec.profile else None
        for pos, (_, shard_index, _, _, values, score, _) in enumerate(window):
            if lost and pos not in fetched:
                continue
            doc = fetched[pos]
            hit: dict[str, Any] = {"_index": phase.targets[shard_index].meta.name}
            if not spec.hide_id:
                hit["_id"] = doc.id
            if spec.version:
                hit["_version"] = doc.version
            if spec.seq_no_primary_term:
                hit["_seq_no"] = doc.seq_no
                hit["_primary_term"] = doc.primary_term
            hit["_score"] = as_float32(score) if with_score else None
            if doc.routing:
                hit["_routing"] = doc.routing
            if spec.explain:
                # Scoring is tantivy's BM25; a Lucene explanation tree is not available, only its value.
                hit["_explanation"] = {"value": score or 0.0, "description": "score", "details": []}
            if clock is not None:
                clock.start()
            source_on = source_enabled(phase.targets[shard_index].meta.mappings)
            if source_filter is not None and source_on:
                hit["_source"] = filter_source(loads(doc.source), source_filter)
                if clock is not None:
                    clock.stop(shard_index, "FetchSourcePhase", source_filter == SourceFilter())
            if fetch_specs and not source_on:
                raise IllegalArgument(
                    "Unable to retrieve the requested [fields] since _source is disabled in the mappings for index "
                    f"[{phase.targets[shard_index].meta.name}]"
                )
            if field_specs:
                mapping = mappings.get(shard_index)
                if mapping is None:
                    target = phase.targets[shard_index].meta
                    mapping = mappings[shard_index] = fetch_mapping(target.mappings, target.settings)
                rendered_fields = doc_fields(mapping, loads(doc.source), field_specs)
                if seq_no_field:
                    rendered_fields["_seq_no"] = [doc.seq_no]  # a doc-values metadata field
                if unmapped_patterns:
                    rendered_fields.update(unmapped_fields(mapping, loads(doc.source), unmapped_patterns))
                if rendered_fields:
                    hit["fields"] = rendered_fields
                if clock is not None:
                    clock.stop(shard_index, "FetchFieldsPhase")
            if spec.stored_fields:
                mapping = mappings.get(shard_index)
                if mapping is None:
                    target = phase.targets[shard_index].meta
                    mapping = mappings[shard_index] = fetch_mapping(target.mappings, target.settings)
                stored = stored_values(mapping, loads(doc.source), list(spec.stored_fields))
                if stored:
                    hit["fields"] = {**stored, **hit.get("fields", {})}
            if spec.stored_fields != ():  # ``_ignored`` is returned unless stored fields are disabled
                ignorer = ignorers.get(shard_index)
                if ignorer is None:
                    target = phase.targets[shard_index].meta
                    ignorer = ignorers[shard_index] = IgnoredFields(fetch_mapping(target.mappings, target.settings),
                                                                    target.settings)
                if ignorer.possible:
                    add_ignored(hit, ignorer.of(loads(doc.source)), fetch_specs)
            if doc.highlight_json:
                hit["highlight"] = loads(doc.highlight_json)
            if doc.inner_hits_json:
                hit["inner_hits"] = _inner_totals(loads(doc.inner_hits_json), spec.rest_total_hits_as_int)
            if doc.matched_queries_json:
                named = loads(doc.matched_queries_json)
                hit["matched_queries"] = (
                    {k: as_float32(v) for k, v in named.items()} if spec.include_named_queries_score else list(named)
                )
            if spec.explicit_sort:
                if needs_rendering(spec.sort):
                    mapping = mappings.get(shard_index)
                    if mapping is None:
                        mapping = mappings[shard_index] = Mapping(phase.targets[shard_index].meta.mappings)
                    hit["sort"] = render_sort_values(values, spec.sort, mapping)
                else:
                    hit["sort"] = list(values)
            hits.append(hit)
        if clock is not None:
            phase.fetch_profiles = clock.finish()
        return hits

    async def search(
        self, indices: Sequence[IndexMeta], spec: SearchSpec, *, scroll_offset: int | None = None,
        generations: list[int] | None = None, pin_seconds: float = 0.0,
        cursors: Sequence[Sequence[Any] | None] | None = None, nodes: Sequence[str] | None = None,
    ) -> tuple[dict[str, Any], QueryPhase]:  # fmt: skip
        """One search. ``generations`` re-reads the readers of an earlier page (scroll, snapshot passes), on
        ``nodes`` (per target shard, the node holding them; None: any copy); ``pin_seconds`` keeps the readers
        used now alive that much longer on every shard; ``cursors`` (one per target shard, see ``Pages``)
        continues each shard after the sort values it last gave."""
        if spec.collapse is not None:
            return await collapsed_search(
                self, indices, replace(spec, collapse=None), spec.collapse, scroll_offset=scroll_offset,
                generations=generations, pin_seconds=pin_seconds, cursors=cursors, nodes=nodes,
            )  # fmt: skip
        started = time.monotonic()
        deadline = self.deadline(started, spec.timeout_s)
        now_millis = int(time.time() * 1000)
        if spec.pit is not None:
            spec = replace(spec, sort=with_tiebreaker(spec.sort))
        elif any(s.field == SHARD_DOC for s in spec.sort):
            raise IllegalArgument("[_shard_doc] sort field cannot be used without [point in time]")
        if spec.script_fields:  # also refused by validate_window, after ES's count limit
            raise ScriptingDisabled("cannot execute [inline] scripts")
        self.parse(spec.query)
        self.check_expensive(spec.query, indices)
        self.check_expensive(spec.post_filter, indices)
        spec = await self._resolved(spec)
        tree = self.parse_aggs(spec.aggs) if spec.aggs else None
        if tree is not None:
            native_aggs.check_buckets(tree, self.max_buckets)
        boosts = index_boosts(indices, spec.indices_boost) if spec.indices_boost else None
        targets = targets_for(indices, spec.routing, spec.only_shards)
        if spec.dfs and len(targets) > 1:  # one shard's statistics are already the global ones
            raise IllegalArgument(
                "search_type [dfs_query_then_fetch] over more than one shard is not supported by this server: "
                "scores use each shard's own term statistics"
            )
        num_targets = len(targets)
        paging = generations is not None or cursors is not None or scroll_offset is not None or pin_seconds > 0
        if not paging and should_pre_filter(spec, indices, num_targets):  # ``cluster.can_match``
            keep = await matching_targets(self, targets, spec.query, now_millis, spec.preference, deadline)
            targets = [t for t, k in zip(targets, keep, strict=True) if k]
        offset = 0 if cursors is not None else spec.from_ if scroll_offset is None else scroll_offset
        limit = offset + spec.size
        # rescore: each shard rescores its own top ``window_size`` hits, so it returns at least that many
        shard_limit = max([limit, *(r.window_size for r in spec.rescore)]) if spec.rescore else limit
        hits_query = spec.query
        if spec.post_filter is not None:
            self.parse(spec.post_filter)
            hits_query = {"bool": {"must": [spec.query or {"match_all": {}}], "filter": [spec.post_filter]}}
        phase = await self.query_phase(
            targets, spec, limit=shard_limit, query=hits_query, aggs=spec.aggs if spec.post_filter is None else None,
            generations=generations, now_millis=now_millis,
            boosts=[boosts[t.meta.name] for t in targets] if boosts else None,
            fetch_from=self._fetch_from(spec, targets, offset, limit, shard_limit, paging), pin_seconds=pin_seconds,
            shard_after=cursors,
            deadline=deadline, nodes=nodes,
        )  # fmt: skip
        if spec.post_filter is not None and spec.aggs:
            agg_spec = SearchSpec(query=spec.query, size=0, pit=spec.pit, slice=spec.slice, preference=spec.preference)
            agg_phase = await self.query_phase(
                targets, agg_spec, limit=0, query=spec.query, aggs=spec.aggs, now_millis=now_millis, deadline=deadline,
                nodes=nodes,
            )
            phase.agg_partials = agg_phase.agg_partials
            phase.timed_out = phase.timed_out or agg_phase.timed_out
        if phase.failures and not spec.allow_partial_search_results:
            # ES: without partial results, a failed shard fails the whole search (with that shard's cause)
            failed = failure_entries(phase, detailed=True)
            raise SearchPhaseError("Partial shards failure", caused_by=phase.failures[0][1], failed_shards=failed)
        if phase.timed_out and not spec.allow_partial_search_results:
            failed = [{"shard": t.shard, "index": t.meta.name, "node": phase.node_of(t),
                       "reason": {"type": SearchTimeout.es_type, "reason": "Time exceeded"}} for t in phase.timed_out]
            raise SearchPhaseError("Partial shards failure", caused_by=SearchTimeout("Time exceeded"),
                                   failed_shards=failed)  # fmt: skip
        window = phase.hits[offset:limit]
        # The fetch phase is not cut short by ``timeout`` (missing documents would be wrong, not partial),
        # only by the server's cap, counted from the start.
        fetch_deadline = self.deadline(started, None)
        if fetch_deadline is not None and deadline is not None:
            fetch_deadline = max(fetch_deadline, deadline)
        query_done = time.monotonic()
        hits = await self.fetch(phase, window, spec, now_millis, fetch_deadline) if window else []
        failed_shards = {(t.meta.uuid, t.shard) for t, _ in phase.failures}
        self.search_stats.record(search_counts(
            [(t.meta.uuid, t.shard) for t in targets if (t.meta.uuid, t.shard) not in failed_shards],
            [(targets[e[1]].meta.uuid, targets[e[1]].shard) for e in window],
            int((query_done - started) * 1000), int((time.monotonic() - query_done) * 1000),
            int((query_done - started) * 1e9), int((time.monotonic() - query_done) * 1e9)), spec.stats_groups)
        response: dict[str, Any] = {
            "took": int((time.monotonic() - started) * 1000),
            "timed_out": bool(phase.timed_out),
        }
        if spec.terminate_after is not None:
            response["terminated_early"] = phase.terminated_early
        response["_shards"] = {
            "total": num_targets,
            "successful": num_targets - len(phase.failures),
            "skipped": num_targets - len(targets),
            "failed": len(phase.failures),
        }
        if phase.failures:
            response["_shards"]["failures"] = failure_entries(phase)
        response["hits"] = {
            "total": self._total(phase.total, spec),
            "max_score": None if spec.explicit_sort and not spec.track_scores else as_float32(phase.max_score),
            "hits": hits,
        }
        if spec.track_total_hits is False and not spec.rest_total_hits_as_int:
            del response["hits"]["total"]
        if spec.profile:
            response["profile"] = self._profile(phase, spec, limit)
        if spec.suggest:
            response["suggest"] = merge_suggest(parse_suggest(spec.suggest), phase.suggest_partials)
        if tree is not None:
            merged = native_aggs.merge_partials(tree, phase.agg_partials) if phase.agg_partials else None
            response["aggregations"] = native_aggs.finalize(
                tree,
                merged if merged is not None else native_aggs.merge_partials(tree, []),
                max_buckets=self.max_buckets,
            )
        return response, phase

    def _profile(self, phase: QueryPhase, spec: SearchSpec, limit: int) -> dict[str, Any]:
        """``profile``: one entry per shard searched, from the leaf's and the fetch phase's measures."""
        query_ast = self.parse(spec.query)
        agg_names = list(spec.aggs) if spec.aggs else []
        by_field = bool(spec.sort) and spec.sort[0].field != "_score"
        shards = []
        for i, target in enumerate(phase.targets):
            if i not in phase.profiles:
                continue
            fetch = phase.fetch_profiles.get(i)
            shards.append(shard_profile(
                index=target.meta.name, shard=target.shard,
                node_id=phase.nodes[i] if i < len(phase.nodes) and phase.nodes[i] else NODE_ID,
                query_ast=query_ast, search_raw=phase.profiles[i],
                fetch_raw=fetch["raw"] if fetch else b"", root_fetch=fetch, agg_names=agg_names, limit=limit,
                sorted_by_field=by_field,
            ))  # fmt: skip
        shards.sort(key=lambda s: s["id"])
        return {"shards": shards}

    @staticmethod
    def _total(total: int, spec: SearchSpec) -> Any:
        if spec.rest_total_hits_as_int:
            return -1 if spec.track_total_hits is False else total
        tth = spec.track_total_hits
        if tth is True:
            return {"value": total, "relation": "eq"}
        if tth is False:
            return {"value": 0, "relation": "gte"}
        if total > int(tth):
            return {"value": int(tth), "relation": "gte"}
        return {"value": total, "relation": "eq"}

    async def count(
        self, indices: Sequence[IndexMeta], query: dict[str, Any] | None, terminate_after: int | None = None,
        routing: Sequence[str] = (), only_shards: Sequence[int] = (), stats_groups: Sequence[str] | None = None,
        preference: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """``_count``: a search of size 0, pre-filtered as ES runs it. ``stats_groups`` (the ``_count`` API's
        ``stats``; None for the server's own counts) counts it in the search stats, as ES counts a search.
        ``preference``: which copy of each shard (``cluster.shard_copies``)."""
        started = time.monotonic()
        self.parse(query)
        self.check_expensive(query, indices)
        (query,) = await self.resolve_lookups(query)
        targets = targets_for(indices, routing, only_shards)
        num_targets = len(targets)
        spec = SearchSpec(query=query, size=0, terminate_after=terminate_after, preference=preference)
        now_millis = int(time.time() * 1000)
        if should_pre_filter(spec, indices, num_targets):  # ``cluster.can_match``
            keep = await matching_targets(self, targets, query, now_millis, preference)
            targets = [t for t, k in zip(targets, keep, strict=True) if k]
        phase = await self.query_phase(
            targets, spec, limit=0, query=query, aggs=None, now_millis=now_millis,
            deadline=self.deadline(time.monotonic(), None),
        )  # fmt: skip
        failed_shards = {(t.meta.uuid, t.shard) for t, _ in phase.failures}
        searched = [(t.meta.uuid, t.shard) for t in targets if (t.meta.uuid, t.shard) not in failed_shards]
        if stats_groups is not None:
            took = int((time.monotonic() - started) * 1000)
            self.search_stats.record(search_counts(searched, [], took, 0), stats_groups)
        # ``_count`` has no ``timed_out``: a shard that did not answer by the server's cap counts as failed
        failed = len(phase.failures) + len(phase.timed_out)
        out: dict[str, Any] = {"count": phase.total}
        if terminate_after is not None:
            out["terminated_early"] = phase.terminated_early
        skipped = num_targets - len(targets)
        return out | {
            "_shards": {"total": num_targets, "successful": num_targets - failed, "skipped": skipped, "failed": failed},
        }


def _inner_totals(inner: dict[str, Any], as_int: bool) -> dict[str, Any]:
    """``inner_hits`` with their totals as plain numbers under ``rest_total_hits_as_int`` (as ES renders them)."""
    if as_int:
        for section in inner.values():
            hits = section["hits"]
            hits["total"] = hits["total"]["value"]
            for hit in hits["hits"]:
                if "inner_hits" in hit:
                    _inner_totals(hit["inner_hits"], True)
    return inner
