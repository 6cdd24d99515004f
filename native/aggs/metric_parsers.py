"""Metric aggregation parsers: one function per metric kind, ES body → its spec (``native.aggs.spec``)."""

from __future__ import annotations

from typing import Any

import orjson

from native.aggs.readers import _check_keys, _field, _float, _int, _missing_value, _text
from native.aggs.spec import (
    DEFAULT_PERCENTS,
    MAX_INNER_RESULT_WINDOW,
    CardinalitySpec,
    GeoMetricSpec,
    MetricSpec,
    PercentilesSpec,
    SortItem,
    TopHitsSpec,
)
from native.errors import IllegalArgument, ParsingError, XContentParseError


def _metric(name: str, kind: str, body: dict[str, Any]) -> MetricSpec:
    allowed = {"field", "missing", "format"} | ({"sigma"} if kind == "extended_stats" else set())
    _check_keys(kind, body, allowed)
    sigma = _float(kind, "sigma", body.get("sigma", 2.0))
    if sigma < 0:
        raise IllegalArgument(f"[sigma] must be greater than or equal to 0. Found [{sigma}] in [{name}]")
    missing = _missing_value(kind, body.get("missing"))
    return MetricSpec(_field(kind, body), missing, sigma, _text(kind, "format", body.get("format")))


def _percentiles(name: str, kind: str, body: dict[str, Any]) -> PercentilesSpec:
    list_key = "percents" if kind == "percentiles" else "values"
    _check_keys(kind, body, {"field", list_key, "keyed", "tdigest", "hdr", "missing", "format"})
    hdr_digits = _hdr_digits(kind, body)
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
    missing = _missing_value(kind, body.get("missing"))
    fmt = _text(kind, "format", body.get("format"))
    return PercentilesSpec(
        _field(kind, body), values, bool(body.get("keyed", True)), compression, missing, hdr_digits, fmt
    )


def _hdr_digits(kind: str, body: dict[str, Any]) -> int | None:
    """``hdr: {number_of_significant_value_digits}`` (0-5, default 3); None for a t-digest."""
    if "hdr" not in body:
        return None
    if "tdigest" in body:
        raise IllegalArgument("[tdigest] and [hdr] cannot both be set")
    hdr = body["hdr"]
    if not isinstance(hdr, dict):
        raise XContentParseError(f"[{kind}] failed to parse field [hdr]")
    _check_keys("hdr", hdr, {"number_of_significant_value_digits"})
    digits = _int("hdr", "number_of_significant_value_digits", hdr.get("number_of_significant_value_digits", 3))
    if not 0 <= digits <= 5:
        raise IllegalArgument("[numberOfSignificantValueDigits] must be between 0 and 5")
    return digits


def _cardinality(name: str, kind: str, body: dict[str, Any]) -> CardinalitySpec:
    _check_keys(kind, body, {"field", "precision_threshold", "missing", "rehash", "execution_hint"})
    threshold = _int(kind, "precision_threshold", body.get("precision_threshold", 3000), 0)
    return CardinalitySpec(_field(kind, body), min(threshold, 40000), _missing_value(kind, body.get("missing")))


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
            nested = opts.get("nested")
            if nested is not None:
                from native.nested_sort import check_mode, parse_nested_sort

                parse_nested_sort(nested, str(path))
                check_mode(opts.get("mode"))
                return SortItem(path, order == "asc", opts.get("missing") == "_first", orjson.dumps(nested).decode(),
                                opts.get("mode"))  # fmt: skip
            return SortItem(path, order == "asc", opts.get("missing") == "_first")
    raise ParsingError(f"malformed sort [{value}] in [top_hits]")


def _top_hits(name: str, kind: str, body: dict[str, Any]) -> TopHitsSpec:
    _check_keys(kind, body, {
        "size", "from", "sort", "_source", "track_scores", "version", "seq_no_primary_term", "explain",
        "stored_fields", "docvalue_fields", "fields", "highlight",
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
    if str(body.get("track_scores", False)).lower() == "true" and sort and sort[0].field != "_score":
        raise IllegalArgument("[top_hits] option [track_scores] with a field sort is not supported")
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
    from native.aggs.hit_fields import parse_docvalue_fields, parse_stored_fields

    stored = parse_stored_fields(body["stored_fields"]) if "stored_fields" in body else ()
    docvalue = parse_docvalue_fields(body["docvalue_fields"]) if "docvalue_fields" in body else ()
    fetch = parse_docvalue_fields(body["fields"]) if "fields" in body else ()
    highlight = None
    if body.get("highlight") is not None:
        import json

        from native.highlight import parse_highlight

        parse_highlight(body["highlight"])  # a malformed highlight is a 400 now
        highlight = json.dumps(body["highlight"])
    return TopHitsSpec(
        size, from_, sort, enabled and "_none_" not in stored, includes, excludes,
        bool(body.get("version", False)), bool(body.get("seq_no_primary_term", False)), stored, docvalue, fetch,
        highlight, str(body.get("explain", False)).lower() == "true",
    )  # fmt: skip


def _geo_metric(name: str, kind: str, body: dict[str, Any]) -> GeoMetricSpec:
    _check_keys(kind, body, {"field", "wrap_longitude"} if kind == "geo_bounds" else {"field"})
    return GeoMetricSpec(_field(kind, body), bool(body.get("wrap_longitude", True)))
