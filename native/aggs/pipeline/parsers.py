"""Parsers of the pipeline aggregations' bodies (``buckets_path``, ``gap_policy``, ``format``, scripts …)."""

from __future__ import annotations

import math
import re
from typing import Any

from native.aggs.pipeline.spec import DEFAULT_PERCENTS, GAP_POLICIES, SIBLING_KINDS, PipelineSpec, SortField
from native.errors import ActionRequestValidation, ElasticsearchParseError, IllegalArgument, ParsingError
from native.painless import compile_script

_COMMON = {"buckets_path", "format", "gap_policy"}
_ALLOWED: dict[str, set[str]] = {
    **{kind: set(_COMMON) for kind in SIBLING_KINDS},
    "extended_stats_bucket": _COMMON | {"sigma"},
    "percentiles_bucket": _COMMON | {"percents", "keyed"},
    "derivative": _COMMON | {"unit"},
    "cumulative_sum": {"buckets_path", "format"},
    "cumulative_cardinality": {"buckets_path", "format"},
    "serial_diff": _COMMON | {"lag"},
    "moving_fn": _COMMON | {"window", "shift", "script"},
    "bucket_script": _COMMON | {"script"},
    "bucket_selector": {"buckets_path", "gap_policy", "script"},
    "bucket_sort": {"sort", "from", "size", "gap_policy"},
}
# derivative ``unit``: a calendar unit's base duration (java.time's estimated durations), else a time value
_UNIT_MS = {
    "year": 31_556_952_000, "1y": 31_556_952_000,
    "quarter": 7_889_238_000, "1q": 7_889_238_000,
    "month": 2_629_746_000, "1M": 2_629_746_000,
    "week": 604_800_000, "1w": 604_800_000,
    "day": 86_400_000, "1d": 86_400_000,
    "hour": 3_600_000, "1h": 3_600_000,
    "minute": 60_000, "1m": 60_000,
    "second": 1_000, "1s": 1_000,
}  # fmt: skip
_TIME_VALUE = re.compile(r"^(\d+(?:\.\d+)?)\s*(nanos|micros|ms|s|m|h|d)$")
_TIME_UNITS = {"nanos": 1e-6, "micros": 1e-3, "ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_pipeline(name: str, kind: str, body: dict[str, Any]) -> PipelineSpec:
    allowed = _ALLOWED[kind]
    for key in body:
        if key not in allowed:
            raise ParsingError(f"[{kind}] unknown field [{key}]")
    values: dict[str, Any] = {}
    if kind != "bucket_sort":
        if "buckets_path" not in body:
            raise ParsingError(f"Missing required field [buckets_path] for aggregation [{name}]")
        values["paths"] = _paths(name, kind, body["buckets_path"])
    if "gap_policy" in body:
        values["gap_policy"] = _gap_policy(body["gap_policy"])
    if "format" in body and body["format"] is not None:
        if not isinstance(body["format"], str):
            raise ParsingError(f"[{kind}] format doesn't support values of type: {type(body['format']).__name__}")
        values["format"] = body["format"]
    if kind == "extended_stats_bucket" and "sigma" in body:
        sigma = _number(kind, "sigma", body["sigma"])
        if sigma < 0:
            raise IllegalArgument(f"[sigma] must be greater than or equal to 0. Found [{sigma}] in [{name}]")
        values["sigma"] = sigma
    if kind == "percentiles_bucket":
        values.update(_percentiles(name, body))
    if kind == "derivative" and body.get("unit") is not None:
        values["unit_ms"] = _unit(body["unit"])
    if kind == "serial_diff" and "lag" in body:
        lag = _int(kind, "lag", body["lag"])
        if lag <= 0:
            raise IllegalArgument(f"[lag] must be a positive integer: [{name}]")
        values["lag"] = lag
    if kind == "moving_fn":
        values.update(_moving_fn(name, body))
    if kind in ("bucket_script", "bucket_selector"):
        if "script" not in body:
            raise ParsingError(f"Missing required field [script] for aggregation [{name}]")
        names = {name for name, _ in values["paths"]}
        values["script"] = compile_script(body["script"], variables={"params"}, expression_names=names, context=kind)
    if kind == "bucket_sort":
        values.update(_bucket_sort(body))
    return PipelineSpec(**values)


def _paths(name: str, kind: str, raw: Any) -> tuple[tuple[str, str], ...]:
    if isinstance(raw, str):
        paths: tuple[tuple[str, str], ...] = (("_value", raw),)
    elif isinstance(raw, list):
        if not all(isinstance(item, str) for item in raw):
            raise ParsingError(f"[{kind}] buckets_path must be a string or an array of strings")
        paths = tuple((f"_value{i}", item) for i, item in enumerate(raw))
    elif isinstance(raw, dict) and kind in ("bucket_script", "bucket_selector"):
        if not all(isinstance(item, str) for item in raw.values()):
            raise ParsingError(f"[{kind}] buckets_path values must be strings")
        paths = tuple(raw.items())
    else:
        raise ParsingError(f"[{kind}] buckets_path must be a string or an array of strings")
    if kind not in ("bucket_script", "bucket_selector") and len(paths) != 1:
        raise ActionRequestValidation(
            f"Validation Failed: 1: buckets_path must contain a single entry for aggregation [{name}];"
        )
    return paths


def _gap_policy(raw: Any) -> str:
    if not isinstance(raw, str) or raw not in GAP_POLICIES:
        raise ParsingError(f"Invalid gap policy: [{raw}], accepted values: [{', '.join(GAP_POLICIES)}]")
    return raw


def _number(kind: str, key: str, raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ParsingError(f"[{kind}] {key} doesn't support values of type: {type(raw).__name__}")
    try:
        return float(raw)
    except ValueError:
        raise ParsingError(f"[{kind}] failed to parse field [{key}]") from None


def _int(kind: str, key: str, raw: Any) -> int:
    value = _number(kind, key, raw)
    if not math.isfinite(value) or value != int(value):
        raise ParsingError(f"[{kind}] failed to parse field [{key}]")
    return int(value)


def _percentiles(name: str, body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "percents" in body:
        raw = body["percents"]
        if not isinstance(raw, list):
            raise ParsingError("[percentiles_bucket] percents must be an array of numbers")
        percents = tuple(_number("percentiles_bucket", "percents", p) for p in raw)
        for p in percents:
            if not 0.0 <= p <= 100.0:
                raise IllegalArgument("percents must only contain non-null doubles from 0.0-100.0 inclusive")
        out["percents"] = percents or DEFAULT_PERCENTS
    if "keyed" in body:
        if not isinstance(body["keyed"], bool):
            raise ParsingError("[percentiles_bucket] keyed must be a boolean")
        out["keyed"] = body["keyed"]
    return out


def _unit(raw: Any) -> float:
    if isinstance(raw, str):
        if raw in _UNIT_MS:
            return float(_UNIT_MS[raw])
        match = _TIME_VALUE.match(raw.strip())
        if match:
            millis = float(match.group(1)) * _TIME_UNITS[match.group(2)]
            if millis > 0:
                return millis
    raise ElasticsearchParseError(
        f"failed to parse setting [DerivativePipelineAggregationBuilder.unit] with value [{raw}] as a time value: "
        "unit is missing or unrecognized"
    )


def _moving_fn(name: str, body: dict[str, Any]) -> dict[str, Any]:
    if "window" not in body:
        raise ParsingError("[moving_fn] Required [window]")
    window = body["window"]
    if isinstance(window, bool) or not isinstance(window, int) or window <= 0:
        raise IllegalArgument("[window] must be a positive, non-zero integer.")
    if "script" not in body:
        raise ParsingError("[moving_fn] Required [script]")
    out: dict[str, Any] = {"window": window}
    if "shift" in body:
        out["shift"] = _int("moving_fn", "shift", body["shift"])
    out["script"] = compile_script(body["script"], variables={"params", "values"}, context="moving_fn")
    return out


def _bucket_sort(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "from" in body:
        start = _int("bucket_sort", "from", body["from"])
        if start < 0:
            raise IllegalArgument(f"[from] must be a non-negative integer: [{start}]")
        out["from_"] = start
    if body.get("size") is not None:
        size = _int("bucket_sort", "size", body["size"])
        if size < 1:
            raise IllegalArgument(f"[size] must be a positive integer: [{size}]")
        out["size"] = size
    raw = body.get("sort", [])
    items = raw if isinstance(raw, list) else [raw]
    fields: list[SortField] = []
    for item in items:
        fields.append(_sort_field(item))
    out["sort"] = tuple(fields)
    out["paths"] = tuple((f"_sort{i}", f.path) for i, f in enumerate(fields) if f.path not in ("_key", "_count"))
    return out


def _sort_field(item: Any) -> SortField:
    if isinstance(item, str):
        return SortField(item, True)
    if isinstance(item, dict) and len(item) == 1:
        path, spec = next(iter(item.items()))
        order = spec
        if isinstance(spec, dict):
            for key in spec:
                if key != "order":
                    raise ParsingError(f"[bucket_sort] unknown sort option [{key}]")
            order = spec.get("order", "asc")
        if order not in ("asc", "desc"):
            raise IllegalArgument(f"Unknown sort order [{order}]; accepted values: [asc, desc]")
        return SortField(path, order == "asc")
    raise ParsingError("[bucket_sort] sort must be a field name or an object {field: {order: asc|desc}}")
