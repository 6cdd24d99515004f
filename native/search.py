"""The query phase on one shard: matching, sorting, ``search_after`` and totals.

A shard returns ``PartialHit``s (sort values and a doc address, no ``_source``); the root merges them by
``sort_values`` and breaks ties by (shard, segment, doc) so paging is stable. The order of hits here must
therefore be exactly that order restricted to this shard.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import tantivy

from native import narrowing, selectivity
from native.date_nanos import from_sort_unit, sort_unit_scale, to_sort_unit
from native.errors import IllegalArgument, SearchPhaseError
from native.fields import COLUMNAR_NUMERIC_TYPES, SEQ_NO_FIELD, FieldInfo
from native.index_sort import has_index_sort, index_sorted
from native.multi_sort import multi_valued, sort_values_from_source
from native.query.values import nanos_column
from native.schema import CompiledMapping
from native.sort_values import coerce_missing, coerce_search_after

MAX_RESULT_WINDOW = 10_000


@dataclass(frozen=True)
class SortField:
    field: str  # "_score", "_doc", or a field path
    order: str = "asc"  # asc | desc
    missing: Any = "_last"  # _last | _first | a value
    unmapped_type: str | None = None
    # how the root renders the hit's sort value (``cluster.sort_format``); search_after strings read with it
    format: str | None = None
    numeric_type: str | None = None
    # how several values reduce to one key: of a multi-valued field (``native.multi_sort``; None: min ascending,
    # max descending), or of the nested documents under ``nested`` (``native.nested_sort``)
    mode: str | None = None
    nested: str | None = None  # the ``nested`` object as JSON: a sort by nested documents (native.nested_sort)

    @property
    def reverse(self) -> bool:
        return self.order == "desc"


# ``_doc`` (index order) is served by the shard's ``_seq_no`` column: insertion order, unique per shard, and a
# fast indexed field, so ``_doc`` sorts, scrolls and ``search_after`` take the fast-field paths.
DOC_ORDER = FieldInfo(path="_doc", es_type="long", tantivy_name=SEQ_NO_FIELD)

SCORE_SORT = (SortField("_score", "desc"),)


@dataclass(frozen=True)
class PartialHit:
    sort_values: tuple[Any, ...]
    score: float | None
    segment_ord: int
    doc: int
    # Orders hits with equal sort values: the document's _seq_no (insertion order, as Lucene's doc ids).
    tiebreak: int = 0


@dataclass(frozen=True)
class ShardHits:
    hits: list[PartialHit]
    total: int
    max_score: float | None


def sort_key(values: Sequence[Any], sort: Sequence[SortField]) -> tuple[Any, ...]:
    """A key that orders sort-value tuples as ES does (per-field direction, missing first or last)."""
    key: list[Any] = []
    for value, spec in zip(values, sort, strict=True):
        missing_first = spec.missing == "_first"
        if value is None:
            key.append((0 if missing_first else 2, 0))
            continue
        if isinstance(value, str):
            comparable: Any = _Desc(value) if spec.reverse else value
        elif isinstance(value, bool):
            comparable = -int(value) if spec.reverse else int(value)
        else:
            comparable = -value if spec.reverse else value
        key.append((1, comparable))
    return tuple(key)


class _Desc(str):
    """A string that sorts in reverse."""

    __slots__ = ()

    def __lt__(self, other: str) -> bool:  # type: ignore[override]
        return str.__gt__(self, other)

    def __gt__(self, other: str) -> bool:  # type: ignore[override]
        return str.__lt__(self, other)

    def __le__(self, other: str) -> bool:  # type: ignore[override]
        return str.__ge__(self, other)

    def __ge__(self, other: str) -> bool:  # type: ignore[override]
        return str.__le__(self, other)


def _resolve_sort_field(spec: SortField, compiled: CompiledMapping) -> FieldInfo | None:
    info = compiled.field(spec.field)
    if info is None:
        if spec.unmapped_type is not None:
            return None
        raise SearchPhaseError(
            "all shards failed",
            caused_by=IllegalArgument(f"No mapping found for [{spec.field}] in order to sort on"),
        )
    if spec.nested is None and compiled.nested:
        _check_nested_context(spec.field, compiled)
    if info.es_type == "text" and not info.extra.get("fielddata", False):
        raise SearchPhaseError(
            "all shards failed",
            caused_by=IllegalArgument(
                f"Fielddata is disabled on [{spec.field}] in [{compiled.mapping and 'index'}]. Text fields are "
                "not optimised for operations that require per-document field data like aggregations and "
                "sorting, so these operations are disabled by default. Please use a keyword field instead."
            ),
        )
    numeric = info.is_numeric or info.es_type in ("date", "date_nanos", "boolean")
    if spec.mode in ("sum", "avg", "median") and not numeric:  # terms have no sum (ES's FieldSortBuilder refuses)
        from native.query.errors import QueryShardError

        raise QueryShardError("we only support AVG, MEDIAN and SUM on number based fields")
    if "nanos" in info.extra:  # date_nanos keys: its nanosecond column (native.date_nanos)
        return nanos_column(info)
    return info


def _check_nested_context(field: str, compiled: CompiledMapping) -> None:
    """A sort on a field inside a nested object needs its ``nested`` context (ES), unless the nearest nested
    object also indexes its fields in the root (``include_in_root``)."""
    from native.nested import included

    parent = max((p for p in compiled.nested if field.startswith(p + ".")), key=len, default=None)
    if parent is not None and not included(compiled.nested, parent, ""):
        from native.query.errors import QueryShardError

        raise QueryShardError(f"it is mandatory to set the [nested] context on the nested sort field: [{field}].")


# Multi-valued sort keys are read from _source for up to this many matches on a shard; past it, the first
# value of each document (the fast column's) is the key: exact for single-valued documents only.
MAX_SOURCE_SORT = 100_000


def query_shard(
    searcher: tantivy.Searcher,
    compiled: CompiledMapping,
    query: tantivy.Query,
    *,
    limit: int,
    sort: Sequence[SortField] = SCORE_SORT,
    search_after: Sequence[Any] | None = None,
    min_score: float | None = None,
    matches_all: bool = False,
) -> ShardHits:
    """The top ``limit`` hits of this shard in ``sort`` order, after ``search_after`` when given.

    A ``date_nanos`` sort key is given in nanoseconds, read from its nanosecond column (``native.date_nanos``),
    as ES gives it (and compares it with other indices' values as it is, ES's own behaviour without
    ``numeric_type``); a sort's ``numeric_type`` ``date``/``date_nanos`` converts the keys of date and
    date_nanos fields to its unit, ``search_after`` included.
    """
    if has_index_sort(sort):  # ``native.index_sort``: a constant per shard
        return index_sorted(query_shard, searcher, compiled, query, limit=limit, sort=sort, search_after=search_after,
                            min_score=min_score, matches_all=matches_all)  # type: ignore[no-any-return]  # fmt: skip
    scales = {
        j: sort_unit_scale(str(info.extra.get("mapping_type")), s.numeric_type)
        for j, s in enumerate(sort)
        if s.numeric_type is not None and (info := compiled.field(s.field)) is not None
    }
    scales = {j: scale for j, scale in scales.items() if scale}
    if scales and search_after is not None:
        search_after = [
            from_sort_unit(v, scales.get(j, 0), sort[j].reverse) if j < len(sort) else v
            for j, v in enumerate(search_after)
        ]
    hits = _query_shard(
        searcher, compiled, query, limit=limit, sort=sort, search_after=search_after, min_score=min_score,
        matches_all=matches_all,
    )  # fmt: skip
    if not scales or not hits.hits:
        return hits
    converted = [
        replace(hit, sort_values=tuple(to_sort_unit(v, scales.get(j, 0)) for j, v in enumerate(hit.sort_values)))
        for hit in hits.hits
    ]
    return ShardHits(converted, hits.total, hits.max_score)


def _query_shard(
    searcher: tantivy.Searcher,
    compiled: CompiledMapping,
    query: tantivy.Query,
    *,
    limit: int,
    sort: Sequence[SortField] = SCORE_SORT,
    search_after: Sequence[Any] | None = None,
    min_score: float | None = None,
    matches_all: bool = False,
) -> ShardHits:
    """``query_shard`` with keys in their fields' own units.

    ``matches_all`` says ``query`` matches every live document (a ``match_all``), so a size-0 request
    (aggregations, ``_count``) takes its total from ``num_docs`` instead of a counting search.
    """
    if limit < 0 or limit > 10_000_000:
        raise IllegalArgument(f"invalid shard result window [{limit}]")
    sort = tuple(sort) or SCORE_SORT
    infos = [
        None if s.field == "_score" else DOC_ORDER if s.field == "_doc" else _resolve_sort_field(s, compiled)
        for s in sort
    ]
    # read as the fields' types before any tantivy call (a string on a numeric key is a 400, not a crash)
    if search_after is not None:
        search_after = coerce_search_after(search_after, [s.field for s in sort], infos, [s.format for s in sort])
    if any(s.missing not in ("_first", "_last") for s in sort):
        sort = tuple(
            replace(s, missing=coerce_missing(s.missing, s.field, i)) for s, i in zip(sort, infos, strict=True)
        )
    num_docs = int(searcher.num_docs)
    by_score = all(s.field == "_score" for s in sort) and sort[0].reverse
    if limit == 0 and min_score is None:
        # size 0 (aggregations, _count): only the total; ES reports no max_score either
        if matches_all:
            return ShardHits([], num_docs, None)
        return ShardHits([], count_matches(searcher, query), None)
    # multi-valued sort fields: their keys come from ``_source`` (the columns give the first value only)
    from_source = {
        j: s.mode or ("max" if s.reverse else "min")
        for j, (s, i) in enumerate(zip(sort, infos, strict=True))
        if i is not None and s.field not in ("_score", "_doc") and s.nested is None
        and (i.es_type == "text" or multi_valued(searcher, i))
    }
    matched = num_docs if matches_all else count_matches(searcher, query) if from_source else 0
    # a ``fielddata`` text field has no column: its keys always come from its fielddata (``native.fielddata``)
    if from_source and (matched <= MAX_SOURCE_SORT or any(i is not None and i.es_type == "text" for i in infos)):
        return _general(searcher, query, sort, infos, limit, search_after, min_score, num_docs, compiled, from_source)
    if by_score and search_after is None and min_score is None:
        result = searcher.search(query, max(limit, 1) if num_docs else 1, count=True)
        top = result.hits[:limit]
        seqs = _seq_nos(searcher, [a for _, a in top])
        hits = [
            PartialHit((score,), score, addr.segment_ord, addr.doc, seq)
            for (score, addr), seq in sorted(zip(top, seqs, strict=True), key=lambda t: (-t[0][0], t[1]))
        ]
        max_score = hits[0].score if hits else _max_score(searcher, query, result.count)  # type: ignore[attr-defined]
        return ShardHits(hits, int(result.count), max_score)  # type: ignore[attr-defined]
    if min_score is None and not any(s.nested for s in sort) and _first_key_eligible(sort, infos, search_after):
        return _top_by_first_key(
            searcher, compiled.schema, query, sort, infos, limit, search_after, num_docs if matches_all else None
        )
    return _general(searcher, query, sort, infos, limit, search_after, min_score, num_docs, compiled)


# Every document has exactly one ``_seq_no``: counting its values counts the matching documents.
_COUNT_REQUEST = {"n": {"value_count": {"field": SEQ_NO_FIELD}}}


def count_matches(searcher: tantivy.Searcher, query: tantivy.Query) -> int:
    """How many live documents match ``query``.

    tantivy-py counts only beside a top-k collector (``search(count=True)`` scores every match); an
    aggregation collects without scoring: 2.5x faster for a broad query at 1M documents (6.3 → 2.5 ms),
    for a fixed ~40 µs more on a handful of matches.
    """
    return int(searcher.aggregate(query, _COUNT_REQUEST)["n"]["value"])


def _first_key_eligible(
    sort: Sequence[SortField], infos: Sequence[FieldInfo | None], search_after: Sequence[Any] | None
) -> bool:
    """Whether tantivy's own field ordering can produce the top-k (see ``_top_by_first_key``)."""
    first, info0 = sort[0], infos[0]
    if info0 is None or first.missing != "_last":
        return False
    if info0.es_type not in COLUMNAR_NUMERIC_TYPES and info0.es_type != "keyword":
        return False
    if search_after is not None:
        if info0.es_type not in COLUMNAR_NUMERIC_TYPES or info0.es_type == "boolean" or search_after[0] is None:
            return False
        if len(search_after) != len(sort):
            return False
    for spec, info in zip(sort[1:], infos[1:], strict=True):
        if info is None or info.es_type not in COLUMNAR_NUMERIC_TYPES or spec.missing not in ("_last", "_first"):
            return False
    return True


