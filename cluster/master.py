"""The master: the only writer of cluster state (index create/delete, mappings, settings).

Every change validates first (names, settings, mappings, analyzers), then saves the new state through the
``ClusterStateStore`` and tells listeners (the data node) about it. Mapping updates from documents go
through ``apply_dynamic_mapping`` so every shard of an index agrees on one mapping version.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from collections.abc import Mapping as MappingABC
from typing import Any

from cluster.names import validate_index_name
from cluster.settings import DEFAULTS, STATIC, analysis_settings, flatten_settings, validate_settings
from cluster.state import ClusterState, ClusterStateStore, IndexMeta
from native.analysis import Analysis
from native.errors import IllegalArgument, IndexNotFound, ResourceAlreadyExists
from native.mapping import Mapping

Listener = Callable[[ClusterState, ClusterState], None]


class Master:
    def __init__(self, store: ClusterStateStore) -> None:
        self.store = store
        self._state = store.load()
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []

    @property
    def state(self) -> ClusterState:
        return self._state

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _publish(self, new: ClusterState) -> None:
        old = self._state
        self.store.save(new, old.version)
        self._state = new
        for listener in self._listeners:
            listener(old, new)

    # -- indices ------------------------------------------------------------------------------------------
    def create_index(self, name: str, body: MappingABC[str, Any] | None = None) -> IndexMeta:
        validate_index_name(name)
        body = dict(body or {})
        unknown = set(body) - {"settings", "mappings", "aliases"}
        if unknown:
            key = sorted(unknown)[0]
            raise IllegalArgument(f"unknown key [{key}] for create index")
        flat = {**DEFAULTS, **flatten_settings(body.get("settings"))}
        validate_settings(flat)
        analysis = Analysis.from_settings(analysis_settings(flat))
        mapping = Mapping(body.get("mappings") or {})
        from native.schema import CompiledMapping

        CompiledMapping(mapping, analysis)  # analyzers named by the mapping exist
        with self._lock:
            existing = self._state.indices.get(name)
            if existing is not None:
                raise ResourceAlreadyExists(
                    f"index [{name}/{existing.uuid}] already exists", index_uuid=existing.uuid, index=name
                )
            index_uuid = uuid.uuid4().hex[:22]
            flat["index.uuid"] = index_uuid
            flat["index.provided_name"] = name
            now = int(time.time() * 1000)
            flat["index.creation_date"] = str(now)
            flat.setdefault("index.version.created", "8521000")
            meta = IndexMeta(
                name=name,
                uuid=index_uuid,
                settings=flat,
                mappings=mapping.to_dict(),
                creation_date=now,
                aliases=dict(body.get("aliases") or {}),
            )
            self._publish(self._state.with_index(meta))
            return meta

    def delete_index(self, name: str) -> None:
        with self._lock:
            if name not in self._state.indices:
                raise IndexNotFound(name)
            self._publish(self._state.without_index(name))

    def index(self, name: str) -> IndexMeta:
        meta = self._state.indices.get(name)
        if meta is None:
            raise IndexNotFound(name)
        return meta

    # -- mappings -----------------------------------------------------------------------------------------
    def put_mapping(self, name: str, update: MappingABC[str, Any]) -> IndexMeta:
        with self._lock:
            meta = self.index(name)
            merged = Mapping(meta.mappings).merge(update)
            return self._set_mapping(meta, merged)

    def apply_dynamic_mapping(self, name: str, new_properties: MappingABC[str, Any]) -> IndexMeta:
        """Merge properties discovered in documents; a no-op when another request added them first."""
        with self._lock:
            meta = self.index(name)
            merged = Mapping(meta.mappings).merge({"properties": dict(new_properties)})
            return self._set_mapping(meta, merged)

    def _set_mapping(self, meta: IndexMeta, mapping: Mapping) -> IndexMeta:
        body = mapping.to_dict()
        if body == meta.mappings:
            return meta
        from native.schema import CompiledMapping

        CompiledMapping(mapping, Analysis.from_settings(analysis_settings(meta.settings)))
        new_meta = IndexMeta(
            name=meta.name,
            uuid=meta.uuid,
            settings=meta.settings,
            mappings=body,
            creation_date=meta.creation_date,
            mapping_version=meta.mapping_version + 1,
            aliases=meta.aliases,
        )
        self._publish(self._state.with_index(new_meta))
        return new_meta

    # -- settings -----------------------------------------------------------------------------------------
    def put_settings(self, name: str, settings: MappingABC[str, Any]) -> IndexMeta:
        with self._lock:
            meta = self.index(name)
            flat = flatten_settings(settings)
            for key in flat:
                if key in STATIC or key.startswith("index.analysis."):
                    raise IllegalArgument(
                        f"Can't update non dynamic settings [[{key}]] for open indices [[{name}/{meta.uuid}]]"
                    )
            merged = {k: v for k, v in {**meta.settings, **flat}.items() if v is not None}
            validate_settings(merged)
            new_meta = IndexMeta(
                name=meta.name,
                uuid=meta.uuid,
                settings=merged,
                mappings=meta.mappings,
                creation_date=meta.creation_date,
                mapping_version=meta.mapping_version,
                aliases=meta.aliases,
            )
            self._publish(self._state.with_index(new_meta))
            return new_meta
