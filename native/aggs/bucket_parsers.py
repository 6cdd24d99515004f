"""Bucket aggregation parsers: one function per bucket kind, ES body → its spec (``native.aggs.spec``)."""

from __future__ import annotations

from typing import Any

from native.aggs.readers import (
    _bounds,
    _check_keys,
    _date_bound,
    _field,
    _float,
    _include,
    _int,
    _missing_value,
    _order,
    _partition,
    _text,
    _time_zone,
)
from native.aggs.spec import (
    CALENDAR_ALIASES,
    AggNode,
    CompositeSource,
    CompositeSpec,
    DateHistogramSpec,
    FilterSpec,
    FiltersSpec,
    GeoDistanceSpec,
    GlobalSpec,
    HistogramSpec,
    MissingSpec,
    NestedSpec,
    Order,
    RangeItem,
    RangeSpec,
    TermsSpec,
)
from native.errors import IllegalArgument, ParsingError, ScriptingDisabled, XContentParseError


def _terms(name: str, kind: str, body: dict[str, Any]) -> TermsSpec:
    _check_keys(kind, body, {
        "field", "size", "shard_size", "min_doc_count", "shard_min_doc_count", "order", "missing",
        "include", "exclude", "show_term_doc_count_error", "format", "execution_hint", "collect_mode",
        "value_type",
    })  # fmt: skip
    size = _int(kind, "size", body.get("size", 10))
    if size < 1:
        raise IllegalArgument(f"[size] must be greater than 0. Found [{size}] in [{name}]")
    # ES's suggested shard size (BucketUtils.suggestShardSideQueueSize) stops at the largest int
    default_shard_size = min(int(size * 1.5 + 10), 2**31 - 1)
    shard_size = _int(kind, "shard_size", body.get("shard_size", default_shard_size))
    if shard_size < 1:
        raise IllegalArgument(f"[shard_size] must be greater than 0. Found [{shard_size}] in [{name}]")
    return TermsSpec(
        field=_field(kind, body),
        size=size,
        shard_size=max(shard_size, size),
        min_doc_count=_int(kind, "min_doc_count", body.get("min_doc_count", 1), 0, long=True),
        shard_min_doc_count=_int(kind, "shard_min_doc_count", body.get("shard_min_doc_count", 0), 0, long=True),
        order=_order(name, body.get("order"), (Order("_count", False), Order("_key", True))),
        missing=_missing_value(kind, body.get("missing")),
        include=None if isinstance(body.get("include"), dict) else _include(body.get("include")),
        exclude=_include(body.get("exclude")),
        show_term_doc_count_error=bool(body.get("show_term_doc_count_error", False)),
        format=_text(kind, "format", body.get("format")),
        value_type=body.get("value_type"),
        partition=_partition(body.get("include")),
    )



def _histogram_common(name: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """The parameters ``histogram`` and ``date_histogram`` share."""
    return {
        "min_doc_count": _int(kind, "min_doc_count", body.get("min_doc_count", 0), 0, long=True),
        "extended_bounds": _bounds(kind, "extended_bounds", body.get("extended_bounds")),
        "hard_bounds": _bounds(kind, "hard_bounds", body.get("hard_bounds")),
        "keyed": bool(body.get("keyed", False)),
        "order": _order(name, body.get("order"), (Order("_key", True),)),
        "missing": _missing_value(kind, body.get("missing")),
        "format": _text(kind, "format", body.get("format")),
    }

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
        **_histogram_common(name, kind, body),
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
        time_zone=_time_zone(kind, body.get("time_zone")),
        **_histogram_common(name, kind, body),
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
            lo = None if lo is None else _range_bound(kind, "from", lo)
            hi = None if hi is None else _range_bound(kind, "to", hi)
        else:
            lo, hi = _date_bound(kind, "from", lo), _date_bound(kind, "to", hi)
        items.append(RangeItem(item.get("key"), lo, hi))
    return RangeSpec(
        field=_field(kind, body),
        ranges=tuple(items),
        keyed=bool(body.get("keyed", False)),
        format=_text(kind, "format", body.get("format")),
        time_zone=_time_zone(kind, body.get("time_zone")),
        is_date=is_date,
        missing=_missing_value(kind, body.get("missing")),
    )


def _range_bound(kind: str, key: str, value: Any) -> Any:
    """A ``range`` bound: a number, or a string kept for the shard to read as a date of a date field."""
    try:
        return _float(kind, key, value)
    except XContentParseError:
        if isinstance(value, str) and value.strip():
            return value
        raise


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


def _composite(name: str, kind: str, body: dict[str, Any]) -> CompositeSpec:
    _check_keys(kind, body, {"sources", "size", "after"})
    raw = body.get("sources")
    if raw is None:
        raise IllegalArgument("Required [sources]")
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
        if source_kind not in ("terms", "histogram", "date_histogram", "geotile_grid"):
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
        if "missing" in params and "missing_bucket" in params:
            raise IllegalArgument("The following fields are not allowed together: [missing_bucket, missing]")
        missing_bucket = bool(params.get("missing_bucket", False))
        if missing_order != "default" and not missing_bucket:
            raise IllegalArgument("missingOrder can only be set if missingBucket is true")
        inner_body = {k: v for k, v in params.items() if k not in own}
        inner = None
        fmt = _text(source_kind, "format", params.get("format"))
        if source_kind == "terms":
            _check_keys(source_kind, inner_body, {"field", "format"})
        elif source_kind == "geotile_grid":
            from native.aggs.geogrid import parse_geo_grid

            _check_keys(source_kind, inner_body, {"field", "precision", "bounds"})
            inner = AggNode(source_name, source_kind, parse_geo_grid(source_name, source_kind, inner_body))
        else:
            inner = AggNode(source_name, source_kind, _INNER[source_kind](source_name, source_kind, inner_body))
            if source_kind == "date_histogram" and fmt is None:
                fmt = None
        sources.append(CompositeSource(
            name=str(source_name), kind=source_kind, field=_field(source_kind, params), asc=order == "asc",
            missing_bucket=missing_bucket,
            missing_first=None if missing_order == "default" else missing_order == "first",
            format=fmt, time_zone=_time_zone(source_kind, params.get("time_zone")), inner=inner,
        ))  # fmt: skip
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise IllegalArgument(f"Composite source names must be unique, found duplicates: [{', '.join(dupes)}]")
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
            return int(parse_date(value, formats, time_zone=source.time_zone))
        except ValueError as exc:
            raise IllegalArgument(f"failed to parse date field [{value}]") from exc
    if source.kind == "histogram":
        return _float("composite", "after", value)
    if source.kind == "geotile_grid":
        parts = str(value).split("/")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise IllegalArgument(
                f'Invalid geotile_grid hash string of {value}. Must be three integers in a form "zoom/x/y".'
            )
        return str(value)
    if isinstance(value, dict | list):
        raise IllegalArgument(f"Invalid value for [after.{source.name}], expected comparable, got [{value}]")
    return value


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


_INNER = {"histogram": _histogram, "date_histogram": _date_histogram}
