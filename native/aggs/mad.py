"""``median_absolute_deviation``: the median of ``|x - median(x)|``, approximated as ES does it.

The partial is the t-digest of the values (``native.aggs.sketches``, the same digest percentiles use, with
``compression``, default 1000 as in ES), merged across shards. At finalize the median comes from the
merged digest; each centroid's distance to it, weighted by the centroid's count, goes into a second
digest whose median is the result (ES's ``InternalMedianAbsoluteDeviation``). While a shard has few
values every value is its own centroid, so small answers are exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import tantivy

from native.aggs.docvalues import all_values
from native.aggs.execute import ShardContext, convert_key, missing_number
from native.aggs.partials import Partial
from native.aggs.readers import _check_keys, _field, _float, _missing_value, _text
from native.aggs.sketches import _centroid_budget, _cluster, digest_from_values, digest_quantile, merge_digests
from native.aggs.spec import AggNode
from native.aggs.weighted import numeric_info
from native.errors import IllegalArgument

DEFAULT_COMPRESSION = 1000.0


@dataclass(frozen=True)
class MadSpec:
    field: str
    compression: float = DEFAULT_COMPRESSION
    missing: Any = None
    format: str | None = None


def parse_mad(name: str, kind: str, body: dict[str, Any]) -> MadSpec:
    _check_keys(kind, body, {"field", "compression", "missing", "format", "execution_hint", "value_type"})
    compression = _float(kind, "compression", body.get("compression", DEFAULT_COMPRESSION))
    if compression <= 0:
        raise IllegalArgument(f"[compression] must be greater than 0. Found [{compression}] in [{name}]")
    hint = body.get("execution_hint")
    if hint is not None and hint not in ("default", "high_accuracy"):
        raise IllegalArgument(f"Invalid execution_hint [{hint}], valid values are [default, high_accuracy]")
    missing = _missing_value(kind, body.get("missing"))
    return MadSpec(_field(kind, body), compression, missing, _text(kind, "format", body.get("format")))


def mad_of_digest(p: Partial, compression: float) -> float:
    median = digest_quantile(p, 0.5)
    means = np.asarray(p["m"], dtype=np.float64)
    weights = np.asarray(p["w"], dtype=np.float64)
    deviations = np.abs(means - median)
    order = np.argsort(deviations, kind="stable")
    dev, w = _cluster(deviations[order], weights[order], _centroid_budget(compression))
    digest = {"m": dev.tolist(), "w": w.tolist(), "lo": float(deviations.min()), "hi": float(deviations.max())}
    return digest_quantile(digest, 0.5)


class MadKind:
    def empty(self, node: AggNode) -> Partial:
        return {}

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: MadSpec = node.params
        info = numeric_info(ctx, spec.field, node.kind)
        if info is None:
            if spec.missing is None:
                return {}
            values = np.full(ctx.matches(query), missing_number(spec.missing))
        else:
            rows = all_values(ctx, info, query)
            values = np.asarray(rows, dtype=np.float64)
            if spec.missing is not None:
                n_missing = ctx.matches(ctx.restrict(query, ctx.missing_filter(info)))
                if n_missing:
                    values = np.concatenate([values, np.full(n_missing, float(convert_key(info, spec.missing)))])
        return digest_from_values(values, spec.compression)

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        return merge_digests(a, b, node.params.compression)

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        spec: MadSpec = node.params
        if not p or "m" not in p:
            return {"value": None}
        value = mad_of_digest(p, spec.compression)
        out: dict[str, Any] = {"value": value}
        if spec.format:
            from native.aggs.number_format import format_number

            out["value_as_string"] = format_number(value, spec.format)
        return out


KINDS = {"median_absolute_deviation": MadKind()}
