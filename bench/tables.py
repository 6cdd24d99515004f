"""Markdown tables shared by the log-corpus and prose-corpus sections: ingest, query latency, hits per engine."""

from __future__ import annotations

from typing import Any

from bench.totals import format_total


def fmt(v: float | None, digits: int = 2) -> str:
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    x = a / b
    return f"{x:.2f}x" if x < 1 else f"{x:.1f}x"


INGEST_HEADER = [
    "| engine | docs | seconds | docs/s | bytes on disk / doc | ÷ raw tantivy (docs/s) | "
    "÷ raw + ES metadata (docs/s) | ÷ SQLite (docs/s) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
]
INGEST_NOTE = (
    "÷ raw tantivy is against bare `add_json` of the same fields (what the ingest target is defined against); "
    "÷ raw + ES metadata is against `add_json` of the same documents plus the fields every document carries in "
    "Quidditch's shard schema (`_id` with 20-character ids, `_source` as the original JSON, `_seq_no`, "
    "`_version`, `_primary_term`): the engine's floor for ES-shaped documents."
)
LATENCY_HEADER = [
    "| query | Quidditch p50 / p99 / max | raw tantivy p50 / p99 / max | SQLite p50 / p99 / max | "
    "Q ÷ tantivy (p50) | Q ÷ SQLite (p50) | Q ÷ (SQLite + HTTP floor) (p50) | target p50 | meets target | "
    "Q errors |",
    "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | :---: | ---: |",
]
LATENCY_NOTE = (
    "Every engine computes the same answer: the top hits (their stored documents) and `hits.total` as ES's "
    "default `track_total_hits` defines it (exact up to 10,000, else `≥ 10,000`); SQLite counts at most "
    "10,001 matches in the same timed call, raw tantivy counts every match (`search(count=True)`). "
    "Q ÷ (SQLite + HTTP floor) divides Quidditch's p50 by SQLite's p50 plus the empty-request p50 of this run, "
    "as SQLite runs in-process and pays no HTTP. Target = raw tantivy p50 + empty request p50 + 1 ms."
)


def ingest_rows(ing: dict[str, Any]) -> list[str]:
    lines = []
    t_rate = ing.get("tantivy", {}).get("docs_per_s")
    m_rate = ing.get("tantivy_es_meta", {}).get("docs_per_s")
    s_rate = ing.get("sqlite", {}).get("docs_per_s")
    for name, e in ing.items():
        if not isinstance(e, dict) or "docs_per_s" not in e:
            continue
        lines.append(
            f"| {e.get('label', name)} | {e['docs']:,} | {e['seconds']:.1f} | {e['docs_per_s']:,.0f} | "
            f"{fmt(e.get('bytes_per_doc'), 0)} | {ratio(e['docs_per_s'], t_rate)} | "
            f"{ratio(e['docs_per_s'], m_rate)} | {ratio(e['docs_per_s'], s_rate)} |"
        )
    return lines


def _trio(d: dict[str, Any]) -> str:
    if not d or d.get("p50_ms") is None:
        return "n/a" if not d else f"failed ({d.get('errors', 0)} errors)"
    return f"{fmt(d['p50_ms'])} / {fmt(d['p99_ms'])} / {fmt(d['max_ms'])}"


def cached_rows(cached: dict[str, Any], latencies: dict[str, Any]) -> list[str]:
    """Size-0 queries answered with the shard request cache, beside the raw engine computing them."""
    lines = ["| query | Quidditch, request cache on: p50 / p99 / max | ÷ raw tantivy (p50) |", "| --- | --- | ---: |"]
    for name, c in cached.items():
        raw = (latencies.get(name) or {}).get("tantivy") or {}
        lines.append(f"| {name} | {_trio(c)} | {ratio(c.get('p50_ms'), raw.get('p50_ms'))} |")
    return lines


def latency_rows(latencies: dict[str, Any], empty: float) -> list[str]:
    """One row per query; ``empty`` is the empty-request p50 (ms) of the same run."""
    lines = []
    for name, row in latencies.items():
        q, t, s = row.get("quidditch") or {}, row.get("tantivy") or {}, row.get("sqlite") or {}
        q50, t50, s50 = q.get("p50_ms"), t.get("p50_ms"), s.get("p50_ms")
        target = t50 + empty + 1.0 if t50 is not None else None
        meets = "-" if target is None or q50 is None else ("yes" if q50 <= target else "no")
        lines.append(
            f"| {name} | {_trio(q)} | {_trio(t)} | {_trio(s)} | {ratio(q50, t50)} | {ratio(q50, s50)} | "
            f"{ratio(q50, s50 + empty if s50 is not None else None)} | {fmt(target)} | {meets} | "
            f"{q.get('errors', 0)} |"
        )
    return lines


def totals_rows(hits: dict[str, Any]) -> list[str]:
    """The ES-shaped ``hits.total`` of each engine per hit-returning query."""
    lines = [
        "| query | Quidditch | raw tantivy | SQLite FTS5 |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, h in hits.items():
        cells = [format_total(h.get(k)) for k in ("quidditch", "tantivy", "sqlite")]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return lines
