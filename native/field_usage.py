"""Field usage: which data structures of which fields a shard's searches read (``_field_usage_stats``).

ES counts, per shard and field, the Lucene structures each search touches. A Diagon shard is a tantivy
index, and this module names what a search reads there, from the parsed request, with ES's categories:

* ``inverted_index.terms`` / ``postings``: term dictionary and posting lists, read by term-level and full-text
  queries (``term``, ``terms``, ``prefix``, ``wildcard``, ``regexp``, ``fuzzy``, ``match``, ``multi_match``,
  ``ids`` on ``_id``, ``more_like_this``...) and by ``terms`` aggregations on ``fielddata`` text fields;
  ``term_frequencies`` and ``norms`` as well when the clause is scored on a text field (BM25 reads both; in a
  filter context, or when the hits are sorted by fields without ``track_scores``, nothing is scored);
  ``positions`` and ``proximity`` for phrase and span queries (``match_phrase``, ``match_phrase_prefix``,
  ``span_near``).
* ``doc_values``: tantivy's columnar fast fields, read by sorts on fields, aggregations, ``range`` and
  ``distance_feature`` on numeric, date and ip fields (tantivy answers ranges on fast fields from the column).
* ``stored_fields``: ``_id`` and ``_source`` when the shard fetches hits (``_source`` also feeds highlighting).

A clause on a field counts once per search and structure; ``any`` counts every search that read the field in
any way. Never counted, because never read: ``points`` (tantivy has no BKD trees), ``offsets`` and ``payloads``
(highlighting re-analyzes ``_source``), ``term_vectors`` (term vectors are computed from ``_source``) and
``knn_vectors``. Queries without a field (``match_all``, ``exists`` on ``_field_names``...) and geo queries
(evaluated from ``_source``) count nothing.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from native.fields import ID_FIELD, SOURCE_FIELD

__all__ = ["INVERTED", "OTHER", "FieldUsageTracker", "agg_usage", "fetch_usage", "query_usage", "sort_usage"]

INVERTED = ("terms", "postings", "proximity", "positions", "term_frequencies", "offsets", "payloads")
OTHER = ("stored_fields", "doc_values", "points", "norms", "term_vectors", "knn_vectors")

_TERM_LEVEL = {"Term", "Terms", "TermsLookup", "Prefix", "Wildcard", "Regexp", "Fuzzy", "TermsSet"}
_FULL_TEXT = {"Match", "MultiField", "MoreLikeThis", "TermCentric", "QueryString", "SimpleQueryString"}
_PHRASE = {"MatchPhrase", "MatchPhrasePrefix", "SpanNear"}
_COLUMNAR = {"DistanceFeature"}
_NOT_SCORED = {"filter", "must_not"}
_NUMERIC = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long",
            "date", "date_nanos", "ip", "boolean"}  # fmt: skip

Usage = dict[str, set[str]]  # field → structures read


def _add(out: Usage, field: str, *kinds: str) -> None:
    out.setdefault(field, set()).update(kinds)


def _es_type(compiled: Any, field: str) -> str | None:
    info = compiled.field(field)
    return None if info is None else str(info.es_type)


def _fields_of(node: Any) -> list[str]:
    out: list[str] = []
    value = getattr(node, "field", None)
    if isinstance(value, str):
        out.append(value)
    for item in getattr(node, "fields", None) or ():
        if isinstance(item, str):
            out.append(item)
        elif isinstance(getattr(item, "field", None), str):
            out.append(item.field)
    return out


def query_usage(ast: Any, compiled: Any, scored: bool) -> Usage:
    """The structures a query reads, by field (see the module docstring)."""
    out: Usage = {}
    _walk(ast, compiled, scored, out)
    return out


def _walk(node: Any, compiled: Any, scored: bool, out: Usage) -> None:
    if not dataclasses.is_dataclass(node) or isinstance(node, type):
        return
    kind = type(node).__name__
    if kind == "Ids":
        _add(out, ID_FIELD, "terms", "postings")
    for field in _fields_of(node) if kind in _TERM_LEVEL | _FULL_TEXT | _PHRASE | _COLUMNAR | {"Range"} else ():
        es_type = _es_type(compiled, field)
        if es_type is None:
            continue
        if kind in _COLUMNAR or (kind == "Range" and es_type in _NUMERIC):
            _add(out, field, "doc_values")
            continue
        _add(out, field, "terms", "postings")
        if kind in _PHRASE:
            _add(out, field, "positions", "proximity", "term_frequencies")
        if scored and es_type in ("text", "match_only_text", "search_as_you_type") and kind != "Range":
            _add(out, field, "term_frequencies", "norms")
    for f in dataclasses.fields(node):
        child_scored = scored and f.name not in _NOT_SCORED and kind != "ConstantScore"
        value = getattr(node, f.name)
        for child in value if isinstance(value, tuple | list) else (value,):
            if dataclasses.is_dataclass(child) and not isinstance(child, type):
                _walk(child, compiled, child_scored, out)


def sort_usage(sort: Iterable[Any], compiled: Any) -> Usage:
    out: Usage = {}
    for spec in sort:
        if spec.field not in ("_score", "_doc") and compiled.field(spec.field) is not None:
            _add(out, spec.field, "doc_values")
    return out


def agg_usage(nodes: Iterable[Any], compiled: Any) -> Usage:
    """Aggregations read fast fields (``terms`` on a ``fielddata`` text field: its term dictionary)."""
    out: Usage = {}
    stack = list(nodes)
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        params = node.params
        names = _fields_of(params)
        for source in getattr(params, "sources", None) or ():  # composite / multi_terms sources
            names.extend(_fields_of(source))
        for field in names:
            es_type = _es_type(compiled, field)
            if es_type == "text":
                _add(out, field, "terms", "postings")
            elif es_type is not None:
                _add(out, field, "doc_values")
    return out


def fetch_usage() -> Usage:
    return {ID_FIELD: {"stored_fields"}, SOURCE_FIELD: {"stored_fields"}}


def _empty() -> dict[str, int]:
    return dict.fromkeys(("any", *INVERTED, *OTHER), 0)


class FieldUsageTracker:
    """Counts per (index uuid, shard) and field; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shards: dict[tuple[str, int], tuple[int, dict[str, dict[str, int]]]] = {}

    def record(self, uuid: str, shard: int, *usages: Usage) -> None:
        merged: Usage = {}
        for usage in usages:
            for field, kinds in usage.items():
                _add(merged, field, *kinds)
        if not merged:
            return
        with self._lock:
            _, counts = self._entry(uuid, shard)
            for field, kinds in merged.items():
                row = counts.setdefault(field, _empty())
                row["any"] += 1
                for kind in kinds:
                    row[kind] += 1

    def _entry(self, uuid: str, shard: int) -> tuple[int, dict[str, dict[str, int]]]:
        key = (uuid, shard)
        entry = self._shards.get(key)
        if entry is None:
            entry = self._shards[key] = (int(time.time() * 1000), {})
        return entry

    def read(self, uuid: str, shard: int) -> tuple[int, dict[str, dict[str, int]]]:
        """(tracking started at, epoch millis; field → counts) of one shard."""
        with self._lock:
            started, counts = self._entry(uuid, shard)
            return started, {field: dict(row) for field, row in counts.items()}


def render(counts: Mapping[str, int]) -> dict[str, Any]:
    """One field's (or all fields') counts in ES's shape."""
    return {"any": counts.get("any", 0), "inverted_index": {k: counts.get(k, 0) for k in INVERTED},
            **{k: counts.get(k, 0) for k in OTHER}}  # fmt: skip
