"""Allocation: which node holds which shard copy, derived from the members and the indices.

``allocate(state)`` is run by the master after every change that can move shards (index create, delete,
open, close, ``number_of_replicas``, resize, members joining or leaving, a copy started or failed). It is
pure: the same state gives the same routing table, up to the allocation ids it creates (``new_id``; tests
pass a counter). It does not bump ``version``: the master's change that called it does.

The rules are Elasticsearch's deciders that matter here:

- only members with the ``data`` role hold copies, at most one copy of a shard per node (so a primary and
  its replicas never share one);
- a fresh primary (no in-sync copy anywhere) starts at once (ES's empty-store recovery is immediate);
  replicas are assigned INITIALIZING once their primary is active, and start when their recovery reports
  (``start_copy``); with one data node they stay unassigned (yellow);
- a lost primary is replaced by promoting a started in-sync replica (``primary_term + 1``); with none left the
  primary stays unassigned (red) and comes back only on a node that held an in-sync copy (``ShardRouting.lost``);
- nodes are chosen by fewest copies, then fewest copies of the same index, then in a rotation by shard id;
- rebalancing starts only while no copy is initializing and moves at most
  ``cluster.routing.allocation.cluster_concurrent_rebalance`` (2) copies at a time: the target copy
  initializes while the source is ``RELOCATING``, and the source goes only when the target has started;
- a shard whose copies failed ``index.allocation.max_retries`` (5) times in a row gets no new copies;
- the deciders that settings control (``cluster.deciders``: allocation filters, which also move copies off a
  node they exclude, ``allocation.enable``/``rebalance.enable``, shards per node) are consulted throughout.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import replace

from cluster.deciders import Deciders
from cluster.state import ClusterState, IndexMeta, ShardCopy, ShardRouting

__all__ = ["allocate", "drop_copies", "fail_copy", "new_allocation_id", "placement_inputs", "stamp_unassigned",
           "start_copy"]

IdFactory = Callable[[], str]
CONCURRENT_REBALANCE = "cluster.routing.allocation.cluster_concurrent_rebalance"
MAX_RETRIES = "index.allocation.max_retries"
ACTIVE = ("STARTED", "RELOCATING")
NODE_OUTGOING = 2  # ES's ``node_concurrent_outgoing_recoveries``: moves out of one node at a time


def new_allocation_id() -> str:
    return uuid.uuid4().hex


def _is_target(copy: ShardCopy) -> bool:
    """The incoming half of a move (it replaces the ``RELOCATING`` copy on ``relocating_node``)."""
    return copy.state == "INITIALIZING" and bool(copy.relocating_node)


def drop_copies(routing: ShardRouting, ids: Collection[str], *, lost_state: str, reason: str) -> ShardRouting:
    """``routing`` without the copies ``ids`` (their node left, or they failed).

    A dropped move source cancels its target (its recovery source is gone); a dropped target returns its source
    to STARTED. A dropped primary is replaced by a started in-sync replica (``primary_term + 1``). While a
    primary is active the in-sync set forgets the dropped copies; without one it is kept and the dropped
    in-sync copies are remembered in ``lost`` with their node (state ``lost_state``)."""
    dropped = [c for c in routing.copies if c.allocation_id in ids]
    if not dropped:
        return routing
    gone_nodes = {c.node for c in dropped}
    kept: list[ShardCopy] = []
    for c in routing.copies:
        if c.allocation_id in ids:
            continue
        if c.relocating_node and c.relocating_node in gone_nodes:
            if c.state == "RELOCATING":
                c = replace(c, state="STARTED", relocating_node="")
            else:
                continue
        kept.append(c)
    term = routing.primary_term
    if not any(c.primary for c in kept):
        candidates = sorted((c for c in kept if c.state in ACTIVE and c.allocation_id in routing.in_sync),
                            key=lambda c: c.node)  # fmt: skip
        if candidates:
            chosen = candidates[0]
            kept = [replace(c, primary=True) if c is chosen else c for c in kept]
            term += 1
    if not any(c.primary for c in kept):  # nothing left to recover from: recoveries under way are cancelled
        kept = [c for c in kept if c.state != "INITIALIZING"]
    if any(c.primary for c in kept):
        kept_ids = {c.allocation_id for c in kept}
        in_sync = tuple(a for a in routing.in_sync if a in kept_ids)
        lost: tuple[ShardCopy, ...] = ()
    else:
        in_sync = routing.in_sync
        known = {c.allocation_id for c in routing.lost}
        lost = routing.lost + tuple(
            replace(c, state=lost_state, relocating_node="")
            for c in dropped
            if c.allocation_id in routing.in_sync and c.allocation_id not in known
        )
    return replace(routing, copies=tuple(kept), primary_term=term, in_sync=in_sync, lost=lost,
                   unassigned_reason=reason)  # fmt: skip


def _reconcile(routing: ShardRouting, live: Collection[str]) -> ShardRouting:
    """Forget the copies on nodes that are no longer data members."""
    gone = {c.allocation_id for c in routing.copies if c.node not in live}
    routing = drop_copies(routing, gone, lost_state="UNASSIGNED", reason="NODE_LEFT")
    if any(c.state == "FAILED" and c.node not in live for c in routing.lost):
        # a copy that failed on a node that has since left is tried again when that node comes back
        lost = tuple(replace(c, state="UNASSIGNED") if c.node not in live else c for c in routing.lost)
        routing = replace(routing, lost=lost)
    return routing


def start_copy(state: ClusterState, index_uuid: str, shard: int, allocation_id: str) -> ClusterState:
    """The copy ``allocation_id`` finished recovering: STARTED and in sync; a finished move removes its
    source (and a moved primary hands its role to the target). A copy that is not (or no longer) there, or is
    already started, changes nothing (ES ignores stale shard-started messages)."""
    routing = state.shard_routing(index_uuid, shard)
    copy = routing.copy(allocation_id) if routing is not None else None
    if routing is None or copy is None or copy.state != "INITIALIZING":
        return state
    source = next((c for c in routing.copies if c.state == "RELOCATING" and c.node == copy.relocating_node), None)
    primary = copy.primary or bool(source and source.primary)
    started = replace(copy, state="STARTED", relocating_node="", primary=primary)
    copies = tuple(started if c is copy else c for c in routing.copies if c is not source)
    in_sync = tuple(a for a in routing.in_sync if source is None or a != source.allocation_id)
    if allocation_id not in in_sync:
        in_sync += (allocation_id,)
    new = replace(routing, copies=copies, in_sync=in_sync, failed_attempts=0)
    return _with_routing(state, index_uuid, new)


def fail_copy(state: ClusterState, index_uuid: str, shard: int, allocation_id: str) -> ClusterState:
    """The copy ``allocation_id`` failed (a write it missed, a recovery that broke, files that do not open):
    out of the copies and of the in-sync set (unless it was the last in-sync copy: then it is remembered in
    ``lost`` as FAILED, and tried again once its node restarts)."""
    routing = state.shard_routing(index_uuid, shard)
    if routing is None or routing.copy(allocation_id) is None:
        return state
    new = drop_copies(routing, {allocation_id}, lost_state="FAILED", reason="ALLOCATION_FAILED")
    return _with_routing(state, index_uuid, replace(new, failed_attempts=routing.failed_attempts + 1))


def _with_routing(state: ClusterState, index_uuid: str, routing: ShardRouting) -> ClusterState:
    table = list(state.routing[index_uuid])
    table[routing.shard] = routing
    return replace(state, routing={**state.routing, index_uuid: tuple(table)})


def _setting(state: ClusterState, key: str, default: int) -> int:
    value = state.transient.get(key, state.persistent.get(key))
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default


class _Plan:
    """The routing table being built, with the per-node counts the choices need."""

    def __init__(self, state: ClusterState, routing: dict[str, list[ShardRouting]], live: list[str],
                 new_id: IdFactory) -> None:  # fmt: skip
        self.state = state
        self.routing = routing
        self.live = live
        self.new_id = new_id
        self.deciders = Deciders(state)
        self.load: Counter[str] = Counter()
        self.index_load: Counter[tuple[str, str]] = Counter()
        for index_uuid, table in routing.items():
            for r in table:
                for c in r.copies:
                    if c.state != "RELOCATING":  # a copy moving away counts on its target
                        self.load[c.node] += 1
                        self.index_load[(index_uuid, c.node)] += 1

    def _place(self, index_uuid: str, copy: ShardCopy) -> None:
        self.load[copy.node] += 1
        self.index_load[(index_uuid, copy.node)] += 1

    def _unplace(self, index_uuid: str, node: str) -> None:
        self.load[node] -= 1
        self.index_load[(index_uuid, node)] -= 1

    def _best_node(self, meta: IndexMeta, routing: ShardRouting) -> str | None:
        """Among the nodes the deciders allow: fewest copies, then fewest of this index; equal nodes are taken in
        a rotation that starts one node further per shard id, so that greedy placement comes out even."""
        index_uuid = meta.uuid
        taken = {c.node for c in routing.copies}
        free = [n for n in self.live if n not in taken
                and self.deciders.can_allocate(meta, n, self.index_load[(index_uuid, n)], self.load[n])]  # fmt: skip
        if not free:
            return None
        rank = {n: i for i, n in enumerate(self.live)}
        size = len(self.live)
        return min(free, key=lambda n: (self.load[n], self.index_load[(index_uuid, n)],
                                        (rank[n] - routing.shard) % size, n))  # fmt: skip

    def metas(self) -> Iterable[IndexMeta]:
        return sorted((m for m in self.state.indices.values() if m.uuid in self.routing), key=lambda m: m.name)

    def assign_primaries(self) -> None:
        for meta in self.metas():
            table = self.routing[meta.uuid]
            for i, r in enumerate(table):
                if r.primary is not None:
                    continue
                fresh = not r.in_sync and not r.lost
                if not self.deciders.allocation_enabled(meta, primary=True, new=fresh):
                    continue
                if fresh:  # an empty store starts at once
                    node = self._best_node(meta, r)
                    if node is None:
                        continue
                    copy = ShardCopy(node, True, "STARTED", self.new_id())
                    table[i] = replace(r, copies=(copy, *r.copies), in_sync=(copy.allocation_id,))
                    self._place(meta.uuid, copy)
                    continue
                taken = {c.node for c in r.copies}
                back = sorted((c for c in r.lost if c.state == "UNASSIGNED" and c.node in self.live
                               and c.node not in taken), key=lambda c: (not c.primary, c.node))  # fmt: skip
                if back:  # an in-sync copy's node is back: its store holds every acknowledged write
                    copy = ShardCopy(back[0].node, True, "STARTED", back[0].allocation_id)
                    kept_ids = {c.allocation_id for c in r.copies}
                    in_sync = (copy.allocation_id, *(a for a in r.in_sync if a in kept_ids))
                    table[i] = replace(r, copies=(copy, *r.copies), in_sync=in_sync, lost=(),
                                       primary_term=r.primary_term + 1)  # fmt: skip
                    self._place(meta.uuid, copy)

    def assign_replicas(self) -> None:
        for meta in self.metas():
            table = self.routing[meta.uuid]
            wanted = meta.number_of_replicas
            retries = int(meta.setting(MAX_RETRIES, "5") or 5)
            for i, r in enumerate(table):
                primary = r.primary
                if primary is None or primary.state not in ACTIVE:
                    continue
                replicas = [c for c in r.copies if not c.primary and not _is_target(c)]
                if len(replicas) > wanted:  # fewer replicas wanted: initializing ones go first, then by node
                    ranked = sorted(replicas, key=lambda c: (c.state != "INITIALIZING", c.node))
                    extra = ranked[: len(replicas) - wanted]
                    for c in extra:
                        self._unplace(meta.uuid, c.node)
                    r = drop_copies(r, {c.allocation_id for c in extra}, lost_state="UNASSIGNED",
                                    reason=r.unassigned_reason)  # fmt: skip
                missing = wanted - len(replicas)
                enabled = self.deciders.allocation_enabled(meta, primary=False, new=False)
                if missing > 0 and r.failed_attempts < retries and enabled:
                    for _ in range(missing):
                        node = self._best_node(meta, r)
                        if node is None:
                            break
                        copy = ShardCopy(node, False, "INITIALIZING", self.new_id())
                        r = replace(r, copies=(*r.copies, copy))
                        self._place(meta.uuid, copy)
                table[i] = r

    def move_away(self) -> None:
        """Start moving the started copies that the filters no longer let stay where they are (at most
        ``NODE_OUTGOING`` moves out of a node at a time); a copy with nowhere to go stays."""
        outgoing: Counter[str] = Counter(c.node for t in self.routing.values() for r in t for c in r.copies
                                         if c.state == "RELOCATING")  # fmt: skip
        for meta in self.metas():
            table = self.routing[meta.uuid]
            for i, r in enumerate(table):
                for copy in r.copies:
                    if copy.state != "STARTED" or outgoing[copy.node] >= NODE_OUTGOING:
                        continue
                    if self.deciders.can_remain(meta, copy.node):
                        continue
                    target = self._best_node(meta, r)
                    if target is None:
                        continue
                    self._relocate(meta.uuid, i, copy, target)
                    outgoing[copy.node] += 1
                    r = table[i]

    def _relocate(self, index_uuid: str, i: int, copy: ShardCopy, target: str) -> None:
        r = self.routing[index_uuid][i]
        moving = replace(copy, state="RELOCATING", relocating_node=target)
        incoming = ShardCopy(target, False, "INITIALIZING", self.new_id(), relocating_node=copy.node)
        self.routing[index_uuid][i] = replace(r, copies=(*(moving if c is copy else c for c in r.copies), incoming))
        self._unplace(index_uuid, copy.node)
        self._place(index_uuid, incoming)

    def rebalance(self) -> None:
        budget = _setting(self.state, CONCURRENT_REBALANCE, 2)
        if budget < 0:  # ES's -1: no limit (every copy could move at once)
            budget = sum(len(r.copies) for t in self.routing.values() for r in t)
        for table in self.routing.values():
            for r in table:
                for c in r.copies:
                    if c.state == "INITIALIZING" and not _is_target(c):
                        return  # recoveries first (ES: rebalance once every shard is active)
                    if c.state == "RELOCATING":
                        budget -= 1
        while budget > 0 and self._move_one():
            budget -= 1

    def _move_one(self) -> bool:
        order = sorted(self.live, key=lambda n: (self.load[n], n))
        for hi in reversed(order):
            for lo in order:
                if self.load[hi] - self.load[lo] < 2:
                    break
                if self._move(hi, lo):
                    return True
        return False

    def _move(self, source: str, target: str) -> bool:
        best: tuple[tuple[int, str, int], str, int, ShardCopy] | None = None
        for meta in self.metas():
            spread = self.index_load[(meta.uuid, target)] - self.index_load[(meta.uuid, source)]
            if not self.deciders.can_allocate(meta, target, self.index_load[(meta.uuid, target)], self.load[target]):
                continue
            for i, r in enumerate(self.routing[meta.uuid]):
                if any(c.node == target for c in r.copies):
                    continue
                copy = next((c for c in r.copies if c.node == source and c.state == "STARTED"), None)
                if copy is None or not self.deciders.rebalance_enabled(meta, primary=copy.primary):
                    continue
                key = (spread, meta.name, i)
                if best is None or key < best[0]:
                    best = (key, meta.uuid, i, copy)
        if best is None:
            return False
        _, index_uuid, i, copy = best
        self._relocate(index_uuid, i, copy, target)
        return True


def _missing(routing: ShardRouting, wanted: int) -> int:
    placed = sum(not (c.state == "INITIALIZING" and c.relocating_node) for c in routing.copies)
    return max(0, wanted - placed)


def stamp_unassigned(old: ClusterState, new: ClusterState, now_millis: int) -> ClusterState:
    """``new`` with ``unassigned_at`` set to ``now_millis`` on the shards that started missing a copy (or
    missing one for a new reason) in this change: ES's ``unassigned_info.at``. Kept out of ``allocate`` so that
    allocation stays a function of the state alone."""
    routing = dict(new.routing)
    changed = False
    for meta in new.indices.values():
        table = new.routing.get(meta.uuid)
        if table is None or table is old.routing.get(meta.uuid):
            continue
        wanted = 1 + meta.number_of_replicas
        before = old.routing.get(meta.uuid, ())
        stamped = []
        for r in table:
            prev = before[r.shard] if r.shard < len(before) else None
            fresh = prev is None and not r.in_sync  # a new index: unassigned since its creation date
            newly = prev is not None and (_missing(prev, wanted) == 0 or prev.unassigned_reason != r.unassigned_reason)
            if _missing(r, wanted) and newly and not fresh:
                r = replace(r, unassigned_at=now_millis)
                changed = True
            stamped.append(r)
        routing[meta.uuid] = tuple(stamped)
    return replace(new, routing=routing) if changed else new


def placement_inputs(state: ClusterState) -> tuple[object, ...]:
    """What allocation reads: when two states agree on it (and share their routing table), ``allocate`` would
    change nothing, so a mapping or alias update skips it."""
    def routing_settings(settings: Mapping[str, object], prefix: str) -> dict[str, object]:
        return {k: v for k, v in settings.items() if k.startswith(prefix)}

    indices = {m.uuid: (m.number_of_shards, m.number_of_replicas, m.setting(MAX_RETRIES),
                        routing_settings(m.settings, "index.routing."))
               for m in state.indices.values()}  # fmt: skip
    cluster = [routing_settings(scope, "cluster.routing.") for scope in (state.persistent, state.transient)]
    return (dict(state.nodes), indices, cluster)


def allocate(state: ClusterState, *, new_id: IdFactory = new_allocation_id) -> ClusterState:
    """``state`` with its routing table brought in line with its members and indices (see the module doc)."""
    live = sorted(n.id for n in state.data_nodes())
    routing: dict[str, list[ShardRouting]] = {}
    for meta in state.indices.values():
        table = state.routing.get(meta.uuid)
        if table is None or len(table) != meta.number_of_shards:
            table = tuple(ShardRouting(shard=s) for s in range(meta.number_of_shards))
        routing[meta.uuid] = [_reconcile(r, live) for r in table]
    plan = _Plan(state, routing, live, new_id)
    plan.assign_primaries()
    plan.assign_replicas()
    plan.move_away()
    plan.rebalance()
    out = {index_uuid: tuple(table) for index_uuid, table in routing.items()}
    if out == dict(state.routing):
        return state
    return replace(state, routing=out)
