"""``hits.total`` as Elasticsearch computes it by default: the part of the answer every engine must compute too.

A ``_search`` without ``track_total_hits`` counts matches exactly up to 10,000 and otherwise answers
``{"value": 10000, "relation": "gte"}``. A baseline that only fetches its top rows does less work than the request
it is compared with, so every hit-returning baseline query also produces this total in the same timed call:
SQLite counts at most 10,001 matching rows (``capped_count_sql``); tantivy-py's ``Searcher.search(count=True)``
counts every match, which is at least as much work.
"""

from __future__ import annotations

from typing import Any

import orjson

TRACK_TOTAL_HITS = 10_000  # ES's default ``track_total_hits``


def es_total(counted: int) -> dict[str, Any]:
    """The ``hits.total`` object for ``counted`` matches (``counted`` may itself stop at 10,001)."""
    if counted > TRACK_TOTAL_HITS:
        return {"value": TRACK_TOTAL_HITS, "relation": "gte"}
    return {"value": counted, "relation": "eq"}


def capped_count_sql(from_where: str) -> str:
    """``SELECT count(*)`` over at most 10,001 rows of ``FROM … WHERE …``: enough to tell ``eq`` from ``gte``."""
    return f"SELECT count(*) FROM (SELECT 1 {from_where} LIMIT {TRACK_TOTAL_HITS + 1})"


def format_total(total: Any) -> str:
    """``1,234`` or ``≥ 10,000`` for a ``hits.total`` object (``-`` when missing)."""
    if not isinstance(total, dict) or not isinstance(total.get("value"), int):
        return "-"
    prefix = "≥ " if total.get("relation") == "gte" else ""
    return f"{prefix}{total['value']:,}"


def quidditch_total(c: Any, index: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """``hits.total`` of one untimed ``_search`` with ``body`` as measured (``c``: an ``httpx.Client``)."""
    r = c.post(f"/{index}/_search", content=orjson.dumps(body), headers={"content-type": "application/json"})
    if r.status_code != 200:
        return None
    total = r.json().get("hits", {}).get("total")
    return total if isinstance(total, dict) else None


def returns_hits(body: dict[str, Any]) -> bool:
    """Whether an ES request body asks for hits (``size`` defaults to 10)."""
    return int(body.get("size", 10)) > 0
