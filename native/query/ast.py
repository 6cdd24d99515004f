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
    # match_bool_prefix: the last token is a prefix (a constant-score clause, as ES's prefix query)
    prefix_last: bool = False


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


# -- geo (``native.query.geo_parse``) ----------------------------------------------------------------------


@dataclass(frozen=True)
class GeoDistance(QueryAst):
    """Points within ``distance`` metres of ``(lat, lon)``; ``distance_type`` plane or arc."""

    field: str
    lat: float
    lon: float
    distance: float
    distance_type: str = "arc"
    ignore_unmapped: bool = False
    boost: float = 1.0


@dataclass(frozen=True)
class GeoBoundingBox(QueryAst):
    """Points with bottom <= lat <= top and lon in [left, right] (wrapping over the dateline when left > right)."""

    field: str
    top: float
    left: float
    bottom: float
    right: float
    ignore_unmapped: bool = False
    boost: float = 1.0


@dataclass(frozen=True)
class GeoPolygon(QueryAst):
    """Points inside the ring ``points`` of ``(lat, lon)`` (geo_polygon, geo_shape polygon)."""

    field: str
    points: tuple[tuple[float, float], ...]
    holes: tuple[tuple[tuple[float, float], ...], ...] = ()
    ignore_unmapped: bool = False
    boost: float = 1.0


@dataclass(frozen=True)
class GeoShape(QueryAst):
    """``geo_shape`` on a geo_point field: ``shapes`` (GeoBoundingBox / GeoPolygon / Term-like point nodes)
    combined per ``relation`` (intersects and within are the same for points; disjoint negates)."""

    field: str
    shapes: tuple[QueryAst, ...]
    relation: str = "intersects"
    ignore_unmapped: bool = False
    boost: float = 1.0
    shape_json: str = ""  # the query's shape as given (JSON), for geo_shape fields (native.query.geo_shapes)
    point_error: bool = False  # the shape is not one a geo_point field takes (the parse error is raised then)


# -- other specialised queries (``native.query.specialized``) ---------------------------------------------


@dataclass(frozen=True)
class TermsSet(QueryAst):
    """Docs matching at least N of ``values``; N is the doc's ``msm_field`` value, or (script forms)
    ``min(num_terms, doc[msm_field])`` / ``num_terms``."""

    field: str
    values: tuple[Scalar, ...]
    msm_field: str | None = None
    msm_script: str | None = None  # "num_terms" | "min" (Math.min(params.num_terms, doc[f].value))
    boost: float = 1.0


@dataclass(frozen=True)
class Pinned(QueryAst):
    ids: tuple[str, ...]
    organic: QueryAst
    boost: float = 1.0


@dataclass(frozen=True)
class SpanNear(QueryAst):
    """span_near of span_term clauses on one field → a (sloppy) phrase; ``in_order`` false is an AND
    approximation when slop is large."""

    field: str
    terms: tuple[str, ...]
    slop: int = 0
    in_order: bool = True
    boost: float = 1.0


@dataclass(frozen=True)
class MoreLikeThis(QueryAst):
    fields: tuple[str, ...]
    like_texts: tuple[str, ...]
    like_ids: tuple[str, ...] = ()
    like_docs: tuple[Any, ...] = ()
    unlike_texts: tuple[str, ...] = ()
    min_term_freq: int = 2
    min_doc_freq: int = 5
    max_doc_freq: int | None = None
    max_query_terms: int = 25
    min_word_length: int = 0
    max_word_length: int = 0
    stop_words: tuple[str, ...] = ()
    minimum_should_match: str = "30%"
    include: bool = False
    boost: float = 1.0


@dataclass(frozen=True)
class DistanceFeature(QueryAst):
    """Score ``boost * pivot / (pivot + distance(origin))`` on a date or geo_point field (exact up to a number
    of documents, a staircase of nested range queries beyond: ``native.query.compile_more``)."""

    field: str
    origin: Any
    pivot: Any
    boost: float = 1.0
