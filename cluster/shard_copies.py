"""Which copy of a shard a request reads, and what counts as "try the next copy".

The routing table of ``ClusterState`` names the copies of every shard (``ShardRouting``); a read picks an
ordered list of candidate nodes per shard from the started copies, by the request's ``preference`` as ES
does (``OperationRouting.preferenceActiveShardIterator``):

- none: spread over the copies (round-robin per request; ES uses adaptive replica selection);
- ``_local`` / ``_only_local``: the coordinating node's copy first / only;
- ``_prefer_nodes:a,b`` / ``_only_nodes:a,b``: copies on those nodes first / only (ids, names, wildcards,
  ``_local``, ``_master``, ``_all``; ``_only_nodes`` matching no copy's node is a 400, as in ES);
- any other string (not starting with ``_``): the same order for the same string (ES hashes it; here mmh3
  of the string, the index uuid and the shard id, so the exact copy differs from ES's);
- ``_shards:0,1|<other>``: the shard filter (``search_request.preferred_shards``) then ``<other>``.

An unknown ``_name`` is ES's 400 ``no Preference for [_name]``.

A shard call that fails on a node for a reason the other copy does not share (the node unreachable or hung,
the shard not on that node) is retried on the next candidate; ``retryable`` says which shard-level errors are
of that kind (ES's ``TransportActions.isShardNotAvailableException``).

QuidditchError
├── TransportTimeout (500, receive_timeout_transport_exception): a node did not answer in time
└── TransportFailed (500, transport_exception): a node's client raised something that is not a domain error
"""

from __future__ import annotations

import fnmatch
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass

import mmh3

from cluster.state import ClusterState, IndexMeta, ShardCopy, ShardRouting
from native.errors import IllegalArgument, QuidditchError

# Shard-level errors meaning "this copy is not here (or not usable)": another copy may answer.
RETRYABLE_TYPES = frozenset(
    {
        "no_shard_available_action_exception",
        "shard_not_found_exception",
        "index_not_found_exception",
        "illegal_index_shard_state_exception",
        "unavailable_shards_exception",
        "already_closed_exception",
        "node_not_connected_exception",
        "connect_transport_exception",
        "receive_timeout_transport_exception",
        "node_closed_exception",
        "transport_exception",
    }
)
_KINDS = ("_local", "_only_local", "_prefer_nodes", "_only_nodes")
# How long a node whose call failed or timed out is tried after the other copies (``CopyChooser``).
SUSPECT_S = 30.0


class TransportTimeout(QuidditchError):
    es_type = "receive_timeout_transport_exception"

    def __init__(self, node_id: str, action: str, timeout_s: float) -> None:
        super().__init__(f"[{node_id}][{action}] request timed out after [{int(timeout_s * 1000)}ms]")
        self.node_id = node_id


class TransportFailed(QuidditchError):
    es_type = "transport_exception"

    def __init__(self, node_id: str, exc: BaseException) -> None:
        super().__init__(f"[{node_id}] {type(exc).__name__}: {exc}")
        self.node_id = node_id


def as_node_error(node_id: str, exc: BaseException) -> QuidditchError:
    """What a failed call to ``node_id`` counts as: its own domain error, else a ``TransportFailed``."""
    return exc if isinstance(exc, QuidditchError) else TransportFailed(node_id, exc)


# A whole call to a node that failed with one of these: the node is gone or hung, not the request at fault.
NODE_FAILURE_TYPES = frozenset(
    {
        "node_not_connected_exception",
        "receive_timeout_transport_exception",
        "transport_exception",
        "connect_transport_exception",
        "node_closed_exception",
    }
)


def retryable(error: QuidditchError) -> bool:
    """Whether ``error`` (a shard's answer from one node) may not happen on another copy."""
    return error.root_cause().es_type in RETRYABLE_TYPES


def embedded_routing(meta: IndexMeta, shard: int, local_node: str) -> ShardRouting:
    """The placement of a shard the routing table does not list: one STARTED primary on ``local_node``.

    This is the embedded server (whose master does not allocate) and an index created before allocation
    filled the routing table. Delete this once the master writes a routing entry for every index."""
    return ShardRouting(shard=shard, copies=(ShardCopy(node=local_node, primary=True, allocation_id=""),))


def shard_routing(state: ClusterState, meta: IndexMeta, shard: int, local_node: str) -> ShardRouting:
    """The routing of ``meta``'s shard ``shard`` in ``state`` (``embedded_routing`` when it has none)."""
    found = state.shard_routing(meta.uuid, shard)
    return found if found is not None else embedded_routing(meta, shard, local_node)


