"""Parent pipelines: a value added to each bucket of the enclosing multi-bucket aggregation
(``derivative``, ``cumulative_sum``, ``cumulative_cardinality``, ``serial_diff``, ``moving_fn``,
``bucket_script``), or the buckets selected (``bucket_selector``) or reordered and cut (``bucket_sort``).

Each function takes the ``(keyed_as, bucket)`` entries of the parent's rendered buckets in order and
returns the entries to keep; a value is written into the bucket under the pipeline's name, and a bucket
the pipeline has no value for gets no entry (as in ES).
"""

from __future__ import annotations

import copy
import math
from collections import deque
from collections.abc import Callable
from typing import Any

from native.aggs.pipeline.paths import AggregationExecution, path_strings, resolve_bucket_value
from native.aggs.pipeline.sibling import value_with_string
from native.aggs.pipeline.spec import PipelineSpec
from native.aggs.spec import AggNode
from native.painless import RuntimeScriptError

Entry = tuple[str | None, dict[str, Any]]


def _put(bucket: dict[str, Any], node: AggNode, value: dict[str, Any]) -> None:
    bucket[node.name] = {"meta": node.meta, **value} if node.meta is not None else value


def _values(agg: AggNode, node: AggNode, entries: list[Entry], path: str, gap: str) -> list[float | None]:
    steps = path_strings(path)
    return [resolve_bucket_value(agg.children, bucket, steps, gap, agg.name) for _, bucket in entries]


def derivative(agg: AggNode, node: AggNode, entries: list[Entry], partial: Any) -> list[Entry]:
    spec: PipelineSpec = node.params
    last_key: float | None = None
    last_value: float | None = None
    for (_, bucket), value in zip(entries, _values(agg, node, entries, spec.path, spec.gap_policy), strict=True):
        key = _key_number(bucket)
        if last_value is not None and value is not None:
            gradient = value - last_value
            out = value_with_string(gradient, spec.format)
            if spec.unit_ms is not None and key is not None and last_key is not None:
                factor = (key - last_key) / spec.unit_ms
                if factor > 0:
                    out.update(value_with_string(gradient / factor, spec.format, "normalized_value"))
            _put(bucket, node, out)
        last_key, last_value = key, value
    return entries


def _key_number(bucket: dict[str, Any]) -> float | None:
    key = bucket.get("key")
    return float(key) if isinstance(key, int | float) and not isinstance(key, bool) else None


def cumulative_sum(agg: AggNode, node: AggNode, entries: list[Entry], partial: Any) -> list[Entry]:
    spec: PipelineSpec = node.params
    total = 0.0
    for (_, bucket), value in zip(entries, _values(agg, node, entries, spec.path, "insert_zeros"), strict=True):
        if value is not None and math.isfinite(value):
            total += value
        _put(bucket, node, value_with_string(total, spec.format))
    return entries


def serial_diff(agg: AggNode, node: AggNode, entries: list[Entry], partial: Any) -> list[Entry]:
    spec: PipelineSpec = node.params
    window: deque[float] = deque(maxlen=spec.lag)
    for counter, ((_, bucket), value) in enumerate(
        zip(entries, _values(agg, node, entries, spec.path, spec.gap_policy), strict=True), 1
    ):
        this = math.nan if value is None else value
        lagged = window[0] if counter > spec.lag else math.nan
        if not math.isnan(this) and not math.isnan(lagged):
            _put(bucket, node, value_with_string(this - lagged, spec.format))
        window.append(this)
    return entries


def moving_fn(agg: AggNode, node: AggNode, entries: list[Entry], partial: Any) -> list[Entry]:
    spec: PipelineSpec = node.params
    resolved = _values(agg, node, entries, spec.path, spec.gap_policy)
    values = [v for v in resolved if v is not None and not math.isnan(v)]
    index = 0
    for (_, bucket), value in zip(entries, resolved, strict=True):
        if value is None or math.isnan(value):
            continue
        start = min(max(index - spec.window + spec.shift, 0), len(values))
        end = min(max(index + spec.shift, 0), len(values))
        result = spec.script.run({"params": dict(spec.script.params), "values": values[start:end]})
        _put(bucket, node, value_with_string(_as_double(node, result, spec.script.source), spec.format))
        index += 1
    return entries


def _as_double(node: AggNode, result: Any, source: str) -> float:
    if isinstance(result, bool) or not isinstance(result, int | float):
        raise RuntimeScriptError(f"cannot cast [{type(result).__name__}] to [double]", source=source)
    return float(result)


def _script_vars(agg: AggNode, node: AggNode, bucket: dict[str, Any], skip_gaps: bool) -> dict[str, Any] | None:
    spec: PipelineSpec = node.params
    variables: dict[str, Any] = dict(spec.script.params)
    for name, path in spec.paths:
        value = resolve_bucket_value(agg.children, bucket, path_strings(path), spec.gap_policy, agg.name)
        if skip_gaps and spec.gap_policy == "skip" and (value is None or math.isnan(value)):
            return None
        variables[name] = value
    return variables


