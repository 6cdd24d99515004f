"""Cluster state: the versioned description of every index, and the store that persists it.

``ClusterState`` is immutable; the master derives a new one per change and saves it through a
``ClusterStateStore`` with compare-and-set on ``version``. The embedded default is ``LocalStateStore``
(one fsynced JSON file).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import orjson

from native.errors import QuidditchError
from native.failpoints import failpoint


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


class ClusterStateStore(Protocol):
    """Persists cluster state. ``save`` fails with ``StaleStateError`` unless ``expected_version`` matches."""

    def load(self) -> ClusterState: ...

    def save(self, state: ClusterState, expected_version: int) -> None: ...


class LocalStateStore:
    """The embedded store: ``<data>/cluster_state.json``, written atomically and fsynced."""

    def __init__(self, data_dir: str) -> None:
        self.path = os.path.join(data_dir, "cluster_state.json")
        os.makedirs(data_dir, exist_ok=True)
        self._lock = threading.Lock()
        self._version = self.load().version

    def load(self) -> ClusterState:
        try:
            with open(self.path, "rb") as fh:
                raw = fh.read()
        except FileNotFoundError:
            return ClusterState(cluster_uuid=os.urandom(11).hex())
        try:
            data = orjson.loads(raw)
            if not isinstance(data, dict) or not isinstance(data.get("indices", {}), dict):
                raise ValueError("not a cluster state object")
            return ClusterState.from_json(data)
        except (ValueError, TypeError, AttributeError) as exc:  # orjson.JSONDecodeError is a ValueError
            raise ClusterStateCorrupted(f"cluster state [{self.path}] is unreadable: {exc}") from None

    def save(self, state: ClusterState, expected_version: int) -> None:
        with self._lock:
            if expected_version != self._version:
                raise StaleStateError(f"cluster state version [{expected_version}] is stale ({self._version})")
            tmp = self.path + ".tmp"
            with open(tmp, "wb") as fh:
                fh.write(orjson.dumps(state.to_json()))
                fh.flush()
                os.fsync(fh.fileno())
            failpoint("cluster_state.after_tmp_write")
            os.replace(tmp, self.path)
            failpoint("cluster_state.after_rename")
            fd = os.open(os.path.dirname(self.path), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            self._version = state.version
