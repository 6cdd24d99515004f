"""The index settings this server knows, and ES's refusal of any other one.

ES registers every index setting (``IndexScopedSettings`` plus those of its modules and x-pack) and refuses an
unregistered key at index creation, in a settings update and in a template: ``unknown setting [index.x]
please check that any required plugins are installed, or check the breaking changes documentation for
removed settings``. The registry below is ES 8's built-in index settings (exact keys and group prefixes such
as ``index.analysis.``), those of the modules and x-pack plugins a default ES distribution ships (ILM, CCR,
tiers, time series, frozen/searchable snapshots, rollups, downsampling) and the plugin namespaces real tools
send to an ES-compatible server: OpenSearch's ``index.opendistro.*`` / ``index.plugins.*`` / ``index.knn*``.
A setting the registry knows but the server does not act on is stored and returned as ES would (its value is
kept, as ES keeps a setting whose effect does not show on one node). ``index.archived.*`` keys (settings ES
archived at upgrade) may only be removed (set to null).
"""

from __future__ import annotations

from collections.abc import Mapping

from native.errors import IllegalArgument

__all__ = ["check_known_settings", "is_known_setting", "unknown_setting_message"]

_KEYS = frozenset("""
number_of_shards number_of_replicas number_of_routing_shards routing_partition_size auto_expand_replicas
uuid creation_date creation_date_string provided_name version.created version.created_string version.upgraded
version.upgraded_string version.compatibility format hidden priority mode routing_path codec
refresh_interval max_result_window max_inner_result_window max_rescore_window max_docvalue_fields_search
max_script_fields max_ngram_diff max_shingle_diff max_refresh_listeners max_slices_per_scroll max_regex_length
max_terms_count max_adjacency_matrix_filters analyze.max_token_count highlight.max_analyzed_offset
highlight.weight_matches_mode.enabled gc_deletes default_pipeline final_pipeline
load_fixed_bitset_filters_eagerly requests.cache.enable queries.cache.enabled
shard.check_on_startup soft_deletes.enabled soft_deletes.retention.operations soft_deletes.retention_lease.period
unassigned.node_left.delayed_timeout verified_before_close write.wait_for_active_shards
query.default_field query.parse.allow_unmapped_fields query_string.lenient
search.idle.after search.throttled frozen flush_after_merge warmer.enabled compound_format
translog.durability translog.sync_interval translog.flush_threshold_size translog.flush_threshold_age
translog.generation_threshold_size translog.retention.age translog.retention.size
mapping.total_fields.limit mapping.total_fields.ignore_dynamic_beyond_limit mapping.depth.limit
mapping.nested_fields.limit mapping.nested_objects.limit mapping.field_name_length.limit
mapping.dimension_fields.limit mapping.coerce mapping.ignore_malformed mapping.ignore_above
mapping.source.mode mapping.synthetic_source_keep mapping.recovery_use_synthetic_source
mapping.ignored_source.enabled mapping.field_name_length.ignore_dynamic_beyond_limit
mapping.array_objects.limit mapping.total_tokens_per_document.limit
allocation.max_retries recovery.type resize.source.name resize.source.uuid shrink.source.name shrink.source.uuid
data_path shadow_replicas shared_filesystem bloom_filter_for_id_field.enabled
dense_vector.hnsw_filter_heuristic dense_vector.hnsw_early_termination
percolator.map_unmapped_fields_as_text indexing_pressure.memory.limit
time_series.start_time time_series.end_time time_series.es87tsdb_codec.enabled look_ahead_time look_back_time
time_series_dimensions_from_doc_values
lifecycle.name lifecycle.rollover_alias lifecycle.indexing_complete lifecycle.origination_date
lifecycle.parse_origination_date lifecycle.step.wait_time_threshold lifecycle.skip lifecycle.prefer_ilm
lifecycle.step_info.max_size
xpack.version xpack.watcher.template.version xpack.ccr.following_index ccr.following_index
downsample.source.uuid downsample.source.name downsample.status downsample.origin.name downsample.origin.uuid
downsample.interval rollup.source.uuid rollup.source.name
frozen.shard_limit blocks.read_only blocks.read_only_allow_delete blocks.read blocks.write blocks.metadata
routing.rebalance.enable routing.allocation.enable routing.allocation.total_shards_per_node
routing.allocation.disk.watermark.ignore
store.type store.preload store.stats_refresh_interval store.fs.fs_lock store.hybrid.mmap.extensions
store.snapshot.snapshot_name store.snapshot.snapshot_uuid store.snapshot.repository_name
store.snapshot.repository_uuid store.snapshot.index_name store.snapshot.index_uuid store.snapshot.partial
store.snapshot.cache.enabled store.snapshot.cache.prewarm.enabled store.snapshot.blob_cache.metadata_files.max_length
store.snapshot.uncached_chunk_size store.snapshot.delete_searchable_snapshot
merge.scheduler.max_thread_count merge.scheduler.max_merge_count merge.scheduler.auto_throttle
merge.policy.type merge.policy.deletes_pct_allowed merge.policy.expunge_deletes_allowed merge.policy.floor_segment
merge.policy.max_merge_at_once merge.policy.max_merge_at_once_explicit merge.policy.max_merged_segment
merge.policy.segments_per_tier merge.policy.merge_factor merge.policy.max_merge_docs merge.policy.min_merge_docs
merge.policy.reclaim_deletes_weight merge.policy.compound_format merge.policy.max_doc_count
merge.policy.merge_on_flush.enabled merge.policy.merge_on_flush.max_full_flush_merge_wait_time
fielddata.cache similarity.default.type
""".split())

_PREFIXES = (
    "analysis.", "similarity.", "sort.", "routing.allocation.include.", "routing.allocation.exclude.",
    "routing.allocation.require.", "routing.allocation.initial_recovery.", "search.slowlog.", "indexing.slowlog.",
    "lifecycle.", "plugins.", "opendistro.", "knn", "ccr.", "shard_limit.", "blocks.", "store.snapshot.",
    "version.", "time_series.", "downsample.", "fleet.",
)  # fmt: skip


def is_known_setting(key: str) -> bool:
    """``key``: a flat ``index.…`` setting key."""
    if not key.startswith("index."):
        return False
    rest = key[len("index.") :]
    return rest in _KEYS or rest.startswith(_PREFIXES)


def _similarity(a: str, b: str) -> float:
    """Lucene's ``LevenshteinDistance``: 1 - edits / the longer length."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return 1 - previous[-1] / max(len(a), len(b), 1)


def unknown_setting_message(key: str) -> str:
    """ES's refusal, with the known keys close to ``key`` (similarity above 0.7) as suggestions."""
    scored = sorted(((_similarity(key, "index." + k), "index." + k) for k in _KEYS), key=lambda s: (-s[0], s[1]))
    close = [k for score, k in scored if score > 0.7]
    if close:
        return f"unknown setting [{key}] did you mean " + (f"[{close[0]}]" if len(close) == 1
                                                          else "any of [" + ", ".join(close) + "]") + "?"  # fmt: skip
    return (f"unknown setting [{key}] please check that any required plugins are installed, or check the breaking "
            "changes documentation for removed settings")  # fmt: skip


def check_known_settings(flat: Mapping[str, object]) -> None:
    """Refuse the first unknown setting of ``flat`` (a ``None`` value removes a setting: an archived setting
    may only be removed)."""
    for key in sorted(flat):
        if key.startswith("index.archived.") and flat[key] is None:
            continue
        if not is_known_setting(key):
            raise IllegalArgument(unknown_setting_message(key))