def bucket_script(agg: AggNode, node: AggNode, entries: list[Entry], partial: Any) -> list[Entry]:
    spec: PipelineSpec = node.params
    for _, bucket in entries:
        variables = _script_vars(agg, node, bucket, skip_gaps=True)
        if variables is None:
            continue
        result = spec.script.run({"params": variables})
        if result is None:
            continue
        if isinstance(result, bool) or not isinstance(result, int | float):
            raise AggregationExecution(f"series_arithmetic script for reducer [{node.name}] must return a Number")
        _put(bucket, node, value_with_string(float(result), spec.format))
    return entries


def bucket_selector(agg: AggNode, node: AggNode, entries: list[Entry], partial: Any) -> list[Entry]:
    spec: PipelineSpec = node.params
    kept: list[Entry] = []
    for entry in entries:
        variables = _script_vars(agg, node, entry[1], skip_gaps=False)
        assert variables is not None
        result = spec.script.run({"params": variables})
        if not isinstance(result, bool):
            raise RuntimeScriptError(
                f"cannot cast [{type(result).__name__}] to [boolean]: bucket_selector [{node.name}] must return a "
                "boolean",
                source=spec.script.source,
            )
        if result:
            kept.append(entry)
    return kept


def bucket_sort(agg: AggNode, node: AggNode, entries: list[Entry], partial: Any) -> list[Entry]:
    spec: PipelineSpec = node.params
    end = len(entries) if spec.size is None else spec.from_ + spec.size
    if not spec.sort:
        return entries[spec.from_ : end]
    keyed: list[tuple[list[Any], int, Entry]] = []
    for position, entry in enumerate(entries):
        values: list[Any] = []
        for field in spec.sort:
            if field.path == "_key":
                values.append(entry[1].get("key", entry[0]))
                continue
            value = resolve_bucket_value(agg.children, entry[1], path_strings(field.path), spec.gap_policy, agg.name)
            skippable = spec.gap_policy != "insert_zeros"
            values.append(None if value is None or (skippable and math.isnan(value)) else value)
        if all(v is None for v in values):
            continue  # every sort value is a gap: ES drops the bucket
        keyed.append((values, position, entry))

    def key(item: tuple[list[Any], int, Entry]) -> tuple[Any, ...]:
        parts: list[Any] = []
        for field, value in zip(spec.sort, item[0], strict=True):
            if value is None:
                parts.append((1, 0))
            elif isinstance(value, int | float):
                parts.append((0, value if field.asc else -value))
            else:
                parts.append((0, _Ordered(value, field.asc)))
        parts.append(item[1])
        return tuple(parts)

    keyed.sort(key=key)
    return [entry for _, _, entry in keyed][spec.from_ : end]


class _Ordered:
    __slots__ = ("asc", "value")

    def __init__(self, value: Any, asc: bool) -> None:
        self.value, self.asc = value, asc

    def __lt__(self, other: _Ordered) -> bool:
        return bool(self.value < other.value) if self.asc else bool(other.value < self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Ordered) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)


def cumulative_cardinality(agg: AggNode, node: AggNode, entries: list[Entry], partial: Any) -> list[Entry]:
    """Union of the cardinality sketches of this and every earlier bucket (needs the merged partials)."""
    from native.aggs.partials import kind_of

    spec: PipelineSpec = node.params
    steps = path_strings(spec.path)
    card = next((c for c in agg.children if c.name == steps[0]), None)
    if card is None or card.kind != "cardinality" or len(steps) > 2 or (len(steps) == 2 and steps[1] != "value"):
        raise AggregationExecution(
            f"buckets_path must reference a cardinality aggregation, got: [{spec.path}] for aggregation [{node.name}]"
        )
    kind = kind_of(card)
    by_key: dict[float, Any] = {}
    for row in (partial or {}).get("b", []) if isinstance(partial, dict) else []:
        key, _, subs = row
        if isinstance(subs, dict) and subs.get(card.name) is not None:
            by_key[float(key)] = subs[card.name]
    acc: Any = None
    for _, bucket in entries:
        key = _key_number(bucket)
        sketch = by_key.get(key) if key is not None else None
        if sketch is not None:
            sketch = copy.deepcopy(sketch)
            acc = sketch if acc is None else kind.merge(card, acc, sketch)
        value = 0 if acc is None else int(kind.finalize(card, copy.deepcopy(acc)).get("value") or 0)
        out: dict[str, Any] = {"value": value}
        if spec.format:
            out.update(value_with_string(float(value), spec.format))
            out["value"] = value
        _put(bucket, node, out)
    return entries


PARENT_FUNCTIONS: dict[str, Callable[[AggNode, AggNode, list[Entry], Any], list[Entry]]] = {
    "derivative": derivative,
    "cumulative_sum": cumulative_sum,
    "cumulative_cardinality": cumulative_cardinality,
    "serial_diff": serial_diff,
    "moving_fn": moving_fn,
    "bucket_script": bucket_script,
    "bucket_selector": bucket_selector,
    "bucket_sort": bucket_sort,
}
