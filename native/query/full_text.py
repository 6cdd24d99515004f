"""Full-text queries: match, match_phrase, match_phrase_prefix, multi_match, combined_fields.

multi_match becomes a ``MultiField`` over a template leaf; ``combined_fields`` and ``cross_fields`` are
term-centric (``native.query.term_centric``: exact matching, approximate blended scoring).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from native.errors import ParsingError
from native.query.ast import FieldBoost, Match, MatchPhrase, MatchPhrasePrefix, MultiField, QueryAst
from native.query.limits import ParseContext
from native.query.params import (
    as_bool,
    as_float,
    as_int,
    as_str,
    check_params,
    expect_object,
    fuzziness,
    single_field,
)
from native.query.term_centric import TermCentric

__all__ = ["PARSERS", "parse_field_boosts"]

_MATCH_OPTS = (
    "query",
    "operator",
    "minimum_should_match",
    "fuzziness",
    "prefix_length",
    "max_expansions",
    "fuzzy_transpositions",
    "fuzzy_rewrite",
    "lenient",
    "zero_terms_query",
    "analyzer",
    "auto_generate_synonyms_phrase_query",
)
_PHRASE_OPTS = ("query", "slop", "analyzer", "zero_terms_query", "lenient")
_PREFIX_OPTS = ("query", "slop", "analyzer", "max_expansions", "zero_terms_query", "lenient")


def _query_and_opts(name: str, body: Any, allowed: tuple[str, ...]) -> tuple[str, Any, dict[str, Any]]:
    fname, raw = single_field(name, body)
    if isinstance(raw, dict):
        check_params(name, raw, allowed)
        if raw.get("query") is None:
            raise ParsingError("No text specified for text query")
        query = raw["query"]
        opts = raw
    else:
        if raw is None or isinstance(raw, list):
            raise ParsingError(f"[{name}] unknown token [START_ARRAY] after [{fname}]")
        query, opts = raw, {}
    if isinstance(query, dict | list):
        raise ParsingError(f"[{name}] unknown token [START_OBJECT] after [query]")
    return fname, query, opts


def _operator(name: str, value: Any) -> str:
    op = str(value).lower()
    if op not in ("and", "or"):
        raise ParsingError(f"[{name}] query does not support [operator] value [{value}]")
    return op


def _zero_terms(name: str, value: Any) -> str:
    ztq = str(value).lower()
    if ztq not in ("none", "all"):
        raise ParsingError(f"Unsupported zero_terms_query value [{value}]")
    return ztq


def _match_from_opts(name: str, fname: str, query: Any, opts: dict[str, Any]) -> Match:
    msm = opts.get("minimum_should_match")
    fz = opts.get("fuzziness")
    return Match(
        fname,
        query,
        operator=_operator(name, opts.get("operator", "or")),
        minimum_should_match=None if msm is None else as_str(name, "minimum_should_match", msm),
        fuzziness=None if fz is None else fuzziness(name, fz),
        prefix_length=as_int(name, "prefix_length", opts.get("prefix_length", 0)),
        fuzzy_transpositions=as_bool(name, "fuzzy_transpositions", opts.get("fuzzy_transpositions", True)),
        lenient=as_bool(name, "lenient", opts.get("lenient", False)),
        zero_terms_query=_zero_terms(name, opts.get("zero_terms_query", "none")),
        analyzer=None if opts.get("analyzer") is None else as_str(name, "analyzer", opts["analyzer"]),
        boost=as_float(name, "boost", opts.get("boost", 1.0)),
    )


def parse_match(body: Any, ctx: ParseContext) -> Match:
    fname, query, opts = _query_and_opts("match", body, _MATCH_OPTS)
    ctx.count()
    return _match_from_opts("match", fname, query, opts)


_BOOL_PREFIX_OPTS = (
    "query", "analyzer", "operator", "minimum_should_match", "fuzziness", "prefix_length", "max_expansions",
    "fuzzy_transpositions", "fuzzy_rewrite",
)  # fmt: skip


def parse_match_bool_prefix(body: Any, ctx: ParseContext) -> Match:
    """``match_bool_prefix``: a ``bool`` of the analyzed terms (``operator``, ``minimum_should_match``, fuzziness
    on the whole terms) whose last term is a prefix."""
    fname, query, opts = _query_and_opts("match_bool_prefix", body, _BOOL_PREFIX_OPTS)
    ctx.count()
    return replace(_match_from_opts("match_bool_prefix", fname, query, opts), prefix_last=True)


def _phrase(name: str, fname: str, query: Any, opts: dict[str, Any]) -> MatchPhrase:
    return MatchPhrase(
        fname,
        query,
        slop=as_int(name, "slop", opts.get("slop", 0)),
        zero_terms_query=_zero_terms(name, opts.get("zero_terms_query", "none")),
        analyzer=None if opts.get("analyzer") is None else as_str(name, "analyzer", opts["analyzer"]),
        lenient=as_bool(name, "lenient", opts.get("lenient", False)),
        boost=as_float(name, "boost", opts.get("boost", 1.0)),
    )


def _phrase_prefix(name: str, fname: str, query: Any, opts: dict[str, Any]) -> MatchPhrasePrefix:
    return MatchPhrasePrefix(
        fname,
        query,
        slop=as_int(name, "slop", opts.get("slop", 0)),
        max_expansions=as_int(name, "max_expansions", opts.get("max_expansions", 50)),
        zero_terms_query=_zero_terms(name, opts.get("zero_terms_query", "none")),
        analyzer=None if opts.get("analyzer") is None else as_str(name, "analyzer", opts["analyzer"]),
        lenient=as_bool(name, "lenient", opts.get("lenient", False)),
        boost=as_float(name, "boost", opts.get("boost", 1.0)),
    )


def parse_match_phrase(body: Any, ctx: ParseContext) -> MatchPhrase:
    fname, query, opts = _query_and_opts("match_phrase", body, _PHRASE_OPTS)
    ctx.count()
    return _phrase("match_phrase", fname, query, opts)


def parse_match_phrase_prefix(body: Any, ctx: ParseContext) -> MatchPhrasePrefix:
    fname, query, opts = _query_and_opts("match_phrase_prefix", body, _PREFIX_OPTS)
    ctx.count()
    return _phrase_prefix("match_phrase_prefix", fname, query, opts)


def parse_field_boosts(name: str, fields: Any) -> tuple[FieldBoost, ...]:
    """``["title^2", "body", "user.*"]`` (or one string) → field patterns with boosts."""
    if fields is None:
        return (FieldBoost("*"),)
    items = [fields] if isinstance(fields, str) else fields
    if not isinstance(items, list):
        raise ParsingError(f"[{name}] query does not support [fields]")
    out = []
    for item in items:
        if not isinstance(item, str):
            raise ParsingError(f"[{name}] query does not support [fields]")
        pattern, _, boost = item.partition("^")
        try:
            out.append(FieldBoost(pattern.strip(), float(boost) if boost else 1.0))
        except ValueError:
            raise ParsingError(f"[{name}] failed to parse field boost [{item}]") from None
    return tuple(out) if out else (FieldBoost("*"),)


_MULTI_TYPES = ("best_fields", "most_fields", "cross_fields", "phrase", "phrase_prefix", "bool_prefix")
_MULTI_OPTS = (*_MATCH_OPTS, "fields", "type", "tie_breaker", "slop", "cutoff_frequency")


def parse_multi_match(body: Any, ctx: ParseContext) -> MultiField | TermCentric:
    body = expect_object("multi_match", body)
    check_params("multi_match", body, _MULTI_OPTS)
    if body.get("query") is None:
        raise ParsingError("[multi_match] requires query value")
    query = body["query"]
    if isinstance(query, dict | list):
        raise ParsingError("[multi_match] unknown token [START_OBJECT] after [query]")
    mtype = str(body.get("type", "best_fields")).lower()
    if mtype not in _MULTI_TYPES:
        raise ParsingError(f"failed to parse [multi_match] query type [{mtype}]. unknown type.")
    opts = {k: v for k, v in body.items() if k != "boost"}
    template: QueryAst
    if mtype == "phrase":
        template = _phrase("multi_match", "", query, opts)
    elif mtype == "phrase_prefix":
        template = _phrase_prefix("multi_match", "", query, opts)
    elif mtype == "cross_fields":
        match = _match_from_opts("multi_match", "", query, opts)
        ctx.count()
        return TermCentric(
            parse_field_boosts("multi_match", body.get("fields")),
            match.query,
            operator=match.operator,
            minimum_should_match=match.minimum_should_match,
            zero_terms_query=match.zero_terms_query,
            tie_breaker=as_float("multi_match", "tie_breaker", body.get("tie_breaker", 0.0)),
            lenient=as_bool("multi_match", "lenient", body.get("lenient", False)),
            boost=as_float("multi_match", "boost", body.get("boost", 1.0)),
            kind="cross_fields",
            analyzer=match.analyzer,
        )
    else:
        template = _match_from_opts("multi_match", "", query, opts)
        if mtype == "bool_prefix":  # a match_bool_prefix per field, scored as most_fields (as ES)
            template = replace(template, prefix_last=True)
    ctx.count()
    return MultiField(
        parse_field_boosts("multi_match", body.get("fields")),
        template,
        combine="sum" if mtype in ("most_fields", "bool_prefix") else "dis_max",
        tie_breaker=as_float("multi_match", "tie_breaker", body.get("tie_breaker", 0.0)),
        lenient=as_bool("multi_match", "lenient", body.get("lenient", False)),
        boost=as_float("multi_match", "boost", body.get("boost", 1.0)),
    )


def parse_combined_fields(body: Any, ctx: ParseContext) -> TermCentric:
    body = expect_object("combined_fields", body)
    check_params(
        "combined_fields",
        body,
        (
            "query",
            "fields",
            "operator",
            "minimum_should_match",
            "zero_terms_query",
            "auto_generate_synonyms_phrase_query",
        ),
    )
    if body.get("query") is None:
        raise ParsingError("[combined_fields] requires query value")
    if not body.get("fields"):
        raise ParsingError("[combined_fields] requires 'fields' to be set")
    ctx.count()
    opts = {k: v for k, v in body.items() if k != "boost"}
    template = _match_from_opts("combined_fields", "", body["query"], opts)
    return TermCentric(
        parse_field_boosts("combined_fields", body["fields"]),
        template.query,
        operator=template.operator,
        minimum_should_match=template.minimum_should_match,
        zero_terms_query=template.zero_terms_query,
        boost=as_float("combined_fields", "boost", body.get("boost", 1.0)),
    )


PARSERS = {
    "match": parse_match,
    "match_phrase": parse_match_phrase,
    "match_phrase_prefix": parse_match_phrase_prefix,
    "match_bool_prefix": parse_match_bool_prefix,
    "multi_match": parse_multi_match,
    "combined_fields": parse_combined_fields,
}
