"""The internal query AST: what the ES query DSL parses into and what the compiler consumes.

Nodes are frozen dataclasses. Values stay as the user sent them (strings, numbers, booleans): how a
value is read depends on the mapped type of the field, which only the compiler knows. Leaf nodes with
an empty ``field`` are templates used by ``MultiField``, which substitutes each expanded field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "Bool",
    "Boosting",
    "ConstantScore",
    "DisMax",
    "Exists",
    "FieldBoost",
    "Fuzzy",
    "Ids",
    "Match",
    "MatchAll",
    "MatchNone",
    "MatchPhrase",
    "MatchPhrasePrefix",
    "MultiField",
    "Prefix",
    "QueryAst",
    "Range",
    "Regexp",
    "Term",
    "Terms",
    "TermsLookup",
    "Wildcard",
]

Scalar = str | int | float | bool


@dataclass(frozen=True)
class QueryAst:
    """Base of every node; ``boost`` multiplies the node's score as in ES."""


@dataclass(frozen=True)
class MatchAll(QueryAst):
    boost: float = 1.0


@dataclass(frozen=True)
class MatchNone(QueryAst):
    pass


@dataclass(frozen=True)
class Term(QueryAst):
    field: str
    value: Scalar
    boost: float = 1.0
    case_insensitive: bool = False


@dataclass(frozen=True)
class Terms(QueryAst):
    field: str
    values: tuple[Scalar, ...]
    boost: float = 1.0


@dataclass(frozen=True)
class TermsLookup(QueryAst):
    """``terms`` whose values are read from a document (``native.query.lookup``); the root resolves it into
    ``Terms`` before fan-out, so a shard never compiles one."""

    field: str
    index: str
    id: str
    path: str
    routing: str | None = None
    boost: float = 1.0


@dataclass(frozen=True)
class Range(QueryAst):
    field: str
    lower: Any = None
    upper: Any = None
    include_lower: bool = True
    include_upper: bool = True
    format: str | None = None
    time_zone: str | None = None
    boost: float = 1.0
    # Only read for range-typed fields (integer_range, date_range…): intersects, within or contains.
    relation: str = "intersects"


@dataclass(frozen=True)
class Exists(QueryAst):
    field: str
    boost: float = 1.0


@dataclass(frozen=True)
class Ids(QueryAst):
    values: tuple[str, ...]
    boost: float = 1.0


@dataclass(frozen=True)
class Prefix(QueryAst):
    field: str
    value: str
    case_insensitive: bool = False
    boost: float = 1.0


@dataclass(frozen=True)
class Wildcard(QueryAst):
    field: str
    value: str
    case_insensitive: bool = False
    boost: float = 1.0
    # query_string's analyze_wildcard: run the literal parts through the field's analyzer
    analyze: bool = False


@dataclass(frozen=True)
class Regexp(QueryAst):
    field: str
    value: str
    flags: str = "ALL"
    case_insensitive: bool = False
    boost: float = 1.0


@dataclass(frozen=True)
class Fuzzy(QueryAst):
    field: str
    value: Scalar
    fuzziness: str | int = "AUTO"
    prefix_length: int = 0
    max_expansions: int = 50
    transpositions: bool = True
    boost: float = 1.0


@dataclass(frozen=True)
class Match(QueryAst):
    field: str
    query: Scalar
    operator: str = "or"  # "or" | "and"
    minimum_should_match: str | None = None
    fuzziness: str | int | None = None
    prefix_length: int = 0
    fuzzy_transpositions: bool = True
    lenient: bool = False
    zero_terms_query: str = "none"  # "none" | "all"
    analyzer: str | None = None
    boost: float = 1.0


@dataclass(frozen=True)
class MatchPhrase(QueryAst):
    field: str
    query: Scalar
    slop: int = 0
    zero_terms_query: str = "none"
    analyzer: str | None = None
    lenient: bool = False
    boost: float = 1.0


@dataclass(frozen=True)
class MatchPhrasePrefix(QueryAst):
    field: str
    query: Scalar
    slop: int = 0
    max_expansions: int = 50
    zero_terms_query: str = "none"
    analyzer: str | None = None
    lenient: bool = False
    boost: float = 1.0


@dataclass(frozen=True)
class FieldBoost:
    """A field pattern from ``fields`` (``title^2``, ``user.*``; ``*`` = the default fields)."""

    pattern: str
    boost: float = 1.0


@dataclass(frozen=True)
class MultiField(QueryAst):
    """``template`` (a leaf with ``field=""``) run against each field the patterns expand to.

    ``combine`` is ``dis_max`` (best_fields: best score + tie_breaker x the others) or ``sum``
    (most_fields). Fields that cannot take the value (a word on a numeric field) are skipped when
    ``lenient``, which wildcard patterns imply as in ES.
    """

    fields: tuple[FieldBoost, ...]
    template: QueryAst
    combine: str = "dis_max"
    tie_breaker: float = 0.0
    lenient: bool = False
    boost: float = 1.0


@dataclass(frozen=True)
class Bool(QueryAst):
    must: tuple[QueryAst, ...] = ()
    should: tuple[QueryAst, ...] = ()
    must_not: tuple[QueryAst, ...] = ()
    filter: tuple[QueryAst, ...] = ()
    minimum_should_match: str | None = None
    boost: float = 1.0


@dataclass(frozen=True)
class ConstantScore(QueryAst):
    filter: QueryAst
    boost: float = 1.0


@dataclass(frozen=True)
class DisMax(QueryAst):
    queries: tuple[QueryAst, ...]
    tie_breaker: float = 0.0
    boost: float = 1.0


@dataclass(frozen=True)
class Boosting(QueryAst):
    positive: QueryAst
    negative: QueryAst
    negative_boost: float
    boost: float = 1.0
