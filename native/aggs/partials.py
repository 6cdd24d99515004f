"""Mergeable partial aggregation results and the kind registry.

A *partial* is the per-shard (or partially merged) state of one aggregation node. On the wire a whole
tree of partials is one JSON object ``{agg_name: partial}`` encoded with orjson; each partial is plain
JSON (numbers, strings, lists, dicts), so it travels between processes without pickle. Sketches are
embedded as JSON (t-digest centroids) or base64 text (HyperLogLog registers / exact hash sets).

Every aggregation kind implements the ``AggKind`` contract:

- ``collect(ctx, node, query)`` runs on one shard and returns the node's partial;
- ``empty(node)`` is the partial of a node that saw no documents (used to fill empty buckets);
- ``merge(node, a, b)`` is associative and commutative: merging shard partials in any grouping gives
  the same result, so the root may merge incrementally;
- ``finalize(node, partial)`` renders the ES response object (without ``meta``, which the level adds).

Bucket partials carry their sub-aggregations as a nested ``{name: partial}`` level, merged with
``merge_level`` and rendered with ``finalize_level``.
"""

from __future__ import annotations

import importlib
import json
import math
import threading
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from native.aggs.pipeline import PIPELINE_KINDS, apply_level, has_pipelines

if TYPE_CHECKING:
    import tantivy

    from native.aggs.execute import ShardContext
    from native.aggs.spec import AggNode

Partial = Any
Level = dict[str, Partial]


class AggKind(Protocol):
    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial: ...

    def empty(self, node: AggNode) -> Partial: ...

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial: ...

    def finalize(self, node: AggNode, partial: Partial) -> dict[str, Any]: ...


_REGISTRY_LOCK = threading.Lock()
_REGISTRY: dict[str, AggKind] = {}
# the modules of native.aggs with a KINDS table (kind name -> AggKind), one a line: adding a kind is its
# module plus a line here (and its parser's line in ``parse._PARSERS``)
KIND_MODULES = (
    "adjacency",
    "autodate",
    "composite",
    "filters",
    "geo",
    "geogrid",
    "histograms",
    "ip",
    "mad",
    "matrix",
    "metrics",
    "multi_terms",
    "nested",
    "pipeline",
    "rare_terms",
    "samplers",
    "significant",
    "sketches",
    "terms",
    "top_hits",
    "top_metrics",
    "varwidth",
    "weighted",
)


def kind_of(node: AggNode) -> AggKind:
    if not _REGISTRY:
        _load_kinds()
    return _REGISTRY[node.kind]


def _load_kinds() -> None:
    """Import every kind module (on first use: each imports this one) and publish their kinds at once, so a
    search on another worker thread never sees the registry half filled."""
    with _REGISTRY_LOCK:
        if _REGISTRY:
            return
        kinds: dict[str, AggKind] = {}
        for name in KIND_MODULES:
            kinds.update(importlib.import_module(f"native.aggs.{name}").KINDS)
        _REGISTRY.update(kinds)


def encode(level: Level) -> bytes:
    try:
        return orjson.dumps(level)
    except TypeError as exc:  # orjson nests at most 255 deep; a bucket level costs about four
        if "Recursion limit" not in str(exc):
            raise
        return json.dumps(level, separators=(",", ":")).encode()


def decode(data: bytes) -> Level:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:  # what ``encode``'s deep fallback wrote (NaN stays NaN there)
        value = json.loads(data)
    if not isinstance(value, dict):
        raise ValueError("aggregation partial must be a JSON object")
    return value


def empty_level(nodes: tuple[AggNode, ...]) -> Level:
    return {node.name: kind_of(node).empty(node) for node in nodes}


def merge_level(nodes: tuple[AggNode, ...], a: Level, b: Level) -> Level:
    out: Level = {}
    for node in nodes:
        left, right = a.get(node.name), b.get(node.name)
        if left is None or right is None:
            out[node.name] = left if right is None else right
        else:
            out[node.name] = kind_of(node).merge(node, left, right)
    return out


def finalize_level(nodes: tuple[AggNode, ...], level: Level) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for node in nodes:
        if node.kind in PIPELINE_KINDS:
            continue  # rendered by apply_level once the level is done
        kind = kind_of(node)
        partial = level.get(node.name)
        rendered = kind.finalize(node, kind.empty(node) if partial is None else partial)
        if node.meta is not None:
            rendered = {"meta": node.meta, **rendered}
        out[node.name] = rendered
    if has_pipelines(nodes):
        apply_level(nodes, level, out)
    return out


# -- small shared helpers --------------------------------------------------------------------------


def add_opt(a: float | None, b: float | None, pick: Any) -> float | None:
    """Combine two optional numbers (``pick`` is ``min`` or ``max``)."""
    if a is None:
        return b
    if b is None:
        return a
    return pick(a, b)


def finite_or_none(value: float | None) -> float | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value


def java_double(value: float) -> str:
    """Render a double the way Java's ``Double.toString`` does (ES range keys use it)."""
    value = float(value)
    if value == 0 or not math.isfinite(value) or 1e-3 <= abs(value) < 1e7:
        return repr(value).replace("inf", "Infinity")
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    power = len(text) - 1 + int(exponent)
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{power}"


def bucket_metric(nodes: tuple[AggNode, ...], rendered_subs: dict[str, Any], path: str, full: str | None = None) -> Any:
    """Resolve a bucket ordering path (``m``, ``stats.max``, ``pct[99]``, ``f>m``) against the rendered
    sub-aggregations of one bucket."""
    head, _, rest = path.partition(">")
    name, value_key = head, None
    if "[" in head and head.endswith("]"):
        name, value_key = head[:-1].split("[", 1)
    elif "." in head:
        name, value_key = head.split(".", 1)
    rendered = rendered_subs.get(name)
    if rendered is None:
        from native.errors import IllegalArgument

        raise IllegalArgument(f"Invalid aggregator order path [{path}]. Unknown aggregation [{name}]")
    top_metrics = next((n for n in nodes if n.name == name and n.kind == "top_metrics"), None)
    if top_metrics is not None and not rest:
        from native.aggs.top_metrics import order_value

        return order_value(top_metrics, rendered, full or path, value_key)
    if rest:
        child = next(n for n in nodes if n.name == name)
        return bucket_metric(child.children, rendered, rest, full or path)
    if value_key == "_count" or (value_key is None and "value" not in rendered and "doc_count" in rendered):
        return rendered.get("doc_count")
    if value_key is None:
        return rendered.get("value")
    if "values" in rendered:
        values = rendered["values"]
        if isinstance(values, dict):
            for k, v in values.items():
                if float(k) == float(value_key):
                    return v
        return None
    return rendered.get(value_key)


def sort_key_for(value: Any, asc: bool) -> tuple[int, Any]:
    """A sort key putting None (missing metric) last in either direction."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (1, 0)
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int | float):
        return (0, value if asc else -value)
    return (0, _Reversed(value) if not asc else value)


class _Reversed:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Reversed) -> bool:
        return bool(other.value < self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)
