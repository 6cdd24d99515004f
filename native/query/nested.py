"""The ``nested`` query: an inner query on the nested documents of ``path``, joined to their parents.

The nested documents live in the shard's ``native.nested.NestedView``. Compiling a ``nested`` query runs
the inner query on the view (restricted to ``path``, and to the current nested level when the query sits
inside another ``nested`` query or a ``nested`` aggregation), collects every match with its score, folds the
scores per parent (``score_mode``: ``avg`` default, ``max``, ``min``, ``sum``, ``none`` = 0) and returns a
query on the level above that matches exactly those parents, each with its folded score times ``boost``
(constant-score clauses grouped by score). ``ignore_unmapped`` turns an unmapped path into match-none
instead of ES's ``query_shard_exception``. ``inner_hits`` is kept (as JSON) for the fetch phase.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import tantivy
from tantivy import Occur, Query

from native.errors import IllegalArgument, ParsingError
from native.fields import ID_FIELD, SEQ_NO_FIELD
from native.nested import VIEWS, NestedView, hits_with
from native.query.ast import QueryAst
from native.query.errors import QueryShardError
from native.query.limits import ParseContext
from native.query.params import as_bool, as_float, as_str, check_params, expect_object

__all__ = ["PARSERS", "NestedQuery", "compile_nested"]

SCORE_MODES = ("avg", "max", "min", "sum", "none")


@dataclass(frozen=True)
class NestedQuery(QueryAst):
    path: str
    query: QueryAst
    score_mode: str = "avg"
    ignore_unmapped: bool = False
    inner_hits: str | None = None  # the ``inner_hits`` object as JSON (native.inner_hits reads it)
    boost: float = 1.0


def parse_nested(body: Any, ctx: ParseContext) -> NestedQuery:
    from native.query.compound import parse_inner

    body = expect_object("nested", body)
    check_params("nested", body, ("path", "query", "score_mode", "ignore_unmapped", "inner_hits"))
    if "query" not in body:
        raise ParsingError("[nested] requires 'query' field")
    if "path" not in body:
        raise ParsingError("[nested] requires 'path' field")
    path = as_str("nested", "path", body["path"])
    score_mode = as_str("nested", "score_mode", body.get("score_mode", "avg"))
    if score_mode not in SCORE_MODES:
        raise IllegalArgument(f"No ScoreMode found for value [{score_mode}]")
    inner_hits = body.get("inner_hits")
    if inner_hits is not None:
        from native.inner_hits import parse_inner_hits

        if not isinstance(inner_hits, dict):
            raise ParsingError("[inner_hits] query malformed, no start_object after query name")
        parse_inner_hits(inner_hits, path)  # a bad option is a 400 now, not at fetch
    return NestedQuery(
        path,
        parse_inner(body["query"], ctx),
        score_mode=score_mode,
        ignore_unmapped=as_bool("nested", "ignore_unmapped", body.get("ignore_unmapped", False)),
        inner_hits=None if inner_hits is None else orjson.dumps(inner_hits).decode(),
        boost=as_float("nested", "boost", body.get("boost", 1.0)),
    )


PARSERS = {"nested": parse_nested}


def fold_scores(scores: list[float], mode: str) -> float:
    if mode == "none":
        return 0.0
    if mode == "max":
        return max(scores)
    if mode == "min":
        return min(scores)
    if mode == "sum":
        return float(sum(scores))
    return float(sum(scores)) / len(scores)


def check_path(view: NestedView, path: str, level: str, ignore_unmapped: bool) -> bool:
    """Whether ``path`` is a nested field under ``level``; False (match none) or ES's 400 otherwise."""
    if path in view.paths:
        spec = view.paths[path]
        if level and spec.path != level and not spec.path.startswith(level + "."):
            raise QueryShardError(f"[nested] nested path [{path}] is not a child of [{level}]")
        return True
    if ignore_unmapped:
        return False
    if any(p == path for p, _ in view.compiled.mapping.iter_objects()):
        raise QueryShardError(f"[nested] nested object under path [{path}] is not of nested type")
    raise QueryShardError(f"[nested] failed to find nested object under path [{path}]")


