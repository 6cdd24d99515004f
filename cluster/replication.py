"""Primary → replicas: every shard bulk a primary applies reaches each replica copy before it is acknowledged.

ES's write replication, on this node's primaries:

1. the primary applies the shard bulk (``LeafService.bulk``: seq_nos, versions, conflict checks; WAL fsynced)
   and keeps the WAL payloads of what it wrote;
2. it forwards those payloads (``Replicate``) to every replica copy the routing table places on any node
   (read after the write, so a copy starting to recover meanwhile is not missed),
   STARTED or INITIALIZING (a recovering copy takes live operations too: ``cluster.recovery``), all at once;
   each replica appends the same records to its WAL and applies them as the primary assigned them
   (``native.replica``);
3. a replica that fails, cannot be reached, or does not answer within ``REPLICATION_TIMEOUT_S`` (60 s) is reported
   to the master (``ShardStateActions.fail_copy``), and the primary waits for that to return before it
   answers: an acknowledged write is on every copy that is still in-sync. When ``fail_copy`` raises (no
   master, or this primary is stale) nothing of the shard bulk is acknowledged (the items answer the error),
   as ES does; so does a replica answering that it knows a newer primary term (``stale_primary``): this copy
   stops taking writes (it becomes a replica until cluster state says otherwise). One exception: an
   INITIALIZING copy whose node does not hold the shard yet (it has not applied the state that placed it) is
   skipped, not failed: it is not in-sync, and the recovery it starts once it applies that state begins from
   the primary's state after this write (``cluster.recovery`` waits for the primary to apply that version).

After a promotion the new primary resyncs the other copies (``resync``), and every forward carries its
``promotion_checkpoint``, by which a copy of the older term decides whether it may follow it (``native.replica``).

The answer carries ``BulkResponse.replication`` (copies total / successful / failed, with each failure), which
the coordinator renders as the items' ``_shards``. A shard whose routing has no replica copies (and the
embedded server, whose state has no routing) is written exactly as before, with no forward and no extra copy.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cluster.errors import error_to_pb, unexpected_to_pb
from cluster.protos import leaf_pb2 as pb
from cluster.state import ClusterState, ShardCopy
from native.errors import QuidditchError
from native.wal import decode_payload

if TYPE_CHECKING:
    from cluster.leaf import LeafService

log = logging.getLogger(__name__)
REPLICATION_TIMEOUT_S = 60.0  # as ES's bulk timeout: a SIGSTOPped replica costs the write at most this
_FORWARDED = ("STARTED", "INITIALIZING", "RELOCATING")
_NOT_THERE = "index_not_found_exception"  # what a node answers for a shard it does not hold


class Replicator:
    """The primary side of replication for one node's ``LeafService`` (see the module docstring)."""

    def __init__(self, service: LeafService, *, timeout_s: float = REPLICATION_TIMEOUT_S) -> None:
        self.service = service
        self.timeout_s = timeout_s
        self._resynced: dict[tuple[str, int], int] = {}  # (index uuid, shard) → the term last resynced
        self._resyncs: set[concurrent.futures.Future[None]] = set()

    def targets(self, ref: pb.ShardRef) -> list[ShardCopy]:
        """The replica copies a write of ``ref`` goes to, from the latest cluster state this node applied."""
        state = self.service.cluster_state
        routing = state.shard_routing(ref.uuid, ref.shard) if state is not None else None
        if routing is None:
            return []
        return [c for c in routing.replicas if c.state in _FORWARDED and c.node]

    async def bulk(
        self, request: pb.BulkRequest, parsed: Sequence[dict[str, Any] | None] | None = None
    ) -> pb.BulkResponse:
        records: list[bytes] = []
        response = await asyncio.to_thread(self.service.bulk, request, parsed, records)
        # The copies are read once the primary wrote (as ES does): a recovery whose snapshot was taken before
        # this write's WAL append has it in its snapshot; one taken after it started from a state this node
        # had applied before (``cluster.recovery`` waits for that), so its copy is among the targets here.
        targets = self.targets(request.shard)
        if not targets:
            return response
        info = response.replication
        info.total, info.successful = 1 + len(targets), 1
        if response.HasField("error") or not records:  # nothing written: nothing for the replicas to miss
            info.successful = info.total
            return response
        first = decode_payload(records[0])
        term = int(first["term"]) if first is not None else 0
        forward = pb.ReplicateRequest(shard=request.shard, primary_term=term, records=records, refresh=request.refresh,
                                      promotion_checkpoint=self._promotion_checkpoint(request.shard))  # fmt: skip
        answers = await asyncio.gather(*(self._forward(copy, forward) for copy in targets))
        stale: pb.Error | None = None
        for copy, (answer, error) in zip(targets, answers, strict=True):
            if error is None:
                info.successful += 1
                continue
            if answer is not None and answer.stale_primary:
                stale = error
                continue
            if copy.state == "INITIALIZING" and error.es_type == _NOT_THERE:
                info.total -= 1  # its node has not applied the state placing it yet: its recovery covers this write
                continue
            info.failed += 1
            info.failures.add(node=copy.node, allocation_id=copy.allocation_id, error=error)
        if stale is not None:
            return self._stale(request, stale)
        for failure in list(info.failures):
            try:
                await self._fail_copy(request.shard, failure)
            except Exception as exc:  # the master did not take the copy out of the in-sync set: no ack
                log.warning("could not fail a replica copy: the write is not acknowledged",
                            extra={"index": request.shard.index, "shard": request.shard.shard,
                                   "allocation_id": failure.allocation_id, "error": str(exc)})  # fmt: skip
                return _unacknowledged(exc)
        return response

    def _promotion_checkpoint(self, ref: pb.ShardRef) -> int:
        try:
            return self.service.node.shard(ref.uuid, ref.shard).promotion_checkpoint
        except QuidditchError:
            return -1

    # -- resync after a promotion ---------------------------------------------------------------------------
    def after_state(self, state: ClusterState) -> None:
        """Start a resync for each local primary the routing table promoted to a newer term (any thread)."""
        transport, loop = self.service.transport, self.service.recovery.loop
        if transport is None or loop is None or not state.routing:
            return
        for index_uuid, table in state.routing.items():
            for routing in table:
                primary, key = routing.primary, (index_uuid, routing.shard)
                if primary is None or primary.node != transport.local_node or routing.primary_term <= 1:
                    continue
                if self._resynced.get(key, 0) >= routing.primary_term:
                    continue
                self._resynced[key] = routing.primary_term
                meta = self.service.node.index_meta(index_uuid)
                ref = pb.ShardRef(index=meta.name if meta else index_uuid, uuid=index_uuid, shard=routing.shard)
                future = asyncio.run_coroutine_threadsafe(self.resync(ref, routing.primary_term), loop)
                self._resyncs.add(future)
                future.add_done_callback(self._resyncs.discard)

    async def resync(self, ref: pb.ShardRef, term: int) -> None:
        """ES's primary-replica resync: bring every other STARTED copy to this primary's history. Each copy is
        first asked for its local checkpoint with an empty forward under the new term (which it takes only when
        it holds nothing this primary lacks: ``native.replica``); then it gets every WAL record above that
        checkpoint. A copy that refuses, or that needs records this primary no longer holds, is failed (it
        recovers by files). Live writes go on meanwhile: a replica applies each seq_no once, in any order."""
        try:
            shard = self.service.node.shard(ref.uuid, ref.shard)
        except QuidditchError:
            return
        for copy in [c for c in self.targets(ref) if c.state == "STARTED"]:
            probe = pb.ReplicateRequest(shard=ref, primary_term=term, promotion_checkpoint=shard.promotion_checkpoint)
            answer, error = await self._forward(copy, probe)
            history = None
            if error is None and answer is not None:
                history = await asyncio.to_thread(shard.history_since, answer.local_checkpoint)
                if history is None:
                    error = pb.Error(status=500, es_type="illegal_state_exception",
                                     reason="resync needs operations the primary no longer holds")  # fmt: skip
            if error is None and history:
                probe.records.extend(history)
                answer, error = await self._forward(copy, probe)
            if error is None:
                log.info("resynced a replica", extra={"index": ref.index, "shard": ref.shard, "node": copy.node,
                                                      "ops": len(history or ())})  # fmt: skip
                continue
            if answer is not None and answer.stale_primary:
                self._stale(pb.BulkRequest(shard=ref), error)
                return
            try:
                await self._fail_copy(ref, pb.CopyFailure(node=copy.node, allocation_id=copy.allocation_id,
                                                          error=error))  # fmt: skip
            except Exception:
                log.exception("could not fail a copy after a failed resync", extra={"node": copy.node})

    async def wait_resyncs(self, timeout: float = 60.0) -> None:
        """Wait (bounded) for the running resyncs (tests, shutdown)."""
        pending = [asyncio.wrap_future(f) for f in list(self._resyncs)]
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    def close(self) -> None:
        for future in list(self._resyncs):
            future.cancel()

    async def _forward(
        self, copy: ShardCopy, request: pb.ReplicateRequest
    ) -> tuple[pb.ReplicateResponse | None, pb.Error | None]:
        """One replica's answer and its error (None: applied)."""
        message = pb.ReplicateRequest()
        message.CopyFrom(request)
        message.allocation_id = copy.allocation_id
        try:
            transport = self.service.transport
            if transport is None:
                raise QuidditchError(f"no transport to reach node [{copy.node}]")
            answer = await asyncio.wait_for(transport.client(copy.node).replicate(message), self.timeout_s)
        except TimeoutError:
            return None, pb.Error(status=500, es_type="receive_timeout_transport_exception",
                                  reason=f"[{copy.node}] replication timed out after [{self.timeout_s}s]")  # fmt: skip
        except QuidditchError as exc:
            return None, error_to_pb(exc)
        except Exception as exc:
            return None, unexpected_to_pb(exc)
        if answer.HasField("error"):
            return answer, answer.error
        return answer, None

    async def _fail_copy(self, ref: pb.ShardRef, failure: pb.CopyFailure) -> None:
        actions = self.service.shard_state_actions
        if actions is None:
            raise QuidditchError("no master to report a failed replica copy to")
        reason = f"failed to perform indices:data/write/bulk[s] on replica: {failure.error.reason}"
        await actions.fail_copy(ref.uuid, ref.shard, failure.allocation_id, reason)

    def _stale(self, request: pb.BulkRequest, error: pb.Error) -> pb.BulkResponse:
        """A replica follows a newer primary: this copy is no longer the primary; nothing is acknowledged."""
        try:
            self.service.node.shard(request.shard.uuid, request.shard.shard).become_replica()
        except QuidditchError:
            pass
        log.warning("a replica knows a newer primary term: this primary steps down",
                    extra={"index": request.shard.index, "shard": request.shard.shard})  # fmt: skip
        return pb.BulkResponse(error=error)


