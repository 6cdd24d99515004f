"""Term-centric queries over several fields: ``combined_fields`` and ``multi_match`` ``cross_fields``.

ES treats the fields as one: every analyzed term of the query must be found in *some* field (``operator``
and ``minimum_should_match`` count terms, not fields). Matching is exactly that here: per term, a
disjunction of the term over the fields (each with its ``^boost``), then the terms combined by the
operator. Scoring approximates ES's blended statistics (BM25F for ``combined_fields``, blended IDF for
``cross_fields``): a term scores as its best field (plus ``tie_breaker`` times the others).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tantivy import Occur, Query

from native.fields import FieldInfo
from native.query.ast import FieldBoost, QueryAst, Scalar
from native.query.msm import resolve_msm

__all__ = ["TermCentric", "compile_term_centric"]


@dataclass(frozen=True)
class TermCentric(QueryAst):
    fields: tuple[FieldBoost, ...]
    query: Scalar
    operator: str = "or"
    minimum_should_match: str | None = None
    zero_terms_query: str = "none"
    tie_breaker: float = 0.0
    lenient: bool = False
    boost: float = 1.0
    # combined_fields refuses non-text fields; cross_fields skips those that cannot take the value
    kind: str = "combined_fields"
    analyzer: str | None = None  # cross_fields' ``analyzer``: the query text's analysis for every field


def compile_term_centric(
    node: TermCentric,
    expand: Callable[[Sequence[FieldBoost]], list[tuple[FieldInfo, float, bool]]],
    tokens_of: Callable[[FieldInfo, Any], list[str]],
    exact: Callable[[FieldInfo, str], Query],
    boosted: Callable[[Query, float], Query],
    zero_terms: Callable[[str], Query],
    refuse: Callable[[str], Exception],
    string_types: frozenset[str],
) -> Query:
    """``node`` as a tantivy query; the callables are the compiler's own helpers."""
    fields: list[tuple[FieldInfo, float, list[str]]] = []
    for info, boost, wildcard in expand(node.fields):
        if info.es_type not in string_types:
            if node.kind == "combined_fields" and not wildcard:
                raise refuse(f"Field [{info.path}] of type [{info.es_type}] does not support [combined_fields] queries")
            continue
        fields.append((info, boost, tokens_of(info, node.query)))
    if not fields:
        return Query.empty_query()
    width = max(len(tokens) for _, _, tokens in fields)
    if width == 0:
        return zero_terms(node.zero_terms_query)
    per_term: list[Query] = []
    for i in range(width):
        alternatives = [boosted(exact(info, tokens[i]), boost) for info, boost, tokens in fields if i < len(tokens)]
        if len(alternatives) == 1:
            per_term.append(alternatives[0])
        else:
            per_term.append(Query.disjunction_max_query(alternatives, float(node.tie_breaker)))
    if node.operator == "and":
        q = per_term[0] if len(per_term) == 1 else Query.boolean_query([(Occur.Must, c) for c in per_term])
    else:
        need = resolve_msm(node.minimum_should_match, len(per_term))
        if need > len(per_term):
            return Query.empty_query()
        if len(per_term) == 1:
            q = per_term[0]
        else:
            q = Query.boolean_query([(Occur.Should, c) for c in per_term], need if need > 1 else None)
    return boosted(q, node.boost)
