"""``matrix_stats``: per-field count, mean, variance, skewness, kurtosis and the covariance / correlation
matrix of several numeric fields over the documents that have all of them.

A document takes part only when every field has a value (or its ``missing`` stands in); a multi-valued
field is reduced to one value by ``mode`` (``avg`` default, ``min``, ``max``, ``sum``, ``median``). The
statistics are ES's ``RunningStats``: sample variance and covariance (``n - 1``), skewness
``sqrt(n) m3 / m2^1.5`` and kurtosis ``n m4 / m2^2`` over the central moments sums ``m2, m3, m4``.

Partial: exact power sums computed with numpy on each shard, which add across shards:
``{"n": docs, "f": [field names], "s1"/"s2"/"s3"/"s4": per-field sums of x, x^2, x^3, x^4,
"xy": the matrix of sums of x_i x_j}`` (fields unmapped on the shard are left out; merging partials that
saw documents with different field sets is ES's "all fields must exist in all indices" error). The
central moments are derived from the power sums at finalize in extended precision, exact for the
values that appear in practice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import tantivy

from native.aggs.docvalues import doc_values
from native.aggs.execute import ShardContext
from native.aggs.partials import Partial
from native.aggs.readers import _check_keys
from native.aggs.spec import AggNode
from native.aggs.weighted import missing_of, numeric_info
from native.errors import IllegalArgument, ParsingError, XContentParseError

_MODES = ("avg", "min", "max", "sum", "median")


@dataclass(frozen=True)
class MatrixStatsSpec:
    fields: tuple[str, ...]
    mode: str = "avg"
    missing: tuple[tuple[str, Any], ...] = ()


def parse_matrix_stats(name: str, kind: str, body: dict[str, Any]) -> MatrixStatsSpec:
    _check_keys(kind, body, {"fields", "mode", "missing", "format", "value_type"})
    fields = body.get("fields")
    if fields is None:
        raise IllegalArgument(f"Required [fields] for aggregation [{name}]")
    if isinstance(fields, str):
        fields = [fields]
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise ParsingError(f"[{kind}] fields must be an array of strings")
    if not fields:
        raise IllegalArgument(f"[fields] must not be empty: [{name}]")
    mode = str(body.get("mode", "avg")).lower()
    if mode not in _MODES:
        raise IllegalArgument(f"Unknown MultiValueMode [{body.get('mode')}]")
    missing = body.get("missing") or {}
    if not isinstance(missing, dict):
        raise XContentParseError(f"[{kind}] missing must be an object of field to value")
    return MatrixStatsSpec(tuple(dict.fromkeys(fields)), mode, tuple(missing.items()))


def _reduce(values: list[float], mode: str) -> float:
    if mode == "min":
        return min(values)
    if mode == "max":
        return max(values)
    if mode == "sum":
        return float(sum(values))
    if mode == "median":
        return float(np.median(values))
    return float(sum(values)) / len(values)


class MatrixStatsKind:
    def empty(self, node: AggNode) -> Partial:
        return {"n": 0, "f": []}

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: MatrixStatsSpec = node.params
        missing = dict(spec.missing)
        infos = [(path, numeric_info(ctx, path, node.kind)) for path in spec.fields]
        mapped = [(path, info) for path, info in infos if info is not None]
        if not mapped:
            return self.empty(node)
        fills = [missing_of(info, missing.get(path)) for path, info in mapped]
        rows = doc_values(ctx, query, [info.tantivy_name for _, info in mapped])
        matrix: list[list[float]] = []
        for row in rows:
            point: list[float] = []
            for (_, info), fill in zip(mapped, fills, strict=True):
                values = row.get(info.tantivy_name)
                if values:
                    point.append(_reduce([float(v) for v in values], spec.mode))
                elif fill is not None:
                    point.append(fill)
                else:
                    break
            else:
                matrix.append(point)
        names = [path for path, _ in mapped]
        if not matrix:
            return {"n": 0, "f": names}
        x = np.array(matrix, dtype=np.float64)
        return {
            "n": int(x.shape[0]),
            "f": names,
            "s1": x.sum(axis=0).tolist(),
            "s2": (x**2).sum(axis=0).tolist(),
            "s3": (x**3).sum(axis=0).tolist(),
            "s4": (x**4).sum(axis=0).tolist(),
            "xy": (x.T @ x).tolist(),
        }

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        if not a["n"]:
            return b if b["n"] or len(b["f"]) >= len(a["f"]) else a
        if not b["n"]:
            return a
        if set(a["f"]) != set(b["f"]):
            raise IllegalArgument(f"Aggregation [{node.name}]  all fields must exist in all indices.")
        order = [b["f"].index(name) for name in a["f"]]
        out: dict[str, Any] = {"n": a["n"] + b["n"], "f": a["f"]}
        for key in ("s1", "s2", "s3", "s4"):
            out[key] = [x + b[key][j] for x, j in zip(a[key], order, strict=True)]
        bxy = np.asarray(b["xy"], dtype=np.float64)[np.ix_(order, order)]
        out["xy"] = (np.asarray(a["xy"], dtype=np.float64) + bxy).tolist()
        return out

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        n = int(p["n"])
        if not n:
            return {"doc_count": 0}
        names: list[str] = p["f"]
        s1, s2, s3, s4 = (np.asarray(p[k], dtype=np.longdouble) for k in ("s1", "s2", "s3", "s4"))
        xy = np.asarray(p["xy"], dtype=np.longdouble)
        mean = s1 / n
        m2 = np.maximum(s2 - n * mean**2, 0)  # central moment sums
        m3 = s3 - 3 * mean * s2 + 3 * mean**2 * s1 - n * mean**3
        m4 = s4 - 4 * mean * s3 + 6 * mean**2 * s2 - 4 * mean**3 * s1 + n * mean**4
        cov = xy - n * np.outer(mean, mean)
        fields: list[dict[str, Any]] = []
        for i, name in enumerate(names):
            variance = float(m2[i] / (n - 1)) if n > 1 else math.nan
            skewness = float(math.sqrt(n) * m3[i] / m2[i] ** 1.5) if m2[i] > 0 else math.nan
            kurtosis = float(n * m4[i] / (m2[i] * m2[i])) if m2[i] > 0 else math.nan
            covariance: dict[str, Any] = {}
            correlation: dict[str, Any] = {}
            for j, other in enumerate(names):
                c = float(cov[i, j] / (n - 1)) if n > 1 else math.nan
                covariance[other] = _num(c)
                denom = math.sqrt(float(m2[i] * m2[j])) if n > 1 else 0.0
                corr = float(cov[i, j]) / denom if denom else math.nan
                correlation[other] = 1.0 if i == j and denom > 0 else _num(corr)
            fields.append(
                {
                    "name": name,
                    "count": n,
                    "mean": float(mean[i]),
                    "variance": _num(variance),
                    "skewness": _num(skewness),
                    "kurtosis": _num(kurtosis),
                    "covariance": covariance,
                    "correlation": correlation,
                }
            )
        order = {name: k for k, name in enumerate(java_hash_order(names))}
        fields.sort(key=lambda f: order[f["name"]])
        for f in fields:
            f["covariance"] = {k: f["covariance"][k] for k in java_hash_order(list(f["covariance"]))}
            f["correlation"] = {k: f["correlation"][k] for k in java_hash_order(list(f["correlation"]))}
        return {"doc_count": n, "fields": fields}


def _num(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    return value


def java_hash_order(names: list[str]) -> list[str]:
    """``names`` in the iteration order of a Java ``HashMap<String, _>`` holding them (ES renders the
    fields of matrix_stats from such maps)."""
    capacity = 16
    while len(names) > capacity * 0.75:
        capacity *= 2

    def bucket(name: str) -> int:
        h = 0
        for unit in _utf16_units(name):
            h = (31 * h + unit) & 0xFFFFFFFF
        h ^= h >> 16
        return h & (capacity - 1)

    return sorted(names, key=lambda name: bucket(name))  # stable: same bucket keeps insertion order


def _utf16_units(text: str) -> list[int]:
    data = text.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


KINDS = {"matrix_stats": MatrixStatsKind()}
