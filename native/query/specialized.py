"""Specialised queries: terms_set, pinned, wrapper, span_term/span_near/span_or/span_multi, more_like_this and
distance_feature (``intervals`` lives in ``native.query.intervals``).

What maps onto tantivy and how (the compiler side is ``native.query.compile_more``):

* ``terms_set``: exact. The per-document minimum comes from a numeric field (``minimum_should_match_field``)
  or the two common scripts ``params.num_terms`` and ``Math.min(params.num_terms, doc['f'].value)``; any
  other script is the usual "cannot execute [inline] scripts" 400.
* ``pinned``: the pinned ids score above every organic hit, in the order given; organic scores kept.
* ``wrapper``: base64 JSON of a query, parsed like an inline query.
* ``span_term`` → term; ``span_near`` of span_terms → phrase with ``slop`` (in order), or every term
  required (``in_order: false``, an approximation that ignores the slop); ``span_or`` → any;
  ``span_multi`` → its multi-term query. Other span queries stay unknown (``parsing_exception``).
* ``more_like_this``: ``like`` texts, inline ``doc`` objects and ``_id`` references (looked up on the same
  shard when the compiler has a searcher) → the most interesting terms (tf-idf, ES defaults for
  ``min_term_freq``/``min_doc_freq``/``max_query_terms``/``minimum_should_match``) as a should-query.
* ``distance_feature`` (date and geo_point): ES scores ``boost * pivot / (pivot + distance)``. With the shard's
  searcher and up to ``EXACT_FEATURE_LIMIT`` documents holding the field, exactly (read from the fast
  columns, replayed on ``_seq_no``); beyond, a staircase of nested distance bands (exact at band edges).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import orjson

from native.errors import IllegalArgument, ParsingError, ScriptingDisabled
from native.query.ast import (
    Bool,
    DistanceFeature,
    MoreLikeThis,
    Pinned,
    QueryAst,
    SpanNear,
    Term,
    TermsSet,
)
from native.query.compound import parse_inner
from native.query.limits import ParseContext, check_terms_count
from native.query.params import as_bool, as_float, as_int, as_str, check_params, expect_object, single_field

__all__ = ["PARSERS"]

_MIN_SCRIPT = re.compile(
    r"Math\.min\((?:params\.num_terms,doc\['([^']+)'\]\.value|doc\['([^']+)'\]\.value,params\.num_terms)\)"
)


def _script_kind(script: Any) -> tuple[str, str | None]:
    source = script.get("source", script.get("inline")) if isinstance(script, dict) else script
    if isinstance(source, str):
        compact = re.sub(r"\s+", "", source).replace('"', "'").rstrip(";")
        if compact in ("params.num_terms", "returnparams.num_terms"):
            return "num_terms", None
        m = _MIN_SCRIPT.fullmatch(compact.removeprefix("return"))
        if m:
            return "min", m.group(1) or m.group(2)
    raise ScriptingDisabled("cannot execute [inline] scripts")


def parse_terms_set(body: Any, ctx: ParseContext) -> QueryAst:
    fname, raw = single_field("terms_set", expect_object("terms_set", body))
    raw = expect_object("terms_set", raw)
    check_params("terms_set", raw, ("terms", "minimum_should_match_field", "minimum_should_match_script",
                                    "minimum_should_match"))  # fmt: skip
    terms = raw.get("terms")
    if not isinstance(terms, list):
        raise ParsingError("[terms_set] query requires [terms] to be an array")
    check_terms_count(len(terms), ctx.max_terms_count)
    for t in terms:
        if t is None or isinstance(t, dict | list):
            raise ParsingError("[terms_set] query does not support null or object values")
    boost = as_float("terms_set", "boost", raw.get("boost", 1.0))
    given = [k for k in ("minimum_should_match_field", "minimum_should_match_script", "minimum_should_match")
             if raw.get(k) is not None]  # fmt: skip
    if len(given) > 1:
        raise ParsingError("[terms_set] query can only specify one of minimum_should_match, "
                           "minimum_should_match_field or minimum_should_match_script")  # fmt: skip
    ctx.count(max(1, len(terms)))
    if not given:
        raise IllegalArgument("No minimum should match has been specified")
    if given[0] == "minimum_should_match":
        should = tuple(Term(fname, t) for t in terms)
        return Bool(should=should, minimum_should_match=str(raw["minimum_should_match"]), boost=boost)
    if given[0] == "minimum_should_match_field":
        msm_field = as_str("terms_set", "minimum_should_match_field", raw["minimum_should_match_field"])
        return TermsSet(fname, tuple(terms), msm_field=msm_field, boost=boost)
    kind, script_field = _script_kind(raw["minimum_should_match_script"])
    return TermsSet(fname, tuple(terms), msm_field=script_field, msm_script=kind, boost=boost)


def parse_pinned(body: Any, ctx: ParseContext) -> Pinned:
    body = expect_object("pinned", body)
    check_params("pinned", body, ("ids", "docs", "organic"))
    if "organic" not in body:
        raise ParsingError("[pinned] requires 'organic' to be specified")
    if ("ids" in body) == ("docs" in body):
        raise ParsingError("[pinned] requires one of [ids, docs]")
    if "ids" in body:
        raw = body["ids"]
        if not isinstance(raw, list):
            raise ParsingError("[pinned] [ids] must be an array")
        ids = tuple(str(i) for i in raw)
    else:
        raw = body["docs"]
        if not isinstance(raw, list) or not all(isinstance(d, dict) and "_id" in d for d in raw):
            raise ParsingError("[pinned] [docs] must be an array of objects with an [_id]")
        ids = tuple(str(d["_id"]) for d in raw)
    if len(ids) > 100:
        raise IllegalArgument("[pinned] Max of 100 ids exceeded: " + str(len(ids)) + " provided.")
    return Pinned(ids, parse_inner(body["organic"], ctx), as_float("pinned", "boost", body.get("boost", 1.0)))


def parse_wrapper(body: Any, ctx: ParseContext) -> QueryAst:
    body = expect_object("wrapper", body)
    check_params("wrapper", body, ("query",))
    raw = body.get("query")
    if not isinstance(raw, str) or not raw:
        raise ParsingError("query cannot be null or empty")
    try:
        decoded = orjson.loads(base64.b64decode(raw, validate=False))
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise ParsingError(f"[wrapper] failed to decode query: {exc}") from None
    if not isinstance(decoded, dict):
        raise ParsingError("[wrapper] query malformed, must start with start_object")
    if "query" in decoded and len(decoded) == 1 and isinstance(decoded["query"], dict):
        decoded = decoded["query"]
    return parse_inner(decoded, ctx)


# -- spans ---------------------------------------------------------------------------------------------


def parse_span_term(body: Any, ctx: ParseContext) -> Term:
    fname, raw = single_field("span_term", expect_object("span_term", body))
    opts: dict[str, Any] = {}
    if isinstance(raw, dict):
        opts = raw
        check_params("span_term", raw, ("value", "term"))
        raw = raw.get("value", raw.get("term"))
    if raw is None or isinstance(raw, dict | list):
        raise ParsingError("[span_term] query requires a value")
    ctx.count()
    return Term(fname, raw, boost=as_float("span_term", "boost", opts.get("boost", 1.0)))


def _span_clauses(name: str, body: dict[str, Any], ctx: ParseContext) -> list[QueryAst]:
    raw = body.get("clauses")
    if not isinstance(raw, list) or not raw:
        raise ParsingError(f"[{name}] must include [clauses]")
    out = []
    for item in raw:
        if not isinstance(item, dict) or len(item) != 1 or not next(iter(item)).startswith("span_"):
            raise ParsingError(f"[{name}] [clauses] must be of type span query")
        out.append(parse_inner(item, ctx))
    return out


def parse_span_near(body: Any, ctx: ParseContext) -> QueryAst:
    body = expect_object("span_near", body)
    check_params("span_near", body, ("clauses", "slop", "in_order"))
    clauses = _span_clauses("span_near", body, ctx)
    slop = as_int("span_near", "slop", body.get("slop", 0))
    in_order = as_bool("span_near", "in_order", body.get("in_order", True))
    boost = as_float("span_near", "boost", body.get("boost", 1.0))
    fields = {c.field for c in clauses if isinstance(c, Term)}
    if len(fields) > 1:
        raise IllegalArgument("Clauses must have same field")
    if all(isinstance(c, Term) for c in clauses) and fields:
        terms = tuple(str(c.value) for c in clauses if isinstance(c, Term))
        return SpanNear(fields.pop(), terms, slop, in_order, boost)
    return Bool(must=tuple(clauses), boost=boost)  # nested spans: every clause required (approximation)


def parse_span_or(body: Any, ctx: ParseContext) -> Bool:
    body = expect_object("span_or", body)
    check_params("span_or", body, ("clauses",))
    return Bool(
        should=tuple(_span_clauses("span_or", body, ctx)), boost=as_float("span_or", "boost", body.get("boost", 1.0))
    )


def parse_span_multi(body: Any, ctx: ParseContext) -> QueryAst:
    body = expect_object("span_multi", body)
    check_params("span_multi", body, ("match",))
    inner = body.get("match")
    if not isinstance(inner, dict) or len(inner) != 1:
        raise ParsingError("[span_multi] must have [match] multi term query clause")
    if next(iter(inner)) not in ("prefix", "wildcard", "regexp", "fuzzy", "range", "term"):
        raise ParsingError("[span_multi] [match] must be of type multi term query")
    return parse_inner(inner, ctx)


# -- more_like_this / distance_feature -------------------------------------------------------------------


def _likes(value: Any) -> tuple[list[str], list[str], list[Any]]:
    texts: list[str] = []
    ids: list[str] = []
    docs: list[Any] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, dict) and "doc" in item:
            docs.append(item["doc"])
        elif isinstance(item, dict) and "_id" in item:
            ids.append(str(item["_id"]))
        else:
            raise ParsingError("[more_like_this] like item must be a string or an object with [_id] or [doc]")
    return texts, ids, docs


def parse_more_like_this(body: Any, ctx: ParseContext) -> MoreLikeThis:
    name = "more_like_this"
    body = expect_object(name, body)
    check_params(name, body, ("fields", "like", "unlike", "like_text", "ids", "docs", "min_term_freq",
                              "min_doc_freq", "max_doc_freq", "max_query_terms", "min_word_length",
                              "max_word_length", "stop_words", "minimum_should_match", "include", "analyzer",
                              "boost_terms", "fail_on_unsupported_field"))  # fmt: skip
    if "like" not in body:
        raise IllegalArgument("more_like_this requires 'like' to be specified")
    texts, ids, docs = _likes(body["like"])
    unlike, _, _ = _likes(body.get("unlike", []))
    fields = body.get("fields", ["*"])
    if not isinstance(fields, list):
        raise ParsingError("[more_like_this] [fields] must be an array")
    max_doc_freq = body.get("max_doc_freq")
    ctx.count()
    return MoreLikeThis(
        fields=tuple(str(f) for f in fields),
        like_texts=tuple(texts), like_ids=tuple(ids), like_docs=tuple(docs), unlike_texts=tuple(unlike),
        min_term_freq=as_int(name, "min_term_freq", body.get("min_term_freq", 2)),
        min_doc_freq=as_int(name, "min_doc_freq", body.get("min_doc_freq", 5)),
        max_doc_freq=None if max_doc_freq is None else as_int(name, "max_doc_freq", max_doc_freq),
        max_query_terms=as_int(name, "max_query_terms", body.get("max_query_terms", 25)),
        min_word_length=as_int(name, "min_word_length", body.get("min_word_length", 0)),
        max_word_length=as_int(name, "max_word_length", body.get("max_word_length", 0)),
        stop_words=tuple(str(w) for w in body.get("stop_words", [])),
        minimum_should_match=str(body.get("minimum_should_match", "30%")),
        include=as_bool(name, "include", body.get("include", False)),
        boost=as_float(name, "boost", body.get("boost", 1.0)),
    )  # fmt: skip


def parse_distance_feature(body: Any, ctx: ParseContext) -> DistanceFeature:
    name = "distance_feature"
    body = expect_object(name, body)
    check_params(name, body, ("field", "origin", "pivot"))
    for key in ("field", "origin", "pivot"):
        if key not in body:
            raise ParsingError(f"[{name}] requires [{key}] to be specified")
    ctx.count()
    return DistanceFeature(as_str(name, "field", body["field"]), body["origin"], body["pivot"],
                           as_float(name, "boost", body.get("boost", 1.0)))  # fmt: skip


PARSERS = {
    "terms_set": parse_terms_set,
    "pinned": parse_pinned,
    "wrapper": parse_wrapper,
    "span_term": parse_span_term,
    "span_near": parse_span_near,
    "span_or": parse_span_or,
    "span_multi": parse_span_multi,
    "more_like_this": parse_more_like_this,
    "distance_feature": parse_distance_feature,
}
