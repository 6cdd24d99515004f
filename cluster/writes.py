"""The write path on the coordinating node: resolve, map, route, send, and answer in request order.

``_bulk`` items are grouped by target shard (``_routing`` or ``_id`` through ``cluster.routing``); the
coordinator first merges the dynamic mapping updates of the whole request through the master, so
shards only ever see one agreed mapping version.

Each shard group goes to the node of the shard's primary in the routing table of the current state
(``cluster.shard_copies.shard_routing``), through the ``Transport``. With no started primary the group waits
for the state to change (not a poll), up to the request's ``timeout`` (ES's 1m), then its items fail with ES's
503 ``unavailable_shards_exception``. When the primary's node cannot be reached (``NodeNotConnected``, or it
did not answer within the transport timeout) the group waits the same way for a new primary (a promoted
replica: the routing changes) and is sent again, as ES retries on a primary failover. A primary's node that
answers "no such shard" (it has not applied the state that placed the copy there yet) is asked again after a
short, growing pause, also until the timeout.

The retry is safe for what the leaf checks: an ``op_type=create`` or ``if_seq_no``/``if_primary_term`` write
that the lost primary had applied and replicated fails with 409 on the new primary instead of applying
twice, and an ``index`` with an explicit id overwrites itself (one more ``_version``). A document with an
auto-generated id is at least once: if the lost primary applied it and a replica got it before the node was
lost, the retry may write it again under the same id (ES marks such retries and deduplicates them by id;
the leaf's append-only path here does not look the id up).
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import orjson

from cluster.config import Backpressure, ClusterConfig
from cluster.disk import DiskWatermarks
from cluster.errors import error_from_pb, error_to_pb
from cluster.indexing_pressure import IndexingPressure, default_limit
from cluster.leaf_client import LeafClient
from cluster.master import Master
from cluster.protos import leaf_pb2 as pb
from cluster.replication import shards_header
from cluster.routing import shard_for
from cluster.settings import analysis_settings
from cluster.shard_copies import (
    NODE_FAILURE_TYPES,
    CopyChooser,
    CopyPreference,
    TransportFailed,
    TransportTimeout,
    primary_first,
    retryable,
    shard_routing,
)
from cluster.shard_failures import NoShardAvailable, UnavailableShards
from cluster.state import ClusterState, IndexMeta, ShardRouting
from cluster.state_changes import StateChanges
from cluster.transport import LocalTransport, NodeNotConnected, Transport
from native.analysis import Analysis
from native.errors import (
    FLOOD_STAGE_BLOCK,
    ActionRequestValidation,
    BadRequest,
    ClusterBlocked,
    DocumentParsingError,
    IllegalArgument,
    IndexNotFound,
    QuidditchError,
    RoutingMissing,
)
from native.mapping import Mapping, routing_required
from native.mapping_limits import (
    check_array_objects,
    check_nested_objects,
    check_total_tokens,
    limit_dynamic_names,
    total_tokens_limit,
)

MAX_ID_BYTES = 512
T = TypeVar("T")
R = TypeVar("R")

# The index blocks that refuse document writes, as ES's ``ClusterBlockLevel.WRITE`` blocks: setting → (status,
# block id, description).
WRITE_BLOCKS = {
    "index.blocks.read_only": (403, 5, "index read-only (api)"),
    "index.blocks.write": (403, 8, "index write (api)"),
    "index.blocks.read_only_allow_delete": FLOOD_STAGE_BLOCK,
}


def write_block(meta: IndexMeta, flooded: bool = False) -> ClusterBlocked | None:
    """The error a document write to ``meta`` gets while one of its write blocks is set (or the disk is past
    the flood stage: ``flooded``), else None."""
    settings = meta.settings
    blocks = [block for key, block in WRITE_BLOCKS.items() if str(settings.get(key, "")).lower() == "true"]
    if flooded and FLOOD_STAGE_BLOCK not in blocks:
        blocks.append(FLOOD_STAGE_BLOCK)
    return ClusterBlocked(meta.name, blocks) if blocks else None


def check_pipelines(item_pipeline: str | None, meta: IndexMeta) -> None:
    """Ingest pipelines are not built yet (no pipeline can exist), so a write that names one, itself or through
    ``index.default_pipeline`` / ``index.final_pipeline``, fails as ES fails it for a missing pipeline rather
    than going in untransformed. ``_none`` asks for no pipeline."""
    named = item_pipeline if item_pipeline is not None else meta.settings.get("index.default_pipeline")
    for pipeline in (named, meta.settings.get("index.final_pipeline")):
        if pipeline not in (None, "", "_none"):
            raise IllegalArgument(f"pipeline with id [{pipeline}] does not exist")


@dataclass(slots=True)
class WriteItem:
    action: str  # index | create | delete | update
    index: str
    id: str | None = None
    routing: str | None = None
    source: bytes | None = None
    if_seq_no: int | None = None
    if_primary_term: int | None = None
    update: dict[str, Any] | None = None
    require_alias: bool = False
    version: int | None = None  # with an external ``version_type`` (``native.versioning``)
    version_type: str = "internal"
    dynamic_templates: dict[str, str] | None = None  # a bulk item's: new field path → dynamic template name
    pipeline: str | None = None  # the request's ingest pipeline (``?pipeline=``, bulk ``pipeline``)
    returned_source: Any = None  # an update's ``_source``: what of the updated document its result carries
    # filled while processing
    error: QuidditchError | None = None
    parsed: dict[str, Any] | None = field(default=None, repr=False)
    auto_id: bool = False


@dataclass(slots=True)
class ItemResult:
    action: str
    index: str
    id: str | None
    status: int
    body: dict[str, Any]


_counter = 0


def auto_id() -> str:
    """A 20-character time-based id like ES's (url-safe base64, sortable prefix)."""
    return auto_ids(1)[0]


