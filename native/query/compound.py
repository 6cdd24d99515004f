"""Compound queries: bool, constant_score, dis_max, boosting, plus match_all / match_none.

Inner clauses go through ``parse_inner``, which counts nesting depth, so a hostile 5000-deep bool is
rejected at level ``max_nested_depth + 1`` without descending further.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from native.errors import ParsingError, ScriptingDisabled
from native.query.ast import Bool, Boosting, ConstantScore, DisMax, MatchAll, MatchNone, QueryAst
from native.query.limits import ParseContext
from native.query.params import as_float, as_str, check_params, expect_object

__all__ = ["PARSERS", "parse_inner"]


def _edits(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """ES's suggestion for an unknown query name: the known names whose Levenshtein similarity (``1 - edits /
    longer length``) is above 0.5, best first: `` did you mean [x]?`` or `` did you mean any of [x, y]?``."""
    scored = []
    for candidate in known:
        similarity = 1.0 - _edits(name, candidate) / max(len(name), len(candidate), 1)
        if similarity > 0.5:
            scored.append((-similarity, candidate))
    if not scored:
        return ""
    close = [c for _, c in sorted(scored)]
    return f" did you mean [{close[0]}]?" if len(close) == 1 else f" did you mean any of [{', '.join(close)}]?"


def parse_inner(obj: Any, ctx: ParseContext) -> QueryAst:
    """One ``{"<query name>": {...}}`` object, one nesting level deeper."""
    if not isinstance(obj, dict):
        raise ParsingError("[_na] query malformed, must start with start_object")
    if not obj:
        raise ParsingError("query malformed, empty clause found")
    keys = list(obj)
    if len(keys) > 1:
        raise ParsingError(f"[{keys[0]}] malformed query, expected [END_OBJECT] but found [FIELD_NAME]")
    name = keys[0]
    parser = ctx.dispatch.get(name)
    if parser is None:
        if name in ("script", "script_score"):
            raise ScriptingDisabled("cannot execute [inline] scripts")
        raise ParsingError(f"unknown query [{name}]{did_you_mean(name, ctx.dispatch)}")
    ctx.enter()
    try:
        result: QueryAst = parser(obj[name], ctx)
    finally:
        ctx.leave()
    return result


def _clauses(name: str, value: Any, ctx: ParseContext) -> list[QueryAst]:
    if isinstance(value, dict):
        return [parse_inner(value, ctx)]
    if isinstance(value, list):
        out = []
        for item in value:
            if not isinstance(item, dict):
                raise ParsingError(f"[{name}] query malformed, no start_object after query name")
            out.append(parse_inner(item, ctx))
        return out
    raise ParsingError(f"[bool] query does not support [{name}]")


def parse_bool(body: Any, ctx: ParseContext) -> Bool:
    body = expect_object("bool", body)
    check_params(
        "bool",
        body,
        (
            "must",
            "should",
            "must_not",
            "filter",
            "minimum_should_match",
            "adjust_pure_negative",
            "disable_coord",
        ),
    )
    parts: dict[str, list[QueryAst]] = {"must": [], "should": [], "must_not": [], "filter": []}
    for key in parts:
        if key in body and body[key] is not None:
            parts[key] = _clauses(key, body[key], ctx)
    msm = body.get("minimum_should_match")
    return Bool(
        must=tuple(parts["must"]),
        should=tuple(parts["should"]),
        must_not=tuple(parts["must_not"]),
        filter=tuple(parts["filter"]),
        minimum_should_match=None if msm is None else as_str("bool", "minimum_should_match", msm),
        boost=as_float("bool", "boost", body.get("boost", 1.0)),
    )


def parse_constant_score(body: Any, ctx: ParseContext) -> ConstantScore:
    body = expect_object("constant_score", body)
    check_params("constant_score", body, ("filter",))
    if "filter" not in body:
        raise ParsingError("[constant_score] requires a 'filter' element")
    return ConstantScore(
        parse_inner(body["filter"], ctx), boost=as_float("constant_score", "boost", body.get("boost", 1.0))
    )


def parse_dis_max(body: Any, ctx: ParseContext) -> DisMax:
    body = expect_object("dis_max", body)
    check_params("dis_max", body, ("queries", "tie_breaker"))
    queries = body.get("queries")
    if not queries:
        raise ParsingError("[dis_max] requires 'queries' field with at least one clause")
    return DisMax(
        tuple(_clauses("queries", queries, ctx)),
        tie_breaker=as_float("dis_max", "tie_breaker", body.get("tie_breaker", 0.0)),
        boost=as_float("dis_max", "boost", body.get("boost", 1.0)),
    )


def parse_boosting(body: Any, ctx: ParseContext) -> Boosting:
    body = expect_object("boosting", body)
    check_params("boosting", body, ("positive", "negative", "negative_boost"))
    if "positive" not in body:
        raise ParsingError("[boosting] query requires 'positive' query")
    if "negative" not in body:
        raise ParsingError("[boosting] query requires 'negative' query")
    if "negative_boost" not in body:
        raise ParsingError("[boosting] query requires 'negative_boost' to be set to be a positive value'")
    negative_boost = as_float("boosting", "negative_boost", body["negative_boost"])
    if negative_boost < 0:
        raise ParsingError("[boosting] query requires 'negative_boost' to be set to be a positive value'")
    return Boosting(
        parse_inner(body["positive"], ctx),
        parse_inner(body["negative"], ctx),
        negative_boost,
        boost=as_float("boosting", "boost", body.get("boost", 1.0)),
    )


def parse_match_all(body: Any, ctx: ParseContext) -> MatchAll:
    body = expect_object("match_all", body)
    check_params("match_all", body, ())
    ctx.count()
    return MatchAll(boost=as_float("match_all", "boost", body.get("boost", 1.0)))


def parse_match_none(body: Any, ctx: ParseContext) -> MatchNone:
    body = expect_object("match_none", body)
    check_params("match_none", body, ())
    ctx.count()
    return MatchNone()


PARSERS = {
    "bool": parse_bool,
    "constant_score": parse_constant_score,
    "dis_max": parse_dis_max,
    "boosting": parse_boosting,
    "match_all": parse_match_all,
    "match_none": parse_match_none,
}
