"""Compiling ``function_score`` (``native.query.function_score``): scores computed in Python, then replayed.

tantivy has no per-document scoring hook, so with the shard's searcher in hand the compiler scores every
document the inner query matches, as ES's ``FunctionScoreQuery`` does:

* each function whose ``filter`` matches the document gives ``weight * f(doc)`` (``weight`` alone: the
  weight); ``score_mode`` combines them (``multiply``, ``sum``, ``avg`` = Σ wᵢfᵢ / Σ wᵢ, ``first``, ``max``,
  ``min``; 1 when none applies; a lone function without filter always multiplies);
* the factor is capped at ``max_boost`` and merged with the query score by ``boost_mode``; documents under
  ``min_score`` drop out; ``boost`` multiplies the result.

Functions: ``field_value_factor`` (``modifier(factor * value)``; a document without the value takes
``missing`` or fails the shard), decays (distance ``d = max(0, |v - origin| - offset)``; ``gauss``
``exp(d² ln(decay) / scale²)``, ``exp`` ``exp(d ln(decay) / scale)``, ``linear`` ``max(0, (s - d) / s)`` with
``s = scale / (1 - decay)``; a document without the field scores 1) on numeric, date (milliseconds, ``now``
by default) and geo_point (arc distance in metres) fields, and ``random_score`` (uniform in [0, 1): with a
``seed``, a hash of the seed and the document's ``field`` value, ``_seq_no`` by default; without, random per
request).

The scores are then replayed as a tantivy query: one constant-score ``term_set`` on ``_seq_no`` (unique per
live document of a shard) per distinct score, OR-ed. The cost is one search over the matches, a
fast-field read per function and document, and ~6 µs per distinct score when the replay runs (50 000 matches
with distinct scores: ~0.3 s); a function_score over millions of matches is slow. Field values are read from
the fast columns, which give the first value of a multi-valued field: ``multi_value_mode`` is exact for
single-valued fields only. Without a searcher (``validate_query`` compiles to render, never to score) the
inner query stands in.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy
import tantivy
from tantivy import Occur, Query

from native.dates import parse_interval
from native.errors import IllegalArgument, QuidditchError
from native.fields import SEQ_NO_FIELD, FieldInfo
from native.query import geo
from native.query.function_score import FunctionScore, ScoreFunction
from native.query.values import date_value

__all__ = ["MODIFIER_FUNCTIONS", "FunctionScoreCompilerMixin", "replay_scores"]

Key = tuple[int, int]

MODIFIER_FUNCTIONS: dict[str, Callable[[float], float]] = {
    "none": lambda v: v,
    "log": lambda v: math.log10(v) if v > 0 else (-math.inf if v == 0 else math.nan),
    "log1p": lambda v: math.log10(v + 1) if v > -1 else math.nan,
    "log2p": lambda v: math.log10(v + 2) if v > -2 else math.nan,
    "ln": lambda v: math.log(v) if v > 0 else (-math.inf if v == 0 else math.nan),
    "ln1p": lambda v: math.log1p(v) if v > -1 else math.nan,
    "ln2p": lambda v: math.log(v + 2) if v > -2 else math.nan,
    "square": lambda v: v * v,
    "sqrt": lambda v: math.sqrt(v) if v >= 0 else math.nan,
    "reciprocal": lambda v: 1.0 / v if v != 0 else math.inf,
}


class FieldValueMissing(QuidditchError):
    """ES's ``ElasticsearchException`` for a document without the ``field_value_factor`` field."""

    status = 500
    es_type = "exception"


def _f32(value: float) -> float:
    return float(numpy.float32(value))