def auto_ids(n: int) -> list[str]:
    """``n`` ids as ``auto_id`` makes them: one clock read, one ``urandom`` call and one base64 encoding
    for the batch (15 bytes per id encode to 20 characters, no padding, so the ids are slices)."""
    global _counter
    if n <= 0:
        return []
    raw = np.empty((n, 15), dtype=np.uint8)
    raw[:, :6] = np.frombuffer(int(time.time() * 1000).to_bytes(6, "big"), dtype=np.uint8)
    counters = (np.arange(_counter + 1, _counter + 1 + n, dtype=np.uint32) & 0xFFFFFF).astype(">u4")
    raw[:, 6:9] = counters.view(np.uint8).reshape(n, 4)[:, 1:]
    raw[:, 9:] = np.frombuffer(os.urandom(6 * n), dtype=np.uint8).reshape(n, 6)
    _counter = (_counter + n) & 0xFFFFFF
    text = base64.urlsafe_b64encode(raw.tobytes()).decode()
    return [text[i : i + 20] for i in range(0, 20 * n, 20)]


def _all_mapped_leaves(doc: dict[str, Any], mapping: Mapping, source: bytes | None = None) -> bool:
    """True when every key is a mapped top-level leaf holding scalars: no dynamic update can follow.

    ``source``, the raw JSON of ``doc``, allows a shortcut: with a single ``{`` no value can be an object.
    """
    leaves = mapping.top_level_leaves
    if source is not None and source.count(b"{") == 1:
        return leaves.issuperset(doc)
    for key, value in doc.items():
        if key not in leaves or type(value) is dict:
            return False
        if type(value) is list and any(type(v) is dict for v in value):
            return False
    return True


_NOOP_SHARDS = {"total": 0, "successful": 0, "failed": 0}


def _item_body(
    index: str, doc_id: str | None, version: int, result: str, seq_no: int, term: int, status: int,
    shards: dict[str, int], forced_refresh: bool,
) -> dict[str, Any]:
    """One ``_bulk`` item as ES renders it (``forced_refresh`` only after ``?refresh=true``)."""
    if forced_refresh:
        return {"_index": index, "_id": doc_id, "_version": version, "result": result, "forced_refresh": True,
                "_shards": shards, "_seq_no": seq_no, "_primary_term": term, "status": status}  # fmt: skip
    return {"_index": index, "_id": doc_id, "_version": version, "result": result, "_shards": shards,
            "_seq_no": seq_no, "_primary_term": term, "status": status}  # fmt: skip


def _plain_index_ops(items: list[WriteItem], positions: list[int]) -> bool:
    """True when the items at ``positions`` are all ``index`` (or all ``create``) with a source and no
    conditions: the shape ``IndexColumns`` carries."""
    action = items[positions[0]].action
    if action not in ("index", "create"):
        return False
    for pos in positions:
        item = items[pos]
        if (item.action != action or item.source is None or item.if_seq_no is not None or item.update is not None
                or item.version is not None):
            return False
    return True


