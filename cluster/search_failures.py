"""Failed shards of a search as ES reports them: ``_shards.failures``, the ``failed_shards`` of a
``search_phase_execution_exception``, and the cause of "all shards failed".

Each failure names the node it failed on (the copy tried last, ``QueryPhase.failure_nodes``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cluster.fanout import transport_error_types
from cluster.shard_failures import NoShardAvailable
from native.errors import QuidditchError

if TYPE_CHECKING:
    from cluster.root import QueryPhase, ShardTarget

NODE_ID = "quidditch-node-0"  # the embedded server's one node (``LocalTransport``), ES's ``node`` in its failures


def grouped_failures(
    failures: Sequence[tuple[ShardTarget, QuidditchError]], nodes: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """``failed_shards`` as ES groups them: one entry per index and distinct cause (``nodes``: per failure, the
    node it failed on)."""
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str]] = set()
    for j, (target, failure) in enumerate(failures):
        error = failure.root_cause()  # a shard's own "all shards failed" wrapper is not the cause
        key = (target.meta.name, error.es_type, error.reason)
        if key not in seen:
            seen.add(key)
            node = nodes[j] if j < len(nodes) and nodes[j] else NODE_ID
            out.append({"shard": target.shard, "index": target.meta.name, "node": node, "reason": error.to_dict()})
    return out


def failure_entries(phase: QueryPhase, detailed: bool = False) -> list[dict[str, Any]]:
    """``_shards.failures`` (``detailed``: the reason with its extras and causes, for ``failed_shards``)."""
    out = []
    for j, (t, e) in enumerate(phase.failures):
        node = phase.failure_nodes[j] if j < len(phase.failure_nodes) and phase.failure_nodes[j] else NODE_ID
        reason = e.to_dict() if detailed else {"type": e.es_type, "reason": e.reason}
        out.append({"shard": t.shard, "index": t.meta.name, "node": node, "reason": reason})
    return out


def all_failed_cause(phase: QueryPhase) -> QuidditchError:
    """The cause of "all shards failed": the first shard's, except that shards no copy of which could be
    reached make ES's 503 (``no_shard_available_action_exception``, caused by the transport failure)."""
    target, first = phase.failures[0]
    cause = first.root_cause()
    if all(e.root_cause().es_type in transport_error_types() for _, e in phase.failures):
        if cause.es_type != NoShardAvailable.es_type:
            unavailable = NoShardAvailable(target.meta.name, target.shard)
            unavailable.caused_by = cause
            return unavailable
    return cause
