"""``top_hits``: the best documents of a bucket.

Each shard returns its own top ``from + size`` hits of the bucket query (by score, or by the first sort
field through tantivy's fast-field ordering) with ``_id`` and the filtered ``_source`` already loaded;
merging keeps the global top ``from + size``; finalize drops the first ``from``.

Under a ``nested`` aggregation (``ShardContext.nested_path``) the hits are the nested objects, as in ES:
each is read from its parent's ``_source`` (the array at the path, so ``_nested.offset`` is its position
there), ``_source`` is the object itself, sorting by a field under the path compares the object's own
value (a multi-field such as ``last.keyword`` reads its parent ``last``), and scores are the parent's.
Nested objects exist only in ``_source`` here, so this scans at most ``NESTED_SCAN_LIMIT`` parent
documents per bucket and shard (``hits.total`` is then a lower bound).

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

NESTED_SCAN_LIMIT = 10_000


class TopHitsKind:
    def empty(self, node: AggNode) -> Partial:
        return {"t": 0, "ms": None, "h": []}

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: TopHitsSpec = node.params
        if ctx.nested_path is not None:
            return _collect_nested(ctx, spec, query, ctx.nested_path)
        wanted = spec.from_ + spec.size
        total = ctx.count(query)
        if wanted == 0 or total == 0:
            return {"t": total, "ms": None, "h": []}
        by_field = _sort_field(ctx, spec)
        if by_field is None:
            result = ctx.searcher.search(query, wanted, count=False)
        else:
            order = tantivy.Order.Asc if spec.sort[0].asc else tantivy.Order.Desc
            result = ctx.searcher.search(query, wanted, count=False, order_by_field=by_field, order=order)
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


def _collect_nested(ctx: ShardContext, spec: TopHitsSpec, query: tantivy.Query, path: str) -> Partial:
    sort = spec.sort[0] if spec.sort and spec.sort[0].field != "_score" else None
    relative = sort.field[len(path) + 1 :] if sort is not None and sort.field.startswith(path + ".") else None
    rows: list[tuple[Any, float, int, dict[str, Any]]] = []
    max_score = None
    show_source = spec.source and _source_enabled(ctx)
    for order, (score, addr) in enumerate(ctx.searcher.search(query, NESTED_SCAN_LIMIT, count=False).hits):
        stored = ctx.searcher.doc(addr).to_dict()
        objects = _nested_objects(_stored_source(stored), path)
        for offset, obj in enumerate(objects):
            hit: dict[str, Any] = {
                "_index": ctx.index_name,
                "_id": (stored.get(ID_FIELD) or [None])[0],
                "_nested": {"field": path, "offset": offset},
            }
            if spec.version:
                hit["_version"] = _first_int(stored.get(VERSION_FIELD))
            if spec.seq_no_primary_term:
                hit["_seq_no"] = _first_int(stored.get(SEQ_NO_FIELD))
                hit["_primary_term"] = _first_int(stored.get(PRIMARY_TERM_FIELD))
            hit["_score"] = None if sort is not None else float(score)
            if show_source:
                hit["_source"] = filter_source(obj, spec.includes, spec.excludes)
            value: Any = float(score)
            if sort is not None:
                value = _object_value(obj, relative) if relative is not None else None
                hit["sort"] = [value]
            else:
                max_score = add_opt(max_score, float(score), max)
            rows.append((value, float(score), order * 1_000_000 + offset, hit))
    asc = sort is not None and sort.asc
    rows.sort(key=lambda r: (sort_key_for(r[0], asc), r[2]))
    hits = [[value, hit] for value, _, _, hit in rows[: spec.from_ + spec.size]]
    return {"t": len(rows), "ms": max_score, "h": hits}


def _nested_objects(source: Any, path: str) -> list[dict[str, Any]]:
    """The objects at ``path`` of a ``_source`` in document order (a single object counts as one)."""
    nodes: list[Any] = [source]
    for part in path.split("."):
        step: list[Any] = []
        for node in nodes:
            for item in node if isinstance(node, list) else [node]:
                if isinstance(item, dict) and part in item:
                    child = item[part]
                    step.extend(child if isinstance(child, list) else [child])
        nodes = step
    return [n for n in nodes if isinstance(n, dict)]


def _object_value(obj: dict[str, Any], path: str) -> Any:
    """The first value at ``path`` inside one object; a path past a leaf (a multi-field) reads the leaf."""
    node: Any = obj
    for part in path.split("."):
        if isinstance(node, list):
            node = node[0] if node else None
        if not isinstance(node, dict) or part not in node:
            break
        node = node[part]
    if isinstance(node, list):
        node = node[0] if node else None
    return None if isinstance(node, dict) else node


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
