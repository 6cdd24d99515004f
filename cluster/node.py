"""A data node: opens, serves and closes the Diagon shards that cluster state assigns to it.

The node opens the shard copies the routing table places on its ``node_id`` (in the embedded server, the
only node: every primary). It reacts to cluster-state changes (a copy assigned here → open it, a copy moved
away or a deleted index → close and remove it, new mapping → hand it to the shards) and runs the periodic
refresh (``index.refresh_interval``). Which role a copy plays (primary or replica) is the routing table's.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Collection

from cluster.node_identity import EMBEDDED_NODE_ID
from cluster.settings import analysis_settings
from cluster.shard_failures import NoShardAvailable, ShardFailure
from cluster.state import ClusterState, IndexMeta, ShardCopy, damaged_uuid
from native.analysis import Analysis
from native.errors import IndexNotFound
from native.failpoints import failpoint
from native.mapping import Mapping
from native.replica import PRIMARY
from native.shard import Shard

log = logging.getLogger(__name__)
RETRY_MAX_S = 30.0  # the longest wait before a failed periodic refresh is tried again


def parse_interval_seconds(value: str) -> float | None:
    """``1s``/``500ms``/``-1`` → seconds, None when refresh is disabled."""
    text = str(value).strip()
    if text in ("-1", "-1s"):
        return None
    units = (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0), ("d", 86400.0))
    for suffix, factor in units:
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            return float(text[: -len(suffix)]) * factor
    return float(text) / 1000 if text.isdigit() else 1.0


class DataNode:
    def __init__(self, data_dir: str, *, node_id: str = EMBEDDED_NODE_ID, default_refresh_interval: str = "1s") -> None:
        self.data_dir = data_dir
        self.node_id = node_id
        self._state = ClusterState()
        self.default_refresh_interval = default_refresh_interval
        self.shards: dict[tuple[str, int], Shard] = {}  # (index uuid, shard id)
        # shards that failed to open (damaged files): reported, never retried (``cluster.shard_failures``)
        self.failed: dict[tuple[str, int], ShardFailure] = {}
        self._meta: dict[str, IndexMeta] = {}  # uuid → meta
        self._lock = threading.RLock()
        self._last_refresh: dict[str, float] = {}
        # (index uuid, shard) → seconds to wait after the last failed periodic refresh, and when to try again
        self._backoff: dict[tuple[str, int], float] = {}
        self._retry_at: dict[tuple[str, int], float] = {}
        os.makedirs(os.path.join(data_dir, "indices"), exist_ok=True)

    def shard_dir(self, index_uuid: str, shard_id: int) -> str:
        return os.path.join(self.data_dir, "indices", index_uuid, str(shard_id))

    def apply_state(self, old: ClusterState | None, new: ClusterState) -> None:
        with self._lock:
            live = {meta.uuid: meta for meta in new.indices.values()}
            for index_uuid in list(self._meta):
                if index_uuid not in live:
                    self._remove_index(index_uuid)
            for index_uuid, meta in live.items():
                known = self._meta.get(index_uuid)
                if known is None:
                    self._open_index(meta, self.own_shards(new, index_uuid), created=old is not None)
                    continue
                if known.mapping_version != meta.mapping_version:
                    mapping = Mapping(meta.mappings)
                    for shard_id in range(meta.number_of_shards):
                        shard = self.shards.get((index_uuid, shard_id))
                        if shard is not None:  # a failed shard gets the mapping when it opens again
                            shard.update_mapping(mapping)
                if set(known.aliases) != set(meta.aliases):
                    aliases = frozenset(meta.aliases)
                    for shard_id in range(meta.number_of_shards):
                        shard = self.shards.get((index_uuid, shard_id))
                        if shard is not None:
                            shard.set_index_aliases(aliases)
                self._sync_copies(meta, new)
                self._meta[index_uuid] = meta
            self._state = new
            self._apply_roles(new)
            if old is None:
                self._report_damaged(new)
                kept = [damaged_uuid(raw) for raw in new.damaged.values()]
                if all(kept):  # a damaged entry without a uuid: which directory is its own is unknown
                    self._remove_orphans({*live, *(uuid for uuid in kept if uuid)})

    def _apply_roles(self, state: ClusterState) -> None:
        """Tell each local shard its role from the routing table (``native.replica``): a replica copy takes
        operations from its primary only; a copy the table makes the primary of a newer term is promoted (its
        term is authoritative from then on: writes carry it, documents keep the term they were written with).
        Shards the table does not route (the embedded server) stay primaries."""
        if not state.routing:
            return
        for (index_uuid, shard_id), shard in list(self.shards.items()):
            routing = state.shard_routing(index_uuid, shard_id)
            mine = next((c for c in routing.copies if c.node == self.node_id), None) if routing else None
            if routing is None or mine is None:
                continue
            if mine.primary:
                if shard.role != PRIMARY or shard.primary_term < routing.primary_term:
                    shard.promote(routing.primary_term)
            elif shard.role == PRIMARY:
                shard.become_replica()

    def replace_shard(self, index_uuid: str, shard_id: int, install: Callable[[str], None]) -> Shard:
        """Close the local copy (discarding it), let ``install`` lay new files into its directory, and open
        what it laid there (peer recovery: ``cluster.recovery``)."""
        with self._lock:
            meta = self._meta.get(index_uuid)
            if meta is None:
                raise IndexNotFound(index_uuid)
            old = self.shards.pop((index_uuid, shard_id), None)
            self.failed.pop((index_uuid, shard_id), None)
            if old is not None:
                old.close(discard=True)
            install(self.shard_dir(index_uuid, shard_id))
            analysis = Analysis.from_settings(analysis_settings(meta.settings), index_settings=meta.settings)
            shard = Shard(self.shard_dir(index_uuid, shard_id), Mapping(meta.mappings), analysis,
                          index_name=meta.name, shard_id=shard_id)  # fmt: skip
            shard.set_index_aliases(frozenset(meta.aliases))
            self.shards[(index_uuid, shard_id)] = shard
            return shard

    def own_shards(self, state: ClusterState, index_uuid: str) -> set[int]:
        """The shard ids of ``index_uuid`` that have a copy on this node (any state) in ``state``."""
        table = state.routing.get(index_uuid, ())
        return {r.shard for r in table if any(c.node == self.node_id for c in r.copies)}

    def own_copy(self, index_uuid: str, shard_id: int) -> ShardCopy | None:
        """This node's copy of a shard as the last applied state places it (None: not assigned here)."""
        routing = self._state.shard_routing(index_uuid, shard_id)
        return next((c for c in routing.copies if c.node == self.node_id), None) if routing else None

    def _sync_copies(self, meta: IndexMeta, state: ClusterState) -> None:
        """Open the copies newly assigned here; close the ones moved away (their files go once a primary is
        active elsewhere and this node's copy is not one the shard waits for, see ``ShardRouting.lost``)."""
        own = self.own_shards(state, meta.uuid)
        held = {sid for (uuid, sid) in [*self.shards, *self.failed] if uuid == meta.uuid}
        if own - held:
            self._open_index(meta, own - held)
        for shard_id in sorted(held - own):
            self.failed.pop((meta.uuid, shard_id), None)
            shard = self.shards.pop((meta.uuid, shard_id), None)
            routing = state.shard_routing(meta.uuid, shard_id)
            keep = routing is None or routing.primary is None or any(c.node == self.node_id for c in routing.lost)
            if shard is not None:
                shard.close(discard=not keep)
            if not keep:
                shutil.rmtree(self.shard_dir(meta.uuid, shard_id), ignore_errors=True)

    def _open_index(self, meta: IndexMeta, shard_ids: Collection[int], *, created: bool = False) -> None:
        analysis = Analysis.from_settings(analysis_settings(meta.settings), index_settings=meta.settings)
        mapping = Mapping(meta.mappings)
        for shard_id in sorted(shard_ids):
            try:
                shard = Shard(
                    self.shard_dir(meta.uuid, shard_id), mapping, analysis, index_name=meta.name, shard_id=shard_id
                )
                shard.set_index_aliases(frozenset(meta.aliases))
                self.shards[(meta.uuid, shard_id)] = shard
            except Exception as exc:  # damaged files or an index that does not open: fail this shard only
                failure = ShardFailure.of(meta.name, meta.uuid, shard_id, exc)
                self.failed[(meta.uuid, shard_id)] = failure
                log.error("shard failed: %s", failure.details,
                          extra={"index": meta.name, "shard": shard_id})  # fmt: skip
            if shard_id == 0 and created:
                failpoint("node.after_first_shard")
        self._meta[meta.uuid] = meta

    def _remove_index(self, index_uuid: str) -> None:
        meta = self._meta.pop(index_uuid)
        for shard_id in range(meta.number_of_shards):
            self.failed.pop((index_uuid, shard_id), None)
            shard = self.shards.pop((index_uuid, shard_id), None)
            if shard is not None:
                shard.close(discard=True)
        failpoint("node.before_remove")
        # A kill from here on leaves some of the files: the next start removes them (``_remove_orphans``).
        shutil.rmtree(self.shard_dir(index_uuid, 0), ignore_errors=True)
        failpoint("node.mid_remove")
        shutil.rmtree(os.path.join(self.data_dir, "indices", index_uuid), ignore_errors=True)

    @staticmethod
    def _report_damaged(state: ClusterState) -> None:
        for name, raw in state.damaged.items():
            log.error("index metadata is damaged: the index is red and its files are kept",
                      extra={"index": name, "uuid": damaged_uuid(raw)})  # fmt: skip

    def _remove_orphans(self, live: Collection[str]) -> None:
        root = os.path.join(self.data_dir, "indices")
        for name in os.listdir(root):
            if name not in live:
                shutil.rmtree(os.path.join(root, name), ignore_errors=True)

    def index_meta(self, index_uuid: str) -> IndexMeta | None:
        """The metadata of an index this node holds shards of (None once it is removed)."""
        return self._meta.get(index_uuid)

    def shard(self, index_uuid: str, shard_id: int) -> Shard:
        shard = self.shards.get((index_uuid, shard_id))
        if shard is None:
            meta = self._meta.get(index_uuid)
            if (index_uuid, shard_id) in self.failed:
                raise NoShardAvailable(self.failed[(index_uuid, shard_id)].index, shard_id)
            raise IndexNotFound(meta.name if meta else index_uuid)
        return shard

    def failures(self, index_uuid: str) -> dict[int, ShardFailure]:
        """The failed shards of an index, by shard id."""
        return {sid: failure for (uuid, sid), failure in list(self.failed.items()) if uuid == index_uuid}

    def refresh_due(self) -> None:
        """Refresh the shards whose ``index.refresh_interval`` has elapsed (called about every 100 ms)."""
        now = time.monotonic()
        with self._lock:
            metas = list(self._meta.values())
        for meta in metas:
            interval = parse_interval_seconds(meta.setting("index.refresh_interval") or self.default_refresh_interval)
            if interval is not None and now - self._last_refresh.get(meta.uuid, 0.0) < interval:
                continue
            self._last_refresh[meta.uuid] = now
            for shard_id in range(meta.number_of_shards):
                shard = self.shards.get((meta.uuid, shard_id))
                if shard is None:
                    continue
                if interval is not None and shard.dirty and now >= self._retry_at.get((meta.uuid, shard_id), 0.0):
                    self._periodic_refresh(meta, shard_id, shard, now)
                shard.retire_readers()

    def _periodic_refresh(self, meta: IndexMeta, shard_id: int, shard: Shard, now: float) -> None:
        """A failed refresh keeps its writes (WAL) and is retried later, backing off up to ``RETRY_MAX_S`` (each
        try after a writer failure re-applies the WAL since the last commit: not a thing to do every second)."""
        key = (meta.uuid, shard_id)
        try:
            shard.refresh()
        except Exception:
            backoff = min(RETRY_MAX_S, 2 * self._backoff.get(key, 0.5))
            self._backoff[key], self._retry_at[key] = backoff, now + backoff
            log.exception("periodic refresh failed", extra={"index": meta.name, "shard": shard_id, "retry_s": backoff})
        else:
            self._backoff.pop(key, None)
            self._retry_at.pop(key, None)

    def close(self) -> None:
        with self._lock:
            for shard in self.shards.values():
                try:
                    shard.close()
                except Exception:
                    log.exception("closing shard failed", extra={"shard": shard.shard_id})
            self.shards.clear()
            self.failed.clear()
            self._meta.clear()
