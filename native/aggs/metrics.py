"""Single-pass numeric metrics: avg, min, max, sum, stats, extended_stats, value_count.

All of them share one mergeable partial, the moments of the values:
``{"c": count, "s": sum, "q": sum of squares, "lo": min, "hi": max, "f": date format or null}``.
Counts, sums and sums of squares add; min/max take the extreme. ``avg`` is derived at finalize, never
averaged across shards. The per-shard values come from tantivy's ``extended_stats`` over the bucket's
query (every value of a multi-valued field counts, as in ES).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import tantivy

from native.aggs.execute import ShardContext, convert_key, date_format, missing_number
from native.aggs.partials import Partial, add_opt
from native.aggs.spec import AggNode, MetricSpec
from native.errors import IllegalArgument


def _empty() -> Partial:
    return {"c": 0, "s": 0.0, "q": 0.0, "lo": None, "hi": None, "f": None}


class StatsKind:
    def empty(self, node: AggNode) -> Partial:
        return _empty()

    # -- inside a parent's histogram (``native.aggs.inline``) -----------------------------------------

    def inline_spec(self, ctx: ShardContext, node: AggNode, key: str) -> dict[str, Any] | None:
        if node.params.missing is not None:
            return None
        info = ctx.field(node.params.field)
        if info is None:
            return {}
        if info.tantivy_type in (tantivy.FieldType.Text, tantivy.FieldType.Boolean, tantivy.FieldType.IpAddr):
            return None
        return {key: {"extended_stats" if node.kind == "extended_stats" else "stats": {"field": info.tantivy_name}}}

    def inline_reader(self, ctx: ShardContext, node: AggNode, key: str) -> Callable[[dict[str, Any]], Partial]:
        info = ctx.field(node.params.field)
        fmt = None if info is None else date_format(info, node.params.format)

        def read(bucket: dict[str, Any]) -> Partial:
            result = bucket.get(key) if info is not None else None
            if result is None:
                return _empty()
            count = int(result.get("count") or 0)
            if count:
                return {"c": count, "s": float(result["sum"]), "q": float(result.get("sum_of_squares") or 0.0),
                        "lo": result.get("min"), "hi": result.get("max"), "f": fmt}  # fmt: skip
            return {"c": 0, "s": 0.0, "q": 0.0, "lo": None, "hi": None, "f": fmt}

        return read

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: MetricSpec = node.params
        info = ctx.field(spec.field)
        out = _empty()
        if info is None and spec.field == "_index" and node.kind == "value_count":
            out["c"] = ctx.count(query)  # every document has its index name (``native.query.index_field``)
            return out
        if info is None:
            if spec.missing is not None:
                if node.kind == "value_count":
                    out["c"] = ctx.matches(query)
                else:
                    _add_missing(out, missing_number(spec.missing), ctx.matches(query))
            return out
        out["f"] = date_format(info, spec.format)
        if node.kind == "value_count":
            if info.tantivy_type == tantivy.FieldType.Text:
                out["c"] = sum(n for _, n in ctx.searcher.terms_with_prefix(info.tantivy_name, "", filter_query=query))
            elif info.tantivy_type == tantivy.FieldType.IpAddr:
                result = ctx.aggregate(query, {"m": {"terms": {"field": info.tantivy_name, "size": 65000}}})["m"]
                out["c"] = sum(int(b["doc_count"]) for b in result["buckets"]) + int(result["sum_other_doc_count"])
            else:
                result = ctx.aggregate(query, {"m": {"value_count": {"field": info.tantivy_name}}})["m"]
                out["c"] = int(result.get("value") or 0)
            if spec.missing is not None:
                out["c"] += ctx.matches(ctx.restrict(query, ctx.missing_filter(info)))
            return out
        if info.tantivy_type in (tantivy.FieldType.Text, tantivy.FieldType.IpAddr):
            raise IllegalArgument(
                f"Field [{info.path}] of type [{info.es_type}] is not supported for aggregation [{node.kind}]"
            )
        if node.kind in ("extended_stats",):
            request: dict[str, Any] = {"extended_stats": {"field": info.tantivy_name}}
        else:
            request = {"stats": {"field": info.tantivy_name}}
        result = ctx.aggregate(query, {"m": request})["m"]
        out = from_tantivy(result, out["f"])
        if spec.missing is not None:
            n_missing = ctx.matches(ctx.restrict(query, ctx.missing_filter(info)))
            if n_missing:
                _add_missing(out, float(convert_key(info, spec.missing)), n_missing)
        return out

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        return {
            "c": a["c"] + b["c"],
            "s": _finite_or(a["s"], math.nan) + _finite_or(b["s"], math.nan),
            "q": _finite_or(a["q"], math.inf) + _finite_or(b["q"], math.inf),
            "lo": add_opt(a["lo"], b["lo"], min),
            "hi": add_opt(a["hi"], b["hi"], max),
            "f": a["f"] or b["f"],
        }

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        count = p["c"]
        kind = node.kind
        if kind == "value_count":
            return {"value": count}
        if kind == "sum":
            return _with_string({"value": p["s"]}, "value", p["f"], node)
        if kind in ("min", "max"):
            value = p["lo"] if kind == "min" else p["hi"]
            return _with_string({"value": None if count == 0 else float(value)}, "value", p["f"], node)
        # a sum or sum of squares past the double range (values near 1e308) is infinite, which the JSON wire
        # format of partials carries as null: it stays infinite (a sum, whose sign is lost, becomes NaN)
        if p["s"] is None:
            p["s"] = math.nan
        if p["q"] is None:
            p["q"] = math.inf
        avg = p["s"] / count if count else None
        if kind == "avg":
            return _with_string({"value": avg}, "value", p["f"], node)
        out: dict[str, Any] = {
            "count": count,
            "min": float(p["lo"]) if count else None,
            "max": float(p["hi"]) if count else None,
            "avg": avg,
            "sum": p["s"],
        }
        if kind == "extended_stats":
            out.update(_extended(node.params.sigma, count, p["s"], p["q"], avg))
        if p["f"] and count:
            for key in ("min", "max", "avg", "sum"):
                _with_string(out, key, p["f"], node)
        return out


def from_tantivy(result: dict[str, Any], fmt: str | None) -> Partial:
    """The partial of tantivy's ``extended_stats`` output."""
    out = _empty()
    out["f"] = fmt
    out["c"] = int(result.get("count") or 0)
    if out["c"]:
        out["s"] = float(result["sum"])
        out["q"] = float(result.get("sum_of_squares") or 0.0)
        out["lo"] = result.get("min")
        out["hi"] = result.get("max")
    return out


