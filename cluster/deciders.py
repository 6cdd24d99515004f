"""The allocation deciders that settings control, as Elasticsearch names and reads them.

- **Filters** (``FilterAllocationDecider``): ``cluster.routing.allocation.{require,include,exclude}.<attr>`` and
  the same under ``index.routing.allocation.``; ``<attr>`` is ``_name``, ``_id``, ``_host``/``_ip``/``_publish_ip``
  (the host of the node's transport address) or a custom node attribute; values are comma lists with ``*``
  wildcards. A node must match every ``require``, at least one ``include`` (when any is set) and no ``exclude``.
  A started copy on a node it may no longer stay on is moved away (draining a node with ``exclude._name``).
- **Enable** (``EnableAllocationDecider``): ``cluster.routing.allocation.enable`` / ``index.routing.allocation.enable``
  (``all``, ``primaries``, ``new_primaries``, ``none``) and ``cluster.routing.rebalance.enable`` /
  ``index.routing.rebalance.enable`` (``all``, ``primaries``, ``replicas``, ``none``); the index setting wins.
- **Shards per node** (``ShardsLimitAllocationDecider``): ``index.routing.allocation.total_shards_per_node`` and
  ``cluster.routing.allocation.total_shards_per_node`` (-1: no limit).

A primary whose only in-sync copies are on filtered-out nodes still comes back there (ES force-allocates an
existing primary past the filters): filters never make data unavailable.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping

from cluster.state import ClusterState, IndexMeta, NodeInfo

__all__ = ["Deciders"]

_KINDS = ("require", "include", "exclude")
_HOST_KEYS = ("_host", "_ip", "_publish_ip", "_host_ip", "_bind_ip")


def _filters(settings: Mapping[str, object], prefix: str) -> dict[str, dict[str, list[str]]]:
    """``{"require": {attr: [patterns]}, ...}`` from flat settings under ``prefix``."""
    out: dict[str, dict[str, list[str]]] = {kind: {} for kind in _KINDS}
    for key, value in settings.items():
        if not key.startswith(prefix) or value is None:
            continue
        kind, _, attr = key[len(prefix):].partition(".")
        if kind in _KINDS and attr:
            patterns = [p.strip() for p in str(value).split(",") if p.strip()]
            if patterns:
                out[kind][attr] = patterns
    return out


def _value(node: NodeInfo, attr: str) -> str | None:
    if attr == "_name":
        return node.name
    if attr == "_id":
        return node.id
    if attr in _HOST_KEYS:
        return node.transport_address.rpartition(":")[0] or None
    return node.attributes.get(attr)


def _matches(node: NodeInfo, attr: str, patterns: list[str]) -> bool:
    value = _value(node, attr)
    return value is not None and any(fnmatch.fnmatchcase(value, p) for p in patterns)


def _allowed(node: NodeInfo, filters: dict[str, dict[str, list[str]]]) -> bool:
    if any(not _matches(node, attr, pats) for attr, pats in filters["require"].items()):
        return False
    include = filters["include"]
    if include and not any(_matches(node, attr, pats) for attr, pats in include.items()):
        return False
    return not any(_matches(node, attr, pats) for attr, pats in filters["exclude"].items())


class Deciders:
    """The decisions of one state (cluster settings read once, index settings per index)."""

    def __init__(self, state: ClusterState) -> None:
        self.state = state
        self.cluster_settings = {**state.persistent, **state.transient}
        self._cluster_filters = _filters(self.cluster_settings, "cluster.routing.allocation.")
        self._cluster_filtered = any(self._cluster_filters.values())
        self._index_filters: dict[str, dict[str, dict[str, list[str]]]] = {}
        self._verdicts: dict[tuple[str, str], bool] = {}

    def _setting(self, meta: IndexMeta | None, index_key: str, cluster_key: str, default: str) -> str:
        if meta is not None and meta.setting(index_key) is not None:
            return str(meta.setting(index_key))
        value = self.cluster_settings.get(cluster_key)
        return default if value is None else str(value)

    def can_remain(self, meta: IndexMeta, node_id: str) -> bool:
        """Whether the filters let a copy of ``meta`` stay on (or go to) ``node_id``."""
        node = self.state.nodes.get(node_id)
        if node is None:
            return False
        index_filters = self._index_filters.get(meta.uuid)
        if index_filters is None:
            index_filters = self._index_filters[meta.uuid] = _filters(meta.settings, "index.routing.allocation.")
        if not self._cluster_filtered and not any(index_filters.values()):
            return True  # the common case: no filter anywhere
        key = (meta.uuid, node_id)
        if key not in self._verdicts:
            self._verdicts[key] = _allowed(node, self._cluster_filters) and _allowed(node, index_filters)
        return self._verdicts[key]

    def can_allocate(self, meta: IndexMeta, node_id: str, index_copies_on_node: int, copies_on_node: int) -> bool:
        """Filters, then the shards-per-node limits (counts before this copy is added)."""
        if not self.can_remain(meta, node_id):
            return False
        per_index = int(self._setting(meta, "index.routing.allocation.total_shards_per_node", "", "-1") or -1)
        if 0 <= per_index <= index_copies_on_node:
            return False
        total = int(self._setting(None, "", "cluster.routing.allocation.total_shards_per_node", "-1") or -1)
        return not 0 <= total <= copies_on_node

    def allocation_enabled(self, meta: IndexMeta, *, primary: bool, new: bool) -> bool:
        mode = self._setting(meta, "index.routing.allocation.enable", "cluster.routing.allocation.enable", "all")
        if mode == "all":
            return True
        if mode == "primaries":
            return primary
        if mode == "new_primaries":
            return primary and new
        return False

    def rebalance_enabled(self, meta: IndexMeta, *, primary: bool) -> bool:
        mode = self._setting(meta, "index.routing.rebalance.enable", "cluster.routing.rebalance.enable", "all")
        return mode == "all" or (mode == "primaries" and primary) or (mode == "replicas" and not primary)
