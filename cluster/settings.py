"""Index settings: ES's three input shapes normalised to one flat map of strings, and back."""

from __future__ import annotations

import re
from collections.abc import Mapping as MappingABC
from typing import Any

from native.aggs.buckets import DEFAULT_MAX_BUCKETS
from native.errors import IllegalArgument
from native.mapping_limits import validate_limit_settings

DEFAULTS = {"index.number_of_shards": "1", "index.number_of_replicas": "1"}
STATIC = frozenset({"index.number_of_shards", "index.analysis", "index.routing_partition_size"})
# ES's ``Property.Final`` index settings: fixed at creation, open or closed
FINAL = frozenset({"index.number_of_shards", "index.number_of_routing_shards", "index.routing_partition_size",
                   "index.soft_deletes.enabled", "index.mode"})  # fmt: skip
# ES's ``Property.PrivateIndex`` settings, managed by the server
PRIVATE = frozenset({"index.uuid", "index.creation_date", "index.version.created", "index.provided_name"})
# static (non-dynamic) settings: updatable on a closed index only (or with ``reopen``)
_STATIC_KEYS = frozenset({"index.codec", "index.shard.check_on_startup", "index.store.type",
                          "index.load_fixed_bitset_filters_eagerly", "index.mapping.source.mode"})  # fmt: skip
_STATIC_PREFIXES = ("index.analysis.", "index.similarity.")


def is_final_setting(key: str) -> bool:
    return key in FINAL or key.startswith("index.sort.")


def is_static_setting(key: str) -> bool:
    """A non-dynamic index setting that is not final: it changes only while the index is closed."""
    return key in _STATIC_KEYS or key.startswith(_STATIC_PREFIXES)
MAX_SHARDS = 1024


def flatten_settings(settings: MappingABC[str, Any] | None) -> dict[str, Any]:
    """``{"index": {"number_of_shards": 3}}``, ``{"number_of_shards": 3}`` → ``{"index.number_of_shards": "3"}``."""
    out: dict[str, Any] = {}
    stack: list[tuple[str, Any]] = [("", settings or {})]
    while stack:
        prefix, value = stack.pop()
        if isinstance(value, dict):
            for key, child in value.items():
                stack.append((f"{prefix}{key}.", child))
            continue
        key = prefix[:-1]
        if not key.startswith("index."):
            key = "index." + key
        if isinstance(value, list):
            out[key] = [_stringify(v) for v in value]
        else:
            out[key] = None if value is None else _stringify(value)
    return out


