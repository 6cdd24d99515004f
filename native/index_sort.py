"""Sorting on the ``_index`` metadata field.

Every document of a shard has the shard's index name as its ``_index`` value, so within a shard an ``_index``
sort key orders nothing: the shard sorts by its other keys and puts its index name in each hit's sort values at
the ``_index`` positions; the root's merge then orders the shards' hits by name like any string key.

``search_after`` with ``_index`` keys is read when those keys come first: the shard's name against the given
names decides whether the shard lies wholly before the point (no hits, only its total), wholly after it (every
hit), or on it (its other keys continue from the remaining values). An ``_index`` key after other keys with
``search_after`` is refused by name (a 400), not approximated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import tantivy

from native.errors import IllegalArgument
from native.query.index_field import INDEX_FIELD
from native.schema import CompiledMapping

__all__ = ["has_index_sort", "index_sorted"]

DOC_SORT_FIELD = "_doc"


def has_index_sort(sort: Sequence[Any]) -> bool:
    return any(s.field == INDEX_FIELD for s in sort)


def index_sorted(
    run: Callable[..., Any],
    searcher: tantivy.Searcher,
    compiled: CompiledMapping,
    query: tantivy.Query,
    *,
    limit: int,
    sort: Sequence[Any],
    search_after: Sequence[Any] | None,
    min_score: float | None,
    matches_all: bool,
) -> Any:
    """``run`` (``native.search.query_shard``) with the ``_index`` keys of ``sort`` answered by the index name."""
    positions = [j for j, s in enumerate(sort) if s.field == INDEX_FIELD]
    rest = [s for s in sort if s.field != INDEX_FIELD]
    added_doc = not rest
    if added_doc:  # only ``_index``: the shard's hits in index order, as Lucene breaks the tie
        rest = [replace(sort[0], field=DOC_SORT_FIELD, order="asc", missing="_last", format=None)]
    name = compiled.index_name
    rest_after: list[Any] | None = None
    if search_after is not None:
        if len(search_after) != len(sort):
            raise IllegalArgument(f"search_after has {len(search_after)} value(s) but sort has {len(sort)}.")
        if positions != list(range(len(positions))):
            raise IllegalArgument("search_after with a sort on [_index] after other sort keys is not supported")
        side = 0
        for j in positions:
            given = str(search_after[j])
            side = (name > given) - (name < given)
            if sort[j].reverse:
                side = -side
            if side:
                break
        if side < 0 or (side == 0 and added_doc):  # the shard sorts wholly before the point (or on it, ties
            # being before it as in ES): no hits, but its total
            result = run(searcher, compiled, query, limit=0, sort=rest, min_score=min_score, matches_all=matches_all)
            return replace(result, hits=[])
        if side == 0 and not added_doc:
            rest_after = [v for j, v in enumerate(search_after) if j not in positions]
    result = run(searcher, compiled, query, limit=limit, sort=rest, search_after=rest_after, min_score=min_score,
                 matches_all=matches_all)  # fmt: skip
    hits = []
    for hit in result.hits:
        values = [] if added_doc else list(hit.sort_values)
        for j in positions:
            values.insert(j, name)
        hits.append(replace(hit, sort_values=tuple(values)))
    return replace(result, hits=hits)