def _and(*queries: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in queries])


def _missing(info: FieldInfo) -> tantivy.Query:
    return tantivy.Query.boolean_query(
        [
            (tantivy.Occur.Must, tantivy.Query.all_query()),
            (tantivy.Occur.MustNot, tantivy.Query.exists_query(info.tantivy_name)),
        ]
    )


def _top_by_first_key(
    searcher: tantivy.Searcher,
    schema: tantivy.Schema,
    query: tantivy.Query,
    sort: Sequence[SortField],
    infos: Sequence[FieldInfo | None],
    limit: int,
    search_after: Sequence[Any] | None,
    num_docs: int | None = None,
) -> ShardHits:
    """Exact top-k for sorts led by a fast field, without reading every matching document.

    tantivy orders by the first key (missing values last, as ES's default ``_last``); the documents tied
    with the k-th one on that key are fetched in full, then the candidates are ordered by the whole sort
    key (and segment, doc) in Python. ``search_after`` on a numeric first key becomes a range filter.
    ``num_docs`` is given when ``query`` matches every live document: it is then the total.

    The total is counted in the ordered pass itself when that pass runs ``query`` as is (no
    ``search_after``): a separate counting search is one more pass over every matching document.
    """
    first, info0 = sort[0], infos[0]
    assert info0 is not None
    order = tantivy.Order.Desc if first.reverse else tantivy.Order.Asc
    count_in_pass = num_docs is None and search_after is None
    total = num_docs
    if total is None and not count_in_pass:
        total = count_matches(searcher, query)
    candidates_query = query
    want = max(limit, 1)
    if search_after is not None:
        after0 = search_after[0]
        inclusive = len(sort) > 1
        if inclusive:
            # documents tied with ``after0`` are candidates that the full-key filter below may drop: the top-k
            # must reach past them (else a page after the last of a tie comes back empty)
            at_after = tantivy.Query.range_query(
                schema, info0.tantivy_name, info0.tantivy_type, after0, after0, True, True, use_inverted_index=True
            )
            want += count_matches(searcher, _and(query, at_after))
        if first.reverse:
            bound = tantivy.Query.range_query(
                schema, info0.tantivy_name, info0.tantivy_type, None, after0, True, inclusive
            )
        else:
            bound = tantivy.Query.range_query(
                schema, info0.tantivy_name, info0.tantivy_type, after0, None, inclusive, True
            )
        # Documents without a value sort after every value: they can only reach a page that the documents
        # past ``after0`` do not fill, so the union with them is searched only then.
        candidates_query = bound if num_docs is not None else _and(query, bound)
        narrowed = None
        if info0.es_type != "keyword" and int(searcher.num_docs) >= narrowing.MIN_DOCS and total is not None:
            narrowed = _narrowed(searcher, schema, query, first.reverse, info0, want, total, num_docs is not None,
                                 after=after0, after_inclusive=inclusive)  # fmt: skip
        if narrowed is not None:
            result = narrowed
        else:
            result = searcher.search(
                candidates_query, want, count=False, order_by_field=info0.tantivy_name, order=order
            )
        if len(result.hits) < want:
            beyond = tantivy.Query.boolean_query(
                [(tantivy.Occur.Should, bound), (tantivy.Occur.Should, _missing(info0))]
            )
            candidates_query = _and(query, beyond)
            result = searcher.search(
                candidates_query, want, count=False, order_by_field=info0.tantivy_name, order=order
            )
    else:
        narrowed = None
        if int(searcher.num_docs) >= narrowing.MIN_DOCS:
            if info0.es_type == "keyword":
                narrowed = _narrowed_keyword(searcher, schema, query, first.reverse, info0, want)
            else:
                if total is None:
                    total = count_matches(searcher, query)
                narrowed = _narrowed(searcher, schema, query, first.reverse, info0, want, total, num_docs is not None)
            if narrowed is not None and total is None:
                total = count_matches(searcher, query)
        if narrowed is not None:
            result = narrowed
        else:
            result = searcher.search(query, want, count=total is None, order_by_field=info0.tantivy_name, order=order)
    if total is None:
        total = int(result.count)  # type: ignore[attr-defined]
    hits = result.hits
    if len(hits) >= want:
        cutoff = hits[-1][0]
        if cutoff is None:
            ties_query = _and(candidates_query, _missing(info0))
        elif info0.es_type == "keyword":
            ties_query = _and(candidates_query, tantivy.Query.term_query(schema, info0.tantivy_name, cutoff))
        else:
            # one value: the inverted index finds its postings directly, where the fast-field range scans
            # the whole column (columns of _doc, date and numeric fields are indexed too)
            exact = tantivy.Query.range_query(
                schema, info0.tantivy_name, info0.tantivy_type, cutoff, cutoff, True, True, use_inverted_index=True
            )
            ties_query = _and(candidates_query, exact)
        kept = [(k, a) for k, a in hits if k != cutoff]
        # (few documents tie: a counting search beats the aggregation's fixed ~40 µs)
        tie_count = int(searcher.search(ties_query, 1, count=True).count)  # type: ignore[attr-defined]
        need = want - len(kept)
        rest = _tie_order(sort, infos)
        if search_after is None and rest is not None and tie_count > TIES_READ_WHOLE + 2 * need:
            # many ties (a low-cardinality first key): the ``need`` first of them by the other keys (then
            # index order), which is how the rows below order a tie, instead of reading every tie
            tied = _top_by_first_key(searcher, schema, ties_query, rest[0], rest[1], need, None)
            hits = kept + [(cutoff, tantivy.DocAddress(h.segment_ord, h.doc)) for h in tied.hits]
        else:
            ties = searcher.search(ties_query, max(tie_count, 1), count=False).hits
            hits = kept + [(cutoff, a) for _, a in ties]
    addrs = [a for _, a in hits]
    columns: list[list[Any]] = [[_sort_value(k, info0) for k, _ in hits]]
    for info in infos[1:]:
        assert info is not None
        values = searcher.fast_field_values(info.tantivy_name, addrs) if addrs else []
        columns.append([_sort_value(v, info) for v in values])
    seqs = _seq_nos(searcher, addrs)
    rows = []
    for i, addr in enumerate(addrs):
        row_values = tuple(col[i] for col in columns)
        rows.append((sort_key(row_values, sort), seqs[i], addr.segment_ord, addr.doc, row_values))
    if search_after is not None:
        after = sort_key(tuple(search_after), sort)
        rows = [r for r in rows if r[0] > after]
    rows.sort(key=lambda r: r[:4])
    return ShardHits([PartialHit(v, None, seg, doc, seq) for _, seq, seg, doc, v in rows[:limit]], total, None)


