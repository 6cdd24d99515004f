"""The master: the only writer of cluster state (index create/delete, mappings, settings).

Every change validates first (names, settings, mappings, analyzers), then saves the new state through the
``ClusterStateStore`` and tells listeners (the data node) about it. Mapping updates from documents go
through ``apply_dynamic_mapping`` so every shard of an index agrees on one mapping version.
"""

from __future__ import annotations

import errno
import fnmatch
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field, replace
from typing import Any

from cluster import allocation, templates
from cluster.auto_expand import apply_auto_expand
from cluster.known_settings import check_known_settings
from cluster.names import AliasesNotFound, validate_alias_name, validate_index_name
from cluster.settings import (
    DEFAULTS,
    PRIVATE,
    analysis_settings,
    flatten_settings,
    is_final_setting,
    is_static_setting,
    update_cluster_settings,
    validate_settings,
)
from cluster.state import ClusterState, ClusterStateStore, IndexMeta, NodeInfo, change_kinds
from native import failpoints
from native.analysis import Analysis
from native.errors import (
    BadRequest,
    DiskFull,
    IllegalArgument,
    IndexNotFound,
    InvalidIndexName,
    ParsingError,
    QuidditchError,
    ResourceAlreadyExists,
    ResourceNotFound,
)
from native.mapping import Mapping
from native.mapping_limits import check_field_name_lengths

Listener = Callable[[ClusterState, ClusterState], None]
log = logging.getLogger(__name__)

ALIAS_KEYS = frozenset({"filter", "routing", "index_routing", "search_routing", "is_write_index", "is_hidden"})


class AutoCreateDisabled(IndexNotFound):
    def __init__(self, index: str, why: str) -> None:
        super().__init__(index, reason=f"no such index [{index}] and {why}")


class TemplateMissing(ResourceNotFound):
    pass


class ShardLimitExceeded(BadRequest):
    """ES's ``ShardLimitValidator``: opening more shard copies than ``cluster.max_shards_per_node`` allows."""

    es_type = "validation_exception"

    def __init__(self, adding: int, used: int, limit: int) -> None:
        super().__init__(f"Validation Failed: 1: this action would add [{adding}] shards, but this cluster currently "
                         f"has [{used}]/[{limit}] maximum normal shards open;")  # fmt: skip


DEFAULT_MAX_SHARDS_PER_NODE = 1000


def _copies(meta: IndexMeta, replicas: int | None = None) -> int:
    """Shard copies an open index holds, replicas included (ES counts unassigned replicas too)."""
    return meta.number_of_shards * (1 + (meta.number_of_replicas if replicas is None else replicas))


@dataclass(frozen=True)
class AliasAction:
    """One ``POST _aliases`` action on concrete names: ``add``, ``remove`` or ``remove_index``."""

    op: str
    indices: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    props: MappingABC[str, Any] = field(default_factory=dict)
    must_exist: bool | None = None


def _strip_doc_type(mappings: Any) -> dict[str, Any]:
    if isinstance(mappings, dict) and list(mappings) == ["_doc"] and isinstance(mappings["_doc"], dict):
        return dict(mappings["_doc"])
    return dict(mappings or {})


def _parse_aliases(aliases: Any) -> dict[str, Any]:
    if aliases is None:
        return {}
    if not isinstance(aliases, dict):
        raise ParsingError("Failed to parse [aliases]")
    return {name: dict(props or {}) for name, props in aliases.items()}


def stored_alias(alias: str, props: MappingABC[str, Any]) -> dict[str, Any]:
    """An alias definition as ES stores and returns it (``routing`` split into index and search routing)."""
    return _alias_props(alias, props)


def _alias_props(alias: str, props: MappingABC[str, Any]) -> dict[str, Any]:
    """The stored form ES returns from ``GET _alias``: routing split into index/search routing."""
    for key in props:
        if key not in ALIAS_KEYS:
            raise IllegalArgument(f"[aliases] unknown field [{key}]")
    out: dict[str, Any] = {}
    if props.get("filter") is not None:
        if not isinstance(props["filter"], dict):
            raise ParsingError(f"failed to parse filter for alias [{alias}]")
        out["filter"] = props["filter"]
    routing = props.get("routing")
    index_routing = props.get("index_routing", routing)
    search_routing = props.get("search_routing", routing)
    if index_routing is not None:
        if "," in str(index_routing):
            raise IllegalArgument(f"alias [{alias}] has several index routing values associated with it")
        out["index_routing"] = str(index_routing)
    if search_routing is not None:
        out["search_routing"] = str(search_routing)
    for key in ("is_write_index", "is_hidden"):
        if props.get(key) is not None:
            value = props[key]
            if isinstance(value, str):
                value = value == "true"
            out[key] = bool(value)
    return out


