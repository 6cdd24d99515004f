"""Every value of some columns for each matching document, aligned per document.

Most kinds read one column at a time (tantivy's own aggregations, ``fast_field_values`` for the first
value); the kinds that pair values *within one document* (``weighted_avg``'s value and weight,
``matrix_stats``'s fields, ``ip_prefix``'s addresses) need every value of several columns per document.
Tantivy's ``top_hits`` with ``docvalue_fields`` gives exactly that, in one pass over the matching docs
(about 0.1 s for 50 k docs).
"""

from __future__ import annotations

from typing import Any

import tantivy

from native.aggs.execute import ShardContext
from native.fields import FieldInfo
from native.search import count_matches


def doc_values(ctx: ShardContext, query: tantivy.Query, columns: list[str]) -> list[dict[str, list[Any]]]:
    """For each doc matching ``query``: ``{column: [values...]}`` (a column without values is absent)."""
    if not columns:
        return []
    size = count_matches(ctx.searcher, query)  # documents, not ``_doc_count`` weights
    if size == 0:
        return []
    request = {"top_hits": {"size": size, "sort": [], "docvalue_fields": sorted(set(columns))}}
    hits = ctx.aggregate(query, {"t": request})["t"]["hits"]
    out: list[dict[str, list[Any]]] = []
    for hit in hits:
        values = hit.get("docvalue_fields") or {}
        out.append({name: [v for v in vals if v is not None] for name, vals in values.items() if vals})
    return out


def all_values(ctx: ShardContext, info: FieldInfo, query: tantivy.Query) -> list[float]:
    """Every value (all values of multi-valued docs) of a numeric field among the docs matching ``query``."""
    out: list[float] = []
    for row in doc_values(ctx, query, [info.tantivy_name]):
        out.extend(float(v) for v in row.get(info.tantivy_name, ()))
    return out
