"""Approximate metrics with mergeable sketches: ``percentiles``, ``percentile_ranks``, ``cardinality``.

Percentiles: a t-digest (``fastdigest``) built per shard from the bucket's values (first value per
document, read with ``fast_field_values``); digests merge centroid-wise. Partial: the digest's
``to_dict()`` (plain JSON), or ``{}`` when no values.

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
from typing import Any

import mmh3
import numpy as np
import tantivy
from fastdigest import TDigest

from native.aggs.execute import ShardContext, convert_key
from native.aggs.partials import Partial
from native.aggs.spec import AggNode, CardinalitySpec, PercentilesSpec

# -- percentiles -----------------------------------------------------------------------------------


def _centroids(compression: float) -> int:
    # fastdigest's max_centroids plays the role of the t-digest compression; keep tails precise
    return max(int(compression * 2), 50)


class PercentilesKind:
    def empty(self, node: AggNode) -> Partial:
        return {}

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: PercentilesSpec = node.params
        info = ctx.field(spec.field)
        if info is None:
            if spec.missing is None:
                return {}
            values = np.full(ctx.count(query), float(spec.missing))
        else:
            if info.tantivy_type == tantivy.FieldType.Text:
                return {}
            values = ctx.values(info, query)
            if spec.missing is not None:
                n_missing = ctx.count(ctx.restrict(query, ctx.missing_filter(info)))
                if n_missing:
                    missing = float(convert_key(info, spec.missing))
                    values = np.concatenate([values, np.full(n_missing, missing)])
        if values.size == 0:
            return {}
        digest = TDigest.from_values(values, max_centroids=_centroids(spec.compression))  # type: ignore[arg-type]
        return digest.to_dict()

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        if not a:
            return b
        if not b:
            return a
        return TDigest.from_dict(a).merge(TDigest.from_dict(b)).to_dict()

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        spec: PercentilesSpec = node.params
        digest = TDigest.from_dict(p) if p else None
        results: list[tuple[float, float | None]] = []
        for x in spec.percents:
            if digest is None:
                results.append((x, None))
            elif node.kind == "percentiles":
                results.append((x, float(digest.quantile(x / 100.0))))
            else:
                results.append((x, _rank(digest, x)))
        if spec.keyed:
            return {"values": {repr(float(x)): v for x, v in results}}
        return {"values": [{"key": float(x), "value": v} for x, v in results]}


def _rank(digest: TDigest, value: float) -> float:
    if value < digest.min():
        return 0.0
    if value >= digest.max():
        return 100.0
    return float(digest.cdf(value)) * 100.0


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
        if info is None:
            if spec.missing is not None and ctx.count(query):
                sketch.add_hashes(_hash_one(spec.missing, text=isinstance(spec.missing, str), integral=False))
            return sketch.to_wire()
        text = info.tantivy_type == tantivy.FieldType.Text
        integral = not text and info.tantivy_type != tantivy.FieldType.Float
        if text:
            terms = ctx.searcher.terms_with_prefix(info.tantivy_name, "", filter_query=query)
            sketch.add_hashes(hash_strings([t for t, _ in terms]))
        else:
            values = np.unique(ctx.values(info, query))
            sketch.add_hashes(hash_numbers(values, integral=integral))
        if spec.missing is not None and ctx.count(ctx.restrict(query, ctx.missing_filter(info))):
            sketch.add_hashes(_hash_one(convert_key(info, spec.missing), text=text, integral=integral))
        return sketch.to_wire()

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        return HyperLogLog.from_wire(a).merge(HyperLogLog.from_wire(b)).to_wire()

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        return {"value": HyperLogLog.from_wire(p).estimate()}


def _hash_one(value: Any, *, text: bool, integral: bool) -> np.ndarray:
    if text:
        return hash_strings([str(value)])
    return hash_numbers(np.array([float(value)]), integral=integral)


KINDS = {
    "percentiles": PercentilesKind(),
    "percentile_ranks": PercentilesKind(),
    "cardinality": CardinalityKind(),
}
