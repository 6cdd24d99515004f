"""``_cluster/reroute`` commands as changes of the routing table, decided the way ES's commands decide.

Each command checks its preconditions against one state and either refuses (``RerouteRefused``, carrying
ES's explanation) or returns the state with the change made; ``allocate`` then runs as after any change
(the master saves the result). ``move`` starts a relocation (the copy stays searchable until its target has
started), ``cancel`` drops a copy (a started primary only with ``allow_primary``: the shard is then recovered
again from its in-sync copies), ``allocate_replica`` places a missing replica on the named node, and
``retry_failed`` clears the failure counts that stopped allocation (``index.allocation.max_retries``).
Node names are resolved by the caller; these functions take node ids.

QuidditchError
└── RerouteRefused (400, illegal_argument_exception): the command's decider said NO
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from cluster.allocation import drop_copies, new_allocation_id
from cluster.state import ClusterState, ShardCopy, ShardRouting
from native.errors import IllegalArgument

__all__ = ["RerouteRefused", "allocate_replica", "cancel", "move", "retry_failed"]


class RerouteRefused(IllegalArgument):
    """A command that cannot be applied; ``reason`` is ES's explanation of the decision."""


def _routing(state: ClusterState, index_uuid: str, shard: int) -> ShardRouting:
    routing = state.shard_routing(index_uuid, shard)
    return routing if routing is not None else ShardRouting(shard)


def _with(state: ClusterState, index_uuid: str, routing: ShardRouting) -> ClusterState:
    table = list(state.routing[index_uuid])
    table[routing.shard] = routing
    return replace(state, routing={**state.routing, index_uuid: tuple(table)})


def move(state: ClusterState, index_uuid: str, shard: int, source: str, target: str, *, label: str,
         describe: Callable[[str], str], new_id: Callable[[], str] = new_allocation_id) -> ClusterState:  # fmt: skip
    """Relocate the started copy on ``source`` to ``target``."""
    routing = _routing(state, index_uuid, shard)
    copy = next((c for c in routing.copies if c.node == source and c.state == "STARTED"), None)
    if copy is None:
        raise RerouteRefused(f"[move_allocation] can't move {label}, failed to find it on node {describe(source)}")
    why = ""
    if any(c.node == target for c in routing.copies):
        why = "a copy of this shard is already allocated to this node"
    elif target not in state.nodes or not state.nodes[target].has_role("data"):
        why = "node does not hold the data role"
    if why:
        raise RerouteRefused(f"[move_allocation] can't move {label}, from {describe(source)}, to {describe(target)}, "
                             f"since its not allowed, reason: [NO({why})]")  # fmt: skip
    moving = replace(copy, state="RELOCATING", relocating_node=target)
    incoming = ShardCopy(target, False, "INITIALIZING", new_id(), relocating_node=source)
    copies = (*(moving if c is copy else c for c in routing.copies), incoming)
    return _with(state, index_uuid, replace(routing, copies=copies))


def cancel(state: ClusterState, index_uuid: str, shard: int, node: str, *, allow_primary: bool, label: str,
           describe: Callable[[str], str]) -> ClusterState:  # fmt: skip
    """Drop the copy on ``node`` (a recovery, a replica; a started primary only with ``allow_primary``)."""
    routing = _routing(state, index_uuid, shard)
    copy = next((c for c in routing.copies if c.node == node), None)
    if copy is None:
        raise RerouteRefused(f"can't cancel {label}, failed to find it on node {describe(node)}")
    if copy.primary and copy.state in ("STARTED", "RELOCATING") and not allow_primary:
        raise RerouteRefused(f"can't cancel {label} on node {describe(node)}, shard is primary and started")
    if copy.state == "RELOCATING":  # cancelling a move: the target goes, the source stays
        target = next(c for c in routing.copies if c.relocating_node == node and c.state == "INITIALIZING")
        new = drop_copies(routing, {target.allocation_id}, lost_state="UNASSIGNED", reason="REROUTE_CANCELLED")
    else:  # the copy is gone; a cancelled last in-sync copy comes back from its own store (``lost``)
        new = drop_copies(routing, {copy.allocation_id}, lost_state="UNASSIGNED", reason="REROUTE_CANCELLED")
    return _with(state, index_uuid, new)


def allocate_replica(state: ClusterState, index_uuid: str, shard: int, node: str, *, wanted: int, label: str,
                     describe: Callable[[str], str], new_id: Callable[[], str] = new_allocation_id
                     ) -> ClusterState:  # fmt: skip
    """Place one missing replica of the shard on ``node``."""
    routing = _routing(state, index_uuid, shard)
    primary = routing.primary
    if primary is None or primary.state not in ("STARTED", "RELOCATING"):
        raise RerouteRefused(f"[allocate_replica] trying to allocate a replica shard {label}, while corresponding "
                             "primary shard is still unassigned")  # fmt: skip
    replicas = [c for c in routing.copies if not c.primary and not (c.state == "INITIALIZING" and c.relocating_node)]
    if len(replicas) >= wanted:
        raise RerouteRefused(f"[allocate_replica] all copies of {label} are already assigned. Use the move "
                             "allocation command instead")  # fmt: skip
    why = ""
    if any(c.node == node for c in routing.copies):
        why = "a copy of this shard is already allocated to this node"
    elif node not in state.nodes or not state.nodes[node].has_role("data"):
        why = "node does not hold the data role"
    if why:
        raise RerouteRefused(f"[allocate_replica] allocation of {label} on node {describe(node)} is not allowed, "
                             f"reason: [NO({why})]")  # fmt: skip
    copy = ShardCopy(node, False, "INITIALIZING", new_id())
    return _with(state, index_uuid, replace(routing, copies=(*routing.copies, copy)))


def retry_failed(state: ClusterState) -> ClusterState:
    """Forget the failure counts (and failed last copies) that stopped allocation: ES's ``retry_failed``."""
    routing = {}
    for index_uuid, table in state.routing.items():
        routing[index_uuid] = tuple(
            replace(r, failed_attempts=0, lost=tuple(replace(c, state="UNASSIGNED") for c in r.lost))
            if r.failed_attempts or any(c.state == "FAILED" for c in r.lost) else r
            for r in table
        )
    return replace(state, routing=routing)
