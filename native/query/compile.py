"""``QueryAst`` → ``tantivy.Query`` against one shard's schema, with ES/Lucene semantics.

* Unmapped fields match nothing; values are read by the field's mapped type (``values``).
* Scoring follows ES: ``must``/``should`` add up, ``filter``/``must_not`` do not score (a filter is a
  ``Must`` of a zero constant-score query), term-level queries on non-text fields, ``terms``,
  ``range``, ``exists``, ``ids`` and pattern queries score a constant 1.0 times their boost.
* Every leaf built counts towards ``max_clause_count`` (a 10 000-word ``match`` is refused the way a
  10 000-clause ``bool`` is), and every argument is validated before tantivy sees it.
* A field that cannot be searched the way a query asks (geometry, ``_source``-only types such as
  ``binary`` or ``dense_vector``, ``text`` with ``index: false``) is a 400 ``query_shard_exception``
  with ES's reason (``native.schema.query_error``), never a shard failure or a silent empty result.
* Range-typed fields (``integer_range``, ``date_range``…) are two hidden columns of inclusive bounds.
  ``range`` compares the query bounds (made inclusive first, as ES does) against them per ``relation``;
  ``term``/``match`` is a range that intersects ``[v, v]``. A document holding several ranges keeps its
  lower and upper bounds in separate multi-valued columns, so the pairing is lost: a query can match a
  lower bound of one range and an upper bound of another (ES pairs them; single ranges are exact).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import tantivy
from tantivy import Occur, Query

from native import selectivity
from native.errors import IllegalArgument, TooComplexToDeterminize
from native.fields import (
    FIELD_NAMES_FIELD,
    ID_FIELD,
    IGNORED_FIELD,
    IGNORED_PREFIX,
    ROUTING_FIELD,
    FieldInfo,
    FieldResolver,
)
from native.query import ast as A
from native.query.compile_full_text import STRING_TYPES, FullTextCompilerMixin
from native.query.compile_function_score import FunctionScoreCompilerMixin
from native.query.compile_geo import GeoCompilerMixin
from native.query.compile_intervals import IntervalsCompilerMixin
from native.query.compile_more import MoreCompilerMixin
from native.query.errors import QueryShardError
from native.query.exact import Exact, ExactCompilerMixin
from native.query.function_score import FunctionScore
from native.query.index_field import INDEX_FIELD, INDEX_NODES, index_query_matches
from native.query.intervals import Intervals
from native.query.limits import MAX_CLAUSE_COUNT, MAX_FUZZINESS, too_many_clauses
from native.query.msm import resolve_msm
from native.query.nested import NestedQuery, compile_nested
from native.query.patterns import escape, lexicographic_range, lucene_regex, wildcard_regex
from native.query.term_centric import TermCentric
from native.query.values import (
    NO_MATCH,
    BadValue,
    bool_value,
    date_value,
    ip_network_bounds,
    ip_value,
    nanos_column,
    numeric_bound,
    term_value,
)
from native.schema import query_error
from native.values import _RANGE_LIMITS as RANGE_LIMITS

__all__ = ["compile_query"]

FAST_TYPES = frozenset({"keyword", "date", "boolean", "ip"})
GEOMETRY_TYPES = frozenset({"geo_point", "geo_shape", "shape", "point"})
PATTERN_KINDS = frozenset({"prefix", "wildcard", "regexp"})


def compile_query(
    ast: A.QueryAst,
    resolver: FieldResolver,
    *,
    now_millis: int,
    max_clause_count: int = MAX_CLAUSE_COUNT,
    searcher: tantivy.Searcher | None = None,
    nested_level: str = "",
) -> tantivy.Query:
    """Compile a parsed query for the shard whose mapping ``resolver`` describes.

    ``searcher`` (the one the query will run on) lets queries that tantivy cannot express exactly read
    fast-field values while compiling: ``geo_distance`` / ``geo_polygon`` boundary checks and
    ``more_like_this`` document lookups and term statistics. Without it those are coarser (documented in
    ``native.query.compile_geo`` and ``native.query.specialized``).
    """
    return _Compiler(resolver, now_millis, max_clause_count, searcher=searcher, nested_level=nested_level).compile(ast)


def auto_fuzziness(spec: str | int | None, term: str) -> int:
    """Edits allowed for ``term`` (``AUTO`` = 0 for 1-2 chars, 1 for 3-5, 2 beyond), capped at 2."""
    if spec is None:
        return 0
    if isinstance(spec, int):
        return min(spec, MAX_FUZZINESS)
    low, high = 3, 6
    if spec.startswith("AUTO:"):
        low, high = (int(p) for p in spec[5:].split(","))
    n = len(term)
    return 0 if n < low else 1 if n < high else 2


@dataclass
class _Compiler(
    FullTextCompilerMixin,
    GeoCompilerMixin,
    MoreCompilerMixin,
    FunctionScoreCompilerMixin,
    IntervalsCompilerMixin,
    ExactCompilerMixin,
):
    resolver: FieldResolver
    now_millis: int
    max_clause_count: int
    leaves: int = 0
    searcher: tantivy.Searcher | None = None
    nested_level: str = ""  # the nested path whose documents ``searcher`` searches ("" top level; native.nested)

    def __post_init__(self) -> None:
        self.schema = self.resolver.schema
        self.dispatch: dict[type, Callable[[Any], Query]] = {
            A.MatchAll: self.match_all, A.MatchNone: lambda _: Query.empty_query(),
            A.Term: self.term, A.Terms: self.terms, A.Range: self.range, A.Exists: self.exists,
            A.Ids: self.ids, A.Prefix: self.prefix, A.Wildcard: self.wildcard, A.Regexp: self.regexp,
            A.Fuzzy: self.fuzzy, A.Match: self.match, A.MatchPhrase: self.match_phrase,
            A.MatchPhrasePrefix: self.match_phrase_prefix, A.MultiField: self.multi_field,
            A.Bool: self.bool, A.ConstantScore: self.constant_score, A.DisMax: self.dis_max,
            A.Boosting: self.boosting, A.TermsLookup: self.terms_lookup,
            A.GeoDistance: self.geo_distance, A.GeoBoundingBox: self.geo_bounding_box,
            A.GeoPolygon: self.geo_polygon, A.GeoShape: self.geo_shape, A.TermsSet: self.terms_set,
            A.Pinned: self.pinned, A.SpanNear: self.span_near, A.MoreLikeThis: self.more_like_this,
            A.DistanceFeature: self.distance_feature,
            NestedQuery: self.nested,
            FunctionScore: self.function_score,
            TermCentric: self.term_centric,
            Intervals: self.intervals,
            Exact: self.exact_query,
        }  # fmt: skip

    # -- helpers ------------------------------------------------------------------------------------

    def compile(self, node: A.QueryAst) -> Query:
        if isinstance(node, INDEX_NODES) and node.field == INDEX_FIELD:  # type: ignore[attr-defined]
            names = getattr(self.resolver, "index_name", ""), getattr(self.resolver, "index_aliases", ())
            if not index_query_matches(node, *names):
                return Query.empty_query()
            return self.const(self.leaf(Query.all_query()), node.boost)  # type: ignore[attr-defined]
        if isinstance(node, A.Match) and node.field == IGNORED_FIELD:  # a keyword field: one exact term
            return self.const(self.ignored([node.query]), node.boost)
        handler = self.dispatch.get(type(node))
        if handler is None:
            raise IllegalArgument(f"cannot compile query node [{type(node).__name__}]")
        return handler(node)

    def leaf(self, query: Query, n: int = 1) -> Query:
        self.leaves += n
        if self.leaves > self.max_clause_count:
            raise too_many_clauses(self.max_clause_count)
        return query

    def info(self, path: str) -> FieldInfo | None:
        return self.resolver.field(path)

    def field(self, path: str, kind: str) -> FieldInfo | None:
        """The mapped field a ``kind`` query targets (None: unmapped), or ES's 400 when it cannot be so searched."""
        info = self.resolver.field(path)
        if info is None:
            return None
        if kind in PATTERN_KINDS:
            raw = info.extra.get("doc_values_raw")
            if raw is not None:  # doc-values-only match_only_text: patterns match whole values, as on a keyword
                extra = {**info.extra, "searchable": True}
                return replace(info, es_type="keyword", tantivy_name=str(raw), analyze=None, extra=extra)
            self.string_field(info, kind)
        mapping_type = str(info.extra.get("mapping_type", info.es_type))
        if kind == "range" and mapping_type in GEOMETRY_TYPES:
            message: str | None = f"Field [{path}] of type [{mapping_type}] does not support range queries"
        elif "bound_type" in info.extra and info.extra.get("searchable", True):
            message = None  # range types: term and match are ranges too
        else:
            message = query_error(info, kind)
        if message is not None:
            raise QueryShardError(f"failed to create query: {message}", caused_by=IllegalArgument(message))
        return info

    @staticmethod
    def boosted(query: Query, boost: float) -> Query:
        return query if boost == 1.0 else Query.boost_query(query, float(boost))

    @staticmethod
    def const(query: Query, boost: float = 1.0) -> Query:
        return Query.const_score_query(query, float(boost))

    @staticmethod
    def any_of(queries: Sequence[Query]) -> Query:
        if not queries:
            return Query.empty_query()
        if len(queries) == 1:
            return queries[0]
        return Query.boolean_query([(Occur.Should, q) for q in queries])

    @staticmethod
    def all_of(queries: Sequence[Query]) -> Query:
        if len(queries) == 1:
            return queries[0]
        return Query.boolean_query([(Occur.Must, q) for q in queries])

    def regex(self, info: FieldInfo, pattern: str, case_insensitive: bool = False) -> Query:
        if case_insensitive:
            pattern = "(?i)" + pattern
        try:
            return self.leaf(Query.regex_query(self.schema, info.tantivy_name, pattern))
        except ValueError as exc:
            if "size limit" in str(exc):
                raise TooComplexToDeterminize(
                    f"Determinizing automaton for [{info.path}] would require more than 10000 effort."
                ) from None
            raise IllegalArgument(f"failed to create query: invalid regular expression for [{info.path}]") from None

    def string_field(self, info: FieldInfo, kind: str) -> None:
        if info.es_type not in STRING_TYPES:
            raise BadValue(
                f"Can only use {kind} queries on keyword and text fields - not on [{info.path}] "
                f"which is of type [{info.es_type}]"
            )

    def normalize(self, info: FieldInfo, text: str) -> str:
        """Keyword normalizer (ES applies it to term-level queries on keyword fields)."""
        if info.es_type != "keyword" or info.analyze is None:
            return text
        return "".join(info.analyze(text))

    def exact(self, info: FieldInfo, value: Any) -> Query:
        """One exact-value match on a field of any type (term semantics), or empty."""
        if "bound_type" in info.extra:
            return self.range_field(info, A.Range(info.path, value, value))
        if "nanos" in info.extra:  # date_nanos: the value's span (its own instant at full precision)
            return self.range(A.Range(info.path, value, value))
        if info.es_type == "ip" and isinstance(value, str) and "/" in value:
            lo, hi = ip_network_bounds(value)
            q = Query.range_query(self.schema, info.tantivy_name, tantivy.FieldType.IpAddr, lo, hi)
            return self.const(self.leaf(q))
        typed = term_value(info, value, self.now_millis)
        if typed is NO_MATCH:
            return Query.empty_query()
        q = self.leaf(Query.term_query(self.schema, info.tantivy_name, typed))
        return q if info.es_type in ("text", "keyword") else self.const(q)

    # -- term level ---------------------------------------------------------------------------------

    def match_all(self, node: A.MatchAll) -> Query:
        # A bare AllQuery scores 0 inside a boolean query that also has a filter (tantivy drops the all-scorer
        # from the intersection): a constant score keeps ES's 1.0 * boost there too.
        return self.const(self.leaf(Query.all_query()), node.boost)

    def term(self, node: A.Term) -> Query:
        if node.field == ID_FIELD:
            return self.const(self.leaf(Query.term_query(self.schema, ID_FIELD, str(node.value))), node.boost)
        if node.field == IGNORED_FIELD:
            return self.const(self.ignored([node.value]), node.boost)
        info = self.field(node.field, "term")
        if info is None:
            return Query.empty_query()
        if node.case_insensitive and info.es_type in STRING_TYPES:
            text = self.normalize(info, str(node.value))
            return self.boosted(self.const(self.regex(info, escape(text), True)), node.boost)
        return self.boosted(self.exact(info, node.value), node.boost)

    def terms(self, node: A.Terms) -> Query:
        if node.field == ID_FIELD:
            return self.ids(A.Ids(tuple(str(v) for v in node.values), node.boost))
        if node.field == IGNORED_FIELD:
            return self.const(self.ignored(node.values), node.boost)
        info = self.field(node.field, "term")
        if info is None or not node.values:
            return Query.empty_query()
        if info.es_type == "ip" or "bound_type" in info.extra or "nanos" in info.extra:
            return self.const(self.any_of([self.exact(info, v) for v in node.values]), node.boost)
        typed = [term_value(info, v, self.now_millis) for v in node.values]
        typed = [v for v in typed if v is not NO_MATCH]
        if not typed:
            return Query.empty_query()
        q = Query.term_set_query(self.schema, info.tantivy_name, typed)
        return self.const(self.leaf(q), node.boost)

    def terms_lookup(self, node: A.TermsLookup) -> Query:
        raise IllegalArgument(f"[terms] lookup of [{node.index}][{node.id}] was not resolved before reaching the shard")

    def range(self, node: A.Range) -> Query:
        info = self.field(node.field, "range")
        if info is None:
            return Query.empty_query()
        if node.lower is None and node.upper is None:
            return self.boosted(self.exists(A.Exists(node.field)), node.boost)
        if "bound_type" in info.extra:
            return self.range_field(info, node)
        if "nanos" in info.extra:  # date_nanos: nanosecond bounds on its nanosecond column
            info = nanos_column(info)
        es_type = info.es_type
        if es_type in STRING_TYPES:
            lo = None if node.lower is None else self.normalize(info, str(node.lower))
            hi = None if node.upper is None else self.normalize(info, str(node.upper))
            regexes = lexicographic_range(lo, hi, node.include_lower, node.include_upper)
            if regexes is None:
                return Query.empty_query()
            if not regexes:
                return self.const(self.exists(A.Exists(node.field)), node.boost)
            return self.const(self.all_of([self.regex(info, r) for r in regexes]), node.boost)
        if es_type == "boolean":
            allowed = [b for b in (False, True) if _in_bounds(b, node, bool_value)]
            return self.const(self.any_of([self.exact(info, b) for b in allowed]), node.boost)
        bounds: list[tuple[Any, bool] | None] = []
        sides = ((node.lower, True, node.include_lower), (node.upper, False, node.include_upper))
        for value, lower, inclusive in sides:
            if value is None:
                bounds.append((None, True))
            elif es_type == "date":
                round_up = (not inclusive) if lower else inclusive
                ms = date_value(
                    info, value, self.now_millis, round_up=round_up, fmt=node.format, time_zone=node.time_zone
                )
                bounds.append((ms, inclusive))
            elif es_type == "ip":
                bounds.append((ip_value(value), inclusive))
            elif info.is_numeric:
                bounds.append(numeric_bound(info, value, lower=lower, inclusive=inclusive))
            else:
                raise BadValue(f"Field [{info.path}] of type [{es_type}] does not support range queries")
        if any(b is None for b in bounds):
            return Query.empty_query()
        (lo_v, lo_inc), (hi_v, hi_inc) = bounds  # type: ignore[misc]
        if lo_v is not None and hi_v is not None and es_type != "ip":
            if lo_v > hi_v or (lo_v == hi_v and not (lo_inc and hi_inc)):
                return Query.empty_query()
        # the inverted index when the range holds little (native.selectivity); ip ranges keep the column
        inverted = es_type != "ip" and selectivity.prefer_inverted(
            self.searcher, self.schema, info, lo_v, hi_v, self.schema
        )
        q = Query.range_query(
            self.schema,
            info.tantivy_name,
            info.tantivy_type,
            lo_v,
            hi_v,
            lo_inc if lo_v is not None else True,
            hi_inc if hi_v is not None else True,
            use_inverted_index=inverted,
        )
        return self.const(self.leaf(q), node.boost)

    def range_field(self, info: FieldInfo, node: A.Range) -> Query:
        """A range query on a range-typed field (its hidden ``gte``/``lte`` columns) per ``node.relation``."""
        kind = str(info.extra["bound_type"])
        bounds = self.range_field_bounds(info, kind, node)
        if bounds is None:
            return Query.empty_query()
        lo, hi = bounds
        ftype = {"ip": tantivy.FieldType.IpAddr, "float": tantivy.FieldType.Float, "double": tantivy.FieldType.Float}
        column_type = ftype.get(kind, tantivy.FieldType.Integer)
        gte, lte = str(info.extra["gte"]), str(info.extra["lte"])

        def column(name: str, at_least: Any, at_most: Any) -> Query:
            return self.leaf(Query.range_query(self.schema, name, column_type, at_least, at_most, True, True))

        if node.relation == "within":  # the document's range lies inside the query's
            clauses = [column(gte, lo, None), column(lte, None, hi)]
        elif node.relation == "contains":  # the document's range covers the query's
            clauses = [column(gte, None, lo), column(lte, hi, None)]
        else:  # intersects
            clauses = [column(gte, None, hi), column(lte, lo, None)]
        return self.const(self.all_of(clauses), node.boost)

    def range_field_bounds(self, info: FieldInfo, kind: str, node: A.Range) -> tuple[Any, Any] | None:
        """The query's bounds as inclusive values of the bound type (open sides → the type's limits)."""
        typed = replace(info, es_type=kind)
        out: list[Any] = []
        sides = ((node.lower, True, node.include_lower), (node.upper, False, node.include_upper))
        for value, lower, inclusive in sides:
            step = 0 if inclusive else 1 if lower else -1
            if value is None and kind == "ip":
                out.append(0 if lower else 2**128 - 1)
            elif value is None:
                out.append(RANGE_LIMITS[kind][0 if lower else 1])
            elif kind == "date":
                round_up = (not inclusive) if lower else inclusive
                ms = date_value(
                    typed, value, self.now_millis, round_up=round_up, fmt=node.format, time_zone=node.time_zone
                )
                out.append(ms + step)
            elif kind == "ip":
                out.append(int(ipaddress.IPv6Address(ip_value(value))) + step)
            else:
                got = numeric_bound(typed, value, lower=lower, inclusive=inclusive)
                if got is None:
                    return None
                number, exact = got
                if not exact:
                    number = number + step if kind in ("integer", "long") else math.nextafter(number, math.inf * step)
                out.append(number)
        lo, hi = out
        if lo > hi:
            return None
        if kind == "ip":
            if hi < 0 or lo >= 2**128:
                return None
            return str(ipaddress.IPv6Address(max(lo, 0))), str(ipaddress.IPv6Address(min(hi, 2**128 - 1)))
        return lo, hi

    def exists(self, node: A.Exists) -> Query:
        path = node.field
        if path == "_source":
            message = "The _source field is not searchable"
            raise QueryShardError(f"failed to create query: {message}", caused_by=IllegalArgument(message))
        if path in (ID_FIELD, "_index", "_seq_no", "_version", "_primary_term"):  # every document has them
            return self.const(self.leaf(Query.all_query()), node.boost)
        if path == ROUTING_FIELD:  # only documents indexed with a custom routing carry one
            return self.const(self.leaf(Query.regex_query(self.schema, ROUTING_FIELD, "(?s).*")), node.boost)
        if path == IGNORED_FIELD:  # documents with an ignored field value
            prefix = "(?s)" + escape(IGNORED_PREFIX) + ".*"
            return self.const(self.leaf(Query.regex_query(self.schema, FIELD_NAMES_FIELD, prefix)), node.boost)
        infos: list[FieldInfo]
        info = None if "*" in path else self.info(path)
        if info is not None:
            infos = [info]
        else:
            infos = list(self.resolver.expand(path if "*" in path else path + ".*"))
        queries = []
        for f in infos:
            if f.es_type in FAST_TYPES or f.is_numeric:
                queries.append(self.leaf(Query.exists_query(f.tantivy_name)))
            else:
                queries.append(self.leaf(Query.term_query(self.schema, FIELD_NAMES_FIELD, f.path)))
        return self.const(self.any_of(queries), node.boost)

    def ignored(self, values: Sequence[Any]) -> Query:
        """The documents whose ``_ignored`` holds one of ``values`` (field paths, indexed in ``_field_names``)."""
        if not values:
            return Query.empty_query()
        terms = [IGNORED_PREFIX + str(v) for v in values]
        return self.leaf(Query.term_set_query(self.schema, FIELD_NAMES_FIELD, terms))

    def ids(self, node: A.Ids) -> Query:
        if not node.values or self.nested_level:  # nested documents have no _id of their own
            return Query.empty_query()
        q = Query.term_set_query(self.schema, ID_FIELD, list(node.values))
        return self.const(self.leaf(q), node.boost)

    def prefix(self, node: A.Prefix) -> Query:
        info = self.field(node.field, "prefix")
        if info is None:
            return Query.empty_query()
        pattern = escape(self.normalize(info, node.value)) + ".*"
        return self.const(self.regex(info, "(?s)" + pattern, node.case_insensitive), node.boost)

    def wildcard(self, node: A.Wildcard) -> Query:
        info = self.field(node.field, "wildcard")
        if info is None:
            return Query.empty_query()
        analyze = info.analyze if (info.es_type == "keyword" or node.analyze) else None

        def norm(text: str) -> str:
            return "".join(analyze(text)) if analyze is not None else text

        pattern = "(?s)" + wildcard_regex(node.value, norm)
        return self.const(self.regex(info, pattern, node.case_insensitive), node.boost)

    def regexp(self, node: A.Regexp) -> Query:
        info = self.field(node.field, "regexp")
        if info is None:
            return Query.empty_query()
        try:
            pattern = lucene_regex(node.value, node.flags)
        except IllegalArgument as exc:
            raise BadValue(exc.reason) from None
        return self.const(self.regex(info, pattern, node.case_insensitive), node.boost)

    def fuzzy_term(
        self, info: FieldInfo, text: str, spec: str | int | None, prefix_length: int, transpositions: bool
    ) -> Query:
        distance = auto_fuzziness(spec, text)
        if distance == 0:
            return self.leaf(Query.term_query(self.schema, info.tantivy_name, text))
        q = self.leaf(Query.fuzzy_term_query(self.schema, info.tantivy_name, text, distance, transpositions))
        if prefix_length > 0 and len(text) > 0:
            prefix = self.regex(info, "(?s)" + escape(text[:prefix_length]) + ".*")
            q = Query.boolean_query([(Occur.Must, q), (Occur.Must, self.const(prefix, 0.0))])
        return q

    def fuzzy(self, node: A.Fuzzy) -> Query:
        info = self.field(node.field, "term")
        if info is None:
            return Query.empty_query()
        if info.es_type not in STRING_TYPES:
            return self.boosted(self.exact(info, node.value), node.boost)
        text = self.normalize(info, str(node.value))
        q = self.fuzzy_term(info, text, node.fuzziness, node.prefix_length, node.transpositions)
        return self.boosted(q, node.boost)

    # -- compound -----------------------------------------------------------------------------------

    def bool(self, node: A.Bool) -> Query:
        clauses: list[tuple[Occur, Query]] = []
        clauses += [(Occur.Must, self.compile(c)) for c in node.must]
        clauses += [(Occur.Must, self.const(self.compile(c), 0.0)) for c in node.filter]
        should = [self.compile(c) for c in node.should]
        clauses += [(Occur.Should, c) for c in should]
        clauses += [(Occur.MustNot, self.compile(c)) for c in node.must_not]
        if not clauses:
            return self.boosted(self.leaf(Query.all_query()), node.boost)
        need = resolve_msm(node.minimum_should_match, len(should)) if node.minimum_should_match else 0
        if need > len(should):
            return Query.empty_query()
        if not node.must and not node.filter and not should:
            clauses.append((Occur.Must, self.const(Query.all_query(), 0.0)))  # pure negative: all minus
        q = Query.boolean_query(clauses, need if need > 0 else None)
        return self.boosted(q, node.boost)

    def nested(self, node: NestedQuery) -> Query:
        def inner(ast: A.QueryAst, searcher: tantivy.Searcher | None, level: str) -> Query:
            return replace(self, searcher=searcher, nested_level=level).compile(ast)

        return compile_nested(node, self.searcher, self.resolver, self.nested_level, inner)

    def constant_score(self, node: A.ConstantScore) -> Query:
        return self.const(self.compile(node.filter), node.boost)

    def dis_max(self, node: A.DisMax) -> Query:
        queries = [self.compile(c) for c in node.queries]
        q = queries[0] if len(queries) == 1 else Query.disjunction_max_query(queries, float(node.tie_breaker))
        return self.boosted(q, node.boost)

    def boosting(self, node: A.Boosting) -> Query:
        # Docs matching the negative query keep their positive score times negative_boost.
        positive, negative = self.compile(node.positive), self.compile(node.negative)
        plain = Query.boolean_query([(Occur.Must, positive), (Occur.MustNot, negative)])
        demoted = Query.boolean_query(
            [
                (Occur.Must, Query.boost_query(positive, float(node.negative_boost))),
                (Occur.Must, self.const(negative, 0.0)),
            ]
        )
        return self.boosted(Query.boolean_query([(Occur.Should, plain), (Occur.Should, demoted)]), node.boost)


def _in_bounds(value: bool, node: A.Range, read: Callable[[Any], bool]) -> bool:
    if node.lower is not None:
        lo = read(node.lower)
        if value < lo or (value == lo and not node.include_lower):
            return False
    if node.upper is not None:
        hi = read(node.upper)
        if value > hi or (value == hi and not node.include_upper):
            return False
    return True