def _stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def nest_settings(flat: MappingABC[str, Any], prefix: str = "") -> dict[str, Any]:
    """The nested form ``GET _settings`` returns (values stay strings)."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if prefix and not key.startswith(prefix):
            continue
        parts = key[len(prefix) :].split(".") if prefix else key.split(".")
        node = out
        for part in parts[:-1]:
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                nxt = node[part] = {"": nxt}
            node = nxt
        node[parts[-1]] = value
    return out


def validate_settings(flat: MappingABC[str, Any]) -> None:
    shards = flat.get("index.number_of_shards")
    if shards is not None:
        try:
            count = int(shards)
        except (ValueError, TypeError, OverflowError):
            raise IllegalArgument(f"Failed to parse value [{shards}] for setting [index.number_of_shards]") from None
        if not 1 <= count <= MAX_SHARDS:
            raise IllegalArgument(
                f"Failed to parse value [{count}] for setting [index.number_of_shards] must be >= 1"
                if count < 1
                else f"Failed to parse value [{count}] for setting [index.number_of_shards] must be <= {MAX_SHARDS}"
            )
    replicas = flat.get("index.number_of_replicas")
    if replicas is not None:
        try:
            if not isinstance(replicas, int | str) or int(replicas) < 0:
                raise ValueError
        except ValueError:
            raise IllegalArgument(
                f"Failed to parse value [{replicas}] for setting [index.number_of_replicas] must be >= 0"
            ) from None
    if any(flat.get(k) is not None for k in ("index.translog.retention.age", "index.translog.retention.size")):
        raise IllegalArgument("Translog retention settings [index.translog.retention.age] and "
                              "[index.translog.retention.size] are no longer supported. Please do not specify values "
                              "for these settings")  # fmt: skip
    window = flat.get("index.max_result_window")
    if window is not None and not str(window).isdigit():
        raise IllegalArgument(f"Failed to parse value [{window}] for setting [index.max_result_window]")
    validate_limit_settings(flat)


def analysis_settings(flat: MappingABC[str, Any]) -> dict[str, Any]:
    nested = nest_settings({k: v for k, v in flat.items() if k.startswith("index.analysis.")}, "index.analysis.")
    return nested


# Cluster-level settings (``PUT _cluster/settings``): any key under these prefixes is accepted and stored;
# Quidditch acts on a few (``action.auto_create_index``), the rest are kept so tools can read them back.
CLUSTER_SETTING_PREFIXES = (
    "action.", "cluster.", "indices.", "search.", "logger.", "xpack.", "ingest.", "network.", "transport.",
    "http.", "script.", "thread_pool.", "discovery.", "gateway.", "node.", "persistent_tasks.", "snapshot.",
    "repositories.", "health.", "data_streams.", "stack.", "time_series.", "esql.", "slm.", "ilm.", "migrate.",
)  # fmt: skip


# Integer cluster settings Quidditch acts on, with ES's minimum: (``search.max_buckets`` is read by every
# search, ``cluster.max_shards_per_node`` by index create/open and replica changes).
INT_CLUSTER_SETTINGS = {"search.max_buckets": 0, "cluster.max_shards_per_node": 1}
BOOL_CLUSTER_SETTINGS = frozenset(
    {"search.allow_expensive_queries", "cluster.routing.allocation.disk.threshold_enabled"}
)


def _check_int_setting(key: str, value: Any, minimum: int) -> None:
    try:
        number = int(str(value))
    except ValueError:
        raise IllegalArgument(f"Failed to parse value [{value}] for setting [{key}]") from None
    if number < minimum:
        raise IllegalArgument(f"Failed to parse value [{value}] for setting [{key}] must be >= {minimum}")
    if number > 2**31 - 1:
        raise IllegalArgument(f"Failed to parse value [{value}] for setting [{key}] must be <= {2**31 - 1}")


def allow_expensive_queries_of(state: Any) -> bool:
    """``search.allow_expensive_queries`` of a ``ClusterState`` (transient over persistent, default true)."""
    value = state.transient.get("search.allow_expensive_queries",
                                state.persistent.get("search.allow_expensive_queries"))  # fmt: skip
    return value is None or str(value).lower() != "false"


def max_buckets_of(state: Any) -> int:
    """``search.max_buckets`` of a ``ClusterState`` (transient over persistent over the default)."""
    value = state.transient.get("search.max_buckets", state.persistent.get("search.max_buckets"))
    return DEFAULT_MAX_BUCKETS if value is None else int(value)


def flatten_cluster_settings(settings: MappingABC[str, Any] | None) -> dict[str, Any]:
    """Like :func:`flatten_settings` but without the ``index.`` prefix (cluster keys are global)."""
    out: dict[str, Any] = {}
    stack: list[tuple[str, Any]] = [("", settings or {})]
    while stack:
        prefix, value = stack.pop()
        if isinstance(value, dict):
            for key, child in value.items():
                stack.append((f"{prefix}{key}.", child))
            continue
        key = prefix[:-1]
        if isinstance(value, list):
            out[key] = [_stringify(v) for v in value]
        else:
            out[key] = None if value is None else _stringify(value)
    return out


def update_cluster_settings(
    current: MappingABC[str, Any], update: MappingABC[str, Any] | None, scope: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(new settings, accepted update)``; ``None`` resets a key (``a.b.*`` resets a whole group)."""
    if update is not None and not isinstance(update, dict):
        raise IllegalArgument(f"[{scope}] settings must be an object")
    flat = flatten_cluster_settings(update)
    new = dict(current)
    accepted: dict[str, Any] = {}
    for key, value in sorted(flat.items()):
        if not key.startswith(CLUSTER_SETTING_PREFIXES):
            raise IllegalArgument(f"{scope} setting [{key}], not recognized")
        if value is None:
            if key.endswith("*"):
                new = {k: v for k, v in new.items() if not k.startswith(key[:-1])}
            else:
                new.pop(key, None)
            continue
        if key in INT_CLUSTER_SETTINGS:
            _check_int_setting(key, value, INT_CLUSTER_SETTINGS[key])
        if key in BOOL_CLUSTER_SETTINGS and str(value) not in ("true", "false"):
            raise IllegalArgument(f"Failed to parse value [{value}] as only [true] or [false] are allowed.")
        new[key] = value
        accepted[key] = value
    validate_watermarks(new)
    return new, accepted


