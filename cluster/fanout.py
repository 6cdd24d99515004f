"""Shard requests grouped per node, with retries on the next copy: what the root sends through a ``Transport``.

A search's query phase (``SearchFanout.search``) takes one ``SearchRequest`` naming every target shard, picks
the candidate nodes of each shard (``cluster.shard_copies``), and sends one sub-request per node, all at
once. A node that fails as a whole (its client raises: ``NodeNotConnected``, a transport error) or a shard
that answers "not here" (``shard_copies.retryable``) is retried on its next candidate, by itself, while the
other groups go on; a shard out of candidates is a failed shard (its last error). Shards pinned to a node
(the readers of a scroll or a PIT live there) have that one candidate, and losing it is ES's
``search_context_missing_exception`` for that shard.

Every wait is bounded: by the search's deadline (plus ``LEAF_GRACE_S``, the leaf reports its own shards'
timeouts), or by ``ClusterConfig.transport_timeout_s`` when the search has none. A group that did not
answer in time is ``timed_out`` when it is this process's own in-process leaf (slow shards: ES's partial
results, as the embedded server always answered) and a failed shard (``receive_timeout_transport_exception``)
when it is another node (a hung node). Only the requests that touch a slow node wait for it.

When every shard has one candidate, this node (the embedded server), the root skips all of this and makes the
one in-process call it always made (``SearchFanout._local_query``); a group that holds every shard is the caller's
request itself, unchanged (same bytes, so the leaf's inline-cost cache and the request cache see the same).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from cluster.config import Backpressure, ClusterConfig
from cluster.errors import error_from_pb, error_to_pb
from cluster.pit import SearchContextMissing
from cluster.protos import leaf_pb2 as pb
from cluster.shard_copies import (
    NODE_FAILURE_TYPES,
    CopyChooser,
    CopyPreference,
    TransportTimeout,
    as_node_error,
    retryable,
    shard_routing,
)
from cluster.shard_failures import NoShardAvailable
from cluster.state import ClusterState
from cluster.transport import Transport
from native.errors import QuidditchError

if TYPE_CHECKING:
    from cluster.root import ShardTarget

log = logging.getLogger(__name__)

# How much longer than a search's deadline the root waits for a leaf that reports its shards' timeouts itself.
LEAF_GRACE_S = 0.1
# The per-shard lists of ``SearchRequest`` (one entry per shard of ``shards``) and their "not given" value.
_PER_SHARD = (("searcher_generations", 0), ("shard_search_after_json", b""), ("shard_slice_json", b""))
T = TypeVar("T")

StateSource = Callable[[], ClusterState]


def subrequest(request: pb.SearchRequest, positions: Sequence[int]) -> pb.SearchRequest:
    """``request`` for the shards at ``positions`` only (its per-shard lists cut to match)."""
    sub = pb.SearchRequest()
    sub.CopyFrom(request)
    del sub.shards[:]
    sub.shards.extend([request.shards[i] for i in positions])
    for name, empty in _PER_SHARD:
        values = getattr(request, name)
        if len(values):
            field = getattr(sub, name)
            del field[:]
            field.extend([values[i] if i < len(values) else empty for i in positions])
    return sub


def _timeout(error: QuidditchError) -> bool:
    return error.root_cause().es_type == TransportTimeout.es_type


def transport_error_types() -> frozenset[str]:
    """The failure types that mean "no copy could be reached" (ES answers those with 503 when all failed)."""
    return frozenset({"node_not_connected_exception", "receive_timeout_transport_exception", "transport_exception",
                      "connect_transport_exception", "no_shard_available_action_exception"})  # fmt: skip


class SearchFanout:
    """One coordinator's shard-level reads over a ``Transport`` and the routing of the current state."""

    def __init__(self, transport: Transport, state: StateSource, config: ClusterConfig) -> None:
        self.transport = transport
        self.state = state
        self.config = config
        self.chooser = CopyChooser()

    def candidates(
        self, targets: Sequence[ShardTarget], preference: CopyPreference, pinned: Sequence[str] | None = None
    ) -> list[list[str]]:
        """Per target, the nodes to try in order (``pinned``: the one node each shard's context lives on; a
        shard pinned nowhere, "", had no answer when the context was made and reads any copy)."""
        if pinned is not None and len(pinned) != len(targets):
            pinned = None
        state, local, choose = self.state(), self.transport.local_node, self.chooser.candidates
        if not state.routing and pinned is None and not preference.kind:  # the embedded server: all here
            here = [local]
            return [here] * len(targets)
        turn = self.chooser.next_turn()
        return [
            [pinned[i]] if pinned is not None and pinned[i] else
            choose(shard_routing(state, t.meta, t.shard, local), t.meta, preference, local, state, turn)
            for i, t in enumerate(targets)
        ]  # fmt: skip

    def bound(self, node: str, deadline: float | None) -> float | None:
        """Seconds to wait for ``node``: to the deadline (plus grace), else the transport timeout for another
        node and no bound for the in-process one (as the embedded server always waited)."""
        if deadline is not None:
            return max(deadline - time.monotonic(), 0.0) + LEAF_GRACE_S
        if node == self.transport.local_node:
            return None
        return self.config.transport_timeout_s

    async def call(self, node: str, action: str, timeout_s: float | None, fn: Callable[[], Awaitable[T]]) -> T:
        """``fn()`` (a call to ``node``'s client) within ``timeout_s``: ``TransportTimeout`` past it, and any
        failure of the call as a ``QuidditchError``."""
        try:
            async with asyncio.timeout(timeout_s):
                return await fn()
        except TimeoutError:
            raise TransportTimeout(node, action, timeout_s or 0.0) from None
        except QuidditchError:
            raise
        except Exception as exc:
            raise as_node_error(node, exc) from exc

    async def query(
        self, request: pb.SearchRequest, targets: Sequence[ShardTarget], deadline: float | None, queue: Backpressure,
        preference: CopyPreference, pinned: Sequence[str] | None = None,
    ) -> tuple[list[pb.ShardSearchResult], list[str]]:  # fmt: skip
        """A query phase's shard calls: per target, its shard's answer and the node that gave it, admission to
        ``queue`` included, all within ``deadline``: a search still waiting for admission then has every shard
        timed out; a node still searching has its shards timed out (this node) or failed (another node), and
        its call is cancelled (the local worker drops it if it has not started). The leaves answer for the
        shards they have by the deadline themselves (``timeout_seconds``)."""
        candidates = self.candidates(targets, preference, pinned)
        local = self.transport.local_node
        if all(len(c) == 1 and c[0] == local for c in candidates):
            return await self._local_query(request, targets, deadline, queue), [local] * len(targets)
        if deadline is None or queue.free:  # admitted at once: nothing to bound
            async with queue.admit():
                return await self.search(request, targets, deadline, candidates=candidates, pinned=pinned)
        async with contextlib.AsyncExitStack() as stack:
            try:
                async with asyncio.timeout(max(deadline - time.monotonic(), 0.0) + LEAF_GRACE_S):
                    await stack.enter_async_context(queue.admit())
            except TimeoutError:
                log.info("leaf search timed out", extra={"shards": len(targets)})
                timed_out = [pb.ShardSearchResult(shard=t.ref(), timed_out=True) for t in targets]
                return timed_out, [c[0] if c else "" for c in candidates]
            return await self.search(request, targets, deadline, candidates=candidates, pinned=pinned)
        raise AssertionError("unreachable")  # (mypy: the stack does not swallow exceptions)

    async def _local_query(
        self, request: pb.SearchRequest, targets: Sequence[ShardTarget], deadline: float | None, queue: Backpressure
    ) -> list[pb.ShardSearchResult]:
        """Every shard on this node, one copy each (the embedded server): one call to the in-process leaf, as
        before the fan-out existed (no retry is possible, and the leaf's exceptions are the request's).
        Past ``deadline`` every shard counts as timed out, the admission slot is released and the leaf call is
        cancelled (its worker drops it if it has not started)."""
        leaf = self.transport.client(self.transport.local_node)
        if deadline is None:
            async with queue.admit():
                return list((await leaf.search(request)).results)
        try:
            async with asyncio.timeout(max(deadline - time.monotonic(), 0.0) + LEAF_GRACE_S), queue.admit():
                request.timeout_seconds = max(deadline - time.monotonic(), 0.0)
                return list((await leaf.search(request)).results)
        except TimeoutError:
            log.info("leaf search timed out", extra={"shards": len(targets)})
            return [pb.ShardSearchResult(shard=t.ref(), timed_out=True) for t in targets]

    async def _search_on(self, node: str, request: pb.SearchRequest, timeout_s: float | None) -> pb.SearchResponse:
        """``call`` for a search, without its extra coroutine (this one runs on every search)."""
        try:
            client = self.transport.client(node)
            async with asyncio.timeout(timeout_s):
                return await client.search(request)
        except TimeoutError:
            raise TransportTimeout(node, "search", timeout_s or 0.0) from None
        except QuidditchError:
            raise
        except Exception as exc:
            raise as_node_error(node, exc) from exc

    async def search(
        self, request: pb.SearchRequest, targets: Sequence[ShardTarget], deadline: float | None, *,
        candidates: list[list[str]], pinned: Sequence[str] | None = None,
    ) -> tuple[list[pb.ShardSearchResult], list[str]]:  # fmt: skip
        """Per target (in order), its shard's result and the node that gave it (or was tried last).
        ``candidates``: per target, the nodes to try (``candidates()``); ``pinned``: the nodes they came from."""
        n = len(targets)
        if pinned is not None and len(pinned) != n:
            pinned = None
        results: list[pb.ShardSearchResult | None] = [None] * n
        nodes = [""] * n
        tried = [0] * n
        last_error: dict[int, QuidditchError] = {}
        local = self.transport.local_node

        def failed(i: int) -> pb.ShardSearchResult:
            error = last_error.get(i)
            target = targets[i]
            if error is None:
                error = NoShardAvailable(target.meta.name, target.shard)
            elif pinned is not None and pinned[i] and retryable(error) and not _timeout(error):
                # the context's node (or its shard there) is gone
                gens = request.searcher_generations
                error = SearchContextMissing(f"No search context found for id [{gens[i] if i < len(gens) else 0}]")
            return pb.ShardSearchResult(shard=target.ref(), error=error_to_pb(error))

        def regroup(positions: Sequence[int]) -> dict[str, list[int]]:
            groups: dict[str, list[int]] = defaultdict(list)
            for i in positions:
                if tried[i] < len(candidates[i]):
                    nodes[i] = candidates[i][tried[i]]
                    tried[i] += 1
                    groups[nodes[i]].append(i)
                else:
                    results[i] = failed(i)
            return groups

        async def send(node: str, positions: list[int]) -> None:
            whole = len(positions) == n  # (positions are ascending: all of them is the request itself)
            sub = request if whole else subrequest(request, positions)
            if deadline is not None:
                sub.timeout_seconds = max(deadline - time.monotonic(), 0.0)
            timeout_s = self.bound(node, deadline)
            try:
                response = await self._search_on(node, sub, timeout_s)
            except TransportTimeout as exc:
                if node != local:
                    self.chooser.suspect(node)
                for i in positions:
                    if node == local:  # our own leaf is slow: partial results, as ES's shard timeouts
                        results[i] = pb.ShardSearchResult(shard=targets[i].ref(), timed_out=True)
                    else:  # no time is left to try another copy
                        last_error[i] = exc
                        results[i] = failed(i)
                return
            except QuidditchError as exc:
                if exc.es_type in NODE_FAILURE_TYPES:
                    self.chooser.suspect(node)
                for i in positions:
                    last_error[i] = exc
                await dispatch(regroup(positions))
                return
            self.chooser.answered(node)
            if len(response.results) != len(positions):
                broken = QuidditchError(f"[{node}] answered {len(response.results)} shards for {len(positions)}")
                for i in positions:
                    last_error[i] = broken
                await dispatch(regroup(positions))
                return
            retry = []
            for i, result in zip(positions, response.results, strict=True):
                if result.HasField("error"):
                    error = error_from_pb(result.error)
                    if retryable(error):
                        last_error[i] = error
                        retry.append(i)
                        continue
                results[i] = result
            if retry:
                await dispatch(regroup(retry))

        async def dispatch(groups: dict[str, list[int]]) -> None:
            if len(groups) == 1:
                ((node, positions),) = groups.items()
                await send(node, positions)
            elif groups:
                await asyncio.gather(*(send(node, positions) for node, positions in groups.items()))

        groups = regroup(range(n))
        if len(groups) == 1:  # (the embedded server: one node, one call)
            ((node, positions),) = groups.items()
            await send(node, positions)
        else:
            await dispatch(groups)
        return [r if r is not None else failed(i) for i, r in enumerate(results)], nodes

    async def can_match(
        self,
        request: pb.SearchRequest,
        targets: Sequence[ShardTarget],
        preference: CopyPreference,
        deadline: float | None = None,
    ) -> list[bool]:
        """Per target, whether its shard may match (one can_match request per node, waited for until the
        search's ``deadline`` at most; a shard whose node does not answer is kept: the query phase will retry
        or report it)."""
        candidates = self.candidates(targets, preference)
        groups: dict[str, list[int]] = defaultdict(list)
        for i, nodes in enumerate(candidates):
            if nodes:
                groups[nodes[0]].append(i)
        keep = [True] * len(targets)
        local = self.transport.local_node
        if len(groups) == 1 and local in groups and len(groups[local]) == len(targets):  # the embedded server
            response = await self.transport.client(local).search(request)
            if len(response.results) == len(targets):  # (a leaf that does not know the phase: search all)
                keep = [not result.cannot_match for result in response.results]
            return keep

        async def ask(node: str, positions: list[int]) -> None:
            sub = request if len(positions) == len(targets) else subrequest(request, positions)
            try:
                client = self.transport.client(node)
                response = await self.call(node, "can_match", self.bound(node, deadline), lambda: client.search(sub))
            except QuidditchError:
                return
            if len(response.results) == len(positions):
                for i, result in zip(positions, response.results, strict=True):
                    keep[i] = not result.cannot_match

        await asyncio.gather(*(ask(node, positions) for node, positions in groups.items()))
        return keep

    async def fetch(self, node: str, request: pb.FetchRequest) -> pb.FetchResponse:
        """A fetch from the node that answered the query phase for that shard (its searcher lives there); the
        caller bounds the whole fetch phase, and another node's part of it by the transport timeout."""
        client = self.transport.client(node)
        timeout_s = None if node == self.transport.local_node else self.config.transport_timeout_s
        try:
            async with asyncio.timeout(timeout_s):
                return await client.fetch(request)
        except TimeoutError:
            raise TransportTimeout(node, "fetch", timeout_s or 0.0) from None
        except QuidditchError:
            raise
        except Exception as exc:
            raise as_node_error(node, exc) from exc
