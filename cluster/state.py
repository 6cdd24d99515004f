"""Cluster state: the versioned description of every index, its nodes and its routing table.

``ClusterState`` is immutable; the master derives a new one per change and saves it through a
``ClusterStateStore`` (``cluster.state_store``, re-exported here) with compare-and-set on ``version``.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field, replace
from typing import Any

from native.errors import QuidditchError


class StaleStateError(QuidditchError):
    status = 409
    es_type = "failed_to_commit_cluster_state_exception"


class ClusterStateCorrupted(QuidditchError):
    """The state file cannot be read at all: the node refuses to start (and removes nothing)."""

    es_type = "corrupt_state_exception"


def damaged_uuid(raw: Any) -> str | None:
    """The uuid a damaged index entry still names, if any (its directory must be kept)."""
    value = raw.get("uuid") if isinstance(raw, dict) else None
    return value if isinstance(value, str) and value else None


def damaged_shards(raw: Any) -> int:
    """The shard count a damaged index entry still states (1 when it does not say)."""
    settings = raw.get("settings") if isinstance(raw, dict) else None
    try:
        return max(1, int(settings["index.number_of_shards"])) if isinstance(settings, dict) else 1
    except (KeyError, TypeError, ValueError):
        return 1


@dataclass(frozen=True)
class IndexMeta:
    name: str
    uuid: str
    settings: MappingABC[str, str]  # flat: "index.number_of_shards" → "1"
    mappings: MappingABC[str, Any]
    creation_date: int
    mapping_version: int = 1
    aliases: MappingABC[str, Any] = field(default_factory=dict)  # alias name → {filter, routing, ...}
    state: str = "open"  # or "close"

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    @property
    def number_of_shards(self) -> int:
        return int(self.settings.get("index.number_of_shards", "1"))

    @property
    def number_of_replicas(self) -> int:
        return int(self.settings.get("index.number_of_replicas", "1"))

    def setting(self, key: str, default: str | None = None) -> str | None:
        return self.settings.get(key, default)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "uuid": self.uuid,
            "settings": dict(self.settings),
            "mappings": self.mappings,
            "creation_date": self.creation_date,
            "mapping_version": self.mapping_version,
            "aliases": dict(self.aliases),
            "state": self.state,
        }

    @classmethod
    def from_json(cls, data: MappingABC[str, Any]) -> IndexMeta:
        return cls(
            name=data["name"],
            uuid=data["uuid"],
            settings=dict(data["settings"]),
            mappings=dict(data["mappings"]),
            creation_date=int(data["creation_date"]),
            mapping_version=int(data.get("mapping_version", 1)),
            aliases=dict(data.get("aliases", {})),
            state=str(data.get("state", "open")),
        )


ROLES = ("master", "data")  # every node with an HTTP port also coordinates (ES's ``coordinating_only`` is no role)


@dataclass(frozen=True)
class NodeInfo:
    """A cluster member as cluster state records it.

    ``transport_address`` is the ``host:port`` of its gRPC server ("" for the in-process node of the embedded
    server); ``http_address`` that of its HTTP port ("" when it serves none)."""

    id: str
    name: str
    roles: tuple[str, ...] = ROLES
    transport_address: str = ""
    http_address: str = ""
    attributes: MappingABC[str, str] = field(default_factory=dict)

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "roles": list(self.roles),
                "transport_address": self.transport_address, "http_address": self.http_address,
                "attributes": dict(self.attributes)}  # fmt: skip

    @classmethod
    def from_json(cls, data: MappingABC[str, Any]) -> NodeInfo:
        return cls(id=str(data["id"]), name=str(data["name"]), roles=tuple(data.get("roles", ROLES)),
                   transport_address=str(data.get("transport_address", "")),
                   http_address=str(data.get("http_address", "")),
                   attributes=dict(data.get("attributes", {})))  # fmt: skip


@dataclass(frozen=True)
class ShardCopy:
    """One copy of a shard placed on a node. ``state``: ``INITIALIZING`` (recovering: it takes writes but
    no searches), ``STARTED``, or ``RELOCATING`` (a started copy being moved away). ``allocation_id``
    names the copy for the in-sync set, as ES's allocation ids do.

    A move pairs two copies through ``relocating_node``: the ``RELOCATING`` source names its target's node and
    the ``INITIALIZING`` target (never flagged primary while it recovers) names its source's node. In
    ``ShardRouting.lost`` a copy keeps the node it was last on, with state ``UNASSIGNED`` (the node left) or
    ``FAILED`` (it failed there)."""

    node: str
    primary: bool
    state: str = "STARTED"
    allocation_id: str = ""
    relocating_node: str = ""

    def to_json(self) -> dict[str, Any]:
        out = {"node": self.node, "primary": self.primary, "state": self.state, "allocation_id": self.allocation_id}
        if self.relocating_node:
            out["relocating_node"] = self.relocating_node
        return out

    @classmethod
    def from_json(cls, data: MappingABC[str, Any]) -> ShardCopy:
        return cls(node=str(data["node"]), primary=bool(data["primary"]), state=str(data.get("state", "STARTED")),
                   allocation_id=str(data.get("allocation_id", "")),
                   relocating_node=str(data.get("relocating_node", "")))  # fmt: skip


@dataclass(frozen=True)
class ShardRouting:
    """Where the copies of one shard live. ``primary_term`` grows by one at each promotion; ``in_sync``
    holds the allocation ids of the copies that have every acknowledged write (only those are promoted).

    ``copies`` are the assigned copies only. While no primary is active, ``lost`` remembers the in-sync copies
    that went away and the node each was on: the primary comes back only on such a node (ES keeps the in-sync
    set for the same reason). ``failed_attempts`` counts copy failures since the last start (allocation
    gives up at ``index.allocation.max_retries``); ``unassigned_reason`` is ES's ``unassigned_info.reason``
    for the copies still missing (``INDEX_CREATED``, ``NODE_LEFT``, ``ALLOCATION_FAILED``, ...)."""

    shard: int
    primary_term: int = 1
    copies: tuple[ShardCopy, ...] = ()
    in_sync: tuple[str, ...] = ()
    lost: tuple[ShardCopy, ...] = ()
    failed_attempts: int = 0
    unassigned_reason: str = "INDEX_CREATED"
    unassigned_at: int = 0  # epoch millis since when a copy has been missing (0: since the index was created)

    @property
    def primary(self) -> ShardCopy | None:
        return next((c for c in self.copies if c.primary), None)

    @property
    def replicas(self) -> tuple[ShardCopy, ...]:
        return tuple(c for c in self.copies if not c.primary)

    def searchable(self) -> tuple[ShardCopy, ...]:
        """The copies a search may read: started ones, the primary first."""
        started = (c for c in self.copies if c.state in ("STARTED", "RELOCATING"))
        return tuple(sorted(started, key=lambda c: not c.primary))

    def copy(self, allocation_id: str) -> ShardCopy | None:
        return next((c for c in self.copies if c.allocation_id == allocation_id), None)

    def to_json(self) -> dict[str, Any]:
        return {"shard": self.shard, "primary_term": self.primary_term,
                "copies": [c.to_json() for c in self.copies], "in_sync": list(self.in_sync),
                "lost": [c.to_json() for c in self.lost], "failed_attempts": self.failed_attempts,
                "unassigned_reason": self.unassigned_reason, "unassigned_at": self.unassigned_at}  # fmt: skip

    @classmethod
    def from_json(cls, data: MappingABC[str, Any]) -> ShardRouting:
        return cls(shard=int(data["shard"]), primary_term=int(data.get("primary_term", 1)),
                   copies=tuple(ShardCopy.from_json(c) for c in data.get("copies", ())),
                   in_sync=tuple(str(a) for a in data.get("in_sync", ())),
                   lost=tuple(ShardCopy.from_json(c) for c in data.get("lost", ())),
                   failed_attempts=int(data.get("failed_attempts", 0)),
                   unassigned_reason=str(data.get("unassigned_reason", "INDEX_CREATED")),
                   unassigned_at=int(data.get("unassigned_at", 0)))  # fmt: skip


@dataclass(frozen=True)
class ClusterState:
    version: int = 0
    cluster_uuid: str = ""
    indices: MappingABC[str, IndexMeta] = field(default_factory=dict)
    # cluster settings, flat ("search.max_buckets" → "1000"), as ``PUT _cluster/settings`` stored them
    persistent: MappingABC[str, Any] = field(default_factory=dict)
    transient: MappingABC[str, Any] = field(default_factory=dict)
    # templates by name, as their JSON bodies (composable, component, legacy ``_template``)
    index_templates: MappingABC[str, Any] = field(default_factory=dict)
    component_templates: MappingABC[str, Any] = field(default_factory=dict)
    legacy_templates: MappingABC[str, Any] = field(default_factory=dict)
    # index entries that do not parse (name → the raw JSON): that index is red, its files are kept, and the
    # entry is written back unchanged until an operator deletes the index
    damaged: MappingABC[str, Any] = field(default_factory=dict)
    # the members (node id → info), the elected master's id, and the routing table: index uuid → its shards'
    # placement, one ``ShardRouting`` per shard id (in order)
    nodes: MappingABC[str, NodeInfo] = field(default_factory=dict)
    master_node: str = ""
    routing: MappingABC[str, tuple[ShardRouting, ...]] = field(default_factory=dict)

    def shard_routing(self, index_uuid: str, shard: int) -> ShardRouting | None:
        table = self.routing.get(index_uuid)
        return table[shard] if table is not None and 0 <= shard < len(table) else None

    def data_nodes(self) -> list[NodeInfo]:
        return [n for n in self.nodes.values() if n.has_role("data")]

    def aliases(self) -> dict[str, list[str]]:
        """Alias name → the indices it points to (sorted)."""
        out: dict[str, list[str]] = {}
        for name in sorted(self.indices):
            for alias in self.indices[name].aliases:
                out.setdefault(alias, []).append(name)
        return out

    def changed(self, **fields: Any) -> ClusterState:
        return replace(self, version=self.version + 1, **fields)

    def with_indices(self, metas: list[IndexMeta]) -> ClusterState:
        return replace(self, version=self.version + 1, indices={**self.indices, **{m.name: m for m in metas}})

    def with_index(self, meta: IndexMeta) -> ClusterState:
        return replace(self, version=self.version + 1, indices={**self.indices, meta.name: meta})

    def without_index(self, name: str) -> ClusterState:
        indices = {k: v for k, v in self.indices.items() if k != name}
        return replace(self, version=self.version + 1, indices=indices)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "cluster_uuid": self.cluster_uuid,
            "indices": {**self.damaged, **{name: meta.to_json() for name, meta in self.indices.items()}},
            "persistent": dict(self.persistent),
            "transient": dict(self.transient),
            "index_templates": dict(self.index_templates),
            "component_templates": dict(self.component_templates),
            "legacy_templates": dict(self.legacy_templates),
            "nodes": {node_id: node.to_json() for node_id, node in self.nodes.items()},
            "master_node": self.master_node,
            "routing": {uuid: [r.to_json() for r in table] for uuid, table in self.routing.items()},
        }

    @classmethod
    def from_json(cls, data: MappingABC[str, Any]) -> ClusterState:
        indices: dict[str, IndexMeta] = {}
        damaged: dict[str, Any] = {}
        for name, raw in data.get("indices", {}).items():
            try:
                indices[name] = IndexMeta.from_json(raw)
            except (KeyError, TypeError, ValueError, AttributeError):
                damaged[name] = raw
        return cls(
            version=int(data.get("version", 0)),
            cluster_uuid=str(data.get("cluster_uuid", "")),
            indices=indices,
            damaged=damaged,
            persistent=dict(data.get("persistent", {})),
            transient=dict(data.get("transient", {})),
            index_templates=dict(data.get("index_templates", {})),
            component_templates=dict(data.get("component_templates", {})),
            legacy_templates=dict(data.get("legacy_templates", {})),
            nodes={str(k): NodeInfo.from_json(v) for k, v in dict(data.get("nodes", {})).items()},
            master_node=str(data.get("master_node", "")),
            routing={
                str(k): tuple(ShardRouting.from_json(r) for r in v) for k, v in dict(data.get("routing", {})).items()
            },
        )


def change_kinds(old: ClusterState, new: ClusterState) -> list[str]:
    """What a state change does, for the failpoints around its save (``master.before_save.<kind>``):
    ``create_index``, ``delete_index``, ``mapping``, ``aliases``, ``settings``, ``templates``."""
    kinds = []
    if new.indices.keys() - old.indices.keys():
        kinds.append("create_index")
    if old.indices.keys() - new.indices.keys():
        kinds.append("delete_index")
    common = [(old.indices[name], meta) for name, meta in new.indices.items() if name in old.indices]
    if any(a.mapping_version != b.mapping_version for a, b in common):
        kinds.append("mapping")
    if {n: m.aliases for n, m in old.indices.items() if m.aliases} != {
        n: m.aliases for n, m in new.indices.items() if m.aliases
    }:
        kinds.append("aliases")
    if any(a.settings != b.settings or a.state != b.state for a, b in common) or (
        (old.persistent, old.transient) != (new.persistent, new.transient)
    ):
        kinds.append("settings")
    if (old.index_templates, old.component_templates, old.legacy_templates) != (
        new.index_templates, new.component_templates, new.legacy_templates
    ):
        kinds.append("templates")
    return kinds


# The stores moved to ``cluster.state_store``; imported last because that module imports this one (the
# ``cluster`` package imports this module first, so the cycle always resolves here).
from cluster.state_store import ClusterStateStore as ClusterStateStore  # noqa: E402
from cluster.state_store import LocalStateStore as LocalStateStore  # noqa: E402
