"""Whether a query can match anything in a shard, decided without running it (ES's can_match phase).

The root asks this of every shard before the query phase when it pre-filters (``cluster.can_match``); a shard
answering no is skipped. As ES's shard-level rewrite does, a query provably matches nothing when it rewrites to
``match_none``:

- ``match_none``;
- a ``range`` on a field the shard does not map, or on an indexed numeric or date field whose values in the
  shard (the minimum and maximum of its fast column) all lie outside the range, or that no document of the
  shard has (a field with ``index: false`` is never bounded, as ES has no points for it);
- a query on ``_index`` that does not name the shard's index (``native.query.index_field``);
- a ``term``/``terms``/``prefix``/``wildcard``/``exists`` on a field the shard does not map;
- a ``bool`` whose ``must`` or ``filter`` holds such a clause, or whose ``should`` clauses all are (when it
  has no ``must``/``filter``); ``constant_score``, ``boosting`` (its positive query), ``dis_max`` (every
  query) by their parts.

Anything else may match. Reading min/max costs one pass over the field's column, not the query.
"""

from __future__ import annotations

from typing import Any

import tantivy

from native.errors import QuidditchError
from native.fields import FieldInfo, FieldResolver
from native.query import ast as A
from native.query.index_field import INDEX_FIELD, INDEX_NODES, index_query_matches
from native.query.values import BadValue, date_value, numeric_bound

__all__ = ["can_match"]

_UNMAPPED_NONE = (A.Term, A.Terms, A.Prefix, A.Wildcard)


def can_match(ast: A.QueryAst | None, resolver: FieldResolver, searcher: tantivy.Searcher, now_millis: int) -> bool:
    """False only when ``ast`` provably matches no document of the shard ``searcher`` reads."""
    if ast is None:
        return True
    return _Check(resolver, searcher, now_millis).may_match(ast)


class _Check:
    def __init__(self, resolver: FieldResolver, searcher: tantivy.Searcher, now_millis: int) -> None:
        self.resolver = resolver
        self.searcher = searcher
        self.now_millis = now_millis
        self._bounds: dict[str, tuple[float, float] | None] = {}

    def may_match(self, node: A.QueryAst) -> bool:
        if isinstance(node, A.MatchNone):
            return False
        field = getattr(node, "field", None)
        if field == INDEX_FIELD and isinstance(node, INDEX_NODES):
            try:
                resolver = self.resolver
                return index_query_matches(
                    node, getattr(resolver, "index_name", ""), getattr(resolver, "index_aliases", ())
                )
            except QuidditchError:  # the shard's query phase reports it
                return True
        if isinstance(node, A.Range):
            return self._range(node)
        if isinstance(node, _UNMAPPED_NONE) and isinstance(field, str) and not field.startswith("_"):
            return not self._unmapped(field)
        if isinstance(node, A.Exists) and not node.field.startswith("_") and "*" not in node.field:
            # no field at the path, above it or under it (an object's sub-fields)
            return not self._unmapped(node.field) or bool(self.resolver.expand(node.field + ".*"))
        if isinstance(node, A.Bool):
            if any(not self.may_match(c) for c in (*node.must, *node.filter)):
                return False
            if node.should and not node.must and not node.filter:
                return any(self.may_match(c) for c in node.should)
            return True
        if isinstance(node, A.ConstantScore):
            return self.may_match(node.filter)
        if isinstance(node, A.Boosting):
            return self.may_match(node.positive)
        if isinstance(node, A.DisMax):
            return any(self.may_match(q) for q in node.queries)
        return True

    def _range(self, node: A.Range) -> bool:
        if node.field.startswith("_"):
            return True  # metadata fields (``_seq_no``, ``_id``…) are left to the query phase
        info = self.resolver.field(node.field)
        if info is None:
            return not self._unmapped(node.field)  # ES rewrites a range on an unmapped field to match_none
        if "bound_type" in info.extra or not (info.es_type == "date" or info.is_numeric):
            return True
        if not self._indexed(node.field):
            return True  # doc values only: ES has no points to bound it with, and does not skip
        try:
            bounds = _query_bounds(info, node, self.now_millis)
        except (BadValue, ValueError, TypeError, OverflowError):
            return True  # a bad value fails the query phase with ES's error
        if bounds is None:
            return False
        try:
            present = self._min_max(info)
        except ValueError:  # a column tantivy cannot aggregate: leave it to the query phase
            return True
        if present is None:
            return False
        low, high = present
        (lo, lo_inc), (hi, hi_inc) = bounds
        if lo is not None and (lo > high or (lo == high and not lo_inc)):
            return False
        return not (hi is not None and (hi < low or (hi == low and not hi_inc)))

    def _unmapped(self, path: str) -> bool:
        """No field at ``path`` nor at any path above it (a field there, such as a ``flattened`` one, may
        answer for its sub-keys: left to the query phase)."""
        parts = path.split(".")
        return all(self.resolver.field(".".join(parts[:n])) is None for n in range(1, len(parts) + 1))

    def _indexed(self, path: str) -> bool:
        mapping = getattr(self.resolver, "mapping", None)
        leaf = mapping.leaf(path) if mapping is not None else None
        return leaf is None or str(leaf.params.get("index", True)).lower() != "false"

    def _min_max(self, info: FieldInfo) -> tuple[float, float] | None:
        """The least and greatest value of the field in the shard (None: no document has one)."""
        if info.tantivy_name not in self._bounds:
            found: tuple[float, float] | None = None
            if self.searcher.num_docs:
                spec = {"s": {"stats": {"field": info.tantivy_name}}}
                stats = self.searcher.aggregate(tantivy.Query.all_query(), spec)
                s = stats.get("s") or {}
                if s.get("count") and s.get("min") is not None and s.get("max") is not None:
                    found = (s["min"], s["max"])
            self._bounds[info.tantivy_name] = found
        return self._bounds[info.tantivy_name]


def _query_bounds(info: FieldInfo, node: A.Range, now_millis: int) -> tuple[tuple[Any, bool], tuple[Any, bool]] | None:
    """The range's sides in the field's column values, as the query compiler reads them (None: matches no value)."""
    out: list[tuple[Any, bool]] = []
    sides = ((node.lower, True, node.include_lower), (node.upper, False, node.include_upper))
    for value, lower, inclusive in sides:
        if value is None:
            out.append((None, True))
        elif info.es_type == "date":
            round_up = (not inclusive) if lower else inclusive
            ms = date_value(info, value, now_millis, round_up=round_up, fmt=node.format, time_zone=node.time_zone)
            out.append((ms, inclusive))
        else:
            bound = numeric_bound(info, value, lower=lower, inclusive=inclusive)
            if bound is None:
                return None
            out.append(bound)
    (lo, lo_inc), (hi, hi_inc) = out
    if lo is not None and hi is not None and (lo > hi or (lo == hi and not (lo_inc and hi_inc))):
        return None
    return out[0], out[1]
