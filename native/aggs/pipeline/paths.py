"""``buckets_path``: parsing (ES's ``AggregationPath``) and resolving a path against rendered buckets.

Syntax: ``agg>agg>metric``, the last element optionally ``name.key`` or ``name[key]`` (``stats.max``,
``pct[99.9]``, ``avg.value``), any element ``name[key]``; the special names ``_count``, ``_key`` and
``_bucket_count``, and ``multi['bucket key']`` to pick one bucket of a multi-bucket aggregation. The
resolution walks the finalized (rendered) response of one bucket the way ES's ``getProperty`` walks its
internal aggregations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from native.aggs.pipeline.spec import SINGLE_BUCKET_KINDS, is_multi_bucket
from native.aggs.spec import AggNode
from native.errors import AggregationExecution, IllegalArgument

MULTI_VALUE_KEYS = {"count", "min", "max", "avg", "sum"}



class InvalidPath(Exception):
    """A path that does not lead anywhere in one bucket: ES treats the bucket's value as absent (null)."""


@dataclass(frozen=True)
class PathElement:
    name: str
    key: str | None
    bracketed: bool = False  # written ``name[key]`` (a bucket key of a multi-bucket aggregation)

    def strings(self) -> list[str]:
        return [self.name] if self.key is None else [self.name, self.key]


def parse_path(path: str) -> tuple[PathElement, ...]:
    elements = [e.strip() for e in path.split(">") if e.strip()]
    out: list[PathElement] = []
    for i, element in enumerate(elements):
        index = element.rfind("[")
        if index >= 0:
            if index == 0 or index > len(element) - 3 or not element.endswith("]"):
                raise AggregationExecution(f"Invalid path element [{element}] in path [{path}]")
            out.append(PathElement(element[:index], element[index + 1 : -1], True))
            continue
        if i == len(elements) - 1:
            index = element.rfind(".")
            if index >= 0:
                if index == 0 or index > len(element) - 2:
                    raise AggregationExecution(f"Invalid path element [{element}] in path [{path}]")
                out.append(PathElement(element[:index], element[index + 1 :]))
                continue
        out.append(PathElement(element, None))
    if not out:
        raise AggregationExecution(f"Invalid path [{path}]")
    return tuple(out)


def path_strings(path: str) -> list[str]:
    """ES's ``getPathElementsAsStringList``: names, each followed by its key when it has one."""
    out: list[str] = []
    for element in parse_path(path):
        out.extend(element.strings())
    return out


# -- values of rendered aggregations ---------------------------------------------------------------


@dataclass(frozen=True)
class AggValue:
    """A whole aggregation reached by a path (not a number): kept to report what it was."""

    node: AggNode
    rendered: Any


class ObjectArray:
    """What a path through a multi-bucket aggregation yields in ES: one property per bucket."""


def class_name(node: AggNode, rendered: Any) -> str:
    if node.kind == "terms":
        keys = [b.get("key") for b in _buckets(rendered)]
        if keys and all(isinstance(k, str) for k in keys):
            return "StringTerms"
        if keys and any(isinstance(k, float) for k in keys):
            return "DoubleTerms"
        return "LongTerms"
    return "Internal" + "".join(part.capitalize() for part in node.kind.split("_"))


def _buckets(rendered: Any) -> list[dict[str, Any]]:
    buckets = rendered.get("buckets") if isinstance(rendered, dict) else None
    if isinstance(buckets, dict):
        return list(buckets.values())
    return list(buckets or [])


def bucket_key_string(bucket: dict[str, Any], keyed_as: str | None = None) -> str:
    if "key_as_string" in bucket:
        return str(bucket["key_as_string"])
    if keyed_as is not None and "key" not in bucket:
        return keyed_as
    return _java_key(bucket.get("key"))


def _java_key(key: Any) -> str:
    from native.painless.interpreter import java_string

    return java_string(key)


def bucket_property(children: tuple[AggNode, ...], bucket: dict[str, Any], path: list[str], owner: str) -> Any:
    """ES's ``InternalBucket.getProperty``: ``path`` walked from one bucket."""
    if not path:
        return bucket
    head = path[0]
    if head == "_count":
        if len(path) > 1:
            raise InvalidPath("_count must be the last element in the path")
        return bucket.get("doc_count", 0)
    if head == "_key":
        if len(path) > 1:
            raise InvalidPath("_key must be the last element in the path")
        return bucket.get("key")
    node = next((c for c in children if c.name == head), None)
    if node is None or head not in bucket:
        raise InvalidPath(f"Cannot find an aggregation named [{head}] in [{owner}]")
    return agg_property(node, bucket[head], path[1:])


