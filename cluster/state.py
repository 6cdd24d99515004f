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


class StaleStateError(QuidditchError):
    status = 409
    es_type = "failed_to_commit_cluster_state_exception"


@dataclass(frozen=True)
class IndexMeta:
    name: str
    uuid: str
    settings: MappingABC[str, str]  # flat: "index.number_of_shards" → "1"
    mappings: MappingABC[str, Any]
    creation_date: int
    mapping_version: int = 1
    aliases: MappingABC[str, Any] = field(default_factory=dict)

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
        )


@dataclass(frozen=True)
class ClusterState:
    version: int = 0
    cluster_uuid: str = ""
    indices: MappingABC[str, IndexMeta] = field(default_factory=dict)

    def with_index(self, meta: IndexMeta) -> ClusterState:
        return replace(self, version=self.version + 1, indices={**self.indices, meta.name: meta})

    def without_index(self, name: str) -> ClusterState:
        indices = {k: v for k, v in self.indices.items() if k != name}
        return replace(self, version=self.version + 1, indices=indices)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "cluster_uuid": self.cluster_uuid,
            "indices": {name: meta.to_json() for name, meta in self.indices.items()},
        }

    @classmethod
    def from_json(cls, data: MappingABC[str, Any]) -> ClusterState:
        return cls(
            version=int(data.get("version", 0)),
            cluster_uuid=str(data.get("cluster_uuid", "")),
            indices={name: IndexMeta.from_json(meta) for name, meta in data.get("indices", {}).items()},
        )


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
                return ClusterState.from_json(orjson.loads(fh.read()))
        except FileNotFoundError:
            return ClusterState(cluster_uuid=os.urandom(11).hex())

    def save(self, state: ClusterState, expected_version: int) -> None:
        with self._lock:
            if expected_version != self._version:
                raise StaleStateError(f"cluster state version [{expected_version}] is stale ({self._version})")
            tmp = self.path + ".tmp"
            with open(tmp, "wb") as fh:
                fh.write(orjson.dumps(state.to_json()))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            fd = os.open(os.path.dirname(self.path), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            self._version = state.version
