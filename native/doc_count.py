"""The ``_doc_count`` metadata field: a document that stands for several (pre-aggregated data).

As in ES, a document may carry ``"_doc_count": N`` (a positive integer, no array) at the top of its
``_source``; it is kept in ``_source`` and in a fast integer column of that name, never in the mapping.
Bucket aggregations then count such a document as N in every ``doc_count`` (``hits.total`` still counts
documents). A shard none of whose documents has the field counts as before; one that has any counts by
summing the column with 1 for the documents without it (``ShardContext.count`` and the terms counts).
"""

from __future__ import annotations

from typing import Any

import tantivy

from native.errors import DocumentParsingError, IllegalArgument

DOC_COUNT_FIELD = "_doc_count"
_MAX_TERMS = 65000


def doc_count_value(value: Any) -> int:
    """The value of a ``_doc_count`` key as ES accepts it: one positive integer (or an integral string)."""
    if isinstance(value, list):
        raise DocumentParsingError(
            f"[1:{len(DOC_COUNT_FIELD) + 4}] Arrays are not allowed for field [{DOC_COUNT_FIELD}].",
        )
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        try:
            number = int(value)
        except ValueError:
            number = None
    if number is None or number <= 0 or number > 2**63 - 1:
        raise DocumentParsingError(
            f"[1:{len(DOC_COUNT_FIELD) + 4}] failed to parse field [{DOC_COUNT_FIELD}] of type [{DOC_COUNT_FIELD}]",
            caused_by=IllegalArgument(
                f"Field [{DOC_COUNT_FIELD}] must be a positive integer. Value [{value}] is not allowed."
            ),
        )
    return number


def shard_has_doc_counts(searcher: tantivy.Searcher, schema: tantivy.Schema) -> bool:
    """Whether any live document of the shard carries ``_doc_count``."""
    try:
        query = tantivy.Query.exists_query(DOC_COUNT_FIELD)
    except ValueError:  # an index built before the field existed
        return False
    from native.search import count_matches

    try:
        return count_matches(searcher, query) > 0
    except ValueError:
        return False


def weighted_count(searcher: tantivy.Searcher, query: tantivy.Query) -> int:
    """The documents matching ``query``, each counted ``_doc_count`` times (1 without the field)."""
    result = searcher.aggregate(query, {"w": {"sum": {"field": DOC_COUNT_FIELD, "missing": 1}}})
    return int(result["w"]["value"] or 0)


def weighted_terms(searcher: tantivy.Searcher, query: tantivy.Query, field: str) -> list[tuple[Any, int]]:
    """(tantivy key, weighted doc count) of every term of ``field`` among the docs matching ``query``."""
    request = {
        "t": {
            "terms": {"field": field, "size": _MAX_TERMS, "segment_size": _MAX_TERMS, "min_doc_count": 1},
            "aggs": {"w": {"sum": {"field": DOC_COUNT_FIELD, "missing": 1}}},
        }
    }
    buckets = searcher.aggregate(query, request)["t"]["buckets"]
    return [(b["key"], int(b["w"]["value"] or 0)) for b in buckets]


WEIGHT_AGG = "_dcw"  # the sub-aggregation summing ``_doc_count`` inside a bucket aggregation's tantivy call


def with_weight(aggs: dict[str, Any] | None, weighted: bool) -> dict[str, Any] | None:
    """``aggs`` (a tantivy bucket aggregation's sub-aggregations) plus the ``_doc_count`` sum when the shard
    is ``weighted``: each bucket's count is then read with ``bucket_count``."""
    if not weighted:
        return aggs
    return {**(aggs or {}), WEIGHT_AGG: {"sum": {"field": DOC_COUNT_FIELD, "missing": 1}}}


def bucket_count(bucket: dict[str, Any], weighted: bool) -> int:
    """A tantivy result bucket's doc count, each document counted ``_doc_count`` times when ``weighted``."""
    if weighted and WEIGHT_AGG in bucket:
        return int(bucket[WEIGHT_AGG].get("value") or 0)
    return int(bucket.get("doc_count", 0))