# Up to this many documents tied with the k-th one on the first sort key are read whole; beyond, the first
# ones by the remaining keys are searched for (``_tie_order``).
TIES_READ_WHOLE = 256


def _tie_order(
    sort: Sequence[SortField], infos: Sequence[FieldInfo | None]
) -> tuple[list[SortField], list[FieldInfo | None]] | None:
    """The sort that orders documents tied on the first key as the full ordering does: the remaining keys,
    or index order (``_seq_no``) for a one-key sort; None when tantivy cannot order by it."""
    rest, rest_infos = list(sort[1:]), list(infos[1:])
    if not rest:
        return [SortField("_doc", "asc")], [DOC_ORDER]
    return (rest, rest_infos) if _first_key_eligible(rest, rest_infos, None) else None


def _narrowed(
    searcher: tantivy.Searcher,
    schema: tantivy.Schema,
    query: tantivy.Query,
    descending: bool,
    info: FieldInfo,
    want: int,
    matching: int,
    matches_all: bool,
    *,
    after: Any = None,
    after_inclusive: bool = False,
) -> tantivy.SearchResult | None:
    """The ordered top ``want`` from the range of the field's top values (``native.narrowing``; from
    ``after`` on for ``search_after``), or None when no range applies or it proves too narrow (the caller
    orders every match)."""
    if after is not None and not isinstance(after, int | float):
        return None
    bound = narrowing.threshold(searcher, schema, info, descending=descending, want=want, matching=matching,
                                after=after)  # fmt: skip
    if bound is None:
        return None
    lower, upper = (bound, after) if descending else (after, bound)
    inverted = selectivity.prefer_inverted(searcher, schema, info, lower, upper, schema)
    in_range = narrowing.range_from(schema, info, bound, descending=descending, after=after,
                                    after_inclusive=after_inclusive, inverted=inverted)  # fmt: skip
    order = tantivy.Order.Desc if descending else tantivy.Order.Asc
    result = searcher.search(in_range if matches_all else _and(query, in_range), want, count=False,
                             order_by_field=info.tantivy_name, order=order)  # fmt: skip
    hits = result.hits
    if len(hits) < want or not narrowing.beyond(hits[want - 1][0], bound, descending=descending):
        return None
    return result


