"""The ``intervals`` query: its rules (AST), their parser, and the interval algebra on token positions.

Rules as ES: ``match`` (``query``, ``max_gaps``, ``ordered``, ``use_field``, ``filter``), ``prefix``,
``wildcard``, ``regexp``, ``fuzzy``, ``all_of`` (``intervals``, ``max_gaps``, ``ordered``, ``filter``) and
``any_of`` (``intervals``, ``filter``); filters ``containing``, ``contained_by``, ``not_containing``,
``not_contained_by``, ``overlapping``, ``not_overlapping``, ``before`` and ``after`` (``script`` is refused:
no scripts here). The algebra follows Lucene's interval sources: an interval is ``(start, end, gaps)`` over
token positions; ``ordered`` combinations need each part to end before the next starts, ``unordered`` ones
take one interval of each part in any order (parts may overlap), both keep only minimal intervals, and
``max_gaps`` drops those with more gaps. Compiled by ``native.query.compile_intervals``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from native.errors import IllegalArgument, ParsingError, ScriptingDisabled
from native.query.ast import QueryAst
from native.query.limits import ParseContext
from native.query.params import as_bool, as_float, as_int, check_params, expect_object, single_field

__all__ = ["FILTERS", "PARSERS", "Interval", "IntervalRule", "Intervals", "apply_filter", "combine", "minimal"]

Interval = tuple[int, int, int]  # start, end (inclusive positions), gaps inside
FILTERS = ("containing", "contained_by", "not_containing", "not_contained_by", "overlapping", "not_overlapping",
           "before", "after")  # fmt: skip
# Unordered combinations try at most this many choices of one interval per part (per document).
MAX_COMBINATIONS = 100_000


@dataclass(frozen=True)
class IntervalRule:
    """One rule. ``kind``: match | prefix | wildcard | regexp | fuzzy | all_of | any_of."""

    kind: str
    field: str
    text: str = ""  # match query, prefix, pattern or fuzzy term
    rules: tuple[IntervalRule, ...] = ()
    max_gaps: int = -1
    ordered: bool = False
    filter_kind: str | None = None
    filter_rule: IntervalRule | None = None
    fuzziness: str | int = "AUTO"
    prefix_length: int = 0
    transpositions: bool = True
    analyzer: str | None = None


@dataclass(frozen=True)
class Intervals(QueryAst):
    field: str
    rule: IntervalRule
    boost: float = 1.0


# -- parsing --------------------------------------------------------------------------------------------


def _filter(fname: str, body: Any, ctx: ParseContext) -> tuple[str, IntervalRule]:
    body = expect_object("filter", body)
    if len(body) != 1:
        raise ParsingError("Expected a single filter object in [intervals] [filter]")
    ((kind, rule),) = body.items()
    if kind == "script":
        raise ScriptingDisabled("cannot execute [inline] scripts")
    if kind not in FILTERS:
        raise ParsingError(f"Unknown filter type [{kind}]")
    return kind, _rule(fname, rule, ctx)


def _rule(fname: str, rule: Any, ctx: ParseContext) -> IntervalRule:
    if not isinstance(rule, dict) or len(rule) != 1:
        raise ParsingError("Expected a single rule object in [intervals]")
    ((kind, body),) = rule.items()
    body = expect_object(kind, body)
    ctx.count()
    filter_kind: str | None = None
    filter_rule: IntervalRule | None = None
    if "filter" in body and kind in ("match", "all_of", "any_of"):
        filter_kind, filter_rule = _filter(fname, body["filter"], ctx)
    field = str(body.get("use_field", fname))
    analyzer = body.get("analyzer")
    common = {"field": field, "filter_kind": filter_kind, "filter_rule": filter_rule,
              "analyzer": None if analyzer is None else str(analyzer)}  # fmt: skip
    if kind == "match":
        check_params("match", body, ("query", "max_gaps", "ordered", "analyzer", "use_field", "filter"))
        if "query" not in body:
            raise ParsingError("[match] rule requires [query]")
        return IntervalRule(
            "match", text=str(body["query"]), max_gaps=as_int("intervals", "max_gaps", body.get("max_gaps", -1)),
            ordered=as_bool("intervals", "ordered", body.get("ordered", False)), **common,  # type: ignore[arg-type]
        )  # fmt: skip
    if kind in ("any_of", "all_of"):
        allowed = ("intervals", "filter") if kind == "any_of" else ("intervals", "max_gaps", "ordered", "filter")
        check_params(kind, body, allowed)
        rules = body.get("intervals")
        if not isinstance(rules, list) or not rules:
            raise ParsingError(f"[{kind}] rule requires [intervals]")
        subs = tuple(_rule(fname, r, ctx) for r in rules)
        common["field"] = fname
        return IntervalRule(
            kind, rules=subs, max_gaps=as_int("intervals", "max_gaps", body.get("max_gaps", -1)),
            ordered=as_bool("intervals", "ordered", body.get("ordered", False)), **common,  # type: ignore[arg-type]
        )  # fmt: skip
    if kind == "prefix":
        check_params(kind, body, ("prefix", "analyzer", "use_field"))
        return IntervalRule("prefix", text=str(body.get("prefix", "")), **common)  # type: ignore[arg-type]
    if kind in ("wildcard", "regexp"):
        check_params(kind, body, ("pattern", "analyzer", "use_field"))
        return IntervalRule(kind, text=str(body.get("pattern", "")), **common)  # type: ignore[arg-type]
    if kind == "fuzzy":
        check_params(kind, body, ("term", "prefix_length", "transpositions", "fuzziness", "analyzer", "use_field"))
        fz = body.get("fuzziness", "AUTO")
        return IntervalRule(
            "fuzzy", text=str(body.get("term", "")), fuzziness=fz if isinstance(fz, int) else str(fz),
            prefix_length=as_int(kind, "prefix_length", body.get("prefix_length", 0)),
            transpositions=as_bool(kind, "transpositions", body.get("transpositions", True)), **common,  # type: ignore[arg-type]
        )  # fmt: skip
    raise ParsingError(f"Unknown interval type [{kind}]")


def parse_intervals(body: Any, ctx: ParseContext) -> Intervals:
    fname, raw = single_field("intervals", expect_object("intervals", body))
    raw = expect_object("intervals", raw)
    boost = as_float("intervals", "boost", raw.get("boost", 1.0))
    rules = {k: v for k, v in raw.items() if k not in ("boost", "_name")}
    return Intervals(fname, _rule(fname, rules, ctx), boost)


PARSERS = {"intervals": parse_intervals}


# -- the algebra -----------------------------------------------------------------------------------------


def minimal(intervals: Sequence[Interval]) -> list[Interval]:
    """Drop every interval that contains another one (Lucene's minimal-interval semantics); sorted."""
    ordered = sorted(set(intervals), key=lambda i: (i[0], i[1], i[2]))
    out: list[Interval] = []
    for candidate in ordered:
        if any(o[0] >= candidate[0] and o[1] <= candidate[1] and o[:2] != candidate[:2] for o in ordered):
            continue
        if out and out[-1][:2] == candidate[:2]:
            continue  # the same span: keep the one with fewer gaps (sorted first)
        out.append(candidate)
    return out


def combine(parts: Sequence[Sequence[Interval]], ordered: bool, max_gaps: int) -> list[Interval]:
    """``all_of`` / multi-token ``match``: one interval per part, ordered or not, within ``max_gaps``."""
    if any(not p for p in parts):
        return []
    if len(parts) == 1:
        found = list(parts[0])
    elif ordered:
        found = _ordered(parts, max_gaps)
    else:
        found = _unordered(parts)
    if max_gaps >= 0:
        found = [i for i in found if i[2] <= max_gaps]
    return minimal(found)


def _ordered(parts: Sequence[Sequence[Interval]], max_gaps: int) -> list[Interval]:
    out: list[Interval] = []

    def extend(index: int, start: int, end: int, gaps: int) -> None:
        if max_gaps >= 0 and gaps > max_gaps:
            return
        if index == len(parts):
            out.append((start, end, gaps))
            return
        for s, e, _ in parts[index]:
            if s > end:  # Lucene counts the gaps between the parts, not inside them
                extend(index + 1, start, e, gaps + (s - end - 1))

    for s, e, _ in parts[0]:
        extend(1, s, e, 0)
    return out


def _unordered(parts: Sequence[Sequence[Interval]]) -> list[Interval]:
    size = 1
    for p in parts:
        size *= len(p)
    if size > MAX_COMBINATIONS:
        raise IllegalArgument(f"[intervals] too many interval combinations to check in one document ({size})")
    out: list[Interval] = []
    for choice in itertools.product(*parts):
        start = min(c[0] for c in choice)
        end = max(c[1] for c in choice)
        covered = sum(c[1] - c[0] + 1 for c in choice)
        out.append((start, end, max(0, end - start + 1 - covered)))
    return out


_RELATIONS: dict[str, Callable[[Interval, Interval], bool]] = {
    "containing": lambda s, f: s[0] <= f[0] and f[1] <= s[1],
    "contained_by": lambda s, f: f[0] <= s[0] and s[1] <= f[1],
    "overlapping": lambda s, f: s[0] <= f[1] and f[0] <= s[1],
    "before": lambda s, f: s[1] < f[0],
    "after": lambda s, f: s[0] > f[1],
}


def apply_filter(kind: str, source: Sequence[Interval], reference: Sequence[Interval]) -> list[Interval]:
    negate = kind.startswith("not_")
    relation = _RELATIONS[kind[4:] if negate else kind]
    return [s for s in source if any(relation(s, f) for f in reference) != negate]
