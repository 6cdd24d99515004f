"""``weighted_avg``: ``sum(value * weight) / sum(weight)`` over the matching documents.

A document contributes when it has a value and a weight, or when the missing one is replaced by its
``missing``; a multi-valued ``value`` field contributes every value with the document's weight (the weight
counts once per value), as in ES; a document with several weights is refused (ES: "Encountered more than
one weight for a single document"). An unmapped field acts as a field no document has.

Partial: ``{"s": sum of value x weight, "w": sum of weights}``; both add across shards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import tantivy

from native.aggs.docvalues import doc_values
from native.aggs.execute import ShardContext, convert_key, missing_number
from native.aggs.partials import Partial
from native.aggs.readers import _check_keys, _missing_value, _text
from native.aggs.spec import AggNode
from native.errors import AggregationExecution, IllegalArgument, XContentParseError
from native.fields import FieldInfo


@dataclass(frozen=True)
class ValueSourceSpec:
    """One ``{field, missing}`` source of a multi-source metric."""

    field: str
    missing: Any = None


@dataclass(frozen=True)
class WeightedAvgSpec:
    value: ValueSourceSpec
    weight: ValueSourceSpec
    format: str | None = None


def parse_source(kind: str, key: str, body: Any) -> ValueSourceSpec:
    """A ``{field, missing}`` object (``value``/``weight`` of weighted_avg)."""
    if not isinstance(body, dict):
        raise XContentParseError(f"[{kind}] failed to parse field [{key}]")
    if "script" in body:
        from native.errors import ScriptingDisabled

        raise ScriptingDisabled("cannot execute [inline] scripts")
    _check_keys(key, body, {"field", "missing"})
    field = body.get("field")
    if field is None:
        raise IllegalArgument(f"[field] must be set for [{key}] of [{kind}]")
    if not isinstance(field, str):
        raise XContentParseError(f"[{key}] field [field] must be a string")
    return ValueSourceSpec(field, _missing_value(key, body.get("missing")))


def parse_weighted_avg(name: str, kind: str, body: dict[str, Any]) -> WeightedAvgSpec:
    _check_keys(kind, body, {"value", "weight", "format", "value_type"})
    for key in ("value", "weight"):
        if body.get(key) is None:
            raise IllegalArgument(f"[{key}] must not be null: [{name}]")
    return WeightedAvgSpec(
        parse_source(kind, "value", body["value"]),
        parse_source(kind, "weight", body["weight"]),
        _text(kind, "format", body.get("format")),
    )


def numeric_info(ctx: ShardContext, path: str, kind: str) -> FieldInfo | None:
    """The numeric field at ``path`` (None when unmapped); a keyword/text/ip field is a 400."""
    info = ctx.field(path)
    if info is None:
        return None
    if info.tantivy_type in (tantivy.FieldType.Text, tantivy.FieldType.IpAddr) or "lat" in info.extra:
        raise IllegalArgument(
            f"Field [{info.path}] of type [{info.extra.get('mapping_type', info.es_type)}] is not supported for "
            f"aggregation [{kind}]"
        )
    return info


def missing_of(info: FieldInfo | None, missing: Any) -> float | None:
    if missing is None:
        return None
    return missing_number(missing) if info is None else float(convert_key(info, missing))


class WeightedAvgKind:
    def empty(self, node: AggNode) -> Partial:
        return {"s": 0.0, "w": 0.0}

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: WeightedAvgSpec = node.params
        value_info = numeric_info(ctx, spec.value.field, node.kind)
        weight_info = numeric_info(ctx, spec.weight.field, node.kind)
        value_missing = missing_of(value_info, spec.value.missing)
        weight_missing = missing_of(weight_info, spec.weight.missing)
        out = self.empty(node)
        if (value_info is None and value_missing is None) or (weight_info is None and weight_missing is None):
            return out
        columns = [info.tantivy_name for info in (value_info, weight_info) if info is not None]
        rows = doc_values(ctx, query, columns)
        if value_info is None or weight_info is None:  # one side unmapped: every doc takes its missing value
            n_docs = ctx.matches(query)
            rows = rows + [{}] * (n_docs - len(rows)) if len(rows) < n_docs else rows
        total = weights = 0.0
        for row in rows:
            values = [float(v) for v in row.get(value_info.tantivy_name, [])] if value_info else []
            raw_weights = row.get(weight_info.tantivy_name, []) if weight_info else []
            if len(raw_weights) > 1:
                raise AggregationExecution(
                    "Encountered more than one weight for a single document. Use a script to combine multiple "
                    "weights-per-doc into a single value."
                )
            if not values and value_missing is not None:
                values = [value_missing]
            weight = float(raw_weights[0]) if raw_weights else weight_missing
            if not values or weight is None:
                continue
            for value in values:
                total += value * weight
                weights += weight
        return {"s": total, "w": weights}

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        return {"s": a["s"] + b["s"], "w": a["w"] + b["w"]}

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        value = p["s"] / p["w"] if p["w"] else None
        out: dict[str, Any] = {"value": value}
        fmt = node.params.format
        if fmt and value is not None:
            from native.aggs.number_format import format_number

            out["value_as_string"] = format_number(value, fmt)
        return out


KINDS = {"weighted_avg": WeightedAvgKind()}
