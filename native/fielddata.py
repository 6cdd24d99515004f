"""Fielddata of ``text`` fields mapped with ``fielddata: true``: each document's analyzed terms, in memory.

A text field has no column, so a sort on it needs every matching document's terms. ES un-inverts them into
an in-memory structure per segment reader, loaded on first use and dropped with the reader. Here the cache
is per searcher (a refresh gives a new searcher, whose fielddata starts empty): on first use a document's
terms are read from ``_source`` and analyzed with the field's analyzer, then kept, sorted and deduplicated
(ES's fielddata is the set of a document's terms in byte order). The sort key is the minimum term ascending
and the maximum descending (ES's default ``mode`` for a multi-valued field).

Memory is measured, not estimated from the mapping: the UTF-8 bytes of every kept term, plus 8 bytes per
loaded document (the reference to its term tuple) and 8 per term (the reference to the term), per field.
``_stats``/``_cat/fielddata``/``_nodes/stats`` report it; ``_cache/clear?fielddata=true`` drops it. Only a
bounded number of searchers are kept; a replaced one is dropped (ES drops the fielddata of closed readers
the same way, without counting evictions).
"""

from __future__ import annotations

import fnmatch
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import orjson
import tantivy

from native.fields import SOURCE_FIELD, FieldInfo
from native.schema import CompiledMapping, flatten_source

__all__ = ["clear", "doc_terms", "memory"]

_SEARCHERS_KEPT = 16
_REF_BYTES = 8


class _SearcherData:
    """The loaded fielddata of one searcher: field path → (segment, doc) → sorted terms, and their bytes."""

    __slots__ = ("bytes", "fields", "searcher")

    def __init__(self, searcher: tantivy.Searcher) -> None:
        self.searcher = searcher  # kept so that its id is not reused while the entry lives
        self.fields: dict[str, dict[tuple[int, int], tuple[str, ...]]] = {}
        self.bytes: dict[str, int] = {}


_cache: OrderedDict[int, _SearcherData] = OrderedDict()
_lock = threading.Lock()


def _entry(searcher: tantivy.Searcher, create: bool) -> _SearcherData | None:
    key = id(searcher)
    with _lock:
        data = _cache.get(key)
        if data is not None and data.searcher is searcher:
            _cache.move_to_end(key)
            return data
        if not create:
            return None
        data = _SearcherData(searcher)
        _cache[key] = data
        while len(_cache) > _SEARCHERS_KEPT:
            _cache.popitem(last=False)
        return data


def _analyze(info: FieldInfo, value: Any) -> list[str]:
    if value is None or isinstance(value, dict | list):
        return []
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    if info.analyze is None:
        return [text]
    return list(info.analyze(text))


def doc_terms(
    searcher: tantivy.Searcher, compiled: CompiledMapping, info: FieldInfo, addrs: Sequence[tantivy.DocAddress]
) -> list[tuple[str, ...]]:
    """Each document's analyzed terms of ``info`` (sorted, distinct), loading the missing ones into the cache."""
    data = _entry(searcher, create=True)
    assert data is not None
    leaf = compiled.mapping.leaf(info.path)
    path = leaf.source_path if leaf is not None else info.path
    with _lock:
        loaded = data.fields.setdefault(info.path, {})
        missing = [a for a in addrs if (a.segment_ord, a.doc) not in loaded]
    fresh: dict[tuple[int, int], tuple[str, ...]] = {}
    for addr in missing:
        source = orjson.loads(bytes(searcher.doc(addr).to_dict()[SOURCE_FIELD][0]))
        values = flatten_source(source).get(path, [])
        fresh[(addr.segment_ord, addr.doc)] = tuple(sorted({t for v in values for t in _analyze(info, v)}))
    with _lock:
        for key, kept in fresh.items():
            if key not in loaded:
                loaded[key] = kept
                size = _REF_BYTES + sum(len(t.encode()) + _REF_BYTES for t in kept)
                data.bytes[info.path] = data.bytes.get(info.path, 0) + size
        return [loaded[(a.segment_ord, a.doc)] for a in addrs]


def memory(searcher: tantivy.Searcher) -> dict[str, int]:
    """Field path → bytes of the fielddata loaded on ``searcher`` (fields with none loaded are left out)."""
    data = _entry(searcher, create=False)
    if data is None:
        return {}
    with _lock:
        return {f: n for f, n in data.bytes.items() if n}


def clear(searcher: tantivy.Searcher, fields: Sequence[str] | None = None) -> None:
    """Drop the fielddata loaded on ``searcher`` (of the fields matching the ``fields`` patterns, when given)."""
    data = _entry(searcher, create=False)
    if data is None:
        return
    with _lock:
        names = [f for f in data.fields if fields is None or any(fnmatch.fnmatchcase(f, p) for p in fields)]
        for name in names:
            del data.fields[name]
            data.bytes.pop(name, None)
