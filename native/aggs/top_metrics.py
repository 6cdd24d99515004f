"""``top_metrics``: the metric values of the documents that sort first in a bucket.

Like ES, one sort (a field or ``_score``) picks the ``size`` top documents of the bucket, and each
document contributes the values of the ``metrics`` fields (numbers, dates and keywords; a document
without a value reports ``null``). A document without a value for the sort field is not collected, as
ES's bucketed sort skips it; as in ES, the sort field must be numeric (or a date, or ``_score``).

Per shard the top documents come from tantivy's fast-field ordering (``order_by_field``) or score order;
numeric and date metric values from fast fields, other metrics from ``_source``. Merging keeps the global
top ``size`` rows; finalize renders dates with the field's format.

Partial: ``{"r": [[sort value, {metric: value}], ...], "sf": sort date format, "mf": {metric: date format}}``.

``terms`` may order by a top_metrics value (``order: {"tm.field": "desc"}`` or ``"f>tm[field]"``):
``order_value`` resolves it against the first row, as ES does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import tantivy

from native.aggs.execute import ShardContext, date_format
from native.aggs.partials import Partial, sort_key_for
from native.aggs.readers import _check_keys, _int
from native.aggs.spec import AggNode
from native.errors import IllegalArgument, ParsingError, XContentParseError
from native.fields import SOURCE_FIELD

# ES's ``index.top_metrics_max_size`` default
TOP_METRICS_MAX_SIZE = 10
_COLUMNAR = frozenset({"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "date",
                       "unsigned_long"})  # fmt: skip
_SUPPORTED = _COLUMNAR | {"keyword", "boolean", "ip", "constant_keyword", "wildcard"}
# ES sorts top_metrics on numeric doc values only (not on keyword, ip, text, binary or flattened fields)
_SORTABLE = _COLUMNAR | {"boolean"}


@dataclass(frozen=True)
class TopMetricsSpec:
    metrics: tuple[str, ...]
    sort_field: str  # "_score" or a field path
    asc: bool
    size: int = 1


def parse_top_metrics(name: str, kind: str, body: dict[str, Any]) -> TopMetricsSpec:
    _check_keys(kind, body, {"metrics", "sort", "size"})
    if "metrics" not in body:
        raise IllegalArgument("Required [metrics]")
    raw_metrics = body["metrics"]
    items = raw_metrics if isinstance(raw_metrics, list) else [raw_metrics]
    metrics: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            raise XContentParseError(f"[{kind}] failed to parse field [metrics]")
        for key in item:
            if key != "field":
                raise XContentParseError(f"[metrics] unknown field [{key}]")
        field = item.get("field")
        if not isinstance(field, str):
            raise IllegalArgument("[field] must be set")
        if field in metrics:
            raise IllegalArgument(f"duplicate value for metric [{field}]")
        metrics.append(field)
    if not metrics:
        raise IllegalArgument(f"[metrics] must not be empty in [{name}]")
    size = _int(kind, "size", body.get("size", 1))
    if size < 1:
        raise IllegalArgument(f"[size] must be more than 0 but was [{size}]")
    if size > TOP_METRICS_MAX_SIZE:
        raise IllegalArgument(
            f"[top_metrics.size] must not be more than [{TOP_METRICS_MAX_SIZE}] but was [{size}]. This limit can "
            "be set by changing the [index.top_metrics_max_size] index level setting."
        )
    if "sort" not in body:
        raise IllegalArgument("Required [sort]")
    sort_field, asc = _sort(body["sort"])
    return TopMetricsSpec(tuple(metrics), sort_field, asc, size)


def _sort(value: Any) -> tuple[str, bool]:
    if isinstance(value, list):
        if len(value) != 1:
            raise IllegalArgument("[top_metrics] only supports sorting on a single field")
        value = value[0]
    if isinstance(value, str):
        return value, value != "_score"
    if isinstance(value, dict) and len(value) == 1:
        ((path, opts),) = value.items()
        if path in ("_geo_distance", "geo_distance", "_script"):
            raise IllegalArgument(f"[top_metrics] does not support sorting by [{path}]")
        default = "desc" if path == "_score" else "asc"
        if isinstance(opts, str):
            order = opts
        elif isinstance(opts, dict):
            for key in opts:
                if key != "order":
                    raise ParsingError(f"[top_metrics] unsupported sort option [{key}]")
            order = str(opts.get("order", default))
        else:
            raise ParsingError(f"malformed sort [{value}] in [top_metrics]")
        if order.lower() not in ("asc", "desc"):
            raise IllegalArgument(f"Unknown SortOrder [{order}]")
        return path, order.lower() == "asc"
    raise ParsingError(f"malformed sort [{value}] in [top_metrics]")


class TopMetricsKind:
    def empty(self, node: AggNode) -> Partial:
        return {"r": [], "sf": None, "mf": {}}

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: TopMetricsSpec = node.params
        infos = {m: ctx.field(m) for m in spec.metrics}
        for metric, info in infos.items():
            if info is not None and info.es_type not in _SUPPORTED:
                raise IllegalArgument(
                    f"Field [{metric}] of type [{info.es_type}] is not supported for aggregation [top_metrics]"
                )
        out: Partial = {"r": [], "sf": None, "mf": {m: date_format(i, None) for m, i in infos.items()}}
        if spec.sort_field == "_score":
            hits = [(float(s), a) for s, a in ctx.searcher.search(query, spec.size, count=False).hits]
        else:
            sort_info = ctx.field(spec.sort_field)
            if sort_info is None:
                return out
            if sort_info.es_type not in _SORTABLE:
                raise IllegalArgument(
                    f"error building sort for field [{spec.sort_field}] of type [{sort_info.es_type}] in index "
                    f"[{ctx.index_name}]: only supported on numeric fields"
                )
            out["sf"] = date_format(sort_info, None)
            with_value = ctx.restrict(query, ctx.exists_filter(sort_info))
            order = tantivy.Order.Asc if spec.asc else tantivy.Order.Desc
            found = ctx.searcher.search(
                with_value, spec.size, count=False, order_by_field=sort_info.tantivy_name, order=order
            ).hits
            hits = [(_plain(v, sort_info.es_type), a) for v, a in found]
        if not hits:
            return out
        addrs = [a for _, a in hits]
        columns: dict[str, list[Any]] = {}
        sources: list[Any] | None = None
        for metric, info in infos.items():
            if info is None:
                columns[metric] = [None] * len(addrs)
            elif info.es_type in _COLUMNAR:
                columns[metric] = [
                    _plain(v, info.es_type) for v in ctx.searcher.fast_field_values(info.tantivy_name, addrs)
                ]
            else:
                if sources is None:
                    sources = [_source(ctx, a) for a in addrs]
                columns[metric] = [_source_value(s, metric) for s in sources]
        out["r"] = [[value, {m: columns[m][i] for m in spec.metrics}] for i, (value, _) in enumerate(hits)]
        return out

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        spec: TopMetricsSpec = node.params
        rows = sorted(a["r"] + b["r"], key=lambda r: sort_key_for(r[0], spec.asc))
        return {"r": rows[: spec.size], "sf": a["sf"] or b["sf"], "mf": {**b["mf"], **a["mf"]}}

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        spec: TopMetricsSpec = node.params
        rows = sorted(p["r"], key=lambda r: sort_key_for(r[0], spec.asc))[: spec.size]
        top = []
        for value, metrics in rows:
            rendered = {m: _render(metrics.get(m), p["mf"].get(m)) for m in spec.metrics}
            top.append({"sort": [_render(value, p["sf"])], "metrics": rendered})
        return {"top": top}


def order_value(node: AggNode, rendered: dict[str, Any], path: str, metric: str | None) -> Any:
    """The value a bucket order path picks from a rendered top_metrics: the named metric of the first row."""
    spec: TopMetricsSpec = node.params
    if metric is None:
        if len(spec.metrics) != 1:
            raise IllegalArgument(
                f"Invalid aggregation order path [{path}]. When there are multiple metrics a specific metric "
                "must be specified"
            )
        metric = spec.metrics[0]
    if metric not in spec.metrics:
        raise IllegalArgument(f"Invalid aggregation order path [{path}]. unknown metric [{metric}]")
    top = rendered.get("top") or []
    if not top:
        return None
    return top[0]["metrics"].get(metric)


def _plain(value: Any, es_type: str) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if es_type == "boolean":
        return bool(value)
    if es_type == "date" or es_type in ("long", "integer", "short", "byte"):
        return int(value)
    if es_type in ("double", "float", "half_float", "scaled_float"):
        return float(value)
    return value


def _render(value: Any, fmt: str | None) -> Any:
    if value is None or fmt is None or isinstance(value, str):
        return value
    from native.dates import format_date

    return format_date(int(value), fmt, None)


def _source(ctx: ShardContext, addr: tantivy.DocAddress) -> Any:
    raw = (ctx.searcher.doc(addr).to_dict().get(SOURCE_FIELD) or [b"{}"])[0]
    return orjson.loads(raw) if isinstance(raw, bytes | str) else raw


def _source_value(source: Any, path: str) -> Any:
    """The first value at a dotted ``path`` of a ``_source`` (dotted keys and object nesting both count)."""
    if not isinstance(source, dict):
        return None
    if path in source:
        value = source[path]
    else:
        head, _, rest = path.partition(".")
        if not rest or head not in source:
            return None
        inner = source[head]
        if isinstance(inner, list):
            inner = next((i for i in inner if isinstance(i, dict)), None)
        return _source_value(inner, rest)
    if isinstance(value, list):
        value = value[0] if value else None
    return None if isinstance(value, dict) else value


KINDS = {"top_metrics": TopMetricsKind()}
