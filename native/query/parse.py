"""ES query DSL JSON → ``QueryAst``: the dispatch table over every query family."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from native.errors import ParsingError
from native.query import (
    compound,
    exact,
    full_text,
    function_score,
    geo_parse,
    intervals,
    nested,
    query_string,
    specialized,
    term_level,
)
from native.query.ast import MatchAll, QueryAst
from native.query.limits import (
    MAX_CLAUSE_COUNT,
    MAX_NESTED_DEPTH,
    MAX_REGEX_LENGTH,
    MAX_TERMS_COUNT,
    ParseContext,
    QueryParser,
)

__all__ = ["QUERY_PARSERS", "parse_query"]

QUERY_PARSERS: Mapping[str, QueryParser] = {
    **compound.PARSERS,
    **term_level.PARSERS,
    **full_text.PARSERS,
    **query_string.PARSERS,
    **geo_parse.PARSERS,
    **specialized.PARSERS,
    **nested.PARSERS,
    **function_score.PARSERS,
    **intervals.PARSERS,
    **exact.PARSERS,
}


def parse_query(
    body: dict[str, Any] | None,
    *,
    max_nested_depth: int = MAX_NESTED_DEPTH,
    max_clause_count: int = MAX_CLAUSE_COUNT,
    max_terms_count: int = MAX_TERMS_COUNT,
    max_regex_length: int = MAX_REGEX_LENGTH,
) -> QueryAst:
    """Parse the value of a search body's ``query`` (None or ``{}`` → match_all).

    Raises ParsingError / XContentParseError / IllegalArgument (limits) / ScriptingDisabled with
    ES-like reasons; never recurses deeper than ``max_nested_depth``.
    """
    if body is None or body == {}:
        return MatchAll()
    if not isinstance(body, dict):
        raise ParsingError("[_na] query malformed, must start with start_object")
    ctx = ParseContext(
        QUERY_PARSERS,
        max_nested_depth=max_nested_depth,
        max_clause_count=max_clause_count,
        max_terms_count=max_terms_count,
        max_regex_length=max_regex_length,
    )
    return compound.parse_inner(body, ctx)
