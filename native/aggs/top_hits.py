"""``top_hits``: the best documents of a bucket.

Each shard returns its own top ``from + size`` hits of the bucket query (by score, or by the first sort
field through tantivy's fast-field ordering) with ``_id`` and the filtered ``_source`` already loaded;
merging keeps the global top ``from + size``; finalize drops the first ``from``.

Under a ``nested`` aggregation (``ShardContext.nested_path``) the hits are the nested documents of the
bucket (``native.aggs.nested``), as in ES: ``_id`` of their top-level document, ``_nested`` and the object
itself as ``_source``.

Partial: ``{"t": bucket doc count, "ms": max score, "h": [[sort value, hit], ...]}``.
"""

from __future__ import annotations

import fnmatch
from typing import Any

import orjson
import tantivy

from native.aggs.execute import ShardContext
from native.aggs.hit_fields import hit_fields
from native.aggs.partials import Partial, add_opt, sort_key_for
from native.aggs.spec import AggNode, TopHitsSpec
from native.fields import ID_FIELD, PRIMARY_TERM_FIELD, SEQ_NO_FIELD, SOURCE_FIELD, VERSION_FIELD


class TopHitsKind:
    def empty(self, node: AggNode) -> Partial:
        return {"t": 0, "ms": None, "h": []}

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: TopHitsSpec = node.params
        if ctx.nested_path is not None:
            return _collect_nested(ctx, spec, query)
        wanted = spec.from_ + spec.size
        total = ctx.matches(query)
        if wanted == 0 or total == 0:
            return {"t": total, "ms": None, "h": []}
        by_field = _sort_field(ctx, spec)
        result: Any
        if spec.sort and spec.sort[0].nested:
            from native.aggs.nested import by_nested_sort

            result = by_nested_sort(ctx, query, wanted, spec.sort[0])
            by_field = by_field or spec.sort[0].field
        elif by_field is None:
            result = ctx.searcher.search(query, wanted, count=False)
        else:
            result = _by_field_missing_last(ctx, query, wanted, by_field, spec.sort[0].asc)
        hits = []
        max_score = None
        highlighter = _highlighter(ctx, spec, query)
        for value, addr in result.hits:
            stored = ctx.searcher.doc(addr).to_dict()
            hit: dict[str, Any] = {
                "_index": ctx.index_name,
                "_id": (stored.get(ID_FIELD) or [None])[0],
            }
            if spec.version:
                hit["_version"] = _first_int(stored.get(VERSION_FIELD))
            if spec.seq_no_primary_term:
                hit["_seq_no"] = _first_int(stored.get(SEQ_NO_FIELD))
                hit["_primary_term"] = _first_int(stored.get(PRIMARY_TERM_FIELD))
            hit["_score"] = None if by_field is not None else float(value)
            if spec.explain:
                hit["_explanation"] = (
                    ctx.explain(addr) if ctx.explain is not None
                    else {"value": hit["_score"] or 0.0, "description": "score", "details": []}
                )  # fmt: skip
            if spec.source and _source_enabled(ctx):
                hit["_source"] = filter_source(_stored_source(stored), spec.includes, spec.excludes)
            if highlighter is not None:
                marked = highlighter.highlight(_stored_source(stored))
                if marked:
                    hit["highlight"] = marked
            if spec.stored_fields or spec.docvalue_fields or spec.fetch_fields:
                fields = hit_fields(
                    _mapping(ctx), _stored_source(stored), spec.stored_fields, spec.docvalue_fields, spec.fetch_fields
                )
                if fields:
                    hit["fields"] = fields
            if by_field is not None:
                hit["sort"] = [value]
            else:
                max_score = add_opt(max_score, float(value), max)
            hits.append([value, hit])
        if ctx.named is not None and hits:  # the search query's ``_name``d clauses each hit matches
            refs = [(addr.segment_ord, addr.doc) for _, addr in result.hits]
            for (_, hit), matched in zip(hits, ctx.named.scores(refs), strict=True):
                if matched:
                    hit["matched_queries"] = list(matched)
        return {"t": total, "ms": max_score, "h": hits}

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        spec: TopHitsSpec = node.params
        asc = bool(spec.sort) and spec.sort[0].field != "_score" and spec.sort[0].asc
        hits = sorted(a["h"] + b["h"], key=lambda h: (sort_key_for(h[0], asc), str(h[1].get("_id"))))
        return {
            "t": a["t"] + b["t"],
            "ms": add_opt(a["ms"], b["ms"], max),
            "h": hits[: spec.from_ + spec.size],
        }

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        spec: TopHitsSpec = node.params
        return {
            "hits": {
                "total": {"value": p["t"], "relation": "eq"},
                "max_score": p["ms"],
                "hits": [h[1] for h in p["h"][spec.from_ : spec.from_ + spec.size]],
            }
        }


class _Found:
    def __init__(self, hits: list[tuple[Any, tantivy.DocAddress]]) -> None:
        self.hits = hits


