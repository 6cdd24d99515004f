"""Sibling pipelines: ``avg/max/min/sum/stats/extended_stats/percentiles_bucket`` over the buckets of a
sibling multi-bucket aggregation (ES's ``BucketMetricsPipelineAggregator``)."""

from __future__ import annotations

import math
from typing import Any

from native.aggs.number_format import format_number
from native.aggs.pipeline.paths import PathElement, bucket_key_string, parse_path, resolve_bucket_value
from native.aggs.pipeline.spec import SINGLE_BUCKET_KINDS, PipelineSpec, is_multi_bucket
from native.aggs.spec import AggNode
from native.painless.interpreter import java_string


def sibling_result(node: AggNode, level: tuple[AggNode, ...], rendered_level: dict[str, Any]) -> dict[str, Any]:
    spec: PipelineSpec = node.params
    collected: list[tuple[str, float]] = []
    found = _multi_bucket_target(level, rendered_level, parse_path(spec.path))
    if found is not None:
        target, rendered, rest = found
        buckets = rendered.get("buckets") or []
        items = buckets.items() if isinstance(buckets, dict) else ((None, b) for b in buckets)
        for keyed_as, bucket in items:
            value = resolve_bucket_value(target.children, bucket, rest, spec.gap_policy, target.name)
            if value is not None and not math.isnan(value):
                collected.append((bucket_key_string(bucket, keyed_as), value))
    return _RESULTS[node.kind](spec, collected)


def _multi_bucket_target(
    level: tuple[AggNode, ...], rendered_level: dict[str, Any], path: tuple[PathElement, ...]
) -> tuple[AggNode, dict[str, Any], list[str]] | None:
    """The multi-bucket aggregation a sibling path names, digging through single-bucket aggregations and
    through ``multi['key']`` buckets (as ES does), with the path left to resolve in each of its buckets."""
    element = path[0]
    target = next(n for n in level if n.name == element.name)
    rendered: Any = rendered_level.get(element.name)
    pos = 1
    while isinstance(rendered, dict) and pos < len(path):
        if is_multi_bucket(target.kind) and element.bracketed:
            bucket = _bucket_by_key(rendered, element.key or "")
            if bucket is None:
                return None
            scope: dict[str, Any] = bucket
        elif target.kind in SINGLE_BUCKET_KINDS and target.children:
            scope = rendered
        else:
            break
        element = path[pos]
        pos += 1
        sub = next((c for c in target.children if c.name == element.name), None)
        if sub is None:
            return None
        target, rendered = sub, scope.get(element.name)
    if not isinstance(rendered, dict) or "buckets" not in rendered:
        return None
    rest = [] if element.key is None or element.bracketed else [element.key]
    for later in path[pos:]:
        rest.extend(later.strings())
    return target, rendered, rest


def _bucket_by_key(rendered: dict[str, Any], key: str) -> dict[str, Any] | None:
    if len(key) >= 2 and key[0] == key[-1] and key[0] in "'\"":
        key = key[1:-1]
    buckets = rendered.get("buckets") or []
    items = buckets.items() if isinstance(buckets, dict) else ((None, b) for b in buckets)
    for keyed_as, bucket in items:
        if bucket_key_string(bucket, keyed_as) == key:
            return bucket  # type: ignore[no-any-return]
    return None


def value_with_string(value: float, fmt: str | None, key: str = "value") -> dict[str, Any]:
    has_value = math.isfinite(value)
    out: dict[str, Any] = {key: value if has_value else None}
    if has_value and fmt:
        out[f"{key}_as_string"] = format_number(value, fmt)
    return out


def _extreme(spec: PipelineSpec, collected: list[tuple[str, float]], pick_max: bool) -> dict[str, Any]:
    best = -math.inf if pick_max else math.inf
    keys: list[str] = []
    for key, value in collected:
        if (value > best) if pick_max else (value < best):
            best, keys = value, [key]
        elif value == best:
            keys.append(key)
    return {**value_with_string(best, spec.format), "keys": keys}


def _avg(spec: PipelineSpec, collected: list[tuple[str, float]]) -> dict[str, Any]:
    total = 0.0
    for _, value in collected:
        total += value
    return value_with_string(total / len(collected) if collected else math.nan, spec.format)


def _sum(spec: PipelineSpec, collected: list[tuple[str, float]]) -> dict[str, Any]:
    total = 0.0
    for _, value in collected:
        total += value
    return value_with_string(total, spec.format)


def _stats(spec: PipelineSpec, collected: list[tuple[str, float]]) -> dict[str, Any]:
    count = len(collected)
    total = 0.0
    for _, value in collected:
        total += value
    if not count:
        return {"count": 0, "min": None, "max": None, "avg": None, "sum": 0.0}
    values = [v for _, v in collected]
    out: dict[str, Any] = {"count": count, "min": min(values), "max": max(values), "avg": total / count, "sum": total}
    if spec.format:
        for key in ("min", "max", "avg", "sum"):
            out[f"{key}_as_string"] = format_number(out[key], spec.format)
    return out


def _extended_stats(spec: PipelineSpec, collected: list[tuple[str, float]]) -> dict[str, Any]:
    from native.aggs.metrics import _extended

    out = _stats(spec, collected)
    count = len(collected)
    squares = 0.0
    for _, value in collected:
        squares += value * value
    extended = _extended(spec.sigma, count, out["sum"], squares, out["avg"])
    out.update(extended)
    if spec.format and count:
        for key, value in extended.items():
            if isinstance(value, float):
                out[f"{key}_as_string"] = format_number(value, spec.format)
        bounds = extended.get("std_deviation_bounds") or {}
        out["std_deviation_bounds_as_string"] = {
            k: format_number(v, spec.format) for k, v in bounds.items() if isinstance(v, float)
        }
    return out


def _percentiles(spec: PipelineSpec, collected: list[tuple[str, float]]) -> dict[str, Any]:
    values = sorted(v for _, v in collected)
    results: list[tuple[float, float]] = []
    for percent in spec.percents:
        if not values:
            results.append((percent, math.nan))
            continue
        index = math.floor(percent / 100.0 * (len(values) - 1) + 0.5)
        results.append((percent, values[index]))
    if spec.keyed:
        keyed: dict[str, Any] = {}
        for percent, value in results:
            key = java_string(float(percent))
            keyed.update({key if k == "value" else f"{key}_as_string": v
                          for k, v in value_with_string(value, spec.format).items()})  # fmt: skip
        return {"values": keyed}
    listed = []
    for percent, value in results:
        entry: dict[str, Any] = {"key": percent, "value": value if math.isfinite(value) else None}
        if math.isfinite(value) and spec.format:
            entry[f"{java_string(float(percent))}_as_string"] = format_number(value, spec.format)
        listed.append(entry)
    return {"values": listed}


_RESULTS: dict[str, Any] = {
    "max_bucket": lambda spec, c: _extreme(spec, c, True),
    "min_bucket": lambda spec, c: _extreme(spec, c, False),
    "avg_bucket": _avg,
    "sum_bucket": _sum,
    "stats_bucket": _stats,
    "extended_stats_bucket": _extended_stats,
    "percentiles_bucket": _percentiles,
}