class FunctionScoreCompilerMixin:
    """Methods of ``native.query.compile._Compiler`` for ``function_score``."""

    schema: tantivy.Schema
    searcher: tantivy.Searcher | None
    resolver: Any
    now_millis: int
    boosted: Callable[..., Query]
    compile: Callable[..., Query]

    def function_score(self, node: FunctionScore) -> Query:
        inner = self.compile(node.query)
        if not node.functions and node.min_score is None:
            return self.boosted(inner, node.boost)
        searcher = self.searcher
        if searcher is None:  # validate_query: compiles and renders, never scores; the filters are checked too
            for function in node.functions:
                if function.filter is not None:
                    self.compile(function.filter)
            return self.boosted(inner, node.boost)
        num_docs = int(searcher.num_docs)
        if num_docs == 0:
            return Query.empty_query()
        matches = searcher.search(inner, num_docs, count=False).hits
        if not matches:
            return Query.empty_query()
        addrs = [addr for _, addr in matches]
        keys: list[Key] = [(a.segment_ord, a.doc) for a in addrs]
        sub_scores = [float(score) for score, _ in matches]
        lone = len(node.functions) == 1 and node.functions[0].filter is None
        mode = "multiply" if lone else node.score_mode
        applies: list[Sequence[bool] | None] = []
        values: list[list[float]] = []
        for function in node.functions:
            applies.append(self._filter_mask(function, keys, num_docs))
            values.append(self._function_values(function, addrs, sub_scores))
        seqs = [int(v or 0) for v in searcher.fast_field_values(SEQ_NO_FIELD, addrs)]
        groups: dict[float, list[int]] = defaultdict(list)
        for i, sub in enumerate(sub_scores):
            factor = 1.0
            if node.functions:
                applied = [
                    (values[j][i], node.functions[j].weight)
                    for j in range(len(node.functions))
                    if applies[j] is None or applies[j][i]  # type: ignore[index]
                ]
                factor = _f32(_combine_functions(mode, applied))
                score = _boost_mode(node.boost_mode, sub, min(factor, node.max_boost))
            else:
                score = sub
            score = _f32(score)
            if node.min_score is not None and score < node.min_score:
                continue
            groups[_f32(score * node.boost)].append(seqs[i])
        return replay_scores(self.schema, groups)

    # -- per function ----------------------------------------------------------------------------------

    def _filter_mask(self, function: ScoreFunction, keys: Sequence[Key], num_docs: int) -> list[bool] | None:
        if function.filter is None:
            return None
        assert self.searcher is not None
        matched = {(a.segment_ord, a.doc) for _, a in self.searcher.search(self.compile(function.filter), num_docs,
                                                                         count=False).hits}  # fmt: skip
        return [key in matched for key in keys]

    def _function_values(
        self, function: ScoreFunction, addrs: Sequence[tantivy.DocAddress], sub_scores: Sequence[float]
    ) -> list[float]:
        """``weight * f(doc)`` for every matching document (``f`` alone when no weight was given)."""
        weight = 1.0 if function.weight is None else function.weight
        if function.kind == "weight":
            return [weight] * len(addrs)
        if function.kind == "field_value_factor":
            raw = self._field_value_factor(function, addrs)
        elif function.kind == "random_score":
            raw = self._random(function, addrs)
        else:
            raw = self._decay(function, addrs)
        return [v * weight for v in raw] if function.weight is not None else raw

    def _column(self, info: FieldInfo, addrs: Sequence[tantivy.DocAddress], name: str | None = None) -> list[Any]:
        assert self.searcher is not None
        try:
            return list(self.searcher.fast_field_values(name or info.tantivy_name, list(addrs)))
        except ValueError:
            message = f"field [{info.path}] of type [{info.es_type}] has no doc values to score with"
            raise IllegalArgument(message) from None

    def _numeric_info(self, field: str, function: str) -> FieldInfo | None:
        info: FieldInfo | None = self.resolver.field(field)
        if info is None:
            return None
        if not (info.is_numeric or info.es_type in ("date", "date_nanos") or "lat" in info.extra):
            raise IllegalArgument(f"field [{field}] of type [{info.es_type}] is not supported for [{function}]")
        return info

    def _field_value_factor(self, function: ScoreFunction, addrs: Sequence[tantivy.DocAddress]) -> list[float]:
        assert function.field is not None
        info = self._numeric_info(function.field, "field_value_factor")
        if info is not None and "lat" in info.extra:
            message = f"field [{function.field}] of type [geo_point] is not supported for [field_value_factor]"
            raise IllegalArgument(message)
        column = self._column(info, addrs) if info is not None else [None] * len(addrs)
        modifier = MODIFIER_FUNCTIONS[function.modifier]
        out = []
        for value in column:
            if value is None or (isinstance(value, float) and math.isnan(value)):
                if function.missing is None:
                    if info is None:
                        raise IllegalArgument(
                            f"Unable to find a field mapper for field [{function.field}]. No 'missing' value defined."
                        )
                    raise FieldValueMissing(f"Missing value for field [{function.field}]")
                value = function.missing
            val = float(value) * function.factor
            result = modifier(val)
            if math.isnan(result) or math.isinf(result) or result < 0:
                raise IllegalArgument(
                    f"field value function must not produce negative scores, but got: [{result}] for field value: "
                    f"[{value}]"
                )
            out.append(result)
        return out

    def _random(self, function: ScoreFunction, addrs: Sequence[tantivy.DocAddress]) -> list[float]:
        if function.seed is None:
            rng = random.Random()
            return [rng.random() for _ in addrs]
        assert self.searcher is not None
        field = function.field or "_seq_no"
        if field == "_seq_no":
            column: list[Any] = list(self.searcher.fast_field_values(SEQ_NO_FIELD, list(addrs)))
        else:
            info = self._numeric_info(field, "random_score")
            if info is None:
                raise IllegalArgument(f"No field found for [{field}] in mapping")
            column = self._column(info, addrs)
        out = []
        for value in column:
            digest = hashlib.blake2b(f"{function.seed}:{value}".encode(), digest_size=4).digest()
            out.append((int.from_bytes(digest, "big") & 0x00FFFFFF) / float(1 << 24))
        return out

    def _decay(self, function: ScoreFunction, addrs: Sequence[tantivy.DocAddress]) -> list[float]:
        assert function.field is not None
        info = self._numeric_info(function.field, function.kind)
        if info is None:  # ES: an unmapped field scores every document 1
            return [1.0] * len(addrs)
        distances: list[float | None]
        if "lat" in info.extra:
            if function.origin is None:
                raise IllegalArgument("[origin] must be set for geo fields.")
            lat0, lon0 = geo.point(function.origin, query=function.kind)
            scale = geo.parse_distance(function.scale)
            offset = geo.parse_distance(function.offset or 0)
            lats = self._column(info, addrs, str(info.extra["lat"]))
            lons = self._column(info, addrs, str(info.extra["lon"]))
            distances = [
                None if la is None or lo is None else geo.haversine(lat0, lon0, float(la), float(lo))
                for la, lo in zip(lats, lons, strict=True)
            ]
        elif info.es_type in ("date", "date_nanos"):
            origin = float(date_value(info, "now" if function.origin is None else function.origin, self.now_millis))
            scale = float(_time_value(function.scale, "scale"))
            offset = float(_time_value(function.offset or "0ms", "offset"))
            distances = [None if v is None else abs(float(v) - origin) for v in self._column(info, addrs)]
        else:
            if function.origin is None:
                raise IllegalArgument("[origin] must be set for numeric fields.")
            origin = _number(function.origin, "origin")
            scale = _number(function.scale, "scale")
            offset = _number(function.offset or 0, "offset")
            distances = [
                None if v is None or (isinstance(v, float) and math.isnan(v)) else abs(float(v) - origin)
                for v in self._column(info, addrs)
            ]
        if scale <= 0:
            raise IllegalArgument(f"[scale] must be greater than 0, got [{function.scale}]")
        if offset < 0:
            raise IllegalArgument(f"[offset] must be greater than or equal to 0, got [{function.offset}]")
        evaluate = _decay_function(function.kind, scale, function.decay)
        return [1.0 if d is None else evaluate(max(0.0, d - offset)) for d in distances]


