"""Cluster health by ES's rules, from the routing table: typed results that ``server/`` renders.

A shard is red while its primary is not active, yellow while a replica copy is unassigned or initializing,
green when every wanted copy is started; an index takes its worst shard, the cluster its worst index (no
index: green). Copies are counted as ES's ``ClusterShardHealth`` counts them: a move counts once, as a
relocating shard (its incoming half is not an initializing one), and a missing copy is unassigned.

Two things the routing table cannot know are passed in: shard copies that failed to open on this node
(``failed``: index uuid → shard ids; their copy counts as unassigned, as ES's failed shard would be) and index
metadata that does not parse (``ClusterState.damaged``: every primary unassigned, red).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from cluster.state import ClusterState, IndexMeta, ShardRouting, damaged_shards

__all__ = ["ClusterHealth", "IndexHealth", "ShardHealth", "cluster_health", "index_health", "worst"]

_RANK = {"green": 0, "yellow": 1, "red": 2}


def worst(statuses: Collection[str]) -> str:
    return max(statuses, key=_RANK.__getitem__, default="green")


@dataclass(frozen=True)
class ShardHealth:
    shard: int
    status: str
    primary_active: bool
    active_shards: int
    relocating_shards: int
    initializing_shards: int
    unassigned_shards: int
    unassigned_primary_shards: int


@dataclass(frozen=True)
class IndexHealth:
    name: str
    status: str
    number_of_shards: int
    number_of_replicas: int
    active_primary_shards: int
    active_shards: int
    relocating_shards: int
    initializing_shards: int
    unassigned_shards: int
    unassigned_primary_shards: int
    shards: tuple[ShardHealth, ...] = ()
    damaged: bool = False  # metadata that does not parse (ES renders fewer fields for it here)


@dataclass(frozen=True)
class ClusterHealth:
    status: str
    number_of_nodes: int
    number_of_data_nodes: int
    active_primary_shards: int
    active_shards: int
    relocating_shards: int
    initializing_shards: int
    unassigned_shards: int
    unassigned_primary_shards: int
    active_shards_percent: float
    indices: Mapping[str, IndexHealth] = field(default_factory=dict)


def shard_health(meta: IndexMeta, routing: ShardRouting | None, shard: int, failed_here: str | None) -> ShardHealth:
    """One shard; ``failed_here``: the node whose copy failed to open (it counts as unassigned), or None."""
    copies = [c for c in (routing.copies if routing else ()) if c.node != failed_here]
    placed = [c for c in copies if not (c.state == "INITIALIZING" and c.relocating_node)]
    primary = next((c for c in placed if c.primary), None)
    primary_active = primary is not None and primary.state in ("STARTED", "RELOCATING")
    active = sum(c.state in ("STARTED", "RELOCATING") for c in placed)
    initializing = sum(c.state == "INITIALIZING" for c in placed)
    relocating = sum(c.state == "RELOCATING" for c in placed)
    wanted = 1 + meta.number_of_replicas
    unassigned = max(0, wanted - len(placed))
    if not primary_active:
        status = "red"
    elif active < wanted:
        status = "yellow"
    else:
        status = "green"
    return ShardHealth(shard, status, primary_active, active, relocating, initializing, unassigned,
                       0 if primary is not None else 1)  # fmt: skip


def index_health(state: ClusterState, meta: IndexMeta, failed: Collection[int] = (), failed_node: str = ""
                 ) -> IndexHealth:  # fmt: skip
    table = state.routing.get(meta.uuid, ())
    shards = tuple(
        shard_health(meta, table[s] if s < len(table) else None, s, failed_node if s in failed else None)
        for s in range(meta.number_of_shards)
    )
    return IndexHealth(
        name=meta.name,
        status=worst([s.status for s in shards]),
        number_of_shards=meta.number_of_shards,
        number_of_replicas=meta.number_of_replicas,
        active_primary_shards=sum(s.primary_active for s in shards),
        active_shards=sum(s.active_shards for s in shards),
        relocating_shards=sum(s.relocating_shards for s in shards),
        initializing_shards=sum(s.initializing_shards for s in shards),
        unassigned_shards=sum(s.unassigned_shards for s in shards),
        unassigned_primary_shards=sum(s.unassigned_primary_shards for s in shards),
        shards=shards,
    )


def _damaged_health(name: str, raw: object) -> IndexHealth:
    count = damaged_shards(raw)
    return IndexHealth(name, "red", count, 0, 0, 0, 0, 0, count, count, damaged=True)


def cluster_health(
    state: ClusterState,
    failed: Mapping[str, Collection[int]] | None = None,
    index_names: Collection[str] | None = None,
    failed_node: str = "",
) -> ClusterHealth:
    """Health of the indices named (all when None); ``failed``/``failed_node``: copies on ``failed_node`` that
    did not open (see the module doc)."""
    failed = failed or {}
    indices: dict[str, IndexHealth] = {}
    for name in sorted(state.indices):
        if index_names is None or name in index_names:
            meta = state.indices[name]
            indices[name] = index_health(state, meta, failed.get(meta.uuid, ()), failed_node)
    for name, raw in state.damaged.items():
        if index_names is None or name in index_names:
            indices[name] = _damaged_health(name, raw)
    items = list(indices.values())
    active = sum(i.active_shards for i in items)
    total = sum(i.active_shards + i.initializing_shards + i.unassigned_shards for i in items)
    return ClusterHealth(
        status=worst([i.status for i in items]),
        number_of_nodes=len(state.nodes),
        number_of_data_nodes=len(state.data_nodes()),
        active_primary_shards=sum(i.active_primary_shards for i in items),
        active_shards=active,
        relocating_shards=sum(i.relocating_shards for i in items),
        initializing_shards=sum(i.initializing_shards for i in items),
        unassigned_shards=sum(i.unassigned_shards for i in items),
        unassigned_primary_shards=sum(i.unassigned_primary_shards for i in items),
        active_shards_percent=100.0 if total == 0 else active * 100.0 / total,
        indices=indices,
    )
