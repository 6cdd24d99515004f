"""ES aggregation JSON → frozen spec dataclasses.

``parse_aggs`` validates the whole ``aggs`` object up front so that every 400 happens before any shard
is touched. Each node is an ``AggNode(name, kind, params, children, meta)``; ``params`` is the
kind-specific frozen dataclass below. Filter queries are parsed into ``QueryAst`` here and compiled per
shard at execution time.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from native.errors import IllegalArgument, ParsingError, ScriptingDisabled, XContentParseError

BUCKET_KINDS = frozenset(
    {"terms", "histogram", "date_histogram", "range", "date_range", "filter", "filters", "missing", "global",
     "nested", "reverse_nested", "composite", "geo_distance"}
)  # fmt: skip
STATS_KINDS = frozenset({"avg", "min", "max", "sum", "stats", "extended_stats", "value_count"})
METRIC_KINDS = STATS_KINDS | {
    "percentiles",
    "percentile_ranks",
    "cardinality",
    "top_hits",
    "geo_bounds",
    "geo_centroid",
}
KNOWN_KINDS = BUCKET_KINDS | METRIC_KINDS

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
_BAD_NAME = re.compile(r"[\[\]>]")


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


def parse_aggs(body: Any) -> AggTree:
    """Parse the ``aggs`` / ``aggregations`` object of a search body."""
    return AggTree(_parse_level(body))


def _parse_level(body: Any) -> tuple[AggNode, ...]:
    if not isinstance(body, dict):
        raise ParsingError("Aggregation definition must be an object")
    return tuple(_parse_node(name, definition) for name, definition in body.items())


def _parse_node(name: str, definition: Any) -> AggNode:
    if not isinstance(name, str) or not name or _BAD_NAME.search(name):
        raise ParsingError(
            f"Invalid aggregation name [{name}]. Aggregation names can contain any character except '[', ']', and '>'"
        )
    if not isinstance(definition, dict):
        raise ParsingError(f"Expected [START_OBJECT] under [{name}], but got a different token")
    kind: str | None = None
    body: Any = None
    children: tuple[AggNode, ...] = ()
    meta = None
    for key, value in definition.items():
        if key in ("aggs", "aggregations"):
            if children:
                raise ParsingError(f"Found two sub aggregation definitions under [{name}]")
            children = _parse_level(value)
        elif key == "meta":
            if not isinstance(value, dict):
                raise ParsingError(f"Expected [START_OBJECT] under [meta], but got a different token in [{name}]")
            meta = value
        else:
            if kind is not None:
                raise ParsingError(f"Found two aggregation type definitions in [{name}]: [{kind}] and [{key}]")
            if key not in KNOWN_KINDS:
                close = difflib.get_close_matches(key, sorted(KNOWN_KINDS), n=3, cutoff=0.6)
                hint = f" did you mean [{', '.join(close)}]?" if close else ""
                raise ParsingError(f"Unknown aggregation type [{key}]{hint}")
            kind, body = key, value
    if kind is None:
        raise ParsingError(f"Missing definition for aggregation [{name}]")
    if not isinstance(body, dict):
        raise ParsingError(f"Expected [START_OBJECT] under [{kind}], but got a different token")
    if "script" in body:
        raise ScriptingDisabled("cannot execute [inline] scripts")
    if children and kind in METRIC_KINDS:
        raise ParsingError(f"Aggregator [{name}] of type [{kind}] cannot accept sub-aggregations")
    params = _PARSERS[kind](name, kind, body)
    return AggNode(name, kind, params, children, meta)


# -- helpers ---------------------------------------------------------------------------------------


def _check_keys(kind: str, body: dict[str, Any], allowed: set[str]) -> None:
    for key in body:
        if key not in allowed:
            raise XContentParseError(f"[{kind}] unknown field [{key}]")


def _field(kind: str, body: dict[str, Any]) -> str:
    value = body.get("field")
    if value is None:
        raise IllegalArgument("Required one of fields [field, script], but none were specified.")
    if not isinstance(value, str):
        raise XContentParseError(f"[{kind}] field [field] must be a string")
    return value


def _int(kind: str, key: str, value: Any, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise XContentParseError(f"[{kind}] failed to parse field [{key}]")
    try:
        number = int(value)
    except ValueError as exc:
        raise XContentParseError(f"[{kind}] failed to parse field [{key}]") from exc
    if minimum is not None and number < minimum:
        raise IllegalArgument(f"[{key}] must be greater than or equal to {minimum}. Found [{number}] in [{kind}]")
    return number


def _float(kind: str, key: str, value: Any) -> float:
    try:
        if isinstance(value, bool):
            raise ValueError
        return float(value)
    except (TypeError, ValueError) as exc:
        raise XContentParseError(f"[{kind}] failed to parse field [{key}]") from exc


def _order(name: str, value: Any, default: tuple[Order, ...]) -> tuple[Order, ...]:
    if value is None:
        return default
    items = value if isinstance(value, list) else [value]
    orders: list[Order] = []
    for item in items:
        if not isinstance(item, dict) or len(item) != 1:
            raise ParsingError(f"Unexpected token in [order] of aggregation [{name}]")
        ((path, direction),) = item.items()
        if str(direction).lower() not in ("asc", "desc"):
            raise ParsingError(f"Unknown order direction [{direction}]")
        path = "_key" if path == "_term" else path
        orders.append(Order(path, str(direction).lower() == "asc"))
    if not any(o.path == "_key" for o in orders):
        orders.append(Order("_key", True))  # ES's tie-breaker
    return tuple(orders)


def _bounds(kind: str, key: str, value: Any) -> tuple[Any, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise XContentParseError(f"[{kind}] failed to parse field [{key}]")
    return (value.get("min"), value.get("max"))


def _include(value: Any) -> str | tuple[Any, ...] | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        return tuple(value)
    raise IllegalArgument("Unsupported include/exclude value")


def _partition(value: Any) -> tuple[int, int] | None:
    if not isinstance(value, dict):
        return None
    for key in value:
        if key not in ("partition", "num_partitions"):
            raise XContentParseError(f"[include] unknown field [{key}]")
    if "num_partitions" not in value or "partition" not in value:
        raise IllegalArgument("Missing [num_partitions] or [partition] in [include]")
    num = _int("terms", "num_partitions", value["num_partitions"], 1)
    part = _int("terms", "partition", value["partition"], 0)
    if part >= num:
        raise IllegalArgument(f"[partition] must be less than [num_partitions] ({num}). Found [{part}]")
    return (part, num)


# -- per kind --------------------------------------------------------------------------------------


def _terms(name: str, kind: str, body: dict[str, Any]) -> TermsSpec:
    _check_keys(kind, body, {
        "field", "size", "shard_size", "min_doc_count", "shard_min_doc_count", "order", "missing",
        "include", "exclude", "show_term_doc_count_error", "format", "execution_hint", "collect_mode",
        "value_type",
    })  # fmt: skip
    size = _int(kind, "size", body.get("size", 10))
    if size < 1:
        raise IllegalArgument(f"[size] must be greater than 0. Found [{size}] in [{name}]")
    shard_size = _int(kind, "shard_size", body.get("shard_size", int(size * 1.5 + 10)))
    if shard_size < 1:
        raise IllegalArgument(f"[shard_size] must be greater than 0. Found [{shard_size}] in [{name}]")
    return TermsSpec(
        field=_field(kind, body),
        size=size,
        shard_size=max(shard_size, size),
        min_doc_count=_int(kind, "min_doc_count", body.get("min_doc_count", 1), 0),
        shard_min_doc_count=_int(kind, "shard_min_doc_count", body.get("shard_min_doc_count", 0), 0),
        order=_order(name, body.get("order"), (Order("_count", False), Order("_key", True))),
        missing=body.get("missing"),
        include=None if isinstance(body.get("include"), dict) else _include(body.get("include")),
        exclude=_include(body.get("exclude")),
        show_term_doc_count_error=bool(body.get("show_term_doc_count_error", False)),
        format=body.get("format"),
        value_type=body.get("value_type"),
        partition=_partition(body.get("include")),
    )


def _histogram(name: str, kind: str, body: dict[str, Any]) -> HistogramSpec:
    _check_keys(kind, body, {
        "field", "interval", "offset", "min_doc_count", "extended_bounds", "hard_bounds", "keyed", "order",
        "missing", "format",
    })  # fmt: skip
    if "interval" not in body:
        raise IllegalArgument("Required one of fields [interval], but none were specified.")
    interval = _float(kind, "interval", body["interval"])
    if interval <= 0:
        raise IllegalArgument(f"[interval] must be >0 for histogram aggregation [{name}]")
    return HistogramSpec(
        field=_field(kind, body),
        interval=interval,
        offset=_float(kind, "offset", body.get("offset", 0)),
        min_doc_count=_int(kind, "min_doc_count", body.get("min_doc_count", 0), 0),
        extended_bounds=_bounds(kind, "extended_bounds", body.get("extended_bounds")),
        hard_bounds=_bounds(kind, "hard_bounds", body.get("hard_bounds")),
        keyed=bool(body.get("keyed", False)),
        order=_order(name, body.get("order"), (Order("_key", True),)),
        missing=body.get("missing"),
        format=body.get("format"),
    )


def _parse_offset(value: Any) -> int:
    from native.dates import parse_interval

    if value is None:
        return 0
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    text = str(value).strip()
    sign = 1
    if text.startswith(("+", "-")):
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    try:
        return sign * int(parse_interval(text))
    except Exception as exc:
        raise IllegalArgument(f"failed to parse setting [date_histogram.offset] with value [{value}]") from exc


def _date_histogram(name: str, kind: str, body: dict[str, Any]) -> DateHistogramSpec:
    from native.dates import parse_interval

    _check_keys(kind, body, {
        "field", "fixed_interval", "calendar_interval", "interval", "offset", "time_zone", "min_doc_count",
        "extended_bounds", "hard_bounds", "keyed", "order", "format", "missing",
    })  # fmt: skip
    given = [k for k in ("fixed_interval", "calendar_interval", "interval") if k in body]
    if not given:
        raise IllegalArgument("Required one of fields [fixed_interval, calendar_interval], but none were specified.")
    if len(given) > 1:
        raise IllegalArgument(f"Cannot use [{given[1]}] with [{given[0]}] configuration option.")
    key = given[0]
    raw = str(body[key])
    fixed_ms: int | None = None
    calendar: str | None = None
    if key == "calendar_interval" or (key == "interval" and raw in CALENDAR_ALIASES):
        calendar = CALENDAR_ALIASES.get(raw)
        if calendar is None:
            raise IllegalArgument(f"The supplied interval [{raw}] could not be parsed as a calendar interval.")
    else:
        try:
            fixed_ms = int(parse_interval(raw))
        except Exception as exc:
            raise IllegalArgument(
                f"failed to parse setting [date_histogram.fixedInterval] with value [{raw}] as a time value: "
                "unit is missing or unrecognized"
            ) from exc
        if fixed_ms <= 0:
            raise IllegalArgument(f"Zero or negative time interval [{raw}] not supported")
    return DateHistogramSpec(
        field=_field(kind, body),
        fixed_ms=fixed_ms,
        calendar=calendar,
        offset_ms=_parse_offset(body.get("offset")),
        time_zone=body.get("time_zone"),
        min_doc_count=_int(kind, "min_doc_count", body.get("min_doc_count", 0), 0),
        extended_bounds=_bounds(kind, "extended_bounds", body.get("extended_bounds")),
        hard_bounds=_bounds(kind, "hard_bounds", body.get("hard_bounds")),
        keyed=bool(body.get("keyed", False)),
        order=_order(name, body.get("order"), (Order("_key", True),)),
        format=body.get("format"),
        missing=body.get("missing"),
    )


def _range(name: str, kind: str, body: dict[str, Any]) -> RangeSpec:
    _check_keys(kind, body, {"field", "ranges", "keyed", "format", "time_zone", "missing"})
    ranges = body.get("ranges")
    if not isinstance(ranges, list) or not ranges:
        raise IllegalArgument(f"No [ranges] specified for the [{name}] aggregation")
    is_date = kind == "date_range"
    items: list[RangeItem] = []
    for item in ranges:
        if not isinstance(item, dict):
            raise ParsingError(f"[ranges] items must be objects in [{name}]")
        for k in item:
            if k not in ("from", "to", "key"):
                raise XContentParseError(f"[range] unknown field [{k}]")
        lo, hi = item.get("from"), item.get("to")
        if not is_date:
            lo = None if lo is None else _float(kind, "from", lo)
            hi = None if hi is None else _float(kind, "to", hi)
        items.append(RangeItem(item.get("key"), lo, hi))
    return RangeSpec(
        field=_field(kind, body),
        ranges=tuple(items),
        keyed=bool(body.get("keyed", False)),
        format=body.get("format"),
        time_zone=body.get("time_zone"),
        is_date=is_date,
        missing=body.get("missing"),
    )


def _query(value: Any) -> Any:
    from native.query import parse_query

    if not isinstance(value, dict):
        raise ParsingError("Expected [START_OBJECT] for a filter query")
    return parse_query(value)


def _filters(name: str, kind: str, body: dict[str, Any]) -> FiltersSpec:
    _check_keys(kind, body, {"filters", "other_bucket", "other_bucket_key", "keyed"})
    raw = body.get("filters")
    filters: tuple[tuple[str | None, Any], ...]
    if isinstance(raw, dict):
        filters = tuple((str(k), _query(v)) for k, v in raw.items())
        keyed = bool(body.get("keyed", True))
    elif isinstance(raw, list):
        filters = tuple((None, _query(v)) for v in raw)
        keyed = False
    else:
        raise ParsingError(f"[filters] must be an object or an array in [{name}]")
    other_key = body.get("other_bucket_key")
    return FiltersSpec(
        filters=filters,
        keyed=keyed,
        other_bucket=bool(body.get("other_bucket", other_key is not None)),
        other_bucket_key=str(other_key) if other_key is not None else "_other_",
    )


def _filter(name: str, kind: str, body: dict[str, Any]) -> FilterSpec:
    return FilterSpec(_query(body))


def _missing(name: str, kind: str, body: dict[str, Any]) -> MissingSpec:
    _check_keys(kind, body, {"field"})
    return MissingSpec(_field(kind, body))


def _global(name: str, kind: str, body: dict[str, Any]) -> GlobalSpec:
    _check_keys(kind, body, set())
    return GlobalSpec()


def _nested(name: str, kind: str, body: dict[str, Any]) -> NestedSpec:
    _check_keys(kind, body, {"path"})
    path = body.get("path")
    if path is None and kind == "nested":
        raise ParsingError(f"Missing [path] field for nested aggregation [{name}]")
    if path is not None and not isinstance(path, str):
        raise ParsingError(f"[{kind}] path must be a string in [{name}]")
    return NestedSpec(path)


def _metric(name: str, kind: str, body: dict[str, Any]) -> MetricSpec:
    allowed = {"field", "missing", "format"} | ({"sigma"} if kind == "extended_stats" else set())
    _check_keys(kind, body, allowed)
    sigma = _float(kind, "sigma", body.get("sigma", 2.0))
    if sigma < 0:
        raise IllegalArgument(f"[sigma] must be greater than or equal to 0. Found [{sigma}] in [{name}]")
    return MetricSpec(_field(kind, body), body.get("missing"), sigma, body.get("format"))


def _percentiles(name: str, kind: str, body: dict[str, Any]) -> PercentilesSpec:
    list_key = "percents" if kind == "percentiles" else "values"
    _check_keys(kind, body, {"field", list_key, "keyed", "tdigest", "missing", "format"})
    compression = 100.0
    if isinstance(body.get("tdigest"), dict):
        compression = _float(kind, "compression", body["tdigest"].get("compression", 100.0))
        if compression < 0:
            raise IllegalArgument(
                f"[compression] must be greater than or equal to 0. Found [{compression}] in [{name}]"
            )
    if list_key in body:
        raw = body[list_key]
        if not isinstance(raw, list) or not raw:
            raise IllegalArgument(f"[{list_key}] must not be empty: [{name}]")
        values = tuple(_float(kind, list_key, v) for v in raw)
        if kind == "percentiles" and any(not 0 <= p <= 100 for p in values):
            raise IllegalArgument("percent must be in [0,100]")
    elif kind == "percentile_ranks":
        raise IllegalArgument(f"[values] must not be null: [{name}]")
    else:
        values = DEFAULT_PERCENTS
    return PercentilesSpec(_field(kind, body), values, bool(body.get("keyed", True)), compression, body.get("missing"))


def _cardinality(name: str, kind: str, body: dict[str, Any]) -> CardinalitySpec:
    _check_keys(kind, body, {"field", "precision_threshold", "missing", "rehash", "execution_hint"})
    threshold = _int(kind, "precision_threshold", body.get("precision_threshold", 3000), 0)
    return CardinalitySpec(_field(kind, body), min(threshold, 40000), body.get("missing"))


def _sort_item(value: Any) -> SortItem:
    if isinstance(value, str):
        return SortItem(value, value != "_score")
    if isinstance(value, dict) and len(value) == 1:
        ((path, opts),) = value.items()
        if isinstance(opts, str):
            return SortItem(path, opts.lower() == "asc")
        if isinstance(opts, dict):
            default_asc = path != "_score"
            order = str(opts.get("order", "asc" if default_asc else "desc")).lower()
            return SortItem(path, order == "asc", opts.get("missing") == "_first")
    raise ParsingError(f"malformed sort [{value}] in [top_hits]")


def _top_hits(name: str, kind: str, body: dict[str, Any]) -> TopHitsSpec:
    _check_keys(kind, body, {
        "size", "from", "sort", "_source", "track_scores", "version", "seq_no_primary_term", "explain",
    })  # fmt: skip
    size = _int(kind, "size", body.get("size", 3), 0)
    from_ = _int(kind, "from", body.get("from", 0), 0)
    if size + from_ > MAX_INNER_RESULT_WINDOW:
        raise IllegalArgument(
            f"Top hits result window is too large, the top hits aggregator [{name}]'s from + size must be "
            f"less than or equal to: [{MAX_INNER_RESULT_WINDOW}] but was [{size + from_}]. This limit can be "
            "set by changing the [index.max_inner_result_window] index level setting."
        )
    raw_sort = body.get("sort", [])
    sort = tuple(_sort_item(s) for s in (raw_sort if isinstance(raw_sort, list) else [raw_sort]))
    source = body.get("_source", True)
    includes: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    enabled = True
    if isinstance(source, bool):
        enabled = source
    elif isinstance(source, str):
        includes = (source,)
    elif isinstance(source, list):
        includes = tuple(str(s) for s in source)
    elif isinstance(source, dict):
        inc, exc = (
            source.get("includes", source.get("include", [])),
            source.get("excludes", source.get("exclude", [])),
        )
        includes = tuple([inc] if isinstance(inc, str) else (inc or []))
        excludes = tuple([exc] if isinstance(exc, str) else (exc or []))
    return TopHitsSpec(
        size, from_, sort, enabled, includes, excludes,
        bool(body.get("version", False)), bool(body.get("seq_no_primary_term", False)),
    )  # fmt: skip


def _composite(name: str, kind: str, body: dict[str, Any]) -> CompositeSpec:
    _check_keys(kind, body, {"sources", "size", "after"})
    raw = body.get("sources")
    if not isinstance(raw, list) or not raw:
        raise IllegalArgument("Composite [sources] cannot be null or empty")
    sources: list[CompositeSource] = []
    for item in raw:
        if not isinstance(item, dict) or len(item) != 1:
            raise ParsingError("[composite] each source must be an object with a single named source")
        ((source_name, definition),) = item.items()
        if not isinstance(definition, dict) or len(definition) != 1:
            raise ParsingError(
                f"[composite] source [{source_name}] must hold one of [terms, histogram, date_histogram]"
            )
        ((source_kind, params),) = definition.items()
        if source_kind not in ("terms", "histogram", "date_histogram"):
            if source_kind == "geotile_grid":
                raise IllegalArgument("[composite] source [geotile_grid] is not supported")
            raise ParsingError(f"Unknown source type [{source_kind}] in [composite]")
        if not isinstance(params, dict):
            raise ParsingError(f"[{source_kind}] source [{source_name}] must be an object")
        if "script" in params:
            raise ScriptingDisabled("cannot execute [inline] scripts")
        own = {"order", "missing_bucket", "missing_order", "value_type", "missing"}
        order = str(params.get("order", "asc")).lower()
        if order not in ("asc", "desc"):
            raise ParsingError(f"Unknown order direction [{order}]")
        missing_order = str(params.get("missing_order", "default")).lower()
        if missing_order not in ("default", "first", "last"):
            raise IllegalArgument(f"Unknown MissingOrder value [{missing_order}]")
        missing_bucket = bool(params.get("missing_bucket", False))
        if missing_order != "default" and not missing_bucket:
            raise IllegalArgument("missingOrder can only be set if missingBucket is true")
        inner_body = {k: v for k, v in params.items() if k not in own}
        inner = None
        fmt = params.get("format")
        if source_kind == "terms":
            _check_keys(source_kind, inner_body, {"field", "format"})
        else:
            inner = AggNode(source_name, source_kind, _PARSERS[source_kind](source_name, source_kind, inner_body))
            if source_kind == "date_histogram" and fmt is None:
                fmt = None
        sources.append(CompositeSource(
            name=str(source_name), kind=source_kind, field=_field(source_kind, params), asc=order == "asc",
            missing_bucket=missing_bucket,
            missing_first=None if missing_order == "default" else missing_order == "first",
            format=fmt, time_zone=params.get("time_zone"), inner=inner,
        ))  # fmt: skip
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise IllegalArgument(f"Composite source names must be unique, found duplicates: {dupes}")
    size = _int(kind, "size", body.get("size", 10))
    if size < 1:
        raise IllegalArgument(f"[size] must be greater than 0. Found [{size}] in [{name}]")
    after = None
    if body.get("after") is not None:
        raw_after = body["after"]
        if not isinstance(raw_after, dict):
            raise ParsingError("[after] must be an object")
        if len(raw_after) != len(sources):
            raise IllegalArgument(f"[after] has {len(raw_after)} value(s) but [sources] has {len(sources)}")
        values = []
        for source in sources:
            if source.name not in raw_after:
                raise IllegalArgument(f"Missing value for [after.{source.name}]")
            values.append(_after_value(source, raw_after[source.name]))
        after = tuple(values)
    return CompositeSpec(tuple(sources), size, after)


def _after_value(source: CompositeSource, value: Any) -> Any:
    if value is None:
        if not source.missing_bucket:
            raise IllegalArgument(f"Cannot set after key in the composite aggregation [{source.name}] - "
                                  "missing bucket [missing_bucket] is not enabled")  # fmt: skip
        return None
    if source.kind == "date_histogram" and isinstance(value, str):
        from native.dates import parse_date

        formats = tuple(f for f in (source.format, "strict_date_optional_time", "epoch_millis") if f)
        try:
            return int(parse_date(value, formats))
        except ValueError as exc:
            raise IllegalArgument(f"failed to parse date field [{value}]") from exc
    if source.kind == "histogram":
        return _float("composite", "after", value)
    return value


def _geo_metric(name: str, kind: str, body: dict[str, Any]) -> GeoMetricSpec:
    _check_keys(kind, body, {"field", "wrap_longitude"} if kind == "geo_bounds" else {"field"})
    return GeoMetricSpec(_field(kind, body), bool(body.get("wrap_longitude", True)))


def _geo_distance(name: str, kind: str, body: dict[str, Any]) -> GeoDistanceSpec:
    from native.query import geo

    _check_keys(kind, body, {"field", "origin", "point", "center", "ranges", "unit", "distance_type", "keyed"})
    origin_raw = body.get("origin", body.get("point", body.get("center")))
    if origin_raw is None:
        raise ParsingError(f"Missing [origin] in geo_distance aggregator [{name}]")
    origin = geo.point(origin_raw, query=kind)
    unit = str(body.get("unit", "m"))
    geo.unit_metres(unit)
    distance_type = str(body.get("distance_type", "arc")).lower()
    if distance_type not in ("arc", "plane"):
        raise IllegalArgument(f"No geo distance for [{distance_type}]")
    ranges = body.get("ranges")
    if not isinstance(ranges, list) or not ranges:
        raise IllegalArgument(f"No [ranges] specified for the [{name}] aggregation")
    items = []
    for item in ranges:
        if not isinstance(item, dict):
            raise ParsingError(f"[ranges] items must be objects in [{name}]")
        lo, hi = item.get("from"), item.get("to")
        items.append(RangeItem(item.get("key"), None if lo is None else _float(kind, "from", lo),
                               None if hi is None else _float(kind, "to", hi)))  # fmt: skip
    return GeoDistanceSpec(
        _field(kind, body), origin, tuple(items), unit, distance_type, bool(body.get("keyed", False))
    )


_PARSERS = {
    "composite": _composite,
    "geo_bounds": _geo_metric,
    "geo_centroid": _geo_metric,
    "geo_distance": _geo_distance,
    "terms": _terms,
    "histogram": _histogram,
    "date_histogram": _date_histogram,
    "range": _range,
    "date_range": _range,
    "filters": _filters,
    "filter": _filter,
    "missing": _missing,
    "global": _global,
    "nested": _nested,
    "reverse_nested": _nested,
    **dict.fromkeys(STATS_KINDS, _metric),
    "percentiles": _percentiles,
    "percentile_ranks": _percentiles,
    "cardinality": _cardinality,
    "top_hits": _top_hits,
}
