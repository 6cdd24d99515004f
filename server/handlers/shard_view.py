"""Every copy of a shard as the admin APIs list it: the routing table's copies plus the unassigned ones.

``shard_copies`` turns one ``ShardRouting`` into ES's view (``IndexShardRoutingTable``): the assigned
copies (a move's incoming half is folded into its source, as ES does), then one UNASSIGNED entry per
missing copy (the primary first). A copy that failed to open on this node is shown unassigned after a failed
allocation. ``routing_json`` renders one entry as ``_cluster/state`` does; ``_cat/shards``,
``_cat/allocation``, ``_search_shards`` and allocation explain read the same view.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from cluster.shard_failures import ShardFailure
from cluster.state import ClusterState, IndexMeta, ShardRouting
from server.http import cluster_of

__all__ = ["CopyView", "routing_json", "shard_copies", "shard_views"]


@dataclass(frozen=True)
class CopyView:
    index: str
    shard: int
    primary: bool
    state: str  # STARTED, INITIALIZING, RELOCATING, UNASSIGNED
    node: str | None = None
    relocating_node: str | None = None
    allocation_id: str = ""
    relocation_id: str = ""
    reason: str = ""  # unassigned_info.reason
    at_millis: int = 0
    details: str = ""
    failed_attempts: int = 0


def _stamp(millis: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(millis / 1000)) + f".{millis % 1000:03d}Z"


def shard_copies(meta: IndexMeta, routing: ShardRouting | None, shard: int, *, local_node: str = "",
                 failure: ShardFailure | None = None) -> list[CopyView]:  # fmt: skip
    """ES's view of one shard; ``failure``: this node's copy failed to open (``local_node`` names it)."""
    copies = list(routing.copies) if routing is not None else []
    reason = routing.unassigned_reason if routing is not None else "INDEX_CREATED"
    attempts = routing.failed_attempts if routing is not None else 0
    out: list[CopyView] = []
    failed: list[CopyView] = []
    for c in copies:
        if c.state == "INITIALIZING" and c.relocating_node:
            continue  # the incoming half of a move: shown through its source
        if failure is not None and c.node == local_node:
            failed.append(CopyView(meta.name, shard, c.primary, "UNASSIGNED", reason="ALLOCATION_FAILED",
                                   at_millis=failure.at_millis, failed_attempts=1,
                                   details=f"failed shard on node [{local_node}]: {failure.details}"))  # fmt: skip
            continue
        target = next((t for t in copies if t.state == "INITIALIZING" and t.relocating_node == c.node
                       and c.state == "RELOCATING"), None)  # fmt: skip
        out.append(CopyView(meta.name, shard, c.primary, c.state, c.node, c.relocating_node or None, c.allocation_id,
                            target.allocation_id if target else "",
                            reason if c.state == "INITIALIZING" else "", meta.creation_date))  # fmt: skip
    out.sort(key=lambda v: not v.primary)
    placed = len(out) + len(failed)
    has_primary = any(v.primary for v in out) or any(v.primary for v in failed)
    missing = max(0, 1 + meta.number_of_replicas - placed)
    for i in range(missing):
        primary = i == 0 and not has_primary
        at = routing.unassigned_at if routing is not None and routing.unassigned_at else meta.creation_date
        out.append(CopyView(meta.name, shard, primary, "UNASSIGNED", reason=reason, at_millis=at,
                            failed_attempts=attempts))  # fmt: skip
    failed.sort(key=lambda v: not v.primary)
    return [*failed, *out] if any(v.primary for v in failed) else [*out, *failed]


def routing_json(view: CopyView) -> dict[str, Any]:
    """One copy as ``_cluster/state`` renders a ``ShardRouting``."""
    out: dict[str, Any] = {"state": view.state, "primary": view.primary, "node": view.node,
                           "relocating_node": view.relocating_node, "shard": view.shard,
                           "index": view.index}  # fmt: skip
    if view.state in ("INITIALIZING", "UNASSIGNED"):
        if view.primary:
            kind = "EXISTING_STORE" if view.reason not in ("INDEX_CREATED", "") else "EMPTY_STORE"
        else:
            kind = "PEER"
        out["recovery_source"] = {"type": kind}
    if view.allocation_id:
        out["allocation_id"] = {"id": view.allocation_id}
        if view.relocation_id:
            out["allocation_id"]["relocation_id"] = view.relocation_id
    if view.state == "RELOCATING":
        out["expected_shard_size_in_bytes"] = 0
    if view.state in ("INITIALIZING", "UNASSIGNED") and view.reason:
        info: dict[str, Any] = {"reason": view.reason, "at": _stamp(view.at_millis)}
        if view.failed_attempts:
            info["failed_attempts"] = view.failed_attempts
        info["delayed"] = False
        if view.details:
            info["details"] = view.details
        info["allocation_status"] = "no" if view.reason == "ALLOCATION_FAILED" else "no_attempt"
        out["unassigned_info"] = info
    return out


def shard_views(request: Request, meta: IndexMeta, state: ClusterState | None = None) -> dict[int, list[CopyView]]:
    """Every copy of every shard of ``meta`` (assigned ones from the routing table, then the missing ones), in
    ``state`` (the current one by default)."""
    cluster = cluster_of(request)
    state = state or cluster.master.state
    failures = cluster.node.failures(meta.uuid)
    return {s: shard_copies(meta, state.shard_routing(meta.uuid, s), s, local_node=cluster.node_id,
                            failure=failures.get(s))
            for s in range(meta.number_of_shards)}  # fmt: skip


@dataclass(frozen=True)
class RecoveryView:
    """How one assigned copy got (or is getting) its data, as ``_recovery`` and ``_cat/recovery`` list it: a
    primary from its store, a replica or a moved copy from a peer (the primary, or the copy it replaces)."""

    shard: int
    primary: bool
    type: str  # EMPTY_STORE, EXISTING_STORE, PEER
    stage: str  # DONE, or INDEX while the copy recovers
    source: str | None  # node id of the peer
    target: str  # node id of the copy


def recoveries(state: ClusterState, meta: IndexMeta) -> list[RecoveryView]:
    out = []
    for r in state.routing.get(meta.uuid, ()):
        primary = r.primary
        for c in r.copies:
            if c.state == "RELOCATING":
                continue  # shown through its target
            stage = "INDEX" if c.state == "INITIALIZING" else "DONE"
            if c.primary:
                kind = "EMPTY_STORE" if meta.is_open and r.primary_term == 1 else "EXISTING_STORE"
                out.append(RecoveryView(r.shard, True, kind, stage, None, c.node))
            else:
                source = c.relocating_node or (primary.node if primary is not None else None)
                moving_primary = bool(c.relocating_node) and primary is not None and primary.node == c.relocating_node
                out.append(RecoveryView(r.shard, moving_primary, "PEER", stage, source, c.node))
    return sorted(out, key=lambda v: (v.shard, not v.primary, v.target))
