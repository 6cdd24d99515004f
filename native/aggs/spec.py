"""Aggregation specs: the frozen dataclasses an ES ``aggs`` object parses into (``native.aggs.parse``).

Each node is an ``AggNode(name, kind, params, children, meta)``; ``params`` is the kind-specific frozen
dataclass below. Filter queries are held as ``QueryAst`` and compiled per shard at execution time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BUCKET_KINDS = frozenset(
    {"terms", "histogram", "date_histogram", "range", "date_range", "filter", "filters", "missing", "global",
     "nested", "reverse_nested", "composite", "geo_distance"}
) | {
    "ip_range",
    "ip_prefix",
    "geohash_grid",
    "geotile_grid",
    "adjacency_matrix",
    "auto_date_histogram",
    "variable_width_histogram",
}  # fmt: skip
STATS_KINDS = frozenset({"avg", "min", "max", "sum", "stats", "extended_stats", "value_count"})
METRIC_KINDS = STATS_KINDS | {
    "percentiles",
    "percentile_ranks",
    "cardinality",
    "top_hits",
    "geo_bounds",
    "geo_centroid",
    "top_metrics",
    "weighted_avg",
    "matrix_stats",
    "median_absolute_deviation",
}
# bucket kinds owned by their own modules (parsers and specs beside their kinds)
BUCKET_KINDS = BUCKET_KINDS | {
    "rare_terms",
    "significant_terms",
    "significant_text",
    "sampler",
    "diversified_sampler",
    "random_sampler",
    "multi_terms",
}
PIPELINE_KINDS = frozenset(
    {"avg_bucket", "max_bucket", "min_bucket", "sum_bucket", "stats_bucket", "extended_stats_bucket",
     "percentiles_bucket", "derivative", "cumulative_sum", "cumulative_cardinality", "serial_diff", "moving_fn",
     "bucket_script", "bucket_selector", "bucket_sort"}
)  # fmt: skip
KNOWN_KINDS = BUCKET_KINDS | METRIC_KINDS | PIPELINE_KINDS

DEFAULT_PERCENTS = (1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0)
CALENDAR_ALIASES = {
    "second": "second", "1s": "second",
    "minute": "minute", "1m": "minute",
    "hour": "hour", "1h": "hour",
    "day": "day", "1d": "day",
    "week": "week", "1w": "week",
    "month": "month", "1M": "month",
    "quarter": "quarter", "1q": "quarter",
    "year": "year", "1y": "year",
}  # fmt: skip
MAX_INNER_RESULT_WINDOW = 100


@dataclass(frozen=True)
class Order:
    """One bucket ordering criterion: ``_count``, ``_key`` or a metric path like ``stats.max``."""

    path: str
    asc: bool


@dataclass(frozen=True)
class TermsSpec:
    field: str
    size: int = 10
    shard_size: int = 25
    min_doc_count: int = 1
    shard_min_doc_count: int = 0
    order: tuple[Order, ...] = (Order("_count", False), Order("_key", True))
    missing: Any = None
    include: str | tuple[Any, ...] | None = None
    exclude: str | tuple[Any, ...] | None = None
    show_term_doc_count_error: bool = False
    format: str | None = None
    value_type: str | None = None
    partition: tuple[int, int] | None = None  # (partition, num_partitions) of include


@dataclass(frozen=True)
class HistogramSpec:
    field: str
    interval: float
    offset: float = 0.0
    min_doc_count: int = 0
    extended_bounds: tuple[Any, Any] | None = None
    hard_bounds: tuple[Any, Any] | None = None
    keyed: bool = False
    order: tuple[Order, ...] = (Order("_key", True),)
    missing: Any = None
    format: str | None = None


@dataclass(frozen=True)
class DateHistogramSpec:
    field: str
    fixed_ms: int | None = None  # exactly one of fixed_ms / calendar is set
    calendar: str | None = None  # normalized unit: minute, hour, day, week, month, quarter, year
    offset_ms: int = 0
    time_zone: str | None = None
    min_doc_count: int = 0
    extended_bounds: tuple[Any, Any] | None = None
    hard_bounds: tuple[Any, Any] | None = None
    keyed: bool = False
    order: tuple[Order, ...] = (Order("_key", True),)
    format: str | None = None
    missing: Any = None


@dataclass(frozen=True)
class RangeItem:
    key: str | None
    lo: Any  # number, date string/date math (date_range) or None
    hi: Any


@dataclass(frozen=True)
class RangeSpec:
    field: str
    ranges: tuple[RangeItem, ...]
    keyed: bool = False
    format: str | None = None
    time_zone: str | None = None
    is_date: bool = False
    missing: Any = None


@dataclass(frozen=True)
class FiltersSpec:
    # (key, QueryAst); key is None for the anonymous-list form
    filters: tuple[tuple[str | None, Any], ...]
    keyed: bool = True
    other_bucket: bool = False
    other_bucket_key: str = "_other_"


@dataclass(frozen=True)
class FilterSpec:
    query: Any  # QueryAst


@dataclass(frozen=True)
class MissingSpec:
    field: str


@dataclass(frozen=True)
class GlobalSpec:
    pass


@dataclass(frozen=True)
class NestedSpec:
    """``nested`` (path required) and ``reverse_nested`` (path None = back to the root documents)."""

    path: str | None


@dataclass(frozen=True)
class MetricSpec:
    """avg, min, max, sum, stats, extended_stats, value_count."""

    field: str
    missing: Any = None
    sigma: float = 2.0
    format: str | None = None


@dataclass(frozen=True)
class PercentilesSpec:
    field: str
    percents: tuple[float, ...] = DEFAULT_PERCENTS  # ranks (values for percentile_ranks)
    keyed: bool = True
    compression: float = 100.0
    missing: Any = None
    hdr_digits: int | None = None  # set: an HDR histogram with that many significant digits (native.aggs.hdr)
    format: str | None = None


@dataclass(frozen=True)
class CardinalitySpec:
    field: str
    precision_threshold: int = 3000
    missing: Any = None


@dataclass(frozen=True)
class SortItem:
    field: str  # "_score" or an ES field path
    asc: bool
    missing_first: bool = False
    nested: str | None = None  # the sort's ``nested`` object as JSON (native.nested_sort)
    mode: str | None = None  # with ``nested`` only


@dataclass(frozen=True)
class TopHitsSpec:
    size: int = 3
    from_: int = 0
    sort: tuple[SortItem, ...] = ()
    source: bool = True
    includes: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    version: bool = False
    seq_no_primary_term: bool = False
    stored_fields: tuple[str, ...] = ()
    docvalue_fields: tuple[tuple[str, str | None], ...] = ()  # (field pattern, format)
    fetch_fields: tuple[tuple[str, str | None], ...] = ()  # ``fields``: (field pattern, format)
    highlight: str | None = None  # the ``highlight`` object as JSON text (checked by native.highlight)
    explain: bool = False  # each hit's ``_explanation`` (``ShardContext.explain``)


@dataclass(frozen=True)
class CompositeSource:
    name: str
    kind: str  # terms | histogram | date_histogram
    field: str
    asc: bool = True
    missing_bucket: bool = False
    missing_first: bool | None = None  # None: ES's "default" (first when ascending)
    format: str | None = None
    time_zone: str | None = None
    inner: Any = None  # the AggNode of a histogram / date_histogram source


@dataclass(frozen=True)
class CompositeSpec:
    sources: tuple[CompositeSource, ...]
    size: int = 10
    after: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class GeoMetricSpec:
    """geo_bounds (wrap_longitude) and geo_centroid."""

    field: str
    wrap_longitude: bool = True


@dataclass(frozen=True)
class GeoDistanceSpec:
    field: str
    origin: tuple[float, float]  # (lat, lon)
    ranges: tuple[RangeItem, ...]
    unit: str = "m"
    distance_type: str = "arc"
    keyed: bool = False


@dataclass(frozen=True)
class AggNode:
    name: str
    kind: str
    params: Any
    children: tuple[AggNode, ...] = ()
    meta: dict[str, Any] | None = field(default=None, compare=False, hash=False)


@dataclass(frozen=True)
class AggTree:
    nodes: tuple[AggNode, ...]

    def __bool__(self) -> bool:
        return bool(self.nodes)
