"""The ES query DSL: parse JSON into ``QueryAst``, compile ``QueryAst`` into a ``tantivy.Query``.

ast = parse_query({"match": {"title": "quick fox"}})       # 400-class errors happen here
query = compile_query(ast, resolver, now_millis=now)       # against one shard's schema
"""

from __future__ import annotations

from native.query import ast
from native.query.ast import QueryAst
from native.query.compile import compile_query
from native.query.errors import QueryShardError
from native.query.limits import MAX_CLAUSE_COUNT, MAX_NESTED_DEPTH, MAX_REGEX_LENGTH, MAX_TERMS_COUNT
from native.query.parse import QUERY_PARSERS, parse_query

__all__ = [
    "MAX_CLAUSE_COUNT",
    "MAX_NESTED_DEPTH",
    "MAX_REGEX_LENGTH",
    "MAX_TERMS_COUNT",
    "QUERY_PARSERS",
    "QueryAst",
    "QueryShardError",
    "ast",
    "compile_query",
    "parse_query",
]