def agg_property(node: AggNode, rendered: Any, path: list[str]) -> Any:
    if not path:
        return AggValue(node, rendered)
    if is_multi_bucket(node.kind) or (isinstance(rendered, dict) and "buckets" in rendered):
        head = path[0]
        buckets = rendered.get("buckets") if isinstance(rendered, dict) else None
        if head == "_bucket_count":
            return len(buckets or [])
        if len(head) >= 2 and head.startswith("'") and head.endswith("'"):
            wanted = head[1:-1]
            items = buckets.items() if isinstance(buckets, dict) else ((None, b) for b in buckets or [])
            for keyed_as, bucket in items:
                if bucket_key_string(bucket, keyed_as) == wanted:
                    return bucket_property(node.children, bucket, path[1:], node.name)
            raise InvalidPath(f"Cannot find an key [{head}] in [{node.name}]")
        return ObjectArray()
    if node.kind in SINGLE_BUCKET_KINDS:
        return bucket_property(node.children, rendered, path, node.name)
    if len(path) != 1:
        raise IllegalArgument(f"path not supported for [{node.name}]: [{', '.join(path)}]")
    return metric_value(node, rendered, path[0])


def is_single_value(node: AggNode, rendered: Any) -> bool:
    return (
        isinstance(rendered, dict)
        and "value" in rendered
        and "values" not in rendered
        and not (MULTI_VALUE_KEYS & rendered.keys())
    )


def is_multi_value(node: AggNode, rendered: Any) -> bool:
    return isinstance(rendered, dict) and ("values" in rendered or bool(MULTI_VALUE_KEYS & rendered.keys()))


def metric_value(node: AggNode, rendered: Any, key: str) -> Any:
    if is_single_value(node, rendered):
        if key in ("value", "normalized_value") and key in rendered:
            return _number(rendered[key])
        raise IllegalArgument(f"path not supported for [{node.name}]: [{key}]")
    if is_multi_value(node, rendered):
        values = rendered.get("values")
        if values is not None or "values" in rendered:
            return _percentile(node, values, key)
        bounds = rendered.get("std_deviation_bounds") or {}
        if key.startswith("std_") and key not in rendered:
            bound = {"std_upper": "upper", "std_lower": "lower"}.get(key, key[4:])
            if bound in bounds:
                return _number(bounds[bound])
        if key in rendered and not isinstance(rendered[key], dict | list):
            return _number(rendered[key])
        raise IllegalArgument(f"Unknown value [{key}] in [{node.name}]")
    raise IllegalArgument(f"path not supported for [{node.name}]: [{key}]")


def _percentile(node: AggNode, values: Any, key: str) -> float:
    try:
        wanted = float(key)
    except ValueError:
        raise IllegalArgument(f"path not supported for [{node.name}]: [{key}]") from None
    items: list[tuple[Any, Any]]
    if isinstance(values, dict):
        items = [(k, v) for k, v in values.items() if not k.endswith("_as_string")]
    else:
        items = [(item.get("key"), item.get("value")) for item in values or []]
    for k, v in items:
        if float(k) == wanted:
            return _number(v)
    available = ", ".join(str(k) for k, _ in items)
    raise IllegalArgument(f"Find percentile [{wanted}] but only [{available}] are available in [{node.name}]")


def _number(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, str):
        return {"Infinity": math.inf, "-Infinity": -math.inf}.get(value, math.nan)
    return float(value)


# -- the value of one bucket under a gap policy ---------------------------------------------------


_MULTI_MSG = (
    "buckets_path must reference either a number value or a single value numeric metric aggregation, but [{}] "
    "contains multiple values. Please specify which to use."
)


def resolve_bucket_value(
    children: tuple[AggNode, ...], bucket: dict[str, Any], path: list[str], gap_policy: str, owner: str
) -> float | None:
    """ES's ``BucketHelpers.resolveBucketValue``: a number, NaN for a gap to skip, None for no such path."""
    try:
        prop = bucket_property(children, bucket, path, owner)
    except InvalidPath:
        return None
    if isinstance(prop, bool) or not isinstance(prop, int | float):
        if isinstance(prop, AggValue) and is_single_value(prop.node, prop.rendered):
            value = _number(prop.rendered.get("value"))
        else:
            raise _resolution_error(path, owner, prop)
    else:
        value = float(prop)
    is_doc_count = len(path) == 1 and path[0] == "_count"
    if math.isinf(value) or math.isnan(value) or (bucket.get("doc_count", 0) == 0 and not is_doc_count):
        if gap_policy == "insert_zeros":
            return 0.0
        if gap_policy == "keep_values" and math.isfinite(value):
            return value
        return math.nan
    return value


def _resolution_error(path: list[str], owner: str, prop: Any) -> AggregationExecution:
    current = path[0] if path else owner
    if isinstance(prop, AggValue) and is_multi_value(prop.node, prop.rendered):
        return AggregationExecution(_MULTI_MSG.format(current))
    if isinstance(prop, AggValue):
        kind = class_name(prop.node, prop.rendered)
    elif isinstance(prop, ObjectArray):
        kind = "Object[]"
    elif isinstance(prop, str):
        kind = "String"
    elif isinstance(prop, dict):
        kind = "InternalBucket"
    else:
        kind = type(prop).__name__
    return AggregationExecution(
        "buckets_path must reference either a number value or a single value numeric metric aggregation, "
        f"got: [{kind}] at aggregation [{current}]"
    )