def _check_write_indices(state: ClusterState) -> None:
    for alias, targets in state.aliases().items():
        writers = [t for t in targets if state.indices[t].aliases[alias].get("is_write_index") is True]
        if len(writers) > 1:
            raise IllegalArgument(f"alias [{alias}] has more than one write index [{','.join(writers)}]")


class Master:
    def __init__(self, store: ClusterStateStore) -> None:
        self.store = store
        state = store.load()
        # ES installs its managed templates on every start; they are saved with the next change.
        state = replace(
            state,
            index_templates={**templates.BUILTIN_INDEX_TEMPLATES, **state.index_templates},
            component_templates={**templates.BUILTIN_COMPONENTS, **state.component_templates},
        )
        self._state = state
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []

    @property
    def state(self) -> ClusterState:
        return self._state

    @property
    def data_nodes(self) -> int:
        """Data members (at least one: a master alone still sizes ``auto_expand_replicas`` and shard limits as
        ES's one-node cluster does)."""
        return max(1, len(self._state.data_nodes()))

    # -- members and shard copies (allocation) -----------------------------------------------------------------
    def set_nodes(self, nodes: Sequence[NodeInfo], *, master_node: str | None = None) -> None:
        """The live members are ``nodes``: copies on departed nodes go (promoting in-sync replicas), joined
        nodes get shards, and ``auto_expand_replicas`` follows the new data-node count. ``master_node``: the
        elected master's id, when the caller (who runs this master) sets it."""
        with self._lock:
            state = self._state
            members = {n.id: n for n in nodes}
            master = state.master_node if master_node is None else master_node
            if members == dict(state.nodes) and master == state.master_node:
                allocated = allocation.allocate(state)
                if allocated is not state:  # a state saved before routing existed
                    self._publish(replace(allocated, version=state.version + 1))
                return
            new = state.changed(nodes=members, master_node=master)
            data = max(1, len(new.data_nodes()))
            expanded = [replace(m, settings=apply_auto_expand(m.settings, data)) for m in new.indices.values()]
            changed = [m for m in expanded if m.settings != new.indices[m.name].settings]
            if changed:
                new = replace(new, indices={**new.indices, **{m.name: m for m in changed}})
            self._publish(new)

    def copy_started(self, index_uuid: str, shard: int, allocation_id: str) -> None:
        """A recovering copy finished (ES's shard-started): it is STARTED and in sync; a stale report is ignored."""
        with self._lock:
            state = self._state
            new = allocation.start_copy(state, index_uuid, shard, allocation_id)
            if new is not state:
                self._publish(replace(new, version=state.version + 1))

    def fail_copy(self, index_uuid: str, shard: int, allocation_id: str, reason: str) -> None:
        """A copy failed: it leaves the copies and the in-sync set, and the state saying so is saved before this
        returns (a primary acknowledges a write its replica missed only after that). Unknown copies: no-op."""
        with self._lock:
            state = self._state
            new = allocation.fail_copy(state, index_uuid, shard, allocation_id)
            if new is not state:
                log.warning("shard copy failed", extra={"index_uuid": index_uuid, "shard": shard,
                                                        "allocation_id": allocation_id, "reason": reason})  # fmt: skip
                self._publish(replace(new, version=state.version + 1))

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _publish(self, new: ClusterState) -> None:
        old = self._state
        # every change that can move shards (indices, settings, members, copies) is allocated before it is saved
        if new.routing is not old.routing or allocation.placement_inputs(new) != allocation.placement_inputs(old):
            new = allocation.stamp_unassigned(old, allocation.allocate(new), int(time.time() * 1000))
        kinds = change_kinds(old, new) if failpoints.active() else []
        for kind in kinds:
            failpoints.failpoint(f"master.before_save.{kind}")
        try:
            self.store.save(new, old.version)
        except OSError as exc:  # the change is not made: the state on disk and in memory stay the old one
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DiskFull(None) from exc
            raise
        for kind in kinds:
            failpoints.failpoint(f"master.after_save.{kind}")
        self._state = new
        for listener in self._listeners:
            listener(old, new)

    def reroute(self, change: Callable[[ClusterState], ClusterState], *, dry_run: bool = False) -> ClusterState:
        """Apply a routing change (``cluster.reroute`` commands) then allocate; saved unless ``dry_run``. Returns
        the resulting state (what a dry run would have made)."""
        with self._lock:
            state = self._state
            new = allocation.allocate(change(state))
            if dry_run or new is state:
                return new
            self._publish(replace(new, version=state.version + 1))
            return self._state

    # -- indices ------------------------------------------------------------------------------------------
    def create_index(self, name: str, body: MappingABC[str, Any] | None = None) -> IndexMeta:
        """Create ``name`` from ``body`` laid over the matching templates.

        ``body=None`` is the auto-create path of a write: an alias name then means the alias's write index
        (returned as is), and ``action.auto_create_index`` is honoured.
        """
        auto = body is None
        if auto:
            alias_meta = self._write_index_of_alias(name)
            if alias_meta is not None:
                return alias_meta
            self._check_auto_create(name)
        validate_index_name(name)
        body = dict(body or {})
        unknown = set(body) - {"settings", "mappings", "aliases"}
        if unknown:
            key = sorted(unknown)[0]
            raise IllegalArgument(f"unknown key [{key}] for create index")
        with self._lock:
            state = self._state
            if name in state.aliases():
                raise InvalidIndexName(
                    f"Invalid index name [{name}], already exists as alias", index=name, index_uuid="_na_"
                )
            contribution = templates.resolve(
                name, state.index_templates, state.component_templates, state.legacy_templates
            )
            own = {k: v for k, v in flatten_settings(body.get("settings")).items() if v is not None}
            flat = {**DEFAULTS, **contribution.settings, **own}
            check_known_settings(flat)
            validate_settings(flat)
            flat = apply_auto_expand(flat, self.data_nodes)
            if str(flat.get("index.soft_deletes.enabled", "true")).lower() == "false":
                raise IllegalArgument(
                    "Creating indices with soft-deletes disabled is no longer supported. Please do not specify a "
                    "value for setting [index.soft_deletes.enabled]."
                )
            analysis = Analysis.from_settings(analysis_settings(flat), index_settings=flat)
            mapping_body = templates.merge_mappings(contribution.mappings, _strip_doc_type(body.get("mappings")))
            mapping = Mapping(mapping_body)
            check_field_name_lengths(mapping.to_dict(), flat)
            from native.schema import CompiledMapping

            CompiledMapping(mapping, analysis)  # analyzers named by the mapping exist
            aliases = {**contribution.aliases, **_parse_aliases(body.get("aliases"))}
            for alias in aliases:
                validate_alias_name(alias, [*state.indices, name])
            if name in state.damaged:  # its metadata is damaged, its files are kept: the name stays taken
                raise ResourceAlreadyExists(f"index [{name}] already exists (its metadata is damaged)", index=name)
            existing = state.indices.get(name)
            if existing is not None:
                raise ResourceAlreadyExists(
                    f"index [{name}/{existing.uuid}] already exists", index_uuid=existing.uuid, index=name
                )
            shards, replicas = int(flat["index.number_of_shards"]), int(flat["index.number_of_replicas"])
            self._check_shard_limit(state, shards * (1 + replicas))
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
                aliases={a: _alias_props(a, props) for a, props in aliases.items()},
            )
            new_state = state.with_index(meta)
            _check_write_indices(new_state)
            self._publish(new_state)
            return meta

    def _check_auto_create(self, name: str) -> None:
        value = self.cluster_setting("action.auto_create_index")
        if value is None or str(value).lower() == "true":
            return
        if str(value).lower() == "false":
            raise AutoCreateDisabled(name, "[action.auto_create_index] is [false]")
        for pattern in (p.strip() for p in str(value).split(",") if p.strip()):
            negate = pattern.startswith("-")
            if fnmatch.fnmatchcase(name, pattern.lstrip("+-")):
                if negate:
                    raise AutoCreateDisabled(name, f"[action.auto_create_index] contains [{pattern}] which forbids "
                                                   "automatic creation of the index")  # fmt: skip
                return
        raise AutoCreateDisabled(name, f"[action.auto_create_index] ([{value}]) doesn't match")

    def _write_index_of_alias(self, name: str) -> IndexMeta | None:
        targets = self._state.aliases().get(name)
        if not targets:
            return None
        explicit = [t for t in targets if self._state.indices[t].aliases[name].get("is_write_index") is True]
        if explicit:
            return self._state.indices[explicit[0]]
        if len(targets) == 1 and self._state.indices[targets[0]].aliases[name].get("is_write_index") is not False:
            return self._state.indices[targets[0]]
        raise IllegalArgument(
            f"no write index is defined for alias [{name}]. The write index may be explicitly disabled using "
            "is_write_index=false or the alias points to multiple indices without one being designated as a "
            "write index"
        )

    def delete_index(self, name: str) -> None:
        with self._lock:
            if name not in self._state.indices:
                raise IndexNotFound(name)
            self._publish(self._state.without_index(name))

    def index(self, name: str) -> IndexMeta:
        """The index ``name``, or the write index of the alias ``name``."""
        meta = self._state.indices.get(name)
        if meta is None:
            meta = self._write_index_of_alias(name)
        if meta is None:
            raise IndexNotFound(name)
        return meta

    # -- mappings -----------------------------------------------------------------------------------------
    def put_mapping(self, name: str, update: MappingABC[str, Any]) -> IndexMeta:
        with self._lock:
            meta = self.index(name)
            merged = Mapping(meta.mappings).merge(update)
            check_field_name_lengths(merged.to_dict(), meta.settings)
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

        CompiledMapping(mapping, Analysis.from_settings(analysis_settings(meta.settings), index_settings=meta.settings))
        new_meta = replace(meta, mappings=body, mapping_version=meta.mapping_version + 1)
        self._publish(self._state.with_index(new_meta))
        return new_meta

    # -- settings -----------------------------------------------------------------------------------------
    def put_settings(self, name: str, settings: MappingABC[str, Any], *, preserve_existing: bool = False
                     ) -> IndexMeta:  # fmt: skip
        """Update an index's settings as ES does: private and final settings are refused, static ones only
        change while the index is closed; ``preserve_existing`` sets only the keys the index does not have."""
        with self._lock:
            meta = self.index(name)
            flat = flatten_settings(settings)
            for key in flat:
                if key in PRIVATE:
                    raise IllegalArgument(f"can not update private setting [{key}]; this setting is managed by "
                                          "Elasticsearch")  # fmt: skip
                if is_final_setting(key):
                    raise IllegalArgument(f"final index setting [{key}], not updateable")
            check_known_settings(flat)
            static = sorted(k for k in flat if is_static_setting(k))
            if static and meta.is_open:
                raise IllegalArgument(
                    f"Can't update non dynamic settings [[{', '.join(static)}]] for open indices [[{name}/{meta.uuid}]]"
                )
            if preserve_existing:
                flat = {k: v for k, v in flat.items() if k not in meta.settings}
            merged = {k: v for k, v in {**meta.settings, **flat}.items() if v is not None}
            validate_settings(merged)
            if any(k.startswith("index.analysis.") for k in flat):  # the new analysis must build, as at create
                from native.schema import CompiledMapping

                CompiledMapping(Mapping(meta.mappings), Analysis.from_settings(analysis_settings(merged),
                                                                               index_settings=merged))  # fmt: skip
            merged = apply_auto_expand(merged, self.data_nodes)
            new_meta = replace(meta, settings=merged)
            if meta.is_open:
                self._check_shard_limit(self._state, _copies(new_meta) - _copies(meta))
            self._publish(self._state.with_index(new_meta))
            return new_meta

    # -- open / close --------------------------------------------------------------------------------------
    def set_index_state(self, names: Iterable[str], state: str) -> list[IndexMeta]:
        with self._lock:
            metas = [replace(self.index(n), state=state) for n in names]
            if state == "open":
                opening = {m.name: m for m in metas if not self._state.indices[m.name].is_open}
                self._check_shard_limit(self._state, sum(_copies(m) for m in opening.values()))
            if metas:
                self._publish(self._state.with_indices(metas))
            return metas

    def set_block(self, names: Iterable[str], block: str, value: bool) -> list[IndexMeta]:
        key = f"index.blocks.{block}"
        with self._lock:
            metas = []
            for n in names:
                meta = self.index(n)
                settings = dict(meta.settings)
                if value:
                    settings[key] = "true"
                else:
                    settings.pop(key, None)
                metas.append(replace(meta, settings=settings))
            if metas:
                self._publish(self._state.with_indices(metas))
            return metas

    # -- aliases --------------------------------------------------------------------------------------------
    def update_aliases(self, actions: Iterable[AliasAction]) -> None:
        """Apply every action or none (``POST _aliases`` is atomic in ES)."""
        with self._lock:
            state = self._state
            indices = dict(state.indices)
            removed: set[str] = set()
            actions = list(actions)
            # ES removes indices first, so that an alias may take the name of an index removed in the same call
            for action in actions:
                if action.op == "remove_index":
                    for name in action.indices:
                        if name not in indices:
                            raise IndexNotFound(name)
                        removed.add(name)
                        del indices[name]
            for action in actions:
                if action.op == "remove_index":
                    continue
                for name in action.indices:
                    if name in removed:
                        continue
                    if name not in indices:
                        raise IndexNotFound(name)
                    meta = indices[name]
                    aliases = dict(meta.aliases)
                    for alias in action.aliases:
                        if action.op == "add":
                            validate_alias_name(alias, indices)
                            aliases[alias] = _alias_props(alias, action.props)
                        elif alias in aliases:
                            del aliases[alias]
                        elif action.must_exist:
                            raise AliasesNotFound([alias])
                    indices[name] = replace(meta, aliases=aliases)
            new_state = state.changed(indices=indices)
            _check_write_indices(new_state)
            self._publish(new_state)

    def _check_shard_limit(self, state: ClusterState, adding: int) -> None:
        """ES's shard limit: open shard copies may not pass ``cluster.max_shards_per_node`` x data nodes."""
        if adding <= 0:
            return
        value = self.cluster_setting("cluster.max_shards_per_node")
        limit = (DEFAULT_MAX_SHARDS_PER_NODE if value is None else int(value)) * self.data_nodes
        used = sum(_copies(m) for m in state.indices.values() if m.is_open)
        if used + adding > limit:
            raise ShardLimitExceeded(adding, used, limit)

    # -- cluster settings ------------------------------------------------------------------------------------
    def cluster_setting(self, key: str) -> Any:
        state = self._state
        if key in state.transient:
            return state.transient[key]
        return state.persistent.get(key)

    def put_cluster_settings(
        self, persistent: MappingABC[str, Any] | None, transient: MappingABC[str, Any] | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Apply updates (``None`` values reset); return what was accepted, flat, per scope."""
        with self._lock:
            state = self._state
            new_persistent, accepted_p = update_cluster_settings(state.persistent, persistent, "persistent")
            new_transient, accepted_t = update_cluster_settings(state.transient, transient, "transient")
            self._publish(state.changed(persistent=new_persistent, transient=new_transient))
            return accepted_p, accepted_t

    # -- templates ------------------------------------------------------------------------------------------
    def put_index_template(self, name: str, body: Any, *, create: bool = False) -> None:
        with self._lock:
            state = self._state
            if create and name in state.index_templates:
                raise IllegalArgument(f"index template [{name}] already exists")
            normalized = templates.normalize_composable(name, body, state.component_templates)
            self._validate_block(normalized.get("template") or {})
            templates.check_overlap(name, normalized, state.index_templates)
            self._publish(state.changed(index_templates={**state.index_templates, name: normalized}))

    def put_component_template(self, name: str, body: Any, *, create: bool = False) -> None:
        with self._lock:
            state = self._state
            if create and name in state.component_templates:
                raise IllegalArgument(f"component template [{name}] already exists")
            normalized = templates.normalize_component(body)
            self._validate_block(normalized["template"])
            self._publish(state.changed(component_templates={**state.component_templates, name: normalized}))

    def put_legacy_template(self, name: str, body: Any, *, create: bool = False) -> None:
        with self._lock:
            state = self._state
            if create and name in state.legacy_templates:
                raise IllegalArgument(f"index_template [{name}] already exists")
            normalized = templates.normalize_legacy(body)
            self._validate_block(normalized)
            self._publish(state.changed(legacy_templates={**state.legacy_templates, name: normalized}))

    def _validate_block(self, block: MappingABC[str, Any]) -> None:
        flat = {**DEFAULTS, **(block.get("settings") or {})}
        check_known_settings(flat)
        validate_settings(flat)
        try:
            from native.schema import CompiledMapping

            CompiledMapping(
                Mapping(block.get("mappings") or {}),
                Analysis.from_settings(analysis_settings(flat), index_settings=flat),
            )
        except QuidditchError:
            raise
        for alias, props in (block.get("aliases") or {}).items():
            _alias_props(alias, props or {})

    def delete_templates(self, kind: str, names: list[str]) -> None:
        """Delete templates of ``kind`` (``index_templates``, ``component_templates``, ``legacy_templates``)."""
        with self._lock:
            state = self._state
            current: dict[str, Any] = dict(getattr(state, kind))
            missing = [n for n in names if n not in current]
            if missing:
                label = {"index_templates": "index_template", "component_templates": "component_template",
                         "legacy_templates": "index_template"}[kind]  # fmt: skip
                raise TemplateMissing(f"{label} matching [{','.join(missing)}] not found")
            if kind == "component_templates":
                for tname, body in state.index_templates.items():
                    used = [n for n in names if n in (body.get("composed_of") or [])]
                    if used:
                        raise IllegalArgument(
                            f"component templates [{','.join(used)}] cannot be removed as they are still in use by "
                            f"index templates [{tname}]"
                        )
            for n in names:
                del current[n]
            # ES's stack template registry puts its managed templates back on the next cluster state change;
            # here in the same one (``GET _cat/templates`` always lists them, as on ES)
            builtin = {"index_templates": templates.BUILTIN_INDEX_TEMPLATES,
                       "component_templates": templates.BUILTIN_COMPONENTS}.get(kind, {})  # fmt: skip
            current.update({n: body for n, body in builtin.items() if n not in current})
            self._publish(state.changed(**{kind: current}))

    # -- rollover -------------------------------------------------------------------------------------------
    def rollover_names(self, alias: str, new_name: str | None = None) -> tuple[str, str]:
        """The write index ``alias`` rolls over from and the index it rolls over to, which must not exist
        (ES refuses a taken or invalid name even on a dry run)."""
        state = self._state
        targets = state.aliases().get(alias)
        if not targets:
            raise IllegalArgument(f"rollover target [{alias}] does not exist")
        writers = [t for t in targets if state.indices[t].aliases[alias].get("is_write_index") is True]
        if len(targets) > 1 and not writers:
            raise IllegalArgument(f"rollover target [{alias}] does not point to a write index")
        old = writers[0] if writers else targets[0]
        if new_name is None:
            match = re.match(r"^(.*)-(\d+)$", old)
            if match is None:
                raise IllegalArgument(f"index name [{old}] does not match pattern '^.*-\\d+$'")
            new_name = f"{match.group(1)}-{int(match.group(2)) + 1:06d}"
        validate_index_name(new_name)
        existing = state.indices.get(new_name)
        if existing is not None:
            raise ResourceAlreadyExists(
                f"index [{new_name}/{existing.uuid}] already exists", index_uuid=existing.uuid, index=new_name
            )
        if new_name in state.aliases():
            raise ResourceAlreadyExists(f"index [{new_name}] already exists (as an alias)", index=new_name)
        return old, new_name

    def rollover(self, alias: str, new_name: str | None, body: MappingABC[str, Any], *, dry_run: bool = False,
                 conditions_met: bool = True) -> tuple[str, str, bool]:  # fmt: skip
        """Roll ``alias`` over to a new index: ``(old index, new index, rolled over)``."""
        with self._lock:
            state = self._state
            old, new_name = self.rollover_names(alias, new_name)
            if dry_run or not conditions_met:
                return old, new_name, False
            create_body = {k: v for k, v in body.items() if k in ("settings", "mappings", "aliases")}
            self.create_index(new_name, create_body)
            explicit = state.indices[old].aliases[alias].get("is_write_index") is True
            props = dict(state.indices[old].aliases[alias])
            if explicit:
                self.update_aliases([AliasAction("add", (old,), (alias,), {**props, "is_write_index": False}),
                                     AliasAction("add", (new_name,), (alias,), props)])  # fmt: skip
            else:
                self.update_aliases([AliasAction("remove", (old,), (alias,)),
                                     AliasAction("add", (new_name,), (alias,), props)])  # fmt: skip
            return old, new_name, True

