"""Approximate metrics with mergeable sketches: ``percentiles``, ``percentile_ranks``, ``cardinality``.

Percentiles: a merging t-digest kept as sorted centroids (numpy; arcsine scale function, about
``2 x compression`` centroids, every value its own centroid while there are few). Quantiles interpolate
between centroid centres with the exact min/max at the ends, which is what ES gives on small samples
(1, 51, 101, 151 → p25 = 26). Per shard the digest is built from tantivy's own percentiles on a grid of
999 ranks when there are more than ``EXACT_VALUES_LIMIT`` values and that sketch's relative error is
small in rank terms (see ``_digest_from_tantivy``), else from the values themselves
(``fast_field_values``). Partial: ``{"m": means, "w": weights, "lo": min, "hi": max}`` or ``{}``.

Cardinality: HyperLogLog++ as ES does it — an exact set of 64-bit hashes while the distinct count stays
under ``precision_threshold``, then HLL registers with precision ``p`` derived from the threshold
(p = 14 for the default 3000). Estimation uses Ertl's improved raw estimator (no bias tables needed,
accurate across the small/large range switch). Keywords are hashed from the shard's distinct terms of
the matching docs (``terms_with_prefix`` with the bucket query as filter, so multi-valued fields count
every value); numbers from their fast-field values. Hashes are MurmurHash3 (strings) and the splitmix64
finalizer (numbers), identical in every process. Partial: ``{"p": precision, "t": threshold,
"x": base64 sorted hashes}`` or ``{"p", "t", "r": base64 registers}``.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from typing import Any

import mmh3
import numpy as np
import tantivy

from native.aggs import hdr
from native.aggs.execute import ShardContext, convert_key, missing_number
from native.aggs.partials import Partial
from native.aggs.spec import AggNode, CardinalitySpec, PercentilesSpec
from native.errors import IllegalArgument
from native.fields import NUMERIC_COLUMNS, FieldInfo

# -- percentiles -----------------------------------------------------------------------------------


def _centroid_budget(compression: float) -> int:
    # the number of centroids kept (ES's MergingDigest keeps ~2x compression in its buffer)
    return max(int(compression * 2), 50)


def _cluster(means: np.ndarray, weights: np.ndarray, budget: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge sorted centroids so that each spans at most one unit of the k1 scale (arcsine) function:
    singletons at the tails, large centroids in the middle, about ``budget`` centroids in all."""
    if means.size <= budget:
        return means, weights
    total = float(weights.sum())
    cum = np.cumsum(weights)
    q = (cum - weights / 2.0) / total
    k = np.floor(budget / (2.0 * math.pi) * np.arcsin(np.clip(2.0 * q - 1.0, -1.0, 1.0)))
    starts = np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1])))
    w = np.add.reduceat(weights, starts)
    m = np.add.reduceat(means * weights, starts) / w
    return m, w


def digest_from_values(values: np.ndarray, compression: float) -> Partial:
    """A t-digest partial of raw values: every value is its own centroid while there are few of them."""
    if values.size == 0:
        return {}
    values = np.sort(values.astype(np.float64, copy=False))
    means, weights = _cluster(values, np.ones(values.size), _centroid_budget(compression))
    return _digest(means, weights, float(values[0]), float(values[-1]))


def _digest(means: np.ndarray, weights: np.ndarray, lo: float, hi: float) -> Partial:
    return {"m": means.tolist(), "w": weights.tolist(), "lo": lo, "hi": hi}


def merge_digests(a: Partial, b: Partial, compression: float) -> Partial:
    if not a:
        return b
    if not b:
        return a
    means = np.concatenate([np.asarray(a["m"], dtype=np.float64), np.asarray(b["m"], dtype=np.float64)])
    weights = np.concatenate([np.asarray(a["w"], dtype=np.float64), np.asarray(b["w"], dtype=np.float64)])
    order = np.argsort(means, kind="stable")
    means, weights = _cluster(means[order], weights[order], _centroid_budget(compression))
    return _digest(means, weights, min(a["lo"], b["lo"]), max(a["hi"], b["hi"]))