# A keyword sort narrowed to its first terms asks tantivy for at most this many of them.
_KEYWORD_TERMS_MAX = 10_000


def _narrowed_keyword(
    searcher: tantivy.Searcher,
    schema: tantivy.Schema,
    query: tantivy.Query,
    descending: bool,
    info: FieldInfo,
    want: int,
) -> tantivy.SearchResult | None:
    """The ordered top ``want`` of a sort led by a keyword field, from the documents holding its first terms.

    tantivy orders by a string column by reading every matching document's value (27 ms at 1M documents).
    Its terms aggregation in key order gives the query's first terms with their document counts exactly (a
    term among the shard's first N is among every segment's first N); ordering only the documents holding
    the first terms that add up to ``want`` is exact when the ``want``-th hit's value is itself one of those
    terms: every other document's values lie beyond them. Otherwise (too few terms, or a multi-valued
    document sorting by a later value) None, and the caller orders every match.
    """
    size = min(want + 16, _KEYWORD_TERMS_MAX)
    request = {"field": info.tantivy_name, "size": size, "segment_size": size, "min_doc_count": 1,
               "order": {"_key": "desc" if descending else "asc"}}  # fmt: skip
    try:
        buckets = searcher.aggregate(query, {"t": {"terms": request}})["t"]["buckets"]
    except ValueError:
        return None
    terms: list[str] = []
    held = 0
    for bucket in buckets:
        terms.append(str(bucket["key"]))
        held += int(bucket["doc_count"])
        if held >= want:
            break
    if held < want:
        return None
    in_terms = tantivy.Query.term_set_query(schema, info.tantivy_name, terms)
    order = tantivy.Order.Desc if descending else tantivy.Order.Asc
    result = searcher.search(_and(query, in_terms), want, count=False, order_by_field=info.tantivy_name, order=order)
    hits = result.hits
    if len(hits) < want or hits[want - 1][0] not in set(terms):
        return None
    return result


