"""Peer recovery: a copy the routing table puts INITIALIZING on this node catches up with its primary.

The recovering (target) node drives it through the ``Recover`` leaf RPC, in steps of one session on the
primary's (source) node:

- ``start``: the target says what it holds (its local checkpoint and the term of its history, or nothing).
  When the term matches the primary's and the primary's WAL still holds every operation above that
  checkpoint, the recovery is **ops-based**: the session holds just those WAL records. Otherwise it is
  **file-based**: the primary commits (refresh), holds that commit's segment files open
  (``native.replica.CommitSnapshot``) and the WAL records written after it.
- ``chunk``: the target copies each file in ``CHUNK_BYTES`` pieces (never a whole segment in memory) into a
  fresh directory, with the primary's ``state.json``, then swaps it in for whatever the shard directory held
  and opens the shard as a replica (``DataNode.replace_shard``).
- ``ops``: the target applies the WAL tail in pages of ``OPS_PAGE`` records (``Shard.apply_replica``).
- ``finish``: the source releases the session; the target reports ``ShardStateActions.copy_started``.

Live operations: from the moment the copy is in the routing table its primary forwards every write to it
(``cluster.replication``). Until the target's shard is open they are buffered here (``Recoveries.offer``),
then applied; a replica applies each seq_no once and never lets an older operation overwrite a newer one,
so the tail, the buffered and the live operations may overlap and interleave in any order. A recovery that
fails reports ``fail_copy`` (the master decides again); so does one whose kept live operations outgrow
``MAX_BUFFERED_BYTES``. A node runs ``CONCURRENT_RECOVERIES`` at once. Sessions idle past ``SESSION_TTL_S``
are dropped.

A process with an event loop calls ``Recoveries.bind(loop)`` once (it starts what the state applied before
owes); ``apply_state`` (a cluster-state listener, any thread) starts the recoveries this node owes on that loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson

from cluster.errors import error_from_pb, error_to_pb, unexpected_to_pb
from cluster.protos import leaf_pb2 as pb
from cluster.state import ClusterState
from native.errors import QuidditchError
from native.replica import PRIMARY, CommitSnapshot
from native.shard import Shard

if TYPE_CHECKING:
    from cluster.leaf import LeafService
    from cluster.leaf_client import LeafClient

log = logging.getLogger(__name__)
CHUNK_BYTES = 1 << 20
OPS_PAGE = 1000
SESSION_TTL_S = 600.0
STATE_WAIT_S = 10.0
# Recoveries one node runs at once (ES's ``cluster.routing.allocation.node_concurrent_recoveries``: 2).
CONCURRENT_RECOVERIES = 2
# Live operations a recovering copy keeps while its files are copied; past it the copy gives up (the primary
# fails it and the master assigns it again) rather than grow without bound under a heavy ingest.
MAX_BUFFERED_BYTES = 256 << 20
_ACTIVE = ("STARTED", "RELOCATING")  # a primary being moved away still serves the recovery of its target


class RecoveryFailed(QuidditchError):
    es_type = "recovery_failed_exception"


@dataclass
class _Session:
    key: tuple[str, int]
    tail: list[bytes]
    snapshot: CommitSnapshot | None
    touched: float = field(default_factory=time.monotonic)


@dataclass
class _Target:
    """A copy this node recovers; live operations wait in ``buffer`` until ``shard`` is open."""

    key: tuple[str, int]
    index: str
    allocation_id: str
    primary_node: str
    state_version: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    buffer: list[tuple[list[bytes], int]] = field(default_factory=list)
    buffered_bytes: int = 0
    shard: Shard | None = None


class Recoveries:
    """This node's side of peer recovery: the sessions it serves as a primary and the copies it recovers."""

    def __init__(self, service: LeafService) -> None:
        self.service = service
        self.loop: asyncio.AbstractEventLoop | None = None
        self._sessions: dict[str, _Session] = {}
        self._targets: dict[tuple[str, int], _Target] = {}
        self._running: dict[tuple[str, int], concurrent.futures.Future[None]] = {}
        self._lock = threading.Lock()
        self._slots: asyncio.Semaphore | None = None  # made on the loop the recoveries run on
        self._recovered: set[str] = set()  # allocation ids recovered here (their STARTED state may still be on its way)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Run recoveries (and resyncs) on ``loop`` from now on, starting those the last applied state owes."""
        self.loop = loop
        state = self.service.cluster_state
        if state is not None:
            self.apply_state(state)
            self.service.replication.after_state(state)

    # -- target -------------------------------------------------------------------------------------------
    def apply_state(self, state: ClusterState) -> None:
        """Start a recovery for each INITIALIZING replica copy the routing table places on this node."""
        transport = self.service.transport
        if transport is None or not state.routing:
            return
        me = transport.local_node
        for index_uuid, table in state.routing.items():
            for routing in table:
                key = (index_uuid, routing.shard)
                mine = next((c for c in routing.replicas if c.node == me and c.state == "INITIALIZING"), None)
                primary = routing.primary
                if mine is None or primary is None or primary.state not in _ACTIVE or not primary.node:
                    continue
                with self._lock:
                    if key in self._targets or mine.allocation_id in self._recovered:
                        continue
                    meta = self.service.node.index_meta(index_uuid)
                    target = _Target(key, meta.name if meta else index_uuid, mine.allocation_id, primary.node,
                                     state.version)  # fmt: skip
                    self._targets[key] = target
                self._launch(target)

    def _launch(self, target: _Target) -> None:
        loop = self.loop
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                log.error("no event loop bound for peer recovery", extra={"shard": target.key})
                with self._lock:
                    self._targets.pop(target.key, None)
                return
        self._running[target.key] = asyncio.run_coroutine_threadsafe(self._recover(target), loop)

    async def wait(self, timeout: float = 60.0) -> None:
        """Wait (bounded) for every recovery started so far to end (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._running:
            pending = [asyncio.wrap_future(f) for f in list(self._running.values()) if not f.done()]
            if not pending:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("peer recoveries still running")
            await asyncio.wait(pending, timeout=left)

    def offer(self, request: pb.ReplicateRequest) -> bool:
        """Keep a live operation for a copy whose shard is not open yet (True: kept; False: apply it now)."""
        target = self._targets.get((request.shard.uuid, request.shard.shard))
        if target is None:
            return False
        with target.lock:
            if target.shard is not None:
                return False
            target.buffered_bytes += sum(len(r) for r in request.records)
            if target.buffered_bytes > MAX_BUFFERED_BYTES:
                raise RecoveryFailed(f"recovery of {target.index}[{target.key[1]}] kept more than "
                                     f"[{MAX_BUFFERED_BYTES}] bytes of live operations")  # fmt: skip
            target.buffer.append((list(request.records), request.primary_term))
            return True

    def _install(self, target: _Target, shard: Shard) -> None:
        """From now on live operations reach ``shard``; the ones kept meanwhile are applied first."""
        with target.lock:
            if target.buffered_bytes > MAX_BUFFERED_BYTES:
                raise RecoveryFailed(f"recovery of {target.index}[{target.key[1]}] fell behind its live operations")
            for records, term in target.buffer:
                shard.apply_replica(records, term)
            target.buffer = []
            target.shard = shard

    async def _recover(self, target: _Target) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(CONCURRENT_RECOVERIES)
        async with self._slots:
            await self._recover_copy(target)

    async def _recover_copy(self, target: _Target) -> None:
        index_uuid, shard_id = target.key
        ref = pb.ShardRef(index=target.index, uuid=index_uuid, shard=shard_id)
        service = self.service
        try:
            assert service.transport is not None
            client = service.transport.client(target.primary_node)
            existing = service.node.shards.get(target.key)
            held = (existing.local_checkpoint, existing.primary_term) if existing is not None else (-1, 0)
            start = await _call(client, pb.RecoverRequest(
                shard=ref, step="start", local_checkpoint=held[0], primary_term=held[1],
                allocation_id=target.allocation_id, state_version=target.state_version,
            ))  # fmt: skip
            if start.files:
                staged = await self._copy_files(client, ref, start, target)
                shard = await asyncio.to_thread(service.node.replace_shard, index_uuid, shard_id,
                                                lambda directory: _swap_in(staged, directory))  # fmt: skip
            else:
                assert existing is not None
                shard = existing
            shard.become_replica()
            await asyncio.to_thread(self._install, target, shard)
            offset = 0
            while offset < start.ops:
                page = await _call(client, pb.RecoverRequest(shard=ref, step="ops", session=start.session,
                                                             offset=offset, length=OPS_PAGE))  # fmt: skip
                if not page.records:
                    raise RecoveryFailed(f"recovery of {ref.index}[{shard_id}] got no operations at [{offset}]")
                await asyncio.to_thread(shard.apply_replica, list(page.records), start.primary_term)
                offset += len(page.records)
            await _call(client, pb.RecoverRequest(shard=ref, step="finish", session=start.session))
            actions = service.shard_state_actions
            if actions is None:
                raise RecoveryFailed("no master to report the recovered copy to")
            self._recovered.add(target.allocation_id)
            await actions.copy_started(index_uuid, shard_id, target.allocation_id)
            log.info("peer recovery done", extra={"index": target.index, "shard": shard_id,
                                                  "files": len(start.files), "ops": start.ops})  # fmt: skip
        except Exception as exc:
            self._recovered.discard(target.allocation_id)
            log.warning("peer recovery failed", extra={"index": target.index, "shard": shard_id, "error": str(exc)})
            actions = service.shard_state_actions
            if actions is not None:
                try:
                    await actions.fail_copy(index_uuid, shard_id, target.allocation_id, f"failed recovery: {exc}")
                except Exception:
                    log.exception("could not report a failed recovery", extra={"shard": shard_id})
        finally:
            with self._lock:
                self._targets.pop(target.key, None)
                self._running.pop(target.key, None)
            state = service.cluster_state
            if state is not None:  # a copy assigned again meanwhile (after ``fail_copy``) recovers now
                self.apply_state(state)

    async def _copy_files(
        self, client: LeafClient, ref: pb.ShardRef, start: pb.RecoverResponse, target: _Target
    ) -> str:
        """Copy the primary's committed files into a staging directory (beside the shard's), chunk by chunk."""
        staged = self.service.node.shard_dir(ref.uuid, ref.shard) + ".recovering"
        state = orjson.loads(start.state_json)
        index_dir = os.path.join(staged, f"index.{int(state.get('generation', 0))}")
        await asyncio.to_thread(_fresh_dir, staged, index_dir)
        for file in start.files:
            path = os.path.join(index_dir, file.name)
            offset = 0
            with open(path, "wb") as fh:
                while offset < file.size:
                    if target.buffered_bytes > MAX_BUFFERED_BYTES:
                        raise RecoveryFailed(f"recovery of {ref.index}[{ref.shard}] fell behind its live operations")
                    chunk = await _call(client, pb.RecoverRequest(shard=ref, step="chunk", session=start.session,
                                                                  file=file.name, offset=offset,
                                                                  length=CHUNK_BYTES))  # fmt: skip
                    if not chunk.data:
                        raise RecoveryFailed(f"recovery of [{file.name}] stopped at [{offset}] of [{file.size}]")
                    await asyncio.to_thread(fh.write, chunk.data)
                    offset += len(chunk.data)
                await asyncio.to_thread(_sync, fh)
        await asyncio.to_thread(_write_state, staged, start.state_json)
        return staged

    # -- source -------------------------------------------------------------------------------------------
    def serve(self, request: pb.RecoverRequest) -> pb.RecoverResponse:
        """One step of a recovery this node's primary serves (errors are answered, never raised)."""
        try:
            self._expire()
            step = request.step
            if step == "start":
                return self._start(request)
            session = self._sessions.get(request.session)
            if session is None:
                raise RecoveryFailed(f"no recovery session [{request.session}]")
            session.touched = time.monotonic()
            if step == "chunk":
                if session.snapshot is None or request.file not in session.snapshot.files:
                    raise RecoveryFailed(f"recovery session [{request.session}] has no file [{request.file}]")
                length = min(max(request.length, 1), CHUNK_BYTES)
                return pb.RecoverResponse(data=session.snapshot.read(request.file, request.offset, length))
            if step == "ops":
                end = request.offset + min(max(request.length, 1), OPS_PAGE)
                return pb.RecoverResponse(records=session.tail[request.offset : end])
            if step == "finish":
                self._close(request.session)
                return pb.RecoverResponse()
            raise RecoveryFailed(f"unknown recovery step [{step}]")
        except QuidditchError as exc:
            return pb.RecoverResponse(error=error_to_pb(exc))
        except Exception as exc:
            log.exception("recovery step failed", extra={"step": request.step})
            return pb.RecoverResponse(error=unexpected_to_pb(exc))

    def _start(self, request: pb.RecoverRequest) -> pb.RecoverResponse:
        self._await_state(request.state_version)
        key = (request.shard.uuid, request.shard.shard)
        shard = self.service.node.shard(*key)
        if shard.role != PRIMARY:
            raise RecoveryFailed(f"{request.shard.index}[{request.shard.shard}] is not a primary copy on this node")
        tail = None
        if request.primary_term == shard.primary_term and request.local_checkpoint >= 0:
            tail = shard.history_since(request.local_checkpoint)
        snapshot = None
        if tail is None:
            snapshot = shard.snapshot_commit()
            tail = snapshot.tail
        session_id = uuid.uuid4().hex
        self._sessions[session_id] = _Session(key, tail, snapshot)
        response = pb.RecoverResponse(session=session_id, ops=len(tail), primary_term=shard.primary_term)
        if snapshot is not None:
            response.state_json = orjson.dumps(snapshot.state)
            for name, (_, size) in snapshot.files.items():
                response.files.add(name=name, size=size)
        return response

    def _await_state(self, version: int) -> None:
        """The target acts on state ``version``: wait (bounded) until this node applied it too, so the copy
        is in the routing table the primary forwards live writes by."""
        deadline = time.monotonic() + STATE_WAIT_S
        while True:
            state = self.service.cluster_state
            if state is not None and state.version >= version:
                return
            if time.monotonic() >= deadline:
                raise RecoveryFailed(f"cluster state [{version}] did not reach the primary's node in time")
            time.sleep(0.01)

    def _close(self, session_id: str) -> None:
        session = self._sessions.pop(session_id, None)
        if session is not None and session.snapshot is not None:
            session.snapshot.close()

    def _expire(self) -> None:
        now = time.monotonic()
        for session_id, session in list(self._sessions.items()):
            if now - session.touched > SESSION_TTL_S:
                self._close(session_id)

    def close(self) -> None:
        """Stop: running recoveries are cancelled (the master assigns their copies again), sessions released."""
        for future in list(self._running.values()):
            future.cancel()
        for session_id in list(self._sessions):
            self._close(session_id)


async def _call(client: LeafClient, request: pb.RecoverRequest) -> pb.RecoverResponse:
    response = await client.recover(request)
    if response.HasField("error"):
        raise error_from_pb(response.error)
    return response


def _fresh_dir(staged: str, index_dir: str) -> None:
    shutil.rmtree(staged, ignore_errors=True)
    os.makedirs(index_dir)


def _sync(fh: object) -> None:
    fh.flush()  # type: ignore[attr-defined]
    os.fsync(fh.fileno())  # type: ignore[attr-defined]


def _write_state(staged: str, state_json: bytes) -> None:
    with open(os.path.join(staged, "state.json"), "wb") as fh:
        fh.write(state_json)
        fh.flush()
        os.fsync(fh.fileno())
    with open(os.path.join(staged, "wal.log"), "wb") as fh:
        os.fsync(fh.fileno())


def _swap_in(staged: str, directory: str) -> None:
    """Replace the shard directory by the staged copy (the old one is closed by then)."""
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(os.path.dirname(directory), exist_ok=True)
    os.replace(staged, directory)
