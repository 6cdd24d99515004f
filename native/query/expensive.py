"""``search.allow_expensive_queries: false``: the queries ES refuses then, found in a parsed ``QueryAst``.

ES refuses, among what Quidditch runs: ``prefix``, ``wildcard``, ``regexp`` and ``fuzzy`` queries, also when
``query_string`` / ``simple_query_string`` syntax produces them (``foo*``, ``/re/``, ``foo~``). Scripts are
refused in any case. Not checked yet: ``range`` on ``text``/``keyword`` fields, which ES refuses too (it needs
the mapping, which the parse does not see).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from native.errors import ExpensiveQueryDisallowed
from native.query.ast import Fuzzy, Prefix, QueryAst, Regexp, Wildcard

_EXPENSIVE: dict[type[QueryAst], str] = {Prefix: "prefix", Wildcard: "wildcard", Regexp: "regexp", Fuzzy: "fuzzy"}


def check_expensive(query: QueryAst) -> None:
    """Raise ES's error for the first expensive query in ``query`` (iteratively: trees can be deep)."""
    stack: list[Any] = [query]
    while stack:
        node = stack.pop()
        name = _EXPENSIVE.get(type(node))
        if name is not None:
            raise ExpensiveQueryDisallowed(name)
        if dataclasses.is_dataclass(node) and not isinstance(node, type):
            stack.extend(getattr(node, f.name) for f in dataclasses.fields(node))
        elif isinstance(node, list | tuple):
            stack.extend(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