# The one node of a bare ``LeafClient`` (``Root`` names it the same).
LOCAL_NODE_ID = "quidditch-node-0"
# A forcemerge has no deadline of its own (ES's runs to the end); a node that hangs fails it after this long.
FORCEMERGE_TIMEOUT_S = 3600.0


def unavailable(index: str, shard: int, requests: int, timeout_s: float) -> UnavailableShards:
    """ES's 503 for a shard group whose primary did not become available within the request's timeout."""
    error = UnavailableShards(index, shard, requests)
    error.reason = (f"[{index}][{shard}] primary shard is not active Timeout: [{_time_text(timeout_s)}], "
                    f"request: [BulkShardRequest [[{index}][{shard}]] containing [{requests}] requests]")  # fmt: skip
    error.args = (error.reason,)
    return error


def _time_text(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    if seconds >= 1 and seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{int(seconds * 1000)}ms"


class WriteCoordinator:
    """Writes, realtime GETs and the per-copy broadcasts (refresh, forcemerge, stats) over a ``Transport``; a
    bare ``LeafClient`` is one node holding every shard (``LocalTransport``)."""

    def __init__(
        self, master: Master, transport: Transport | LeafClient, *, auto_create: bool = True,
        config: ClusterConfig | None = None,
    ) -> None:  # fmt: skip
        self.master = master
        if not hasattr(transport, "local_node"):
            transport = LocalTransport(LOCAL_NODE_ID, transport)  # type: ignore[arg-type]
        self.transport: Transport = transport  # type: ignore[assignment]
        self.config = config or ClusterConfig()
        self.changes = StateChanges(lambda: master.state)
        master.subscribe(self.changes.notify)
        self.chooser = CopyChooser()
        self.auto_create = auto_create
        self.queue = Backpressure("write", workers=4, capacity=(config or ClusterConfig()).write_queue_size)
        self.pressure = IndexingPressure((config or ClusterConfig()).indexing_pressure_limit or default_limit())
        # Read before each request's writes: a disk past the flood stage blocks the indices (``cluster.disk``).
        self.disk: DiskWatermarks | None = None
        self._analyses: dict[str, tuple[Any, Analysis]] = {}  # index uuid → (its settings, their analyzers)

    @property
    def leaf(self) -> LeafClient:
        """This node's own leaf client."""
        return self.transport.client(self.transport.local_node)

    @leaf.setter
    def leaf(self, client: LeafClient) -> None:
        """One node holding every shard, reached through ``client`` (the embedded server's leaf over gRPC)."""
        self.transport = LocalTransport(self.transport.local_node, client)

    def shard_client(self, meta: IndexMeta, shard: int) -> LeafClient:
        """The client of the node a single-shard read goes to (explain, termvectors): the shard's started
        primary, else a started replica; ``NoShardAvailable`` when none is started."""
        nodes = primary_first(self._routing(self.master.state, meta, shard))
        if not nodes:
            raise NoShardAvailable(meta.name, shard)
        return self.transport.client(nodes[0])

    def shard_clients(self, meta: IndexMeta, shards: Sequence[int]) -> list[tuple[LeafClient, list[int]]]:
        """``shards`` grouped by the node ``shard_client`` reads each from (validate over several shards)."""
        state = self.master.state
        groups: dict[str, list[int]] = defaultdict(list)
        for shard in shards:
            nodes = primary_first(self._routing(state, meta, shard))
            if not nodes:
                raise NoShardAvailable(meta.name, shard)
            groups[nodes[0]].append(shard)
        return [(self.transport.client(node), group) for node, group in groups.items()]

    async def _changed(self, version: int, until: float) -> bool:
        """Wait for a state newer than ``version`` until ``until`` (``time.monotonic()``): whether one came."""
        await self.changes.wait_past(version, until - time.monotonic())
        return self.master.state.version != version

    def _routing(self, state: ClusterState, meta: IndexMeta, shard: int) -> ShardRouting:
        return shard_routing(state, meta, shard, self.transport.local_node)

    async def _to_primary(
        self, meta: IndexMeta, shard: int, request: pb.BulkRequest, parsed: Sequence[dict[str, Any] | None],
        requests: int, timeout_s: float, deadline: float,
    ) -> pb.BulkResponse:  # fmt: skip
        """The shard bulk, sent to the node of the shard's started primary (see the module docstring: waits for
        a primary, and for a new one when its node is lost, until ``deadline``)."""
        local = self.transport.local_node
        attempt = 0
        while True:
            state = self.master.state
            primary = self._routing(state, meta, shard).primary
            if primary is None or primary.state not in ("STARTED", "RELOCATING"):
                if not await self._changed(state.version, deadline):
                    raise unavailable(meta.name, shard, requests, timeout_s)
                continue
            node = primary.node
            try:
                client = self.transport.client(node)
                if node == local:
                    return await client.bulk(request, parsed)
                bound = max(self.config.transport_timeout_s, deadline - time.monotonic())
                try:
                    async with asyncio.timeout(bound):
                        response = await client.bulk(request, parsed)
                except TimeoutError:
                    raise TransportTimeout(node, "bulk", bound) from None
                except QuidditchError:
                    raise
                except Exception as exc:
                    raise TransportFailed(node, exc) from exc
            except QuidditchError as exc:
                if exc.es_type not in NODE_FAILURE_TYPES or node == local:  # (this node's leaf: as it always was)
                    raise
                # the primary's node is gone, hung, or its connection broke (a node that restarted and joined again
                # within one state keeps its address): ask again at the next state (a promoted replica) or after a
                # short, growing pause (the same node, reconnected), until the deadline
                attempt += 1
                now = time.monotonic()
                if now >= deadline:
                    raise unavailable(meta.name, shard, requests, timeout_s) from None
                await self._changed(state.version, min(deadline, now + min(0.05 * 2**attempt, 1.0)))
                continue
            if not response.HasField("error") or not retryable(error_from_pb(response.error)):
                return response
            # that node has not opened the copy the routing names yet (it applies the states after this one):
            # ask again after a short, growing pause (or at the next state), until the deadline
            attempt += 1
            now = time.monotonic()
            if now >= deadline:
                return response
            await self._changed(state.version, min(deadline, now + min(0.01 * 2**attempt, 0.5)))

    def _token_counter(self, meta: IndexMeta) -> Callable[[str, str], int]:
        """Counts the tokens an analyzer of ``meta`` makes of a text (for the per-document token limit); the
        index's analyzers are compiled once per settings version."""
        cached = self._analyses.get(meta.uuid)
        if cached is None or cached[0] is not meta.settings:
            analysis = Analysis.from_settings(analysis_settings(meta.settings), index_settings=meta.settings)
            cached = self._analyses[meta.uuid] = (meta.settings, analysis)
        analysis = cached[1]
        return lambda name, text: len(analysis.analyzer(name).analyze(text))

    def _write_target(self, name: str, require_alias: bool) -> str:
        """The concrete index a write to ``name`` goes to: the index itself, or the write index of an alias."""
        indices = self.master.state.indices
        holders = [m for m in indices.values() if name in m.aliases]
        if not holders:
            if require_alias:
                raise IndexNotFound(
                    name,
                    reason=f"no such index [{name}] and [require_alias] request flag is [true] and [{name}] "
                    "is not an alias",
                )
            return name
        if len(holders) == 1 and (holders[0].aliases[name] or {}).get("is_write_index") is not False:
            return holders[0].name
        writers = [m for m in holders if (m.aliases[name] or {}).get("is_write_index") is True]
        if len(writers) == 1:
            return writers[0].name
        raise IllegalArgument(
            f"no write index is defined for alias [{name}]. The write index may be explicitly disabled using "
            "is_write_index=false or the alias points to multiple indices without one being designated as a "
            "write index"
        )

    def _meta(self, name: str) -> IndexMeta:
        meta = self.master.state.indices.get(name)
        if meta is None:
            if not self.auto_create:
                raise IndexNotFound(name)
            try:
                meta = self.master.create_index(name)
            except QuidditchError as exc:
                if exc.es_type != "resource_already_exists_exception":
                    raise
                meta = self.master.index(name)
        return meta

    def _prepare(self, items: list[WriteItem]) -> dict[str, IndexMeta]:
        flooded = False
        if self.disk is not None:
            self.disk.maybe_check()
            flooded = self.disk.flooded
        metas: dict[str, IndexMeta] = {}
        blocked: dict[str, ClusterBlocked | None] = {}
        mappings: dict[str, Mapping] = {}
        changed: set[str] = set()
        need_ids: list[WriteItem] = []
        loads, decode_error = orjson.loads, orjson.JSONDecodeError
        resolved = ""  # the last index name known to be a concrete index (no alias lookup needed)
        for item in items:
            try:
                action, doc_id = item.action, item.id
                # (a UTF-8 character is at most 4 bytes: short ids skip the encode)
                if doc_id is not None and len(doc_id) * 4 > MAX_ID_BYTES and len(doc_id.encode()) > MAX_ID_BYTES:
                    raise ActionRequestValidation(
                        f"Validation Failed: 1: id [{doc_id}] is too long, must be no longer than 512 bytes but "
                        f"was: {len(doc_id.encode())};"
                    )
                if action in ("index", "create"):
                    if item.source is None:
                        raise ActionRequestValidation("Validation Failed: 1: source is missing;")
                elif not doc_id and action in ("delete", "update"):
                    raise ActionRequestValidation("Validation Failed: 1: id is missing;")
                if doc_id == "":
                    raise IllegalArgument("if _id is specified it must not be empty")
                if item.if_seq_no is not None and item.if_primary_term is None:
                    raise ActionRequestValidation("Validation Failed: 1: ifSeqNo is set, but primary term is [0];")
                if item.index != resolved or item.require_alias:
                    if item.index not in self.master.state.indices or item.require_alias:
                        item.index = self._write_target(item.index, item.require_alias)
                    if item.index not in metas:
                        metas[item.index] = self._meta(item.index)
                        mappings[item.index] = Mapping(metas[item.index].mappings)
                        blocked[item.index] = write_block(metas[item.index], flooded)
                    resolved = "" if item.require_alias else item.index
                block = blocked[item.index]
                if block is not None:
                    raise block
                if item.routing is None and routing_required(metas[item.index].mappings):
                    raise RoutingMissing(item.index, doc_id)
                mapping = mappings[item.index]
                if action in ("index", "create"):
                    check_pipelines(item.pipeline, metas[item.index])
                    source = item.source
                    try:
                        parsed = loads(source)  # type: ignore[arg-type]
                    except decode_error as exc:
                        raise DocumentParsingError(f"failed to parse: {exc}") from None
                    if type(parsed) is not dict:
                        raise DocumentParsingError("failed to parse, document is empty")
                    item.parsed = parsed
                    settings = metas[item.index].settings
                    check_array_objects(parsed, settings)
                    if mapping.has_nested:
                        check_nested_objects(parsed, mapping.nested_paths, settings)
                    if not _all_mapped_leaves(parsed, mapping, source):
                        self._dynamic(item.index, parsed, mappings, changed, settings, item.dynamic_templates)
                    token_limit = total_tokens_limit(settings)
                    if token_limit is not None:
                        check_total_tokens(parsed, mappings[item.index], self._token_counter(metas[item.index]),
                                           token_limit)  # fmt: skip
                elif action == "update" and item.update is not None:
                    for key in ("doc", "upsert"):
                        doc = item.update.get(key)
                        if isinstance(doc, dict) and not _all_mapped_leaves(doc, mapping):
                            self._dynamic(item.index, doc, mappings, changed, metas[item.index].settings)
                if doc_id is None:
                    need_ids.append(item)
            except QuidditchError as exc:
                item.error = exc
        for item, new_id in zip(need_ids, auto_ids(len(need_ids)), strict=True):
            item.id = new_id
            item.auto_id = True
        for name in changed:
            metas[name] = self.master.put_mapping(name, mappings[name].to_dict())
        return metas

    @staticmethod
    def _dynamic(index: str, doc: dict[str, Any], mappings: dict[str, Mapping], changed: set[str],
                 settings: MappingABC[str, Any], forced: dict[str, str] | None = None) -> None:  # fmt: skip
        """Merge the dynamic mapping update ``doc`` calls for (raises on ``dynamic: strict``, conflicts and
        names past ``index.mapping.field_name_length.limit``)."""
        update = mappings[index].dynamic_update(doc, forced)
        if update:
            update = limit_dynamic_names(update, settings)
        if update:
            mappings[index] = mappings[index].merge({"properties": update})
            changed.add(index)

    async def write(
        self, items: list[WriteItem], *, refresh: bool = False, forced_refresh: bool = False,
        timeout_s: float | None = None,
    ) -> list[ItemResult]:
        """Apply ``items``; ``forced_refresh`` (``?refresh=true``, not ``wait_for``) is echoed per item as ES does;
        ``timeout_s`` (``?timeout``, default ``ClusterConfig.default_write_timeout_s``): how long a shard group
        waits for its primary."""
        timeout = self.config.default_write_timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout
        metas = await asyncio.to_thread(self._prepare, items)
        groups: dict[tuple[str, int], list[int]] = defaultdict(list)
        shard_counts = {name: meta.number_of_shards for name, meta in metas.items()}
        for pos, item in enumerate(items):
            if item.error is None:
                n_shards = shard_counts[item.index]
                assert item.id is not None
                shard = shard_for(item.routing or item.id, n_shards) if n_shards > 1 else 0
                groups[(item.index, shard)].append(pos)
        results: list[ItemResult | None] = [None] * len(items)

        async def send(index: str, shard: int, positions: list[int]) -> None:
            meta = metas[index]
            if _plain_index_ops(items, positions):
                await send_columns(index, shard, positions)
                return
            request = pb.BulkRequest(
                shard=pb.ShardRef(index=index, uuid=meta.uuid, shard=shard),
                mapping_version=meta.mapping_version,
                refresh=refresh,
            )
            add = request.ops.add
            parsed: list[dict[str, Any] | None] = []
            for pos in positions:
                item = items[pos]
                action = item.action
                if item.source is not None and action in ("index", "create"):
                    op = add(op=action, id=item.id, auto_id=item.auto_id, source=item.source)
                else:
                    op = add(op=action, id=item.id or "", auto_id=item.auto_id)
                if item.if_seq_no is not None:
                    op.has_if_seq_no = True
                    op.if_seq_no = item.if_seq_no
                    op.if_primary_term = item.if_primary_term or 0
                if item.update is not None:
                    op.update_json = orjson.dumps(item.update)
                if item.routing is not None:
                    op.routing = item.routing
                if item.version is not None:
                    op.has_version = True
                    op.version = item.version
                    op.version_type = item.version_type
                parsed.append(item.parsed)
            async with self.queue.admit():
                response = await self._to_primary(meta, shard, request, parsed, len(positions), timeout, deadline)
            if response.HasField("error"):
                err = error_from_pb(response.error)
                for pos in positions:
                    results[pos] = self._error_result(items[pos], err)
                return
            shards = shards_header(response, meta.number_of_replicas, index, shard)
            for pos, res in zip(positions, response.results, strict=True):
                item = items[pos]
                if res.HasField("error"):
                    results[pos] = self._error_result(item, error_from_pb(res.error))
                    continue
                body = _item_body(index, res.id, res.version, res.result, res.seq_no, res.primary_term, res.status,
                                  _NOOP_SHARDS if res.result == "noop" else shards,
                                  forced_refresh and res.result != "noop")  # fmt: skip
                results[pos] = ItemResult(item.action, index, res.id, res.status, body)

        async def send_columns(index: str, shard: int, positions: list[int]) -> None:
            meta = metas[index]
            group = [items[pos] for pos in positions]
            action = group[0].action
            request = pb.BulkRequest(
                shard=pb.ShardRef(index=index, uuid=meta.uuid, shard=shard),
                mapping_version=meta.mapping_version,
                refresh=refresh,
            )
            columns = request.columns
            columns.op = action
            columns.ids.extend([item.id for item in group])  # type: ignore[misc]
            columns.sources.extend([item.source for item in group])  # type: ignore[misc]
            columns.auto_id = all(item.auto_id for item in group)
            if any(item.routing is not None for item in group):
                columns.routings.extend([item.routing or "" for item in group])  # type: ignore[misc]
            async with self.queue.admit():
                response = await self._to_primary(meta, shard, request, [item.parsed for item in group], len(group),
                                                  timeout, deadline)  # fmt: skip
            if response.HasField("error"):
                err = error_from_pb(response.error)
                for pos in positions:
                    results[pos] = self._error_result(items[pos], err)
                return
            out = response.columns
            shards = shards_header(response, meta.number_of_replicas, index, shard)
            term = out.primary_term
            updated = out.updated or [False] * len(positions)
            failed = dict(zip(out.failed, out.errors, strict=True)) if out.failed else {}
            for i, (pos, item, seq_no, version, is_update) in enumerate(
                zip(positions, group, out.seq_nos, out.versions, updated, strict=True)
            ):
                if failed and i in failed:
                    results[pos] = self._error_result(item, error_from_pb(failed[i]))
                    continue
                status = 200 if is_update else 201
                body = _item_body(index, item.id, version, "updated" if is_update else "created", seq_no, term,
                                  status, shards, forced_refresh)  # fmt: skip
                results[pos] = ItemResult(action, index, item.id, status, body)

        async def guarded(index: str, shard: int, positions: list[int]) -> None:
            try:
                await send(index, shard, positions)
            except UnavailableShards as exc:  # no primary in time: those items fail, the others stand
                for pos in positions:
                    results[pos] = self._error_result(items[pos], exc)

        await asyncio.gather(*(guarded(index, shard, positions) for (index, shard), positions in groups.items()))
        for pos, item in enumerate(items):
            if results[pos] is None:
                assert item.error is not None
                results[pos] = self._error_result(item, item.error)
        if self.disk is not None and any(r is not None and r.status == 429 and r.body["error"]["type"]
                                         == "cluster_block_exception" for r in results):  # fmt: skip
            await asyncio.to_thread(self.disk.check)  # a shard found no room: block the indices at once
        return results  # type: ignore[return-value]

    @staticmethod
    def _error_result(item: WriteItem, exc: QuidditchError) -> ItemResult:
        error = exc.to_dict()
        if isinstance(exc, BadRequest) or exc.status in (404, 409):
            error.setdefault("index", item.index)
        return ItemResult(item.action, item.index, item.id, exc.status, {
            "_index": item.index, "_id": item.id, "status": exc.status, "error": error,
        })  # fmt: skip

    async def get(self, meta: IndexMeta, doc_id: str, routing: str | None = None, *,
                  realtime: bool = True, preference: str | None = None) -> pb.StoredDoc:  # fmt: skip
        """A document by id, read from the shard's primary (then its replicas if the primary's node cannot
        answer), or from the copies ``preference`` picks (``cluster.shard_copies``)."""
        shard = shard_for(routing or doc_id, meta.number_of_shards)
        request = pb.GetRequest(shard=pb.ShardRef(index=meta.name, uuid=meta.uuid, shard=shard), id=doc_id,
                                not_realtime=not realtime)  # fmt: skip
        state = self.master.state
        table = self._routing(state, meta, shard)
        local = self.transport.local_node
        if preference:
            nodes = self.chooser.candidates(table, meta, CopyPreference.parse(preference), local, state,
                                            self.chooser.next_turn())  # fmt: skip
        else:
            nodes = primary_first(table)
        if not nodes:
            raise NoShardAvailable(meta.name, shard)
        last: BaseException | None = None
        for node in nodes:
            try:
                return await self._call(node, "get", self.config.transport_timeout_s,
                                        lambda client: client.get(request))  # fmt: skip
            except QuidditchError as exc:
                if not retryable(exc):
                    raise
                last = exc
        assert last is not None
        raise last

    async def _call(self, node: str, action: str, timeout_s: float, fn: Callable[[LeafClient], Awaitable[T]]) -> T:
        """``fn(client of node)``: unbounded on this node's in-process leaf (as the embedded server always ran),
        within ``timeout_s`` on another node, whose failures become ``QuidditchError``s."""
        client = self.transport.client(node)
        if node == self.transport.local_node:
            return await fn(client)
        try:
            async with asyncio.timeout(timeout_s):
                return await fn(client)
        except TimeoutError:
            raise TransportTimeout(node, action, timeout_s) from None
        except QuidditchError:
            raise
        except Exception as exc:
            raise TransportFailed(node, exc) from exc

    def _copies_by_node(self, metas: list[IndexMeta], primaries_only: bool = False) -> dict[str, list[pb.ShardRef]]:
        """The started copies of every shard of ``metas`` (or only one per shard, the primary first), by node."""
        state = self.master.state
        out: dict[str, list[pb.ShardRef]] = defaultdict(list)
        for m in metas:
            for s in range(m.number_of_shards):
                nodes = primary_first(self._routing(state, m, s))
                for node in nodes[:1] if primaries_only else nodes:
                    out[node].append(pb.ShardRef(index=m.name, uuid=m.uuid, shard=s))
        return out

    async def _broadcast(
        self, by_node: dict[str, list[pb.ShardRef]], action: str, timeout_s: float,
        call: Callable[[LeafClient, list[pb.ShardRef]], Awaitable[R]],
    ) -> list[tuple[list[pb.ShardRef], R | QuidditchError]]:  # fmt: skip
        """``call`` on every node with its shards, all at once: per node, its shards and answer (or failure)."""

        async def one(node: str, refs: list[pb.ShardRef]) -> tuple[list[pb.ShardRef], R | QuidditchError]:
            try:
                return refs, await self._call(node, action, timeout_s, lambda client: call(client, refs))
            except QuidditchError as exc:
                if node == self.transport.local_node and not isinstance(exc, NodeNotConnected):
                    raise  # this node's own leaf failed as a whole: as before, the request fails
                return refs, exc

        return list(await asyncio.gather(*(one(node, refs) for node, refs in by_node.items())))

    async def refresh(self, metas: list[IndexMeta]) -> pb.RefreshResponse:
        """Refresh every started copy of every shard of ``metas``; the response counts the copies refreshed and
        lists those that failed (a node that cannot be reached fails each of its copies)."""
        by_node = self._copies_by_node(metas)
        out = pb.RefreshResponse()
        if not by_node:
            return out
        answers = await self._broadcast(by_node, "refresh", self.config.transport_timeout_s,
                                        lambda client, refs: client.refresh(pb.RefreshRequest(shards=refs)))
        if len(answers) == 1 and not isinstance(answers[0][1], QuidditchError):
            return answers[0][1]
        for refs, answer in answers:
            if isinstance(answer, QuidditchError):
                out.failures.extend([pb.ShardFailure(shard=ref, error=error_to_pb(answer)) for ref in refs])
            else:
                out.successful += answer.successful
                out.failures.extend(answer.failures)
        return out

    async def forcemerge(
        self, metas: list[IndexMeta], *, max_num_segments: int = 1, only_expunge_deletes: bool = False
    ) -> pb.ForcemergeResponse:
        """Merge every started copy of every shard of ``metas`` (``native.merge``): acknowledged writes are
        committed first, and searches and writes go on meanwhile."""
        by_node = self._copies_by_node(metas)
        out = pb.ForcemergeResponse()
        if not by_node:
            return out

        def call(client: LeafClient, refs: list[pb.ShardRef]) -> Awaitable[pb.ForcemergeResponse]:
            return client.forcemerge(pb.ForcemergeRequest(shards=refs, max_num_segments=max_num_segments,
                                                          only_expunge_deletes=only_expunge_deletes))  # fmt: skip

        answers = await self._broadcast(by_node, "forcemerge", FORCEMERGE_TIMEOUT_S, call)
        if len(answers) == 1 and not isinstance(answers[0][1], QuidditchError):
            return answers[0][1]
        for refs, answer in answers:
            if isinstance(answer, QuidditchError):
                out.failures.extend([pb.ShardFailure(shard=ref, error=error_to_pb(answer)) for ref in refs])
            else:
                out.successful += answer.successful
                out.merged += answer.merged
                out.failures.extend(answer.failures)
        return out

    async def stats(self, request: pb.StatsRequest) -> pb.StatsResponse:
        """The shard statistics of ``request.shards``, one copy per shard (the primary, else a started
        replica), asked of each node at once; a node that cannot answer leaves its shards out (as ES leaves out
        unassigned shards)."""
        state = self.master.state
        metas = {m.uuid: m for m in state.indices.values()}
        by_node: dict[str, list[pb.ShardRef]] = defaultdict(list)
        for ref in request.shards:
            meta = metas.get(ref.uuid)
            nodes = primary_first(self._routing(state, meta, ref.shard)) if meta is not None else []
            by_node[nodes[0] if nodes else self.transport.local_node].append(ref)
        if len(by_node) == 1 and self.transport.local_node in by_node:
            return await self.leaf.stats(request)

        def call(client: LeafClient, refs: list[pb.ShardRef]) -> Awaitable[pb.StatsResponse]:
            sub = pb.StatsRequest()
            sub.CopyFrom(request)
            del sub.shards[:]
            sub.shards.extend(refs)
            return client.stats(sub)

        out = pb.StatsResponse()
        for _, answer in await self._broadcast(by_node, "stats", self.config.transport_timeout_s, call):
            if not isinstance(answer, QuidditchError):
                out.shards.extend(answer.shards)
        return out
