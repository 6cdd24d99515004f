"""The ``composite`` aggregation: paged buckets over the cross product of ``terms`` / ``histogram`` /
``date_histogram`` sources.

Per shard the key space is walked depth-first in key order: the distinct keys of the first source among the
matching docs (with exact counts, from the same per-shard sources ``terms`` and the histograms use),
then, for each, the keys of the next source among the docs restricted to that key, and so on. Keys at or
before ``after`` are pruned on the way down and the walk stops after ``size`` complete keys, so a page
costs about ``size x depth`` key look-ups, not the whole cross product. Multi-valued fields put a doc in
every combination of its values, as ES does.

Because buckets are ordered by key (never by count), each shard's first ``size`` keys after ``after``
contain every key of the global first ``size`` with its full count: the root merges by adding counts and
keeps the first ``size``. Partial: ``{"b": [[key_list, doc_count, subs]]}``.
"""

from __future__ import annotations

from typing import Any

import tantivy

from native.aggs.execute import ShardContext, convert_key
from native.aggs.partials import Partial, finalize_level, merge_level
from native.aggs.spec import AggNode, CompositeSource, CompositeSpec
from native.errors import IllegalArgument
from native.fields import COLUMNAR_NUMERIC_TYPES, NUMERIC_FLOAT_TYPES


def _cmp_key(value: Any, source: CompositeSource) -> tuple[int, Any]:
    """Sort key of one source value honouring order and missing_order (None = the missing bucket)."""
    if value is None:
        first = source.missing_first if source.missing_first is not None else source.asc
        return (0 if first else 2, 0)
    if isinstance(value, bool):
        value = int(value)
    if source.kind == "geotile_grid" and isinstance(value, str):  # "z/x/y" orders as its numbers
        parts = tuple(int(p) for p in value.split("/"))
        return (1, parts if source.asc else tuple(-p for p in parts))
    if source.asc:
        return (1, value)
    if isinstance(value, str):
        return (1, _Desc(value))
    return (1, -value)


class _Desc(str):
    __slots__ = ()

    def __lt__(self, other: str) -> bool:  # type: ignore[override]
        return str.__gt__(self, other)

    def __gt__(self, other: str) -> bool:  # type: ignore[override]
        return str.__lt__(self, other)


def _typed_after(ctx: ShardContext, spec: CompositeSpec) -> list[Any]:
    """``after`` read as each terms source's field type (ES: a value that does not parse is a 400)."""
    assert spec.after is not None
    out = list(spec.after)
    for i, (value, source) in enumerate(zip(spec.after, spec.sources, strict=True)):
        if value is None or source.kind != "terms":
            continue
        info = ctx.field(source.field)
        if info is None:
            continue
        try:
            if info.es_type in NUMERIC_FLOAT_TYPES:
                out[i] = float(value)
            elif info.es_type in COLUMNAR_NUMERIC_TYPES:
                out[i] = int(convert_key(info, value)) if info.es_type in ("date", "boolean") else int(float(value))
            elif isinstance(value, bool):
                out[i] = "true" if value else "false"
            else:
                out[i] = str(value)
        except (ValueError, TypeError, OverflowError):
            raise IllegalArgument(f"Invalid value for [after.{source.name}], got [{value}]") from None
    return out


def row_key(key: list[Any], spec: CompositeSpec) -> tuple[Any, ...]:
    return tuple(_cmp_key(v, s) for v, s in zip(key, spec.sources, strict=True))