def _curve(p: Partial) -> tuple[np.ndarray, np.ndarray, float]:
    """(cumulative-weight positions, values) of the piecewise linear quantile function: each centroid sits
    at the middle of its weight, the exact min at 0 and the exact max at the total weight."""
    means = np.asarray(p["m"], dtype=np.float64)
    weights = np.asarray(p["w"], dtype=np.float64)
    total = float(weights.sum())
    centers = np.cumsum(weights) - weights / 2.0
    xs = np.concatenate(([0.0], centers, [total]))
    ys = np.concatenate(([p["lo"]], means, [p["hi"]]))
    return xs, ys, total


def digest_quantile(p: Partial, q: float) -> float:
    xs, ys, total = _curve(p)
    return float(np.interp(q * total, xs, ys))


def digest_rank(p: Partial, x: float) -> float:
    """Percentage of the values below ``x`` (values equal to a centroid count half, as in ES)."""
    if x < p["lo"]:
        return 0.0
    if x > p["hi"]:
        return 100.0
    means = np.asarray(p["m"], dtype=np.float64)
    weights = np.asarray(p["w"], dtype=np.float64)
    total = float(weights.sum())
    equal = means == x
    if equal.any():
        below = float(weights[means < x].sum()) + float(weights[equal].sum()) / 2.0
        return below / total * 100.0
    xs, ys, _ = _curve(p)
    return float(np.interp(x, ys, xs)) / total * 100.0


def _numeric_or_fail(info: FieldInfo, kind: str) -> None:
    if info.tantivy_type in (tantivy.FieldType.Text, tantivy.FieldType.IpAddr):
        raise IllegalArgument(f"Field [{info.path}] of type [{info.es_type}] is not supported for aggregation [{kind}]")


_GRID_TYPES = NUMERIC_COLUMNS
EXACT_VALUES_LIMIT = 4096  # up to this many values per shard the digest is built from the values themselves


def _rank_grid() -> tuple[float, ...]:
    """Ranks (in %) tantivy is asked for: 0.1 % steps in the outer 2 %, 0.2 % in between (519 ranks).

    Half of the 999-rank grid costs tantivy ~0.2 ms less per call; the digest averages several grid
    values per centroid (which evens out the sketch's log-bucket steps), and measured on 100 k
    lognormal / exponential values the rank error stays under 0.05 % (0.03 % with every 0.1 %).
    """
    half = {*range(10, 200, 10), *range(200, 5001, 20)}  # hundredths of a %
    return tuple(h / 100.0 for h in sorted(half | {10000 - h for h in half}))


_GRID = _rank_grid()
_GRID_KEYS = tuple(repr(g) for g in _GRID)
_GRID_RANKS = np.array(_GRID) / 100.0
# The rank mass each grid quantile stands for: half-way to its neighbours (0 and 1 at the ends).
_GRID_MASS = np.diff(np.concatenate(([0.0], (_GRID_RANKS[1:] + _GRID_RANKS[:-1]) / 2.0, [1.0])))
_DDSKETCH_ALPHA = 0.01  # tantivy's percentiles: a DDSketch with 1 % relative value accuracy
_MAX_GRID_STEPS = 5.0
_STEP_WINDOW = 0.01  # value error measured against the value change over +-1 % of rank


def _digest_from_tantivy(
    ctx: ShardContext, info: FieldInfo, query: tantivy.Query, compression: float
) -> Partial | None:
    """A digest from tantivy's own percentiles on a grid of ranks (``_rank_grid``) plus the exact min/max,
    or None when the exact values must be read instead.

    Tantivy's DDSketch has a *relative* value error; it is only used when that error is small in rank
    terms (at most a few 0.1 % steps of rank), which holds for spread-out positive data (sizes,
    latencies, prices) and fails for narrow ranges of large numbers (epoch-millis dates) or heavily
    repeated values, which take the exact path.
    """
    result = ctx.aggregate(query, _grid_request(info, "s", "p"))
    return _digest_from_grid(result["s"], result["p"], compression)


def _grid_request(info: FieldInfo, stats_key: str, percentiles_key: str) -> dict[str, Any]:
    name = info.tantivy_name
    return {
        stats_key: {"stats": {"field": name}},
        percentiles_key: {"percentiles": {"field": name, "percents": list(_GRID)}},
    }