def replay_scores(schema: tantivy.Schema, groups: dict[float, list[int]]) -> Query:
    """A query matching the documents of each group (by ``_seq_no``) with the group's constant score."""
    if not groups:
        return Query.empty_query()
    # a term query per single document: ~6 µs each to run, where a one-value term_set costs ~200 µs
    clauses = [
        Query.const_score_query(
            Query.term_query(schema, SEQ_NO_FIELD, group[0])
            if len(group) == 1
            else Query.term_set_query(schema, SEQ_NO_FIELD, group),
            score,
        )
        for score, group in groups.items()
    ]
    if len(clauses) == 1:
        return clauses[0]
    return Query.boolean_query([(Occur.Should, c) for c in clauses])


def _decay_function(kind: str, scale: float, decay: float) -> Callable[[float], float]:
    if kind == "gauss":
        sigma = 0.5 * scale * scale / math.log(decay)
        return lambda d: math.exp(0.5 * d * d / sigma)
    if kind == "exp":
        lam = math.log(decay) / scale
        return lambda d: math.exp(lam * d)
    s = scale / (1.0 - decay)
    return lambda d: max(0.0, (s - d) / s)


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool):
        raise IllegalArgument(f"[{key}] must be a number, got [{value}]")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise IllegalArgument(f"[{key}] must be a number, got [{value}]") from None


def _time_value(value: Any, key: str) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)  # milliseconds
    try:
        return parse_interval(str(value))
    except ValueError:
        raise IllegalArgument(f"failed to parse setting [{key}] with value [{value}] as a time value") from None


def _combine_functions(mode: str, applied: Sequence[tuple[float, float | None]]) -> float:
    """ES's ``FunctionScoreQuery.computeScore``: ``applied`` is (weight * f, weight) of the matching functions."""
    if not applied:
        return 1.0
    scores = [value for value, _ in applied]
    if mode == "first":
        return scores[0]
    if mode == "max":
        return max(scores)
    if mode == "min":
        return min(scores)
    if mode == "multiply":
        factor = 1.0
        for value in scores:
            factor *= value
        return factor
    weight_sum = sum(1.0 if w is None else w for _, w in applied)
    if weight_sum == 0:
        return 1.0
    total = sum(scores)
    return total / weight_sum if mode == "avg" else total


def _boost_mode(mode: str, query_score: float, factor: float) -> float:
    if mode == "multiply":
        return query_score * factor
    if mode == "replace":
        return factor
    if mode == "sum":
        return query_score + factor
    if mode == "avg":
        return (query_score + factor) / 2.0
    if mode == "max":
        return max(query_score, factor)
    return min(query_score, factor)
