"""``search.allow_expensive_queries: false``: the queries ES refuses then, found in a parsed ``QueryAst``.

ES refuses, among what Quidditch runs: ``prefix``, ``wildcard``, ``regexp`` and ``fuzzy`` queries, also when
``query_string`` / ``simple_query_string`` syntax produces them (``foo*``, ``/re/``, ``foo~``), and ``range``
queries on ``text`` or ``keyword`` fields (``field_type`` tells a field's type in the searched indices).
Scripts are refused in any case.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from native.errors import ExpensiveQueryDisallowed
from native.query.ast import Fuzzy, Prefix, QueryAst, Range, Regexp, Wildcard
from native.query.nested import NestedQuery

_EXPENSIVE: dict[type[QueryAst], str] = {Prefix: "prefix", Wildcard: "wildcard", Regexp: "regexp", Fuzzy: "fuzzy",
                                         NestedQuery: "joining"}  # fmt: skip


def check_expensive(query: QueryAst, field_types: Callable[[str], Iterable[str]] = lambda field: ()) -> None:
    """Raise ES's error for the first expensive query in ``query`` (iteratively: trees can be deep);
    ``field_types(field)``: the ES types ``field`` has in the indices searched."""
    stack: list[Any] = [query]
    while stack:
        node = stack.pop()
        name = _EXPENSIVE.get(type(node))
        if name is not None:
            raise ExpensiveQueryDisallowed(name)
        if type(node) is Range and {"text", "keyword"} & set(field_types(node.field)):
            raise ExpensiveQueryDisallowed("range")
        if dataclasses.is_dataclass(node) and not isinstance(node, type):
            stack.extend(getattr(node, f.name) for f in dataclasses.fields(node))
        elif isinstance(node, list | tuple):
            stack.extend(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
