"""``rare_terms``: the terms found in at most ``max_doc_count`` documents, rarest first.

ES approximates the "seen too often" set with a CuckooFilter (``precision``); here every shard counts its
terms exactly (the same sources as ``terms``), so the answer is exact and ``precision`` only has its
range checked. A shard reports the terms at or under ``max_doc_count`` with their sub-aggregations, and
the set of terms over it, so a term rare on one shard but frequent on another is dropped at merge.

Partial: ``{"b": [[key, doc_count, subs]], "x": [keys over max_doc_count], "t": key type, "f": date
format}``. Finalize orders buckets by count ascending, then key ascending, as ES does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import tantivy

from native.aggs.execute import ShardContext, convert_key, date_format
from native.aggs.partials import Partial, finalize_level, merge_level
from native.aggs.readers import _check_keys, _field, _float, _include, _int, _missing_value, _partition, _text
from native.aggs.spec import AggNode
from native.aggs.terms import (
    TermsKind,
    _acceptor,
    _check_value_type,
    _key_type,
    _render_key,
    _unmapped_missing,
    check_fielddata,
)
from native.errors import AggregationExecution, IllegalArgument

MAX_MAX_DOC_COUNT = 100


@dataclass(frozen=True)
class RareTermsSpec:
    field: str
    max_doc_count: int = 1
    precision: float = 0.001
    missing: Any = None
    include: str | tuple[Any, ...] | None = None
    exclude: str | tuple[Any, ...] | None = None
    partition: tuple[int, int] | None = None
    value_type: str | None = None
    format: str | None = None


def parse_rare_terms(name: str, kind: str, body: dict[str, Any]) -> RareTermsSpec:
    # ``threshold``: accepted as ES 8's own rare-terms tests send it; counts are exact here, so it has no effect
    _check_keys(kind, body, {"field", "max_doc_count", "precision", "missing", "include", "exclude", "value_type",
                             "format", "threshold"})  # fmt: skip
    max_doc_count = _int(kind, "max_doc_count", body.get("max_doc_count", 1))
    if max_doc_count <= 0:
        raise IllegalArgument(f"[max_doc_count] must be greater than 0. Found [{max_doc_count}] in [{name}]")
    if max_doc_count > MAX_MAX_DOC_COUNT:
        raise IllegalArgument(f"[max_doc_count] must be smaller or equal to [{MAX_MAX_DOC_COUNT}].")
    precision = _float(kind, "precision", body.get("precision", 0.001))
    if precision < 0.00001:
        raise IllegalArgument("[precision] must be greater than 0.00001")
    if "threshold" in body:
        _int(kind, "threshold", body["threshold"], 1)
    return RareTermsSpec(
        field=_field(kind, body),
        max_doc_count=max_doc_count,
        precision=precision,
        missing=_missing_value(kind, body.get("missing")),
        include=None if isinstance(body.get("include"), dict) else _include(body.get("include")),
        exclude=_include(body.get("exclude")),
        partition=_partition(body.get("include")),
        value_type=body.get("value_type"),
        format=_text(kind, "format", body.get("format")),
    )


_TERMS = TermsKind()


class RareTermsKind:
    def empty(self, node: AggNode) -> Partial:
        return {"b": [], "x": [], "t": None, "f": None}

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: RareTermsSpec = node.params
        info = ctx.field(spec.field)
        out: Partial = {"b": [], "x": [], "t": None, "f": None}
        if info is None:
            if spec.missing is None:
                return out
            n = ctx.count(query)
            if n:
                key, out["t"], out["f"] = _unmapped_missing(spec)  # type: ignore[arg-type]
                if n <= spec.max_doc_count:
                    out["b"] = [[key, n, ctx.collect_subs(node, query, None)]]
                else:
                    out["x"] = [key]
            return out
        _check_value_type(info, spec.value_type)
        check_fielddata(ctx, info)
        if info.tantivy_type != tantivy.FieldType.Text and isinstance(spec.include or spec.exclude, str):
            raise AggregationExecution(
                f"Aggregation [{node.name}] cannot support regular expression style include/exclude "
                "settings as they can only be applied to string fields. Use an array of values "
                "for include/exclude clauses"
            )
        out["t"] = _key_type(info.es_type)
        out["f"] = date_format(info, spec.format)
        counts = _TERMS._counts(ctx, info, query)
        missing_key = None
        if spec.missing is not None:
            missing_key = convert_key(info, spec.missing)
            n_missing = ctx.count(ctx.restrict(query, ctx.missing_filter(info)))
            if n_missing:
                counts[missing_key] = counts.get(missing_key, 0) + n_missing
        accept = _acceptor(spec, info)  # type: ignore[arg-type]
        buckets, over = [], []
        for key, n in counts.items():
            if not accept(key):
                continue
            if n > spec.max_doc_count:
                over.append(key)
                continue
            term = ctx.term_filter(info, key)
            if key == missing_key:
                term = tantivy.Query.boolean_query(
                    [(tantivy.Occur.Should, term), (tantivy.Occur.Should, ctx.missing_filter(info))]
                )
            buckets.append([key, n, ctx.collect_subs(node, query, term)])
        out["b"], out["x"] = buckets, over
        return out

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        spec: RareTermsSpec = node.params
        over = set(a["x"]) | set(b["x"])
        merged: dict[Any, list[Any]] = {}
        for key, count, subs in a["b"] + b["b"]:
            if key in over:
                continue
            seen = merged.get(key)
            if seen is None:
                merged[key] = [key, count, subs]
            else:
                merged[key] = [key, seen[1] + count, merge_level(node.children, seen[2], subs)]
        for key, bucket in list(merged.items()):
            if bucket[1] > spec.max_doc_count:
                del merged[key]
                over.add(key)
        return {"b": list(merged.values()), "x": sorted(over, key=str), "t": a["t"] or b["t"], "f": a["f"] or b["f"]}

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        rows = sorted(p["b"], key=lambda b: (b[1], b[0]))
        buckets = []
        for key, count, subs in rows:
            bucket: dict[str, Any] = {"key": _render_key(key, p["t"])}
            if p["t"] == "bool":
                bucket["key_as_string"] = "true" if key else "false"
            elif p["t"] == "date" and p["f"]:
                from native.dates import format_date

                bucket["key_as_string"] = format_date(int(key), p["f"], None)
            bucket["doc_count"] = count
            bucket.update(finalize_level(node.children, subs))
            buckets.append(bucket)
        return {"buckets": buckets}


KINDS = {"rare_terms": RareTermsKind()}