def _finite_or(value: float | None, default: float) -> float:
    """A partial's sum as sent (an infinite one arrives as null, see ``finalize``)."""
    return default if value is None else value


def _add_missing(out: Partial, value: float, n: int) -> None:
    out["c"] += n
    out["s"] += value * n
    out["q"] += value * value * n
    out["lo"] = add_opt(out["lo"], value, min)
    out["hi"] = add_opt(out["hi"], value, max)


def _extended(sigma: float, count: int, total: float, squares: float, avg: float | None) -> dict[str, Any]:
    if not count or avg is None:
        nulls = dict.fromkeys(
            ("variance", "variance_population", "variance_sampling", "std_deviation",
             "std_deviation_population", "std_deviation_sampling")
        )  # fmt: skip
        bounds = dict.fromkeys(
            ("upper", "lower", "upper_population", "lower_population", "upper_sampling", "lower_sampling")
        )
        return {"sum_of_squares": None, **nulls, "std_deviation_bounds": bounds}
    variance = max(0.0, (squares - total * total / count) / count)  # ES's formula, to the last digit
    variance_sampling = max(0.0, (squares - total * total / count) / (count - 1)) if count > 1 else math.inf
    std = math.sqrt(variance)
    std_sampling = math.sqrt(variance_sampling) if math.isfinite(variance_sampling) else math.inf
    return {
        "sum_of_squares": squares,
        "variance": variance,
        "variance_population": variance,
        "variance_sampling": _json_num(variance_sampling),
        "std_deviation": std,
        "std_deviation_population": std,
        "std_deviation_sampling": _json_num(std_sampling),
        "std_deviation_bounds": {
            "upper": avg + sigma * std,
            "lower": avg - sigma * std,
            "upper_population": avg + sigma * std,
            "lower_population": avg - sigma * std,
            "upper_sampling": _json_num(avg + sigma * std_sampling),
            "lower_sampling": _json_num(avg - sigma * std_sampling),
        },
    }


def _json_num(value: float) -> float | str:
    # ES renders a sampling variance of a single value as the string "Infinity"
    return value if math.isfinite(value) else ("Infinity" if value > 0 else "-Infinity")


def _with_string(out: dict[str, Any], key: str, fmt: str | None, node: AggNode) -> dict[str, Any]:
    value = out.get(key)
    if fmt and value is not None:
        from native.dates import format_date

        out[f"{key}_as_string"] = format_date(int(value), fmt, None)
    return out


KINDS = dict.fromkeys(("avg", "min", "max", "sum", "stats", "extended_stats", "value_count"), StatsKind())
