"""``typed_keys``: aggregation names in a response prefixed with their result type (``sterms#by_tag``).

The type is the name of the result class ES writes, not always the request's kind: a ``terms`` aggregation is
``sterms``, ``lterms`` or ``dterms`` by its field's type, ``percentiles`` is ``tdigest_percentiles`` (or
``hdr_percentiles``), most sibling pipelines are ``simple_value``. The request and the response are walked
together; sub-aggregations are renamed inside every bucket (list or keyed) and inside single-bucket results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

_SUB_KEYS = ("aggs", "aggregations", "meta")
_NUMERIC_LONG = {"long", "integer", "short", "byte", "date", "date_nanos", "boolean", "unsigned_long"}
_NUMERIC_DOUBLE = {"double", "float", "half_float", "scaled_float"}
# request kind → result type, where they differ
_RESULT_TYPES = {
    "percentile_ranks": "tdigest_percentile_ranks",
    "percentiles": "tdigest_percentiles",
    "bucket_script": "simple_value",
    "avg_bucket": "simple_value",
    "sum_bucket": "simple_value",
    "cumulative_sum": "simple_value",
    "moving_fn": "simple_value",
    "serial_diff": "simple_value",
    "max_bucket": "bucket_metric_value",
    "min_bucket": "bucket_metric_value",
    "cumulative_cardinality": "simple_long_value",
    "diversified_sampler": "sampler",
}


def result_type(kind: str, body: Mapping[str, Any], field_type: Callable[[str], str | None]) -> str:
    """The result type ES names an aggregation of ``kind`` (request ``body``) with."""
    if kind in ("terms", "significant_terms", "rare_terms"):
        typ = field_type(str(body.get("field", ""))) if "field" in body else None
        prefix = "l" if typ in _NUMERIC_LONG else "d" if typ in _NUMERIC_DOUBLE else "s"
        if kind == "terms":
            return f"{prefix}terms"
        if kind == "rare_terms":
            return f"{prefix}rareterms"
        return f"sig{prefix if prefix != 'd' else 'l'}terms"
    if kind in ("percentiles", "percentile_ranks") and isinstance(body.get("hdr"), dict):
        return "hdr_percentiles" if kind == "percentiles" else "hdr_percentile_ranks"
    return _RESULT_TYPES.get(kind, kind)


def apply_typed_keys(
    request: Mapping[str, Any], response: dict[str, Any], field_type: Callable[[str], str | None]
) -> dict[str, Any]:
    """``response`` (an ``aggregations`` object) with every name typed as the ``request`` aggs define it."""
    out: dict[str, Any] = {}
    for name, result in response.items():
        body = request.get(name)
        if not isinstance(body, Mapping):
            out[name] = result
            continue
        kinds = [k for k in body if k not in _SUB_KEYS]
        if not kinds:
            out[name] = result
            continue
        kind = kinds[0]
        subs = body.get("aggs", body.get("aggregations"))
        if isinstance(subs, Mapping) and isinstance(result, dict):
            result = _typed_subs(subs, result, field_type)
        out[f"{result_type(kind, body[kind] if isinstance(body[kind], Mapping) else {}, field_type)}#{name}"] = result
    return out


def _typed_subs(
    subs: Mapping[str, Any], result: dict[str, Any], field_type: Callable[[str], str | None]
) -> dict[str, Any]:
    result = dict(result)
    buckets = result.get("buckets")
    if isinstance(buckets, list):
        result["buckets"] = [_typed_bucket(subs, b, field_type) for b in buckets]
    elif isinstance(buckets, dict):
        result["buckets"] = {k: _typed_bucket(subs, b, field_type) for k, b in buckets.items()}
    else:  # a single-bucket aggregation: its sub-aggregations sit beside doc_count
        result = _typed_bucket(subs, result, field_type)
    return result


def _typed_bucket(subs: Mapping[str, Any], bucket: Any, field_type: Callable[[str], str | None]) -> Any:
    if not isinstance(bucket, dict):
        return bucket
    named = {k: v for k, v in bucket.items() if k in subs}
    if not named:
        return bucket
    typed = apply_typed_keys(subs, named, field_type)
    plain = {k: v for k, v in bucket.items() if k not in subs}
    return plain | typed
