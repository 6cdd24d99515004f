"""Sorting top-level documents by a field of their nested documents: ``{field: {nested: {...}, mode}}``.

``nested`` is ``{path, filter, max_children, nested}`` as in ES: the values come from the nested documents
of ``path`` (the innermost ``nested`` of the chain) that pass each level's ``filter``; ``max_children``
caps how many children of each parent (in document order) are considered. A parent's sort value is
``mode`` over those values: ``min`` (default ascending), ``max`` (default descending), ``sum``, ``avg``,
``median`` (numbers only). A parent without such a value is "missing".

Values are read from the shard's ``native.nested.NestedView``: numbers and dates from the view's fast
columns (as the top-level sort reads them), keywords and booleans from the nested objects themselves.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import tantivy

from native.errors import IllegalArgument, ParsingError
from native.fields import COLUMNAR_NUMERIC_TYPES, SEQ_NO_FIELD, FieldInfo
from native.nested import VIEWS, NestedView
from native.query import QueryAst, parse_query
from native.values import leaf_values_at

MODES = ("min", "max", "sum", "avg", "median")
_NUMERIC_ONLY = ("sum", "avg", "median")


@dataclass(frozen=True)
class NestedSortLevel:
    path: str
    filter: QueryAst | None
    max_children: int | None


def parse_nested_sort(raw: Any, field: str) -> tuple[NestedSortLevel, ...]:
    """The chain of a sort's ``nested`` object, outermost first (a 400 on a malformed one)."""
    levels: list[NestedSortLevel] = []
    node = raw
    while node is not None:
        if not isinstance(node, dict):
            raise ParsingError(f"[nested] sort of [{field}] must be an object")
        unknown = sorted(set(node) - {"path", "filter", "max_children", "nested"})
        if unknown:
            raise ParsingError(f"[nested] unknown field [{unknown[0]}]")
        path = node.get("path")
        if not isinstance(path, str) or not path:
            raise IllegalArgument("[nested] sort requires [path]")
        flt = node.get("filter")
        max_children = node.get("max_children")
        if max_children is not None and (not isinstance(max_children, int) or isinstance(max_children, bool)):
            raise ParsingError("[nested] failed to parse field [max_children]")
        levels.append(NestedSortLevel(path, None if flt is None else parse_query(flt), max_children))
        node = node.get("nested")
    for outer, inner in itertools.pairwise(levels):
        if not inner.path.startswith(outer.path + "."):
            raise IllegalArgument(
                f"[nested] nested path [{inner.path}] must be a descendant of nested path [{outer.path}]"
            )
    return tuple(levels)


def check_mode(mode: str | None) -> None:
    if mode is not None and mode not in MODES:
        raise IllegalArgument(f"Unknown SortMode [{mode}]")


def nested_sort_column(
    searcher: tantivy.Searcher,
    compiled: Any,
    nested_json: str,
    field: str,
    mode: str | None,
    reverse: bool,
    info: FieldInfo | None,
    addrs: Sequence[tantivy.DocAddress],
    compile_for: Callable[[QueryAst, tantivy.Searcher, str], tantivy.Query],
) -> list[Any]:
    """The sort value of each top-level document at ``addrs`` (None: missing)."""
    levels = parse_nested_sort(orjson.loads(nested_json), field)
    mode = mode or ("max" if reverse else "min")
    check_mode(mode)
    if info is None or not addrs:
        return [None] * len(addrs)
    if mode in _NUMERIC_ONLY and info.es_type not in COLUMNAR_NUMERIC_TYPES:
        raise IllegalArgument(f"only [min] and [max] modes are supported for field [{field}] of type [{info.es_type}]")
    view = VIEWS.get(searcher, compiled)
    for level in levels:
        if level.path not in view.paths:
            raise IllegalArgument(f"[nested] failed to find nested object under path [{level.path}]")
    inner = levels[-1].path
    if not (field.startswith(inner + ".")):
        raise IllegalArgument(f"[nested] nested path [{inner}] is not a parent of sort field [{field}]")
    allowed = _allowed(view, levels, compile_for)
    by_root: dict[str, list[Any]] = defaultdict(list)
    leaf = next((leaf for leaf in compiled.leaves if leaf.path == field), None)
    values = _values(view, allowed, leaf.source_path if leaf is not None else field, info)
    ignore_above = leaf.params.get("ignore_above") if leaf is not None else None
    if isinstance(ignore_above, int) and info.es_type == "keyword":  # such values are not indexed: not sortable
        values = {o: kept for o, found in values.items() if (kept := [v for v in found if len(v) <= ignore_above])}
    per_parent_seen: dict[str, int] = defaultdict(int)
    limit = levels[-1].max_children
    for o in allowed:
        parent = view.parent_key[o]
        if limit is not None:
            if per_parent_seen[parent] >= limit:
                continue
            per_parent_seen[parent] += 1
        by_root[view.root_id[o]].extend(values.get(o, ()))
    seq_nos = searcher.fast_field_values(SEQ_NO_FIELD, list(addrs))
    out: list[Any] = []
    for seq_no in seq_nos:
        root = view.id_of_seq_no.get(int(seq_no)) if seq_no is not None else None
        found = by_root.get(root) if root is not None else None
        out.append(_fold(found, mode) if found else None)
    return out


def _allowed(view: NestedView, levels: Sequence[NestedSortLevel], compile_for: Any) -> list[int]:
    """Ordinals of the innermost path's documents whose every level passes its filter, in document order."""
    passing: list[set[int] | None] = []
    for level in levels:
        if level.filter is None:
            passing.append(None)
            continue
        query = compile_for(level.filter, view.searcher, level.path)
        scope = tantivy.Query.const_score_query(view.of_path(level.path), 0.0)
        matched = view.matches(tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.Must, scope)]))
        passing.append({int(o) for _, o in matched})
    lo, hi = view.ranges.get(levels[-1].path, (0, 0))
    if all(allowed is None for allowed in passing):
        return list(range(lo, hi))
    out = []
    for o in range(lo, hi):
        ok = True
        for level, allowed in zip(levels, passing, strict=True):
            if allowed is None:
                continue
            if view.ancestor(o, level.path) not in allowed:
                ok = False
                break
        if ok:
            out.append(o)
    return out  # ordinals are in document order (``NestedView`` lays them out so)


def _values(view: NestedView, ordinals: list[int], field: str, info: FieldInfo) -> dict[int, list[Any]]:
    """Per ordinal, its values of ``info`` (numbers, dates and booleans from the view's columns, as the
    top-level sort reads them; other types from the object at ``field``, the leaf's source path)."""
    if not ordinals:
        return {}
    if info.es_type not in COLUMNAR_NUMERIC_TYPES:
        out: dict[int, list[Any]] = {}
        for o in ordinals:
            relative = field[len(view.path[o]) + 1 :]
            found = [str(v) for v in leaf_values_at(view.source[o], relative)]
            if found:
                out[o] = found
        return out
    column = view.column(info.tantivy_name)
    columns: dict[int, list[Any]] = {}
    for o in ordinals:
        v = column[o]
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        columns[o] = [(1 if v else 0) if info.es_type == "boolean" else v]
    return columns



def _fold(values: list[Any], mode: str) -> Any:
    if mode == "min":
        return min(values)
    if mode == "max":
        return max(values)
    if mode == "sum":
        return sum(values)
    if mode == "avg":
        return sum(values) / len(values)
    return statistics.median(values)