# Disk watermarks (``cluster.disk``): ES's names, values and defaults.
_DISK = "cluster.routing.allocation.disk."
DISK_THRESHOLD_ENABLED = _DISK + "threshold_enabled"
FLOOD_STAGE = _DISK + "watermark.flood_stage"
HIGH_WATERMARK = _DISK + "watermark.high"
LOW_WATERMARK = _DISK + "watermark.low"
INFO_UPDATE_INTERVAL = "cluster.info.update.interval"

_DEFAULTS = {FLOOD_STAGE: ("95%", 100 * 1024**3), HIGH_WATERMARK: ("90%", 150 * 1024**3),
             LOW_WATERMARK: ("85%", 200 * 1024**3)}  # fmt: skip
_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4, "pb": 1024**5}
_BYTES = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?b)\s*$", re.IGNORECASE)


def _byte_size(text: str) -> int | None:
    match = _BYTES.match(text)
    if match is None:
        return None
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def min_free_bytes(setting: str, value: str | None, headroom: str | None, total: int) -> int:
    """The free bytes below which the watermark ``setting`` is exceeded on a disk of ``total`` bytes.

    ``value`` is ES's: a used percentage (``95%``), a used ratio (``0.95``) or a free byte size (``500mb``);
    ``headroom`` (``…max_headroom``) caps the free bytes a percentage asks for, by default only while the
    watermark itself is at its default.
    """
    default, default_headroom = _DEFAULTS[setting]
    text = str(value if value is not None else default).strip()
    size = _byte_size(text)
    if size is not None:
        return size
    try:
        ratio = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise IllegalArgument(
            f"failed to parse setting [{setting}] with value [{text}] as a ratio or a byte size"
        ) from None
    if not 0.0 <= ratio <= 1.0:
        raise IllegalArgument(f"failed to parse setting [{setting}] with value [{text}]: out of [0%, 100%]")
    free = round(total * (1.0 - ratio))
    if headroom is not None:
        cap = _byte_size(str(headroom))
        if cap is None and str(headroom).strip() != "-1":
            raise IllegalArgument(f"failed to parse setting [{setting}.max_headroom] with value [{headroom}]")
        return free if cap is None else min(free, cap)
    return min(free, default_headroom) if value is None else free


def validate_watermarks(flat: MappingABC[str, Any]) -> None:
    """Refuse a disk watermark that cannot be read (``PUT _cluster/settings`` checks it before storing)."""
    for setting in (FLOOD_STAGE, HIGH_WATERMARK):
        if setting in flat or setting + ".max_headroom" in flat:
            value, headroom = flat.get(setting), flat.get(setting + ".max_headroom")
            min_free_bytes(setting, None if value is None else str(value),
                           None if headroom is None else str(headroom), 1)  # fmt: skip
