"""Per-shard execution: the context every aggregation kind collects with.

The executor treats a bucket as *a query*: each bucket of a bucket aggregation is the parent query
restricted by a filter (a term, a half-open range, a filter query). Bucket keys and counts come from
exact per-shard sources (``terms_with_prefix`` for keywords, tantivy's own ``aggregate`` for numeric
histograms/terms/ranges, document counts for filters), and sub-aggregations run again on the restricted
query, so every depth of nesting is exact per shard and merges like the top level.

Restrictions are added as zero-scoring ``Must`` clauses, so ``top_hits`` scores stay those of the
search query.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tantivy

from native.aggs import buckets
from native.aggs.partials import Level, kind_of
from native.aggs.spec import AggNode
from native.date_calendar import DateParseError
from native.doc_count import DOC_COUNT_FIELD, shard_has_doc_counts, weighted_count
from native.errors import IllegalArgument
from native.field_types import SOURCE_ONLY_TYPES
from native.fields import (
    FIELD_NAMES_FIELD,
    INTEGRAL_COLUMNS,
    NUMERIC_FLOAT_TYPES,
    SEQ_NO_FIELD,
    FieldInfo,
    FieldResolver,
)
from native.search import count_matches

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1
_U64_MAX = 2**64 - 1
# kinds that read a text field without field data (``significant_text`` re-analyses ``_source``; ``missing``
# only asks whether the field has a value)
_TEXT_SOURCE_KINDS = frozenset({"significant_text", "missing"})
_NUMERIC_SOURCE_KINDS = frozenset({
    "avg", "sum", "min", "max", "stats", "extended_stats", "percentiles", "percentile_ranks",
    "median_absolute_deviation", "histogram", "date_histogram", "range", "date_range", "auto_date_histogram",
    "variable_width_histogram",
})  # fmt: skip


@dataclass
class ShardContext:
    searcher: tantivy.Searcher
    resolver: FieldResolver
    now_millis: int
    index_name: str = ""
    _compiled: dict[int, tantivy.Query] = field(default_factory=dict)
    # Set under a ``nested`` aggregation (native.aggs.nested): the nested path whose documents ``searcher``
    # (then a nested view's) holds.
    nested_path: str | None = None
    _weighted: bool | None = None
    # The search query's named clauses (``native.named_queries.NamedQueries``) for ``top_hits``, or None.
    named: Any = None
    # ``address → ES explanation`` of the search query's score (the cluster's Lucene-vocabulary rewrite of
    # tantivy's), for ``top_hits`` with ``explain``; None: the score alone is reported.
    explain: Any = None

    @property
    def schema(self) -> tantivy.Schema:
        return self.resolver.schema

    # -- fields ------------------------------------------------------------------------------------

    def field(self, path: str) -> FieldInfo | None:
        return self.resolver.field(path)

    def compile(self, ast: Any) -> tantivy.Query:
        from native.query import compile_query

        key = id(ast)
        if key not in self._compiled:
            self._compiled[key] = compile_query(ast, self.resolver, now_millis=self.now_millis, searcher=self.searcher,
                                                nested_level=self.nested_path or "")  # fmt: skip
        return self._compiled[key]

    def exists(self, path: str) -> tantivy.Query:
        """Documents with any value at ``path`` (a leaf field or an object's sub-fields)."""
        from native.query import ast as A
        from native.query import compile_query

        return compile_query(A.Exists(path), self.resolver, now_millis=self.now_millis)

    # -- queries -----------------------------------------------------------------------------------

    def count(self, query: tantivy.Query) -> int:
        """The bucket doc count of ``query``: documents with ``_doc_count`` count that many times."""
        if self.weighted:
            return weighted_count(self.searcher, query)
        return count_matches(self.searcher, query)

    def matches(self, query: tantivy.Query) -> int:
        """The number of documents matching ``query`` (metrics count documents, never ``_doc_count``)."""
        return count_matches(self.searcher, query)

    def seq_count(self, seqs: list[int]) -> int:
        """The bucket doc count of the documents with these ``_seq_no``s (weighed by ``_doc_count``)."""
        if not self.weighted or not seqs:
            return len(seqs)
        return weighted_count(self.searcher, tantivy.Query.term_set_query(self.schema, SEQ_NO_FIELD, seqs))

    def addr_count(self, addrs: list[tantivy.DocAddress]) -> int:
        """The bucket doc count of the documents at these addresses (weighed by ``_doc_count``)."""
        if not self.weighted or not addrs:
            return len(addrs)
        return sum(1 if v is None else int(v) for v in self.searcher.fast_field_values(DOC_COUNT_FIELD, addrs))

    @property
    def weighted(self) -> bool:
        """Whether any document of this shard carries ``_doc_count`` (``native.doc_count``)."""
        if self._weighted is None:
            self._weighted = shard_has_doc_counts(self.searcher, self.schema)
        return self._weighted

    def docs(self, query: tantivy.Query) -> list[tantivy.DocAddress]:
        limit = max(1, int(self.searcher.num_docs))
        return [addr for _, addr in self.searcher.search(query, limit, count=False).hits]

    def values(self, info: FieldInfo, query: tantivy.Query) -> np.ndarray:
        """First value of ``info`` for every matching doc that has one (float64)."""
        docs = self.docs(query)
        if not docs:
            return np.empty(0, dtype=np.float64)
        raw = np.array(self.searcher.fast_field_values(info.tantivy_name, docs), dtype=np.float64)  # None → nan
        return raw[~np.isnan(raw)]

    def aggregate(self, query: tantivy.Query, spec: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.searcher.aggregate(query, spec)
        except ValueError as exc:
            if "bucket" in str(exc).lower():  # tantivy's own cap (65,000 buckets per request)
                raise buckets.TooManyBuckets(buckets.current_limit()) from exc
            raise

    def restrict(self, query: tantivy.Query, bucket_filter: tantivy.Query) -> tantivy.Query:
        return tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Must, query),
                (tantivy.Occur.Must, tantivy.Query.const_score_query(bucket_filter, 0.0)),
            ]
        )

    def exclude(self, query: tantivy.Query, filters: list[tantivy.Query]) -> tantivy.Query:
        clauses = [(tantivy.Occur.Must, query)] + [(tantivy.Occur.MustNot, f) for f in filters]
        return tantivy.Query.boolean_query(clauses)

    # -- bucket filters ----------------------------------------------------------------------------

    def exists_filter(self, info: FieldInfo) -> tantivy.Query:
        if info.extra.get("mapping_type", info.es_type) in SOURCE_ONLY_TYPES:  # no column: ``_field_names``
            return tantivy.Query.term_query(self.schema, FIELD_NAMES_FIELD, info.path)
        return tantivy.Query.exists_query(info.tantivy_name)

    def missing_filter(self, info: FieldInfo | None) -> tantivy.Query:
        if info is None:
            return tantivy.Query.all_query()
        return self.exclude(tantivy.Query.all_query(), [self.exists_filter(info)])

    def term_filter(self, info: FieldInfo, key: Any) -> tantivy.Query:
        if info.es_type == "boolean":
            return tantivy.Query.term_query(self.schema, info.tantivy_name, bool(key))
        if info.tantivy_type == tantivy.FieldType.Text:
            return tantivy.Query.term_query(self.schema, info.tantivy_name, str(key))
        if info.tantivy_type == tantivy.FieldType.IpAddr:
            from native.query.values import ip_value

            return tantivy.Query.term_query(self.schema, info.tantivy_name, ip_value(str(key)))
        return self.range_filter(info, key, key, include_upper=True)

    def range_filter(
        self, info: FieldInfo, lo: float | None, hi: float | None, *, include_upper: bool = False
    ) -> tantivy.Query:
        """Documents with a value in ``[lo, hi)`` (``[lo, hi]`` with include_upper); None is unbounded."""
        if lo is None and hi is None:
            return self.exists_filter(info)
        ftype = info.tantivy_type
        if ftype == tantivy.FieldType.Float or info.es_type in NUMERIC_FLOAT_TYPES:
            return tantivy.Query.range_query(
                self.schema, info.tantivy_name, ftype,
                None if lo is None else float(lo), None if hi is None else float(hi),
                True, include_upper or hi is None,
            )  # fmt: skip
        # integer columns: x >= lo <=> x >= ceil(lo); x < hi <=> x < ceil(hi); x <= hi <=> x <= floor(hi)
        ilo = None if lo is None else math.ceil(lo)
        if hi is None:
            ihi, inc = None, True
        elif include_upper:
            ihi, inc = math.floor(hi), True
        else:
            ihi, inc = math.ceil(hi), False
        if ilo is not None and ihi is not None and (ihi < ilo or (ihi == ilo and not inc)):
            return tantivy.Query.empty_query()
        # a bound past the 64-bit column's range (``from: 1e308``) either matches nothing or bounds nothing
        col_min, col_max = (0, _U64_MAX) if ftype == tantivy.FieldType.Unsigned else (_I64_MIN, _I64_MAX)
        below = ihi is not None and (ihi < col_min or (ihi == col_min and not inc))
        if (ilo is not None and ilo > col_max) or below:
            return tantivy.Query.empty_query()
        if ilo is not None and ilo < col_min:
            ilo = None
        if ihi is not None and ihi > col_max:
            ihi, inc = None, True
        if ilo is None and ihi is None:
            return self.exists_filter(info)
        return tantivy.Query.range_query(self.schema, info.tantivy_name, ftype, ilo, ihi, True, inc)

    # -- recursion ---------------------------------------------------------------------------------

    def collect_level(self, nodes: tuple[AggNode, ...], query: tantivy.Query) -> Level:
        for node in nodes:
            self.check_values_source(node)
        return {node.name: kind_of(node).collect(self, node, query) for node in nodes}

    def check_values_source(self, node: AggNode) -> None:
        """ES refuses a ``text`` field as the values source of an aggregation: without ``fielddata`` any
        kind (the field data cannot be loaded), with it the numeric and date kinds (wrong type). Fields
        kept in ``_source`` only (``geo_shape``, ``binary``, vectors…) have no values to aggregate."""
        path = getattr(node.params, "field", None)
        if not isinstance(path, str) or node.kind in _TEXT_SOURCE_KINDS:
            return
        info = self.field(path)
        if info is None:
            return
        mapping_type = str(info.extra.get("mapping_type", info.es_type))
        if mapping_type in SOURCE_ONLY_TYPES:
            raise IllegalArgument(f"Field [{info.path}] of type [{mapping_type}] is not supported for aggregation "
                                  f"[{node.kind}]")  # fmt: skip
        if info.es_type != "text":
            return
        if not info.extra.get("fielddata", False):
            from native.aggs.significant import fielddata_disabled

            raise IllegalArgument(fielddata_disabled(info.path, self.index_name))
        if node.kind in _NUMERIC_SOURCE_KINDS:
            raise IllegalArgument(f"Field [{info.path}] of type [text] is not supported for aggregation [{node.kind}]")

    def collect_subs(self, node: AggNode, query: tantivy.Query, bucket_filter: tantivy.Query | None) -> Level:
        """Sub-aggregation partials of one bucket (``{}`` when the node has no children)."""
        if not node.children:
            return {}
        restricted = query if bucket_filter is None else self.restrict(query, bucket_filter)
        return self.collect_level(node.children, restricted)


