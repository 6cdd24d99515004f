"""Query limits mirrored from ES, enforced while parsing (before tantivy ever sees a query).

Tantivy can crash the process on absurd input, so nothing reaches it that has not passed these
checks: nesting depth and total clause count (counted while parsing, never by recursing deeper than
the limit), ``terms`` size, regex length, fuzziness and slop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from native.errors import IllegalArgument
from native.query import ast
from native.query.errors import QueryShardError

__all__ = [
    "MAX_CLAUSE_COUNT",
    "MAX_FUZZINESS",
    "MAX_NESTED_DEPTH",
    "MAX_REGEX_LENGTH",
    "MAX_SLOP",
    "MAX_TERMS_COUNT",
    "ParseContext",
    "check_ids_window",
    "check_regex_length",
    "check_terms_count",
]

MAX_NESTED_DEPTH = 30  # indices.query.bool.max_nested_depth
MAX_CLAUSE_COUNT = 4096  # indices.query.bool.max_clause_count
MAX_TERMS_COUNT = 65536  # index.max_terms_count
MAX_REGEX_LENGTH = 1000  # index.max_regex_length
MAX_FUZZINESS = 2  # Lucene's LevenshteinAutomata maximum
MAX_SLOP = 10_000  # not an ES setting: keeps the phrase scorer sane


def too_many_clauses(limit: int) -> IllegalArgument:
    return IllegalArgument(f"Query contains too many nested clauses; maxClauseCount is set to {limit}")


def too_deep() -> IllegalArgument:
    return IllegalArgument(
        "The nested depth of the query exceeds the maximum nested depth for queries set in "
        "[indices.query.bool.max_nested_depth]"
    )


def _ids_counts(node: Any) -> Iterator[int]:
    if isinstance(node, ast.Ids):
        yield len(node.values)
        return
    if isinstance(node, tuple | list):
        for child in node:
            yield from _ids_counts(child)
    elif isinstance(node, ast.QueryAst):
        for f in fields(node):
            value = getattr(node, f.name)
            if isinstance(value, ast.QueryAst | tuple | list):
                yield from _ids_counts(value)


def check_ids_window(query: ast.QueryAst, max_result_window: int, index: str | None = None) -> None:
    """An ``ids`` query may name at most ``index.max_result_window`` ids (ES's ``IdsQueryBuilder``)."""
    for count in _ids_counts(query):
        if count > max_result_window:
            error = QueryShardError(
                f"failed to create query: Too many ids specified, allowed max result window is [{max_result_window}]"
            )
            if index:
                error.extra.update(index_uuid="_na_", index=index)
            raise error


def check_terms_count(count: int, limit: int = MAX_TERMS_COUNT) -> None:
    if count > limit:
        raise IllegalArgument(
            f"The number of terms [{count}] used in the Terms Query request has exceeded the allowed "
            f"maximum of [{limit}]. This maximum can be set by changing the [index.max_terms_count] "
            "index level setting."
        )


def check_regex_length(pattern: str, limit: int = MAX_REGEX_LENGTH) -> None:
    if len(pattern) > limit:
        raise IllegalArgument(
            f"The length of regex [{len(pattern)}] used in the Regexp Query request has exceeded the "
            f"allowed maximum of [{limit}]. This maximum can be set by changing the "
            "[index.max_regex_length] index level setting."
        )


QueryParser = Callable[[Any, "ParseContext"], Any]


@dataclass
class ParseContext:
    """State of one parse: the dispatch table, the current depth and the clauses counted so far."""

    dispatch: Mapping[str, QueryParser]
    max_nested_depth: int = MAX_NESTED_DEPTH
    max_clause_count: int = MAX_CLAUSE_COUNT
    max_terms_count: int = MAX_TERMS_COUNT
    max_regex_length: int = MAX_REGEX_LENGTH
    depth: int = 0
    clauses: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def enter(self) -> None:
        self.depth += 1
        if self.depth > self.max_nested_depth:
            raise too_deep()

    def leave(self) -> None:
        self.depth -= 1

    def count(self, n: int = 1) -> None:
        self.clauses += n
        if self.clauses > self.max_clause_count:
            raise too_many_clauses(self.max_clause_count)