@dataclass(frozen=True)
class CopyPreference:
    """A parsed ``preference`` (after any ``_shards:…|``): ``kind`` "" (spread), "custom" or a ``_KINDS``."""

    kind: str = ""
    nodes: tuple[str, ...] = ()  # the node specs of ``_prefer_nodes`` / ``_only_nodes``
    custom: str = ""

    @classmethod
    def parse(cls, preference: str | None) -> CopyPreference:
        text = preference or ""
        if text.startswith("_shards:"):
            text = text.partition("|")[2]
        if not text:
            return cls()
        if not text.startswith("_"):
            return cls("custom", custom=text)
        kind, _, rest = text.partition(":")
        if kind not in _KINDS:
            raise IllegalArgument(f"no Preference for [{kind}]")
        specs = tuple(s for s in rest.split(",") if s) if kind in ("_prefer_nodes", "_only_nodes") else ()
        if kind in ("_prefer_nodes", "_only_nodes") and not specs:
            raise IllegalArgument(f"no node specified for preference [{text}]")
        return cls(kind, specs)


def _matches(spec: str, node_id: str, state: ClusterState, local_node: str) -> bool:
    if spec in ("_all", "*"):
        return True
    if spec == "_local":
        return node_id == local_node
    if spec == "_master":
        return node_id == state.master_node
    info = state.nodes.get(node_id)
    names = (node_id,) if info is None else (node_id, info.name)
    return any(fnmatch.fnmatchcase(name, spec) for name in names)


class CopyChooser:
    """Orders the candidate nodes of a shard read (one instance per coordinator: it holds the round-robin).

    A node whose call just failed or timed out is *suspect* for ``SUSPECT_S``: its copies go last (except under
    ``_only_*`` preferences), so that while a node is hung the searches that follow read the other copies at once
    instead of each waiting for its timeout (a crude form of ES's adaptive replica selection)."""

    def __init__(self) -> None:
        self._turn = itertools.count()
        self._suspect: dict[str, float] = {}  # node id → until when (``time.monotonic()``)

    def suspect(self, node: str) -> None:
        self._suspect[node] = time.monotonic() + SUSPECT_S

    def answered(self, node: str) -> None:
        if self._suspect:
            self._suspect.pop(node, None)

    def _last_if_suspect(self, nodes: list[str]) -> list[str]:
        if not self._suspect or len(nodes) <= 1:
            return nodes
        now = time.monotonic()
        bad = {n for n, until in list(self._suspect.items()) if until > now}
        if not bad:
            self._suspect.clear()
            return nodes
        return [n for n in nodes if n not in bad] + [n for n in nodes if n in bad]

    def next_turn(self) -> int:
        """A per-request rotation, so that consecutive requests start on different copies."""
        return next(self._turn)

    def candidates(
        self, routing: ShardRouting, meta: IndexMeta, preference: CopyPreference, local_node: str,
        state: ClusterState, turn: int,
    ) -> list[str]:  # fmt: skip
        """The nodes to try for this shard, in order (empty: no copy may serve it)."""
        if len(routing.copies) == 1 and not preference.kind:  # one copy (no replicas): nothing to choose
            only = routing.copies[0]
            return [only.node] if only.state in ("STARTED", "RELOCATING") else []
        copies: Sequence[ShardCopy] = routing.searchable()
        if not copies:
            return []
        nodes = [c.node for c in copies]
        kind = preference.kind
        if kind == "custom":
            seed = mmh3.hash(f"{preference.custom}\x00{meta.uuid}\x00{routing.shard}", 0, signed=False)
            return self._last_if_suspect(_rotated(nodes, seed))
        if kind in ("_only_local", "_only_nodes"):
            specs = ("_local",) if kind == "_only_local" else preference.nodes
            picked = [n for n in nodes if any(_matches(s, n, state, local_node) for s in specs)]
            if not picked and kind == "_only_nodes":
                raise IllegalArgument(
                    f"no data nodes with criteria [{','.join(specs)}] found for shard: [{meta.name}][{routing.shard}]"
                )
            return picked
        spread = _rotated(nodes, turn + routing.shard)
        if kind in ("_local", "_prefer_nodes"):
            specs = ("_local",) if kind == "_local" else preference.nodes
            first = [n for n in spread if any(_matches(s, n, state, local_node) for s in specs)]
            return self._last_if_suspect(first) + self._last_if_suspect([n for n in spread if n not in first])
        return self._last_if_suspect(spread)


def _rotated(nodes: list[str], by: int) -> list[str]:
    if len(nodes) <= 1:
        return nodes
    at = by % len(nodes)
    return nodes[at:] + nodes[:at]


def primary_first(routing: ShardRouting) -> list[str]:
    """The nodes for a realtime read without a preference: the started primary, then the started replicas."""
    return [c.node for c in routing.searchable()]