def convert_key(info: FieldInfo, value: Any) -> Any:
    """A ``missing`` / bound value converted to the field's key type (one that does not convert is a 400)."""
    try:
        return _convert_key(info, value)
    except DateParseError as exc:
        raise IllegalArgument(str(exc)) from None
    except (ValueError, TypeError, OverflowError):
        raise IllegalArgument(f'For input string: "{value}"') from None


def missing_number(value: Any) -> float:
    """A metric's ``missing`` value on a field with no mapping: a number."""
    if isinstance(value, bool):
        return float(value)
    try:
        number = float(value)
    except (ValueError, TypeError, OverflowError):
        raise IllegalArgument(f'For input string: "{value}"') from None
    if not math.isfinite(number):
        raise IllegalArgument(f'For input string: "{value}"')
    return number


def _convert_key(info: FieldInfo, value: Any) -> Any:
    if info.es_type == "boolean":
        if isinstance(value, str):
            return value.lower() == "true"
        return bool(value)
    if info.tantivy_type in (tantivy.FieldType.Text, tantivy.FieldType.IpAddr):
        return str(value)
    if info.es_type == "date" and isinstance(value, str):
        from native.dates import parse_date

        return int(parse_date(value, info.date_formats))
    if info.tantivy_type in INTEGRAL_COLUMNS:
        number = value
        if isinstance(value, str):
            try:
                number = int(value)  # exact, also past 2^53 (``unsigned_long``)
            except ValueError:
                number = float(value)
        if isinstance(number, float) and not math.isfinite(number):
            raise ValueError(value)
        if info.tantivy_type == tantivy.FieldType.Unsigned:
            return max(0, min(_U64_MAX, int(number)))
        return max(_I64_MIN, min(_I64_MAX, int(number)))
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def date_format(info: FieldInfo | None, explicit: str | None) -> str | None:
    """The format rendering ``key_as_string`` of a date field (None for non-date fields)."""
    if explicit:
        return explicit
    if info is None or info.es_type != "date":
        return None
    return info.date_formats[0] if info.date_formats else "strict_date_optional_time"


def resolve_date(
    value: Any,
    now_millis: int,
    time_zone: str | None,
    *,
    round_up: bool = False,
    formats: tuple[str, ...] = ("strict_date_optional_time", "epoch_millis"),
) -> int | None:
    """An extended-bounds / date_range bound: epoch millis, a date string or date math."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    from native.dates import parse_date_math

    try:
        millis = int(
            parse_date_math(str(value), now_millis=now_millis, round_up=round_up, formats=formats, time_zone=time_zone)
        )
    except (ValueError, OverflowError) as exc:
        raise IllegalArgument(f"failed to parse date field [{value}]") from exc
    if not _I64_MIN <= millis <= _I64_MAX:  # epoch millis are Java longs
        raise IllegalArgument(f"date [{value}] is out of range")
    return millis