class CompositeKind:
    def empty(self, node: AggNode) -> Partial:
        return {"b": []}

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: CompositeSpec = node.params
        out: list[list[Any]] = []
        after = _typed_after(ctx, spec) if spec.after is not None else None
        self._walk(ctx, node, spec, query, 0, [], after, out)
        return {"b": out}

    def _walk(
        self,
        ctx: ShardContext,
        node: AggNode,
        spec: CompositeSpec,
        query: tantivy.Query,
        depth: int,
        prefix: list[Any],
        after: list[Any] | None,
        out: list[list[Any]],
    ) -> None:
        source = spec.sources[depth]
        keys = _source_keys(ctx, source, query)
        keys.sort(key=lambda kc: _cmp_key(kc[0], source))
        last = depth == len(spec.sources) - 1
        after_cmp = _cmp_key(after[depth], source) if after is not None else None
        for key, count, bucket_filter in keys:
            if len(out) >= spec.size:
                return
            sub_after = None
            if after_cmp is not None:
                mine = _cmp_key(key, source)
                if mine < after_cmp:
                    continue
                if mine == after_cmp:
                    if last:
                        continue
                    sub_after = after
            restricted = ctx.restrict(query, bucket_filter)
            if last:
                subs = ctx.collect_level(node.children, restricted) if node.children else {}
                out.append([[*prefix, key], count, subs])
            else:
                self._walk(ctx, node, spec, restricted, depth + 1, [*prefix, key], sub_after, out)

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        spec: CompositeSpec = node.params
        merged: dict[Any, list[Any]] = {}
        for key, count, subs in [*a["b"], *b["b"]]:
            k = tuple(key)
            cur = merged.get(k)
            if cur is None:
                merged[k] = [key, count, subs]
            else:
                cur[1] += count
                cur[2] = merge_level(node.children, cur[2], subs)
        rows = sorted(merged.values(), key=lambda r: row_key(r[0], spec))
        return {"b": rows[: spec.size]}

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        spec: CompositeSpec = node.params
        rows = sorted(p["b"], key=lambda r: row_key(r[0], spec))[: spec.size]
        buckets = []
        for key, count, subs in rows:
            bucket = {"key": _render_key(key, spec), "doc_count": count}
            bucket.update(finalize_level(node.children, subs))
            buckets.append(bucket)
        out: dict[str, Any] = {}
        if buckets:
            out["after_key"] = buckets[-1]["key"]
        out["buckets"] = buckets
        return out


def _check_round_trip(millis: int, text: str, source: CompositeSource) -> None:
    """ES refuses a key format that does not parse back to the key (the after key would be lost)."""
    from native.date_formats import parse_date

    try:
        parsed: int | None = int(parse_date(text, source.format or "", time_zone=source.time_zone))
    except ValueError:
        parsed = None
    if parsed != millis:
        raise IllegalArgument(
            f"Format [{source.format}] created output it couldn't parse for value [{millis}] of type "
            f"[class java.lang.Long]. parsed value: [{parsed}(class java.lang.Long)]"
        )


def _render_key(key: list[Any], spec: CompositeSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for value, source in zip(key, spec.sources, strict=True):
        if value is not None and source.format is not None and source.kind == "date_histogram":
            from native.aggs.histograms import render_date

            millis = int(value)
            value = render_date(millis, source.format, source.time_zone)
            _check_round_trip(millis, value, source)
        elif (
            value is not None
            and source.format is not None
            and source.kind in ("histogram", "terms")
            and (isinstance(value, int | float) and not isinstance(value, bool))
        ):
            from native.aggs.number_format import format_number

            value = format_number(value, source.format)
        out[source.name] = value
    return out


def _source_keys(ctx: ShardContext, source: CompositeSource, query: tantivy.Query) -> list[tuple[Any, int, Any]]:
    """(key, doc_count, bucket filter) of every key of ``source`` among the docs matching ``query``."""
    info = ctx.field(source.field)
    out: list[tuple[Any, int, Any]] = []
    if info is None and source.kind == "terms" and source.field == "_index":  # one key per shard, every doc
        n = ctx.count(query)
        return [(ctx.index_name, n, tantivy.Query.all_query())] if n else []
    if info is not None:
        if source.kind == "geotile_grid":
            from native.aggs.geogrid import composite_keys

            out.extend(composite_keys(ctx, source.inner, query))
        elif source.kind == "terms":
            from native.aggs.terms import TermsKind, check_fielddata

            check_fielddata(ctx, info)
            for key, count in TermsKind()._counts(ctx, info, query).items():
                if count:
                    out.append((key, count, ctx.term_filter(info, key)))
        else:
            from native.aggs.histograms import KINDS as HISTOGRAMS

            kind = HISTOGRAMS[source.kind]
            assert source.inner is not None
            partial = kind.collect(ctx, source.inner, query)  # type: ignore[attr-defined]
            for key, count, _ in partial["b"]:
                if not count:
                    continue
                end = kind._next_key(source.inner, partial, key)
                if source.kind == "date_histogram":
                    key = int(key)
                out.append((key, count, ctx.range_filter(info, key, end)))
    if source.missing_bucket:
        missing = ctx.missing_filter(info)
        n = ctx.count(ctx.restrict(query, missing))
        if n:
            out.append((None, n, missing))
    return out


KINDS = {"composite": CompositeKind()}
