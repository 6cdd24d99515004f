"""Sorting on multi-valued fields: ES's sort ``mode`` (``min`` ascending, ``max`` descending by default;
``sum``, ``avg``, ``median`` on numbers).

The fast columns give one value per document (the first indexed), which is exact for single-valued fields.
Per searcher, a field counts as multi-valued when its value count exceeds the number of documents holding
it (one aggregation, cached per searcher and field). A sort on such a field takes this path: the values of
every matching document are read from ``_source`` (as the field indexes them: numbers, dates in epoch
milliseconds, booleans as 0/1, keywords normalized), reduced by the mode, then sorted as
``native.search`` sorts (missing values, ``search_after``, ties in index order). Its cost grows with the
number of matches: past ``native.search.MAX_SOURCE_SORT`` matches on a shard the first value is the key.
"""

from __future__ import annotations

import statistics
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import orjson
import tantivy

from native import dates
from native.date_nanos import parse_date_nanos
from native.fields import COLUMNAR_NUMERIC_TYPES, SEQ_NO_FIELD, SOURCE_FIELD, FieldInfo
from native.schema import CompiledMapping, flatten_source

__all__ = ["MODES", "multi_valued", "sort_values_from_source"]

MODES = ("min", "max", "sum", "avg", "median")
_CACHE_SIZE = 16
_cache: OrderedDict[tuple[int, str], tuple[tantivy.Searcher, bool]] = OrderedDict()
_lock = threading.Lock()


def multi_valued(searcher: tantivy.Searcher, info: FieldInfo) -> bool:
    """Whether some document of this searcher holds several values of ``info``'s column."""
    if info.es_type not in COLUMNAR_NUMERIC_TYPES and info.es_type != "keyword":
        return False
    key = (id(searcher), info.tantivy_name)
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] is searcher:
            _cache.move_to_end(key)
            return hit[1]
    exists = tantivy.Query.exists_query(info.tantivy_name)
    try:
        values = searcher.aggregate(exists, {"n": {"value_count": {"field": info.tantivy_name}}})["n"]["value"]
        docs = searcher.aggregate(exists, {"n": {"value_count": {"field": SEQ_NO_FIELD}}})["n"]["value"]
    except ValueError:
        return False
    answer = int(values or 0) > int(docs or 0)
    with _lock:
        _cache[key] = (searcher, answer)  # the searcher is kept so that its id is not reused meanwhile
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return answer


def _typed(info: FieldInfo, value: Any) -> Any:
    if value is None or isinstance(value, dict | list):
        return None
    try:
        if info.es_type == "keyword":
            text = ("true" if value else "false") if isinstance(value, bool) else str(value)
            if info.ignore_above is not None and len(text) > info.ignore_above:
                return None
            if info.analyze is not None:
                tokens = list(info.analyze(text))
                return tokens[0] if tokens else None
            return text
        if info.extra.get("column_nanos"):  # a date_nanos key (native.date_nanos)
            return parse_date_nanos(value, info.date_formats)
        if info.es_type == "date":
            return int(dates.parse_date(value, info.date_formats))
        if info.es_type == "boolean":
            return int(value in (True, "true"))
        if info.es_type in ("double", "float", "half_float", "scaled_float"):
            return float(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value  # exact (``unsigned_long`` values past 2^53)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None  # ignore_malformed values are not indexed either
    except Exception:  # a date the field's formats cannot read: not indexed either
        return None


def _reduce(values: list[Any], mode: str) -> Any:
    if not values:
        return None
    if mode == "min":
        return min(values)
    if mode == "max":
        return max(values)
    if isinstance(values[0], str):  # sum / avg / median make no sense on strings: ES refuses, keep min
        return min(values)
    if mode == "sum":
        total = sum(values)
        return max(-(2**63), min(2**64 - 1, total)) if isinstance(total, int) else total  # a 64-bit key
    reduced = sum(values) / len(values) if mode == "avg" else statistics.median(values)
    if all(isinstance(v, int) for v in values):  # a long column's average is a long (Java's truncation)
        return int(reduced)
    return reduced


def sort_values_from_source(
    searcher: tantivy.Searcher,
    compiled: CompiledMapping,
    addrs: Sequence[tantivy.DocAddress],
    info: FieldInfo,
    mode: str,
) -> list[Any]:
    """Each document's sort key on ``info`` under ``mode`` (None: no value)."""
    if info.es_type == "text":  # a ``fielddata`` text field: its analyzed terms (``native.fielddata``)
        from native.fielddata import doc_terms

        return [_reduce(list(terms), mode) for terms in doc_terms(searcher, compiled, addrs=addrs, info=info)]
    leaf = compiled.mapping.leaf(info.path)
    path = leaf.source_path if leaf is not None else info.path
    out = []
    for addr in addrs:
        source = orjson.loads(bytes(searcher.doc(addr).to_dict()[SOURCE_FIELD][0]))
        raw = flatten_source(source).get(path, [])
        typed = [t for t in (_typed(info, v) for v in raw) if t is not None]
        out.append(_reduce(typed, mode))
    return out