def _seq_nos(searcher: tantivy.Searcher, addrs: list[tantivy.DocAddress]) -> list[int]:
    if not addrs:
        return []
    return [int(v or 0) for v in searcher.fast_field_values(SEQ_NO_FIELD, addrs)]


def _max_score(searcher: tantivy.Searcher, query: tantivy.Query, count: int) -> float | None:
    if not count:
        return None
    hits = searcher.search(query, 1, count=False).hits
    return float(hits[0][0]) if hits else None


def _sort_value(value: Any, info: FieldInfo) -> Any:
    if value is None:
        return None
    if info.es_type == "boolean":
        return 1 if value else 0
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _general(
    searcher: tantivy.Searcher,
    query: tantivy.Query,
    sort: Sequence[SortField],
    infos: Sequence[FieldInfo | None],
    limit: int,
    search_after: Sequence[Any] | None,
    min_score: float | None,
    num_docs: int,
    compiled: CompiledMapping | None = None,
    from_source: dict[int, str] | None = None,
) -> ShardHits:
    result = searcher.search(query, max(num_docs, 1), count=True)
    scored = result.hits
    if min_score is not None:
        scored = [(s, a) for s, a in scored if s >= min_score]
    total = len(scored) if min_score is not None else int(result.count)  # type: ignore[attr-defined]
    max_score = max((s for s, _ in scored), default=None)
    addrs = [a for _, a in scored]
    columns: list[list[Any]] = []
    for spec, info in zip(sort, infos, strict=True):
        if spec.field == "_score":
            columns.append([float(s) for s, _ in scored])
        elif spec.nested:
            columns.append(_nested_column(searcher, compiled, spec, info, addrs))
        elif info is None:
            columns.append([None] * len(addrs))
        elif info.es_type == "keyword":
            ordered = searcher.search(query, max(num_docs, 1), count=False, order_by_field=info.tantivy_name)
            by_addr = {(a.segment_ord, a.doc): k for k, a in ordered.hits}
            columns.append([by_addr.get((a.segment_ord, a.doc)) for a in addrs])
        elif info.es_type in COLUMNAR_NUMERIC_TYPES:
            values = searcher.fast_field_values(info.tantivy_name, addrs) if addrs else []
            columns.append([_sort_value(v, info) for v in values])
        else:
            columns.append([None] * len(addrs))
    for idx, mode in (from_source or {}).items():
        info = infos[idx]
        assert info is not None and compiled is not None
        columns[idx] = sort_values_from_source(searcher, compiled, addrs, info, mode)
    for idx, spec in enumerate(sort):
        if spec.missing not in ("_last", "_first"):
            columns[idx] = [spec.missing if v is None else v for v in columns[idx]]
    seqs = _seq_nos(searcher, addrs)
    rows: list[tuple[Any, ...]] = []
    for i, addr in enumerate(addrs):
        row_values = tuple(col[i] for col in columns)
        rows.append((sort_key(row_values, sort), seqs[i], addr.segment_ord, addr.doc, row_values, float(scored[i][0])))
    if search_after is not None:
        after = sort_key(_coerce_after(search_after, sort), sort)
        rows = [r for r in rows if r[0] > after]
    rows.sort(key=lambda r: r[:4])
    hits = [PartialHit(vals, score, seg, doc, seq) for _, seq, seg, doc, vals, score in rows[:limit]]
    return ShardHits(hits, total, max_score)


def _nested_column(
    searcher: tantivy.Searcher,
    compiled: CompiledMapping | None,
    spec: SortField,
    info: FieldInfo | None,
    addrs: list[tantivy.DocAddress],
) -> list[Any]:
    import time

    from native.nested_sort import nested_sort_column
    from native.query import compile_query

    assert spec.nested is not None and compiled is not None
    resolver = compiled

    def compile_for(ast: Any, view_searcher: tantivy.Searcher, level: str) -> tantivy.Query:
        now = int(time.time() * 1000)
        return compile_query(ast, resolver, now_millis=now, searcher=view_searcher, nested_level=level)

    return nested_sort_column(
        searcher, compiled, spec.nested, spec.field, spec.mode, spec.reverse, info, addrs, compile_for
    )


def _coerce_after(search_after: Sequence[Any], sort: Sequence[SortField]) -> tuple[Any, ...]:
    if len(search_after) != len(sort):
        raise IllegalArgument(f"search_after has {len(search_after)} value(s) but sort has {len(sort)}.")
    return tuple(search_after)
