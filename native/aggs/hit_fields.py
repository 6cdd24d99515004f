"""``stored_fields``, ``docvalue_fields`` and ``fields`` of ``top_hits``: the ``fields`` object of each hit.

Values come from the hit's ``_source`` read through the mapping (as the search-level ``docvalue_fields``
does in ``cluster.doc_fields``): dates rendered in the requested format (``strict_date_optional_time`` by
default), numbers converted to the field's type, always lists. ``stored_fields`` returns the fields
mapped with ``store: true`` (``_none_`` turns ``_source`` and metadata fetching off as in ES);
``docvalue_fields`` refuses ``text`` fields as ES does (no doc values); ``fields`` (the fields API) takes
every mapped field. A search's own ``fields`` also apply to the ``top_hits`` of its aggregations, as in
ES (the request parser copies them into each ``top_hits`` that has none).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping as MappingABC
from typing import Any

from native.errors import IllegalArgument
from native.schema import flatten_source


def parse_docvalue_fields(raw: Any) -> tuple[tuple[str, str | None], ...]:
    items = raw if isinstance(raw, list) else [raw]
    out: list[tuple[str, str | None]] = []
    for item in items:
        if isinstance(item, str):
            out.append((item, None))
        elif isinstance(item, dict) and isinstance(item.get("field"), str):
            fmt = item.get("format")
            out.append((item["field"], fmt if isinstance(fmt, str) else None))
        else:
            raise IllegalArgument(f"Unexpected value for [docvalue_fields]: [{item}]")
    return tuple(out)


def parse_stored_fields(raw: Any) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    if not all(isinstance(i, str) for i in items):
        raise IllegalArgument("[stored_fields] must be a string or an array of strings")
    return tuple(items)


def hit_fields(
    mapping: Any,
    source: MappingABC[str, Any],
    stored: tuple[str, ...],
    docvalue: tuple[tuple[str, str | None], ...],
    fetch: tuple[tuple[str, str | None], ...] = (),
) -> dict[str, list[Any]]:
    """The ``fields`` of one hit (empty when nothing was asked or found)."""
    if mapping is None or (not stored and not docvalue and not fetch):
        return {}
    from native.mapping import convert_value

    flat = flatten_source(source)
    out: dict[str, list[Any]] = {}
    for leaf in mapping.iter_leaves():
        fmt: str | None = None
        wanted = False
        for pattern, f in docvalue:
            if fnmatch.fnmatchcase(leaf.path, pattern):
                if leaf.type == "text":
                    raise IllegalArgument(
                        f"Text fields are not optimised for operations that require per-document field data like "
                        f"aggregations and sorting, so these operations are disabled by default. Please use a "
                        f"keyword field instead. Alternatively, set fielddata=true on [{leaf.path}] in order to load "
                        f"field data by uninverting the inverted index. Note that this can use significant memory."
                    )
                wanted, fmt = True, f
                break
        if not wanted:
            for pattern, f in fetch:
                if fnmatch.fnmatchcase(leaf.path, pattern):
                    wanted, fmt = True, f
                    break
        if not wanted and str(leaf.params.get("store", False)).lower() == "true":
            wanted = any(fnmatch.fnmatchcase(leaf.path, pattern) for pattern in stored if pattern != "_none_")
        if not wanted:
            continue
        values = []
        for value in flat.get(leaf.source_path, []):
            try:
                converted = convert_value(leaf, value, None)
            except Exception:  # a malformed value kept by ignore_malformed has no doc value
                continue
            if converted is None:
                continue
            if leaf.type == "date_nanos":
                from native.date_nanos import format_date_nanos

                pattern = fmt or str(leaf.params.get("format", "strict_date_optional_time_nanos"))
                converted = format_date_nanos(int(converted), pattern)
            elif leaf.type == "date":
                from native.dates import format_date

                pattern = fmt or "strict_date_optional_time"
                converted = format_date(int(converted), pattern)
            elif leaf.type in ("ip", "geo_point") or isinstance(converted, tuple):
                converted = value
            values.append(converted)
        if values:
            out[leaf.path] = values
    return out