def compile_nested(
    node: NestedQuery,
    searcher: tantivy.Searcher | None,
    resolver: Any,
    level: str,
    inner_compiler: Callable[[QueryAst, tantivy.Searcher | None, str], Query],
) -> Query:
    """The query of ``node`` on the documents of ``level`` ("" top level, else a nested path) that
    ``searcher`` holds (a top-level searcher or a nested view's); ``inner_compiler(ast, view_searcher,
    path)`` compiles the inner query for the documents of ``path`` in the view. Without a searcher (query
    validation) the path and the inner query are checked and the result matches nothing."""
    if searcher is None:  # validation only (``_validate/query``): check the path and the inner query
        paths = getattr(resolver, "nested", {})
        if node.path not in paths and not node.ignore_unmapped:
            mapping = getattr(resolver, "mapping", None)
            objects = {p for p, _ in mapping.iter_objects()} if mapping is not None else set()
            if node.path in objects:
                raise QueryShardError(f"[nested] nested object under path [{node.path}] is not of nested type")
            raise QueryShardError(f"[nested] failed to find nested object under path [{node.path}]")
        inner_compiler(node.query, None, node.path)
        return Query.empty_query()
    view = VIEWS.level_of(searcher) or VIEWS.get(searcher, resolver)
    if not check_path(view, node.path, level, node.ignore_unmapped):
        return Query.empty_query()
    inner = inner_compiler(node.query, view.searcher, node.path)
    # the inner query alone (its scores untouched by a conjunction), its matches kept to ``path`` here
    lo, hi = view.ranges.get(node.path, (0, 0))
    per_parent: dict[Any, list[float]] = defaultdict(list)
    for score, ordinal in view.matches(inner):
        o = int(ordinal)
        if not lo <= o < hi:
            continue
        per_parent[view.ancestor(o, level) if level else view.root_id[o]].append(score)
    return scored_set(resolver.schema, SEQ_NO_FIELD if level else ID_FIELD, per_parent, node.score_mode, node.boost)


def scored_set(
    schema: tantivy.Schema, field: str, per_key: dict[Any, list[float]], score_mode: str, boost: float
) -> Query:
    """A query matching the documents whose ``field`` is a key of ``per_key``, each scoring its folded
    scores times ``boost``."""
    if not per_key:
        return Query.empty_query()
    by_score: dict[float, list[Any]] = defaultdict(list)
    for key, scores in per_key.items():
        by_score[fold_scores(scores, score_mode) * boost].append(key)
    clauses = [(Occur.Should, Query.const_score_query(_key_set(schema, field, keys), float(score)))
               for score, keys in by_score.items()]  # fmt: skip
    return clauses[0][1] if len(clauses) == 1 else Query.boolean_query(clauses)


_SET_FROM = 64  # keys from which one set query beats a disjunction of term queries (a set query costs ~100x)


def _key_set(schema: tantivy.Schema, field: str, keys: list[Any]) -> Query:
    if len(keys) == 1:
        return Query.term_query(schema, field, keys[0])
    if len(keys) < _SET_FROM:
        return Query.boolean_query([(Occur.Should, Query.term_query(schema, field, key)) for key in keys])
    return Query.term_set_query(schema, field, sorted(keys))


def top_level_keys(view: NestedView, searcher: tantivy.Searcher, query: Query) -> set[str]:
    """The ``_id`` of every top-level document ``query`` matches that has nested documents (joins down from
    the top level; ``searcher`` is the view's top-level one)."""
    ids = view.id_of_seq_no
    return {ids[int(seq_no)] for _, seq_no in hits_with(searcher, query, SEQ_NO_FIELD) if int(seq_no) in ids}