def _digest_from_grid(stats: dict[str, Any], percentiles: dict[str, Any], compression: float) -> Partial | None:
    """``_digest_from_tantivy`` from tantivy's ``stats`` and grid ``percentiles`` results."""
    count = int(stats.get("count") or 0)
    if count == 0:
        return {}
    if count <= EXACT_VALUES_LIMIT:
        return None
    values = percentiles.get("values")
    try:
        if isinstance(values, dict):
            grid = np.array([values[k] for k in _GRID_KEYS], dtype=float)
        else:
            grid = np.array([item.get("value") for item in values or []], dtype=float)
    except (KeyError, TypeError):
        return None
    if grid.size != len(_GRID) or not np.all(np.isfinite(grid)):
        return None
    lo, hi = float(stats["min"]), float(stats["max"])
    grid = np.clip(np.maximum.accumulate(grid), lo, hi)
    # value per 0.1 % rank step, averaged over a 2 % window (the sketch's buckets repeat values locally)
    ranks = np.concatenate(([0.0], _GRID_RANKS, [1.0]))
    curve = np.concatenate(([lo], grid, [hi]))
    w = _STEP_WINDOW
    span = np.interp(_GRID_RANKS + w, ranks, curve) - np.interp(_GRID_RANKS - w, ranks, curve)
    step = span / (2.0 * w * 1000.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        spans = _DDSKETCH_ALPHA * np.abs(grid) / step
    if not np.all(np.isfinite(spans)) or float(spans.max()) > _MAX_GRID_STEPS:
        return None
    means, weights = _cluster(grid, _GRID_MASS * count, _centroid_budget(compression))
    return _digest(means, weights, lo, hi)


class PercentilesKind:
    def empty(self, node: AggNode) -> Partial:
        return {}

    # -- inside a parent's histogram (``native.aggs.inline``): the grid path per bucket ---------------

    def inline_spec(self, ctx: ShardContext, node: AggNode, key: str) -> dict[str, Any] | None:
        spec: PercentilesSpec = node.params
        info = ctx.field(spec.field)
        if info is None or spec.missing is not None or info.tantivy_type not in _GRID_TYPES:
            return None
        if spec.hdr_digits is not None or _value_format(info, spec) is not None:
            return None
        return _grid_request(info, f"{key}s", f"{key}p")

    def inline_reader(self, ctx: ShardContext, node: AggNode, key: str) -> Callable[[dict[str, Any]], Partial | None]:
        compression = node.params.compression
        stats_key, percentiles_key = f"{key}s", f"{key}p"

        def read(bucket: dict[str, Any]) -> Partial | None:
            stats, percentiles = bucket.get(stats_key), bucket.get(percentiles_key)
            if stats is None or percentiles is None:
                return None
            return _digest_from_grid(stats, percentiles, compression)  # None: this bucket reads its values

        return read

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        partial = self._collect(ctx, node, query)
        fmt = _value_format(ctx.field(node.params.field), node.params)
        if partial and fmt is not None:
            partial["f"] = fmt
        return partial

    def _collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: PercentilesSpec = node.params
        info = ctx.field(spec.field)
        if info is None:
            if spec.missing is None:
                return {}
            values = np.full(ctx.matches(query), missing_number(spec.missing))
        else:
            _numeric_or_fail(info, node.kind)
            use_grid = spec.missing is None and spec.hdr_digits is None
            fast = _digest_from_tantivy(ctx, info, query, spec.compression) if use_grid else None
            if fast is not None:
                return fast
            if spec.hdr_digits is not None:  # every value of multi-valued docs, as ES records them
                from native.aggs.docvalues import all_values

                values = np.asarray(all_values(ctx, info, query), dtype=np.float64)
            else:
                values = ctx.values(info, query)  # first values: every value when some doc has several
                counted = ctx.aggregate(query, {"c": {"value_count": {"field": info.tantivy_name}}})["c"].get("value")
                if int(counted or 0) > values.size:
                    from native.aggs.docvalues import all_values

                    values = np.asarray(all_values(ctx, info, query), dtype=np.float64)
            if spec.missing is not None:
                n_missing = ctx.matches(ctx.restrict(query, ctx.missing_filter(info)))
                if n_missing:
                    missing = float(convert_key(info, spec.missing))
                    values = np.concatenate([values, np.full(n_missing, missing)])
        if spec.hdr_digits is not None:
            return hdr.from_values(values, spec.hdr_digits)
        return digest_from_values(values, spec.compression)

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        if node.params.hdr_digits is not None:
            out = hdr.merge(a, b, node.params.hdr_digits)
        else:
            out = merge_digests(a, b, node.params.compression)
        fmt = (a or {}).get("f") or (b or {}).get("f")
        if out and fmt is not None:
            out = {**out, "f": fmt}
        return out

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        out = self._finalize(node, p)
        fmt = (p or {}).get("f")
        if fmt is not None:
            _add_strings(out, fmt, node.kind)
        return out

    def _finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        spec: PercentilesSpec = node.params
        if spec.hdr_digits is not None:
            return hdr.render(node.kind, spec.percents, spec.keyed, p)
        results: list[tuple[float, float | None]] = []
        for x in spec.percents:
            if not p or "m" not in p:
                results.append((x, None))
            elif node.kind == "percentiles":
                results.append((x, digest_quantile(p, x / 100.0)))
            else:
                results.append((x, digest_rank(p, x)))
        if spec.keyed:
            return {"values": {repr(float(x)): v for x, v in results}}
        return {"values": [{"key": float(x), "value": v} for x, v in results]}


def _value_format(info: FieldInfo | None, spec: PercentilesSpec) -> list[Any] | None:
    """``[pattern, is_date]`` rendering the ``*_as_string`` values: the explicit ``format``, or the date
    format of a date field (ES's DocValueFormat of the field); None when values print as plain numbers."""
    is_date = info is not None and info.es_type == "date"
    if spec.format is not None:
        return [spec.format, is_date]
    if is_date and info is not None:
        return [info.date_formats[0] if info.date_formats else "strict_date_optional_time", True]
    return None


def _add_strings(out: dict[str, Any], fmt: list[Any], kind: str) -> None:
    """Add ES's ``<key>_as_string`` (keyed) / ``value_as_string`` entries; ranks of percentile_ranks are
    percentages and print as numbers with an explicit format only."""
    pattern, is_date = fmt

    def text(value: float) -> str:
        if is_date and kind == "percentiles":
            from native.dates import format_date

            return format_date(int(value), pattern)
        from native.aggs.number_format import format_number

        return format_number(value, pattern)

    if kind == "percentile_ranks" and is_date and pattern.startswith("strict_date"):
        return
    values = out.get("values")
    if isinstance(values, dict):
        rebuilt: dict[str, Any] = {}
        for key, value in values.items():
            rebuilt[key] = value
            if value is not None:
                rebuilt[f"{key}_as_string"] = text(value)
        out["values"] = rebuilt
    elif isinstance(values, list):
        for item in values:
            if item.get("value") is not None:
                item["value_as_string"] = text(item["value"])


# -- cardinality -----------------------------------------------------------------------------------

_U64 = np.uint64
_MASK = (1 << 64) - 1


def precision_for(threshold: int) -> int:
    return max(4, min(18, math.ceil(math.log2(max(threshold, 1) * 4 / 0.75))))


def hash_numbers(values: np.ndarray, *, integral: bool) -> np.ndarray:
    """splitmix64 finalizer over the value bits (int64 for integral fields, float64 otherwise)."""
    bits = values.astype(np.int64).view(_U64) if integral else values.astype(np.float64).view(_U64)
    with np.errstate(over="ignore"):
        z = bits + _U64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
        return z ^ (z >> _U64(31))


def hash_strings(values: list[str]) -> np.ndarray:
    return np.fromiter((mmh3.hash64(v, signed=False)[0] for v in values), dtype=_U64, count=len(values))


class HyperLogLog:
    """HLL++: exact hash set under ``threshold`` distinct values, registers above."""

    def __init__(self, threshold: int, precision: int | None = None) -> None:
        self.threshold = threshold
        self.p = precision if precision is not None else precision_for(threshold)
        self.exact: np.ndarray | None = np.empty(0, dtype=_U64)
        self.registers: np.ndarray | None = None

    def add_hashes(self, hashes: np.ndarray) -> None:
        if self.exact is not None:
            self.exact = np.union1d(self.exact, hashes.astype(_U64))
            if self.exact.size > self.threshold:
                self._to_registers()
        else:
            self._update_registers(hashes.astype(_U64))

    def _to_registers(self) -> None:
        assert self.exact is not None
        self.registers = np.zeros(1 << self.p, dtype=np.uint8)
        self._update_registers(self.exact)
        self.exact = None

    def _update_registers(self, hashes: np.ndarray) -> None:
        assert self.registers is not None
        if hashes.size == 0:
            return
        p = self.p
        index = (hashes >> _U64(64 - p)).astype(np.int64)
        rest = hashes << _U64(p)
        zeros = np.zeros(hashes.size, dtype=np.int64)
        for shift in (32, 16, 8, 4, 2, 1):
            small = rest < (_U64(1) << _U64(64 - shift))
            zeros += np.where(small, shift, 0)
            rest = np.where(small, rest << _U64(shift), rest)
        zeros = np.where(hashes << _U64(p) == 0, 64 - p, np.minimum(zeros, 64 - p))
        np.maximum.at(self.registers, index, (zeros + 1).astype(np.uint8))

    def merge(self, other: HyperLogLog) -> HyperLogLog:
        out = HyperLogLog(max(self.threshold, other.threshold), max(self.p, other.p))
        if self.p != other.p:
            raise ValueError("cannot merge HyperLogLog sketches of different precision")
        if self.exact is not None and other.exact is not None:
            out.add_hashes(np.union1d(self.exact, other.exact))
            return out
        out.registers = np.zeros(1 << out.p, dtype=np.uint8)
        out.exact = None
        for sketch in (self, other):
            if sketch.registers is not None:
                np.maximum(out.registers, sketch.registers, out=out.registers)
            else:
                out._update_registers(sketch.exact)  # type: ignore[arg-type]
        return out

    def estimate(self) -> int:
        if self.exact is not None:
            return int(self.exact.size)
        assert self.registers is not None
        m = 1 << self.p
        q = 64 - self.p
        counts = np.bincount(self.registers, minlength=q + 2)
        z = m * _tau(1.0 - counts[q + 1] / m)
        for k in range(q, 0, -1):
            z = 0.5 * (z + counts[k])
        z += m * _sigma(counts[0] / m)
        return round(m * m / (2.0 * math.log(2.0)) / z)

    def to_wire(self) -> dict[str, Any]:
        if self.exact is not None:
            return {"p": self.p, "t": self.threshold, "x": base64.b64encode(self.exact.tobytes()).decode()}
        assert self.registers is not None
        return {"p": self.p, "t": self.threshold, "r": base64.b64encode(self.registers.tobytes()).decode()}

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> HyperLogLog:
        sketch = cls(int(wire["t"]), int(wire["p"]))
        if "x" in wire:
            sketch.exact = np.frombuffer(base64.b64decode(wire["x"]), dtype=_U64).copy()
        else:
            sketch.exact = None
            sketch.registers = np.frombuffer(base64.b64decode(wire["r"]), dtype=np.uint8).copy()
        return sketch


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        z_old = z
        z += x * y
        y += y
        if z == z_old:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y, z = 1.0, 1.0 - x
    while True:
        x = math.sqrt(x)
        z_old = z
        y *= 0.5
        z -= (1.0 - x) ** 2 * y
        if z == z_old:
            return z / 3.0


class CardinalityKind:
    def empty(self, node: AggNode) -> Partial:
        return HyperLogLog(node.params.precision_threshold).to_wire()

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: CardinalitySpec = node.params
        sketch = HyperLogLog(spec.precision_threshold)
        info = ctx.field(spec.field)
        if info is None and spec.field == "_index":  # one value per shard: its index name
            if ctx.count(query):
                sketch.add_hashes(hash_strings([ctx.index_name]))
            return sketch.to_wire()
        if info is None:
            if spec.missing is not None and ctx.count(query):
                sketch.add_hashes(_hash_one(spec.missing, text=isinstance(spec.missing, str), integral=False))
            return sketch.to_wire()
        text = info.tantivy_type == tantivy.FieldType.Text
        integral = not text and info.tantivy_type != tantivy.FieldType.Float
        if text:
            keys = _distinct_keywords(ctx, info, query)
            if keys is None:
                keys = [t for t, _ in ctx.searcher.terms_with_prefix(info.tantivy_name, "", filter_query=query)]
            sketch.add_hashes(hash_strings(keys))
        elif info.tantivy_type == tantivy.FieldType.IpAddr:
            text = True
            request = {"terms": {"field": info.tantivy_name, "size": 65000, "segment_size": 65000}}
            buckets = ctx.aggregate(query, {"t": request})["t"]["buckets"]
            sketch.add_hashes(hash_strings([str(b["key"]) for b in buckets]))
        else:  # every value of every document, exact (u64 values past 2^53 stay apart)
            distinct = _distinct_numbers(ctx, info, query)
            if info.tantivy_type == tantivy.FieldType.Unsigned:
                values = np.array([int(v) for v in distinct], dtype=_U64).view(np.int64)
            elif integral:
                values = np.array([int(v) for v in distinct], dtype=np.int64)
            else:
                values = np.array([float(v) for v in distinct], dtype=np.float64)
            sketch.add_hashes(hash_numbers(values, integral=integral))
        if spec.missing is not None and ctx.count(ctx.restrict(query, ctx.missing_filter(info))):
            sketch.add_hashes(_hash_one(convert_key(info, spec.missing), text=text, integral=integral))
        return sketch.to_wire()

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        return HyperLogLog.from_wire(a).merge(HyperLogLog.from_wire(b)).to_wire()

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        return {"value": HyperLogLog.from_wire(p).estimate()}


_DISTINCT_LIMIT = 65000  # tantivy's terms aggregation aborts past this many buckets


def _distinct_numbers(ctx: ShardContext, info: FieldInfo, query: tantivy.Query) -> list[Any]:
    """The distinct values of a numeric/date/boolean column among the matching docs, every value of a
    multi-valued doc included: tantivy's terms (exact keys) up to 65 000 of them, else every doc's values."""
    request = {"terms": {"field": info.tantivy_name, "size": _MAX_TERMS, "segment_size": _MAX_TERMS}}
    result = ctx.aggregate(query, {"t": request})["t"]
    buckets = result["buckets"]
    if not result.get("sum_other_doc_count") and len(buckets) < _MAX_TERMS:
        return [b["key"] for b in buckets]
    from native.aggs.docvalues import doc_values

    return list({v for row in doc_values(ctx, query, [info.tantivy_name]) for v in row.get(info.tantivy_name, ())})


_MAX_TERMS = 65000


def _distinct_keywords(ctx: ShardContext, info: FieldInfo, query: tantivy.Query) -> list[str] | None:
    """Every distinct value of a keyword field among the docs matching ``query``, from tantivy's terms
    aggregation (one pass over the fast column), or None when that is not known to be complete (more
    distinct values than one request returns, or not a fast keyword column): the caller then walks the
    term dictionary."""
    if info.es_type != "keyword":
        return None
    request = {"field": info.tantivy_name, "size": _DISTINCT_LIMIT, "segment_size": _DISTINCT_LIMIT,
               "min_doc_count": 1}  # fmt: skip
    try:
        result = ctx.searcher.aggregate(query, {"t": {"terms": request}})["t"]
    except ValueError:
        return None
    if result.get("sum_other_doc_count") or result.get("doc_count_error_upper_bound"):
        return None
    keys = [b["key"] for b in result["buckets"]]
    return keys if not keys or isinstance(keys[0], str) else None


def _hash_one(value: Any, *, text: bool, integral: bool) -> np.ndarray:
    if text:
        return hash_strings([str(value)])
    return hash_numbers(np.array([float(value)]), integral=integral)


KINDS = {
    "percentiles": PercentilesKind(),
    "percentile_ranks": PercentilesKind(),
    "cardinality": CardinalityKind(),
}
