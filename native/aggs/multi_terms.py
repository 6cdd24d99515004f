"""``multi_terms``: buckets keyed by the combination of the values of several fields.

Per shard the counts are exact: the first field's terms are counted under the query (the same sources as
``terms``), then each term restricts the query for the next field, and so on, so a document with several
values per field counts once in every combination, as ES's cartesian product does. A ``missing`` value
per field stands in for documents without one; without it such documents join no bucket.

The shard keeps its top ``shard_size`` combinations in the requested order and reports the same
``sum_other_doc_count`` / error bound as ``terms``; merging adds counts per key list. Keys render as ES
renders them: numbers and booleans as themselves, dates with the field's format, ``key_as_string`` the
rendered parts joined with ``|``.

Partial: ``{"b": [[[key, ...], doc_count, term_error, subs]], "o": int, "e": int, "sh": shards, "t": [key
type per field], "f": [date format per field]}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import tantivy

from native.aggs.execute import ShardContext, convert_key, date_format
from native.aggs.partials import Partial, finalize_level, java_double, merge_level
from native.aggs.readers import _check_keys, _int, _missing_value, _order, _text
from native.aggs.spec import AggNode, Order
from native.aggs.terms import TermsKind, _add_err, _finish, _key_type, _order_key, check_fielddata
from native.errors import IllegalArgument, XContentParseError

_UNSUPPORTED = frozenset({"geo_point", "geo_shape", "binary", "nested", "object", "flattened"})


@dataclass(frozen=True)
class MultiTermsSource:
    field: str
    missing: Any = None
    format: str | None = None


@dataclass(frozen=True)
class MultiTermsSpec:
    terms: tuple[MultiTermsSource, ...]
    size: int = 10
    shard_size: int = 25
    min_doc_count: int = 1
    shard_min_doc_count: int = 0
    order: tuple[Order, ...] = (Order("_count", False), Order("_key", True))
    show_term_doc_count_error: bool = False


def parse_multi_terms(name: str, kind: str, body: dict[str, Any]) -> MultiTermsSpec:
    _check_keys(kind, body, {"terms", "size", "shard_size", "min_doc_count", "shard_min_doc_count", "order",
                             "collect_mode", "show_term_doc_count_error"})  # fmt: skip
    raw = body.get("terms")
    if not isinstance(raw, list) or len(raw) < 2:
        raise IllegalArgument(
            f"The [terms] parameter in the aggregation [{name}] must be present and have at least 2 fields or scripts."
        )
    sources = []
    for item in raw:
        if not isinstance(item, dict):
            raise XContentParseError(f"[{kind}] failed to parse field [terms]")
        _check_keys("terms", item, {"field", "missing", "format"})
        field = item.get("field")
        if not isinstance(field, str):
            raise IllegalArgument("[field] must be set for [terms]")
        sources.append(MultiTermsSource(field, _missing_value(kind, item.get("missing")),
                                        _text(kind, "format", item.get("format"))))  # fmt: skip
    collect_mode = body.get("collect_mode")
    if collect_mode is not None and collect_mode not in ("depth_first", "breadth_first"):
        raise IllegalArgument(f"Unknown `collect_mode`: [{collect_mode}], expected any of [depth_first, breadth_first]")
    size = _int(kind, "size", body.get("size", 10))
    if size < 1:
        raise IllegalArgument(f"[size] must be greater than 0. Found [{size}] in [{name}]")
    shard_size = _int(kind, "shard_size", body.get("shard_size", min(int(size * 1.5 + 10), 2**31 - 1)))
    if shard_size < 1:
        raise IllegalArgument(f"[shard_size] must be greater than 0. Found [{shard_size}] in [{name}]")
    return MultiTermsSpec(
        terms=tuple(sources),
        size=size,
        shard_size=max(shard_size, size),
        min_doc_count=_int(kind, "min_doc_count", body.get("min_doc_count", 1), 0, long=True),
        shard_min_doc_count=_int(kind, "shard_min_doc_count", body.get("shard_min_doc_count", 0), 0, long=True),
        order=_order(name, body.get("order"), (Order("_count", False), Order("_key", True))),
        show_term_doc_count_error=bool(body.get("show_term_doc_count_error", False)),
    )


_TERMS = TermsKind()


class MultiTermsKind:
    def empty(self, node: AggNode) -> Partial:
        spec: MultiTermsSpec = node.params
        return {"b": [], "o": 0, "e": 0, "sh": 0, "t": [None] * len(spec.terms), "f": [None] * len(spec.terms)}

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: MultiTermsSpec = node.params
        infos = [ctx.field(source.field) for source in spec.terms]
        out = self.empty(node)
        out["sh"] = 1
        for source, info in zip(spec.terms, infos, strict=True):
            if info is None:
                continue
            if info.es_type in _UNSUPPORTED:
                raise IllegalArgument(
                    f"Field [{source.field}] of type [{info.es_type}] is not supported for aggregation [multi_terms]"
                )
            check_fielddata(ctx, info)
        out["t"] = [_source_type(info, source) for info, source in zip(infos, spec.terms, strict=True)]
        out["f"] = [date_format(info, source.format) for info, source in zip(infos, spec.terms, strict=True)]
        combos: list[tuple[list[Any], int, tantivy.Query | None]] = []
        _walk(ctx, spec, infos, query, 0, [], None, combos)
        candidates = [(key, n, f) for key, n, f in combos if n >= spec.shard_min_doc_count]
        total = sum(n for _, n, _ in candidates)
        primary = spec.order[0]
        if primary.path in ("_count", "_key"):
            candidates.sort(key=lambda c: _order_key(spec.order, c[0], c[1], None, node))
            chosen = candidates[: spec.shard_size]
            buckets = [[key, n, 0, ctx.collect_subs(node, query, f)] for key, n, f in chosen]
        else:
            scored = []
            for key, n, f in candidates:
                subs = ctx.collect_subs(node, query, f)
                rendered = finalize_level(node.children, subs)
                scored.append((_order_key(spec.order, key, n, rendered, node), [key, n, 0, subs]))
            scored.sort(key=lambda item: item[0])
            buckets = [b for _, b in scored[: spec.shard_size]]
        return _finish(out, spec, buckets, total, len(candidates) > len(buckets))  # type: ignore[arg-type]

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        if not a["sh"]:
            return b
        if not b["sh"]:
            return a
        ea, eb = a["e"], b["e"]
        right = {_hashable(bucket[0]): bucket for bucket in b["b"]}
        merged: dict[Any, list[Any]] = {}
        for key, count, err, subs in a["b"]:
            other = right.get(_hashable(key))
            if other is None:
                merged[_hashable(key)] = [key, count, _add_err(err, eb), subs]
            else:
                subs = merge_level(node.children, subs, other[3])
                merged[_hashable(key)] = [key, count + other[1], _add_err(err, other[2]), subs]
        for key, count, err, subs in b["b"]:
            if _hashable(key) not in merged:
                merged[_hashable(key)] = [key, count, _add_err(err, ea), subs]
        types = [x or y for x, y in zip(a["t"], b["t"], strict=True)]
        formats = [x or y for x, y in zip(a["f"], b["f"], strict=True)]
        return {"b": list(merged.values()), "o": a["o"] + b["o"], "e": _add_err(ea, eb), "sh": a["sh"] + b["sh"],
                "t": types, "f": formats}  # fmt: skip

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        spec: MultiTermsSpec = node.params
        single = p["sh"] <= 1
        eligible = [b for b in p["b"] if b[1] >= spec.min_doc_count]
        rendered_subs = [finalize_level(node.children, b[3]) for b in eligible]
        order = sorted(
            range(len(eligible)),
            key=lambda i: _order_key(spec.order, eligible[i][0], eligible[i][1], rendered_subs[i], node),
        )
        kept = order[: spec.size]
        other = p["o"] + sum(eligible[i][1] for i in order[spec.size :])
        buckets = []
        for i in kept:
            key, count, err, _ = eligible[i]
            parts = [_render(k, t, f) for k, t, f in zip(key, p["t"], p["f"], strict=True)]
            bucket: dict[str, Any] = {
                "key": [part for part, _ in parts],
                "key_as_string": "|".join(text for _, text in parts),
                "doc_count": count,
            }
            if spec.show_term_doc_count_error:
                bucket["doc_count_error_upper_bound"] = 0 if single else err
            bucket.update(rendered_subs[i])
            buckets.append(bucket)
        return {
            "doc_count_error_upper_bound": 0 if single else p["e"],
            "sum_other_doc_count": other,
            "buckets": buckets,
        }


def _walk(
    ctx: ShardContext,
    spec: MultiTermsSpec,
    infos: list[Any],
    query: tantivy.Query,
    level: int,
    prefix: list[Any],
    restriction: tantivy.Query | None,
    out: list[tuple[list[Any], int, tantivy.Query | None]],
) -> None:
    """Every key combination from ``level`` on under ``query``, with its count and its bucket filter."""
    source, info = spec.terms[level], infos[level]
    scoped = query if restriction is None else ctx.restrict(query, restriction)
    per_key: list[tuple[Any, int, tantivy.Query]] = []
    if info is None:
        if source.missing is not None:
            n = ctx.count(scoped)
            if n:
                per_key.append((source.missing, n, tantivy.Query.all_query()))
    else:
        counts = _TERMS._counts(ctx, info, scoped)
        missing_key = None
        if source.missing is not None:
            missing_key = convert_key(info, source.missing)
            n_missing = ctx.count(ctx.restrict(scoped, ctx.missing_filter(info)))
            if n_missing:
                counts[missing_key] = counts.get(missing_key, 0) + n_missing
        for key, n in counts.items():
            bucket_filter = ctx.term_filter(info, key)
            if key == missing_key:
                bucket_filter = tantivy.Query.boolean_query(
                    [(tantivy.Occur.Should, bucket_filter), (tantivy.Occur.Should, ctx.missing_filter(info))]
                )
            per_key.append((key, n, bucket_filter))
    for key, n, bucket_filter in per_key:
        combined = bucket_filter if restriction is None else _and(restriction, bucket_filter)
        if level == len(spec.terms) - 1:
            out.append(([*prefix, key], n, combined))
        else:
            _walk(ctx, spec, infos, query, level + 1, [*prefix, key], combined, out)


def _and(a: tantivy.Query, b: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, a), (tantivy.Occur.Must, b)])


def _source_type(info: Any, source: MultiTermsSource) -> str:
    if info is not None:
        return _key_type(info.es_type)
    value = source.missing
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    return "string"


def _hashable(key: list[Any]) -> tuple[Any, ...]:
    return tuple(key)


def _render(value: Any, key_type: str | None, fmt: str | None) -> tuple[Any, str]:
    """One key part as ES renders it in ``key`` and in ``key_as_string``."""
    if key_type == "bool":
        flag = bool(value)
        return flag, "true" if flag else "false"
    if key_type == "date":
        from native.dates import format_date

        text = format_date(int(value), fmt or "strict_date_optional_time", None)
        return text, text
    if key_type == "long":
        return int(value), str(int(value))
    if key_type == "double":
        return float(value), java_double(float(value))
    return value, str(value)


KINDS = {"multi_terms": MultiTermsKind()}