def _by_field_missing_last(
    ctx: ShardContext, query: tantivy.Query, wanted: int, field: str, asc: bool
) -> _Found:
    """The top ``wanted`` by ``field``, documents without a value last in index order (ES's ``missing: _last``)."""
    order = tantivy.Order.Asc if asc else tantivy.Order.Desc
    has = tantivy.Query.exists_query(field)
    with_value = ctx.restrict(query, has)
    hits = list(ctx.searcher.search(with_value, wanted, count=False, order_by_field=field, order=order).hits)
    if len(hits) < wanted:
        without = tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.MustNot, has)])
        rest = ctx.searcher.search(without, wanted - len(hits), count=False, order_by_field=SEQ_NO_FIELD,
                                   order=tantivy.Order.Asc).hits  # fmt: skip
        hits.extend((None, addr) for _, addr in rest)
    return _Found(hits)


def _collect_nested(ctx: ShardContext, spec: TopHitsSpec, query: tantivy.Query) -> Partial:
    from native.aggs.nested import top_hits_of_view
    from native.nested import filter_nested_source

    by_field = _sort_field(ctx, spec)
    asc = bool(spec.sort) and spec.sort[0].asc
    total, found = top_hits_of_view(ctx, query, spec.from_ + spec.size, by_field, asc)
    hits = []
    max_score = None
    show_source = spec.source and _source_enabled(ctx)
    for value, nested in found:
        hit: dict[str, Any] = {"_index": ctx.index_name, "_id": nested["_id"], "_nested": nested["_nested"]}
        hit["_score"] = None if by_field is not None else float(value)
        if show_source:
            hit["_source"] = filter_nested_source(nested["_path"], nested["_source"], spec.includes, spec.excludes)
        if by_field is not None:
            hit["sort"] = [value]
        else:
            max_score = add_opt(max_score, float(value), max)
        hits.append([value, hit])
    return {"t": total, "ms": max_score, "h": hits}


def _stored_source(stored: dict[str, Any]) -> Any:
    raw = (stored.get(SOURCE_FIELD) or [b"{}"])[0]
    return orjson.loads(raw) if isinstance(raw, bytes | str) else raw


def _highlighter(ctx: ShardContext, spec: TopHitsSpec, query: tantivy.Query) -> _Highlighters | None:
    """The shard's highlighters for ``spec.highlight``: the terms of the bucket's query, or of a
    ``highlight_query`` (top level or per field), or None."""
    if spec.highlight is None or getattr(ctx.resolver, "mapping", None) is None:
        return None
    from native.highlight import Highlighter, parse_highlight
    from native.query import parse_query

    body = orjson.loads(spec.highlight)
    fields = body.get("fields") or {}
    if isinstance(fields, list):
        fields = {k: v for item in fields for k, v in item.items()}
    shared = {k: v for k, v in body.items() if k not in ("fields", "highlight_query")}
    groups: dict[str, dict[str, Any]] = {}
    for name, opts in fields.items():
        opts = dict(opts or {})
        own_query = opts.pop("highlight_query", body.get("highlight_query"))
        groups.setdefault(orjson.dumps(own_query).decode(), {})[name] = opts
    out = []
    for query_text, group in groups.items():
        own = orjson.loads(query_text)
        q = query if own is None else ctx.compile(parse_query(own))
        out.append(Highlighter(ctx.searcher, q, ctx.resolver, parse_highlight({**shared, "fields": group})))  # type: ignore[arg-type]
    return _Highlighters(out)


class _Highlighters:
    def __init__(self, highlighters: list[Any]) -> None:
        self.highlighters = highlighters

    def highlight(self, source: Any) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for highlighter in self.highlighters:
            out.update(highlighter.highlight(source))
        return out


def _mapping(ctx: ShardContext) -> Any:
    return getattr(ctx.resolver, "mapping", None)


def _source_enabled(ctx: ShardContext) -> bool:
    """False when the mapping disables ``_source`` (``"_source": {"enabled": false}``)."""
    mapping = getattr(ctx.resolver, "mapping", None)
    body = getattr(mapping, "body", None) or {}
    return str((body.get("_source") or {}).get("enabled", True)).lower() != "false"


def _first_int(values: Any) -> int | None:
    return int(values[0]) if values else None


def _sort_field(ctx: ShardContext, spec: TopHitsSpec) -> str | None:
    if not spec.sort or spec.sort[0].field == "_score":
        return None
    info = ctx.field(spec.sort[0].field)
    if info is not None and "nanos" in info.extra:  # date_nanos keys in nanoseconds (native.date_nanos)
        return str(info.extra["nanos"])
    return None if info is None else info.tantivy_name


def filter_source(source: Any, includes: tuple[str, ...], excludes: tuple[str, ...]) -> Any:
    """ES ``_source`` filtering with wildcard include/exclude patterns on dotted paths."""
    if not includes and not excludes:
        return source
    return _filter(source, "", includes, excludes) if isinstance(source, dict) else source


def _filter(obj: dict[str, Any], prefix: str, includes: tuple[str, ...], excludes: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        path = f"{prefix}{key}"
        if any(fnmatch.fnmatchcase(path, pat) for pat in excludes):
            continue
        included = not includes or any(fnmatch.fnmatchcase(path, pat) for pat in includes)
        if isinstance(value, dict):
            if included:
                out[key] = _filter(value, f"{path}.", (), excludes)
            else:
                partial = _filter(value, f"{path}.", includes, excludes)
                if partial and any(pat.startswith(f"{path}.") or "*" in pat for pat in includes):
                    out[key] = partial
        elif included:
            out[key] = value
    return out


KINDS = {"top_hits": TopHitsKind()}