def _unacknowledged(exc: BaseException) -> pb.BulkResponse:
    error = error_to_pb(exc) if isinstance(exc, QuidditchError) else unexpected_to_pb(exc)
    return pb.BulkResponse(error=error)


def shards_header(response: pb.BulkResponse, number_of_replicas: int, index: str, shard: int) -> dict[str, Any]:
    """ES's ``_shards`` of a write's items: every copy the index should have counts in ``total`` (an unassigned
    replica too), ``successful`` the primary plus the replicas that applied it, ``failed`` those that did not."""
    total = 1 + number_of_replicas
    if not response.HasField("replication"):
        return {"total": total, "successful": 1, "failed": 0}
    info = response.replication
    header: dict[str, Any] = {"total": max(total, info.total), "successful": info.successful, "failed": info.failed}
    if info.failures:
        header["failures"] = [
            {"_index": index, "_shard": shard, "_node": f.node,
             "reason": {"type": f.error.es_type, "reason": f.error.reason},
             "status": _status_name(f.error.status), "primary": False}
            for f in info.failures
        ]  # fmt: skip
    return header


def _status_name(status: int) -> str:
    return {400: "BAD_REQUEST", 404: "NOT_FOUND", 409: "CONFLICT", 429: "TOO_MANY_REQUESTS",
            503: "SERVICE_UNAVAILABLE"}.get(status, "INTERNAL_SERVER_ERROR")  # fmt: skip
