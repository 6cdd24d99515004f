"""The story folders the project tracks, under ``<shared>/compat_cases/opensearch-api-specification/tests/default``.

:data:`DEFAULT_FOLDERS` lists the core-API files and folders an Elasticsearch-compatible server
should serve (documents, bulk, search, count, msearch, scroll, cat, cluster health/settings/state,
indices, mappings, settings, aliases); OpenSearch-only or plugin stories inside them are skipped by
their own gates or by ``compat_tests/opensearch_skips.yaml``.
"""

from __future__ import annotations

from pathlib import Path

from ..yaml_runner.suites import shared_dir

__all__ = ["DEFAULT_FOLDERS", "STORIES", "default_paths", "stories_dir"]

STORIES = "compat_cases/opensearch-api-specification/tests/default"
DEFAULT_FOLDERS: tuple[str, ...] = (
    "_core/alias.yaml",
    "_core/aliases.yaml",
    "_core/bulk.yaml",
    "_core/count.yaml",
    "_core/info.yaml",
    "_core/mapping.yaml",
    "_core/mapping",
    "_core/mget.yaml",
    "_core/msearch.yaml",
    "_core/refresh.yaml",
    "_core/search.yaml",
    "_core/search",
    "_core/settings.yaml",
    "cat",
    "cluster/component_template.yaml",
    "cluster/health.yaml",
    "cluster/settings.yaml",
    "cluster/state.yaml",
    "cluster/stats.yaml",
    "cluster/stats",
    "indices",
)
#: Not selected (outside the core set, or mostly OpenSearch-only): ``_core/{analyze*, dangling,
#: field_caps, list, msearch/template, mtermvectors, rank_eval, recovery, reindex*, remote, render,
#: script*, search_shards, shard_stores, stats, tasks*, template, update_by_query, upgrade,
#: validate}`` and ``cluster/{allocation, nodes, pending_tasks}``.


def stories_dir(shared: Path | None = None) -> Path:
    return (shared if shared is not None else shared_dir()) / STORIES


def default_paths(shared: Path | None = None) -> list[Path]:
    base = stories_dir(shared)
    return [base / entry for entry in DEFAULT_FOLDERS]
