"""``nested`` and ``reverse_nested`` aggregations, and ``top_hits`` under them, on nested documents.

The nested documents of a shard are those of its ``native.nested.NestedView``. A ``nested`` bucket holds the
nested documents of ``path`` whose parents are in the enclosing bucket (``doc_count`` counts nested
objects, as in ES); its sub-aggregations run on the view with ``ShardContext.nested_path`` set to the path
(the level their queries are compiled for). ``reverse_nested`` goes from the nested documents of the bucket
back to their distinct ancestors at ``path`` (or the top-level documents without ``path``).

Partial: ``[doc_count, subs]``, as every single-bucket aggregation.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import tantivy

from native.aggs.execute import ShardContext
from native.aggs.filters import SingleBucketKind
from native.aggs.partials import Partial
from native.aggs.spec import AggNode, NestedSpec, SortItem
from native.errors import IllegalArgument
from native.fields import ID_FIELD, SEQ_NO_FIELD
from native.nested import VIEWS, NestedView
from native.query.nested import top_level_keys


def _at(ctx: ShardContext, view: NestedView, level: str | None) -> ShardContext:
    searcher = view.top_searcher if level is None else view.searcher
    return replace(ctx, searcher=searcher, nested_path=level, _compiled={})


def _level_keys(ctx: ShardContext, view: NestedView, query: tantivy.Query) -> set[str]:
    """The keys (``_id`` for top-level documents) of the documents of the current bucket."""
    if ctx.nested_path is None:
        return top_level_keys(view, ctx.searcher, query)
    return {view.key[int(o)] for _, o in view.matches(query)}


class NestedAggKind(SingleBucketKind):
    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: NestedSpec = node.params
        path = str(spec.path)
        view = VIEWS.level_of(ctx.searcher) or VIEWS.get(ctx.searcher, ctx.resolver)  # type: ignore[arg-type]
        nested = view.paths.get(path)
        if nested is None:
            if any(p == path for p, _ in view.compiled.mapping.iter_objects()):
                raise IllegalArgument(f"[nested] nested path [{path}] is not nested")
            return [0, {}]  # an unmapped path: an empty bucket, as ES's unmapped nested aggregation
        level = ctx.nested_path or ""
        keys = _level_keys(ctx, view, query)
        scope = view.descendants(path, level, keys)
        inner = _at(ctx, view, path)
        return [inner.count(scope), inner.collect_subs(node, scope, None)]


class ReverseNestedKind(SingleBucketKind):
    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: NestedSpec = node.params
        view = VIEWS.level_of(ctx.searcher)
        if ctx.nested_path is None or view is None:
            raise IllegalArgument("Reverse nested aggregation [" + node.name + "] can only be used inside a [nested] "
                                  "aggregation")  # fmt: skip
        ordinals = [int(o) for _, o in view.matches(query)]
        if spec.path is None:
            roots = sorted({view.root_id[o] for o in ordinals})
            top = _at(ctx, view, None)
            scope = tantivy.Query.term_set_query(top.schema, ID_FIELD, roots) if roots else tantivy.Query.empty_query()
            return [top.count(scope), top.collect_subs(node, scope, None)]
        path = spec.path
        if path not in view.paths:
            raise IllegalArgument(f"[reverse_nested] nested path [{path}] not found")
        if not ctx.nested_path.startswith(path + "."):
            raise IllegalArgument(f"[reverse_nested] nested path [{path}] is not a parent of [{ctx.nested_path}]")
        parents = {view.ancestor(o, path) for o in ordinals} - {-1}
        scope = view.ordinals_query(parents)
        inner = _at(ctx, view, path)
        return [inner.count(scope), inner.collect_subs(node, scope, None)]


def top_hits_of_view(ctx: ShardContext, query: tantivy.Query, wanted: int, order_by: str | None,
                     asc: bool) -> tuple[int, list[tuple[Any, dict[str, Any]]]]:  # fmt: skip
    """``top_hits`` under a ``nested`` aggregation: ``(total, [(score or sort value, hit)])`` of the nested
    documents of the bucket, each hit with the top-level ``_id``, ``_nested`` and the object as ``_source``."""
    view = VIEWS.level_of(ctx.searcher)
    assert view is not None
    total = ctx.matches(query)
    if not wanted or not total:
        return total, []
    if order_by is None:
        result: Any = ctx.searcher.search(query, wanted, count=False)
    else:
        from native.aggs.top_hits import _by_field_missing_last

        result = _by_field_missing_last(ctx, query, wanted, order_by, asc)
    ordinals = ctx.searcher.fast_field_values("_seq_no", [addr for _, addr in result.hits])
    out = []
    for (value, _), ordinal in zip(result.hits, ordinals, strict=True):
        o = int(ordinal or 0)
        hit = {"_id": view.root_id[o], "_nested": nested_identity(view, o), "_source": view.source[o]}
        out.append((value, {**hit, "_path": view.path[o]}))
    return total, out


def by_nested_sort(ctx: ShardContext, query: tantivy.Query, wanted: int, sort: SortItem) -> Any:
    """``top_hits`` sorted by a field of the bucket documents' nested documents (``sort.nested``): the top
    ``wanted`` as ``.hits`` of ``(sort value, address)``, missing values last, ties in index order."""
    from native.nested_sort import nested_sort_column
    from native.query import compile_query

    def compile_for(ast: Any, view_searcher: tantivy.Searcher, level: str) -> tantivy.Query:
        return compile_query(ast, ctx.resolver, now_millis=ctx.now_millis, searcher=view_searcher, nested_level=level)

    addrs = ctx.docs(query)
    info = ctx.field(sort.field)
    assert sort.nested is not None
    values = nested_sort_column(ctx.searcher, ctx.resolver, sort.nested, sort.field, sort.mode, not sort.asc, info,
                                addrs, compile_for)  # fmt: skip
    seq_nos = ctx.searcher.fast_field_values(SEQ_NO_FIELD, addrs) if addrs else []
    rows = sorted(zip(values, seq_nos, addrs, strict=True), key=lambda r: (_Order(r[0], sort.asc), r[1] or 0))
    return _Hits([(value, addr) for value, _, addr in rows[:wanted]])


class _Order:
    """A sort value, missing last in either direction."""

    __slots__ = ("asc", "value")

    def __init__(self, value: Any, asc: bool) -> None:
        self.value, self.asc = value, asc

    def __lt__(self, other: _Order) -> bool:
        if self.value is None or other.value is None:
            return self.value is not None and other.value is None
        return bool(self.value < other.value) if self.asc else bool(self.value > other.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Order) and self.value == other.value


class _Hits:
    def __init__(self, hits: list[tuple[Any, tantivy.DocAddress]]) -> None:
        self.hits = hits


def nested_identity(view: NestedView, ordinal: int) -> dict[str, Any]:
    """ES's ``_nested`` of a nested document: ``{field, offset}`` from the top level down (``_nested``
    inside for each deeper level)."""
    chain = []
    o = ordinal
    while o >= 0:
        chain.append(o)
        o = view.parent_ord[o]
    identity: dict[str, Any] | None = None
    for o in chain:  # innermost first
        parent = view.parent_ord[o]
        field = view.path[o] if parent < 0 else view.path[o][len(view.path[parent]) + 1 :]
        node: dict[str, Any] = {"field": field, "offset": view.offset[o]}
        if identity is not None:
            node["_nested"] = identity
        identity = node
    assert identity is not None
    return identity


KINDS = {"nested": NestedAggKind(), "reverse_nested": ReverseNestedKind()}
