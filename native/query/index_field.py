"""Queries on the ``_index`` metadata field.

``_index`` is not stored in a shard: every document of a shard has the shard's index name. As ES's constant
field type does, a query on it is decided once per shard: ``term``/``terms``/``match``/``match_phrase``
(values analysed as one keyword), ``prefix``, ``match_phrase_prefix`` and ``wildcard`` match every
document of the shard when the index name matches, else none. Values are matched as ES's index name
patterns: ``*`` is a wildcard in ``term`` values too. ``case_insensitive`` lower-cases the pattern (index
names are lower case). ``regexp``, ``fuzzy`` and ``range`` on ``_index`` are ES's 400s.

As ES resolves the value as an index expression, an alias of the index (by name or pattern) matches it too;
the node keeps each shard's alias names current (``CompiledMapping.index_aliases``). A ``cluster:index``
value never matches (no remote clusters).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache

from native.errors import IllegalArgument
from native.fields import FieldInfo
from native.query import ast as A
from native.query.errors import QueryShardError

INDEX_FIELD = "_index"
INDEX_INFO = FieldInfo(path=INDEX_FIELD, es_type="_index", tantivy_name=INDEX_FIELD)
# the query nodes whose field may be ``_index`` (the others name no single field or refuse it)
INDEX_NODES: tuple[type, ...] = (
    A.Term, A.Terms, A.Match, A.MatchPhrase, A.MatchPhrasePrefix, A.Prefix, A.Wildcard, A.Regexp, A.Fuzzy, A.Range,
)  # fmt: skip


@lru_cache(maxsize=1024)
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.S)


def index_matches(pattern: str, names: Collection[str], case_insensitive: bool = False) -> bool:
    """Whether an ``_index`` query value names one of ``names`` (the index and its aliases; ``*`` matches any
    characters)."""
    if case_insensitive:
        pattern = pattern.lower()
    if "*" not in pattern:
        return pattern in names
    compiled = _pattern(pattern)
    return any(compiled.fullmatch(name) is not None for name in names)


def index_query_matches(node: A.QueryAst, index_name: str, aliases: Collection[str] = ()) -> bool:
    """Whether ``node`` (one of ``INDEX_NODES`` on ``_index``) matches the documents of index ``index_name``
    (known by ``aliases`` too)."""
    names = {index_name, *aliases}
    if isinstance(node, A.Term):
        return index_matches(str(node.value), names, node.case_insensitive)
    if isinstance(node, A.Terms):
        return any(index_matches(str(v), names) for v in node.values)
    if isinstance(node, A.Match | A.MatchPhrase):
        return index_matches(str(node.query), names)
    if isinstance(node, A.MatchPhrasePrefix):
        return index_matches(str(node.query) + "*", names)
    if isinstance(node, A.Prefix):
        return index_matches(node.value + "*", names, node.case_insensitive)
    if isinstance(node, A.Wildcard):
        return index_matches(node.value, names, node.case_insensitive)
    if isinstance(node, A.Range):
        raise IllegalArgument(f"Field [{INDEX_FIELD}] of type [{INDEX_FIELD}] does not support range queries")
    kind = "regexp" if isinstance(node, A.Regexp) else "fuzzy"
    message = (f"Can only use {kind} queries on keyword and text fields - not on [{INDEX_FIELD}] "
               f"which is of type [{INDEX_FIELD}]")
    raise QueryShardError(f"failed to create query: {message}", caused_by=IllegalArgument(message))

