"""Named queries: ``_name`` on any query clause → ``matched_queries`` on the hits it matches.

As ES's fetch sub-phase, each named clause is run on its own (its own score, boost included, whatever
context it sits in: a named ``filter`` clause still reports the score its query gives) against the hits
being fetched; a hit lists the names of the clauses that match it, and with
``include_named_queries_score`` their scores.

Named clauses are found in the raw query JSON: ``_name`` in a query's body (``{"ids": {"_name": …}}``) or
in its per-field object (``{"match": {"title": {"query": …, "_name": …}}}``), walking into every place a
compound query holds sub-queries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import tantivy

from native.fields import SEQ_NO_FIELD

__all__ = ["NamedQueries", "named_clauses"]

# where compound queries keep their sub-queries: one query object, or a list of them
_CHILDREN: dict[str, tuple[str, ...]] = {
    "bool": ("must", "should", "filter", "must_not"),
    "dis_max": ("queries",),
    "constant_score": ("filter",),
    "boosting": ("positive", "negative"),
    "function_score": ("query",),
    "nested": ("query",),
    "has_child": ("query",),
    "has_parent": ("query",),
    "script_score": ("query",),
    "pinned": ("organic",),
}


def named_clauses(query: Any) -> list[tuple[str, dict[str, Any]]]:
    """``(name, clause)`` for every named clause of a query JSON, outermost first, in document order."""
    return list(_walk(query))


def _walk(query: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    if not isinstance(query, dict):
        return
    for kind, body in query.items():
        if not isinstance(body, dict):
            continue
        name = body.get("_name")
        if isinstance(name, str):
            yield name, {kind: body}
        else:
            for value in body.values():  # per-field form: {"term": {"field": {"value": …, "_name": …}}}
                if isinstance(value, dict) and isinstance(value.get("_name"), str):
                    yield value["_name"], {kind: body}
                    break
        for key in _CHILDREN.get(kind, ()):
            child = body.get(key)
            for sub in child if isinstance(child, list) else [child]:
                yield from _walk(sub)
        if kind == "function_score":
            for function in body.get("functions") or ():
                if isinstance(function, dict):
                    yield from _walk(function.get("filter"))


class NamedQueries:
    """The named clauses of one request compiled for one shard; ``scores`` answers per fetched document."""

    def __init__(
        self,
        searcher: tantivy.Searcher,
        schema: tantivy.Schema,
        clauses: Sequence[tuple[str, dict[str, Any]]],
        compile_clause: Callable[[dict[str, Any]], tantivy.Query],
    ) -> None:
        self._searcher = searcher
        self._schema = schema
        self._queries = [(name, compile_clause(clause)) for name, clause in clauses]

    def scores(self, refs: Sequence[tuple[int, int]]) -> list[dict[str, float]]:
        """For each (segment, doc) address, ``{name: score}`` of the named clauses that match it."""
        out: list[dict[str, float]] = [{} for _ in refs]
        if not refs or not self._queries:
            return out
        searcher = self._searcher
        addrs = [tantivy.DocAddress(seg, doc) for seg, doc in refs]
        seqs = [int(v or 0) for v in searcher.fast_field_values(SEQ_NO_FIELD, addrs)]
        position = {ref: i for i, ref in enumerate(refs)}
        restrict = tantivy.Query.const_score_query(tantivy.Query.term_set_query(self._schema, SEQ_NO_FIELD, seqs), 0.0)
        for name, query in self._queries:
            filtered = tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.Must, restrict)])
            for score, addr in searcher.search(filtered, len(refs), count=False).hits:
                i = position.get((addr.segment_ord, addr.doc))
                if i is not None:
                    out[i][name] = float(score)
        return out
