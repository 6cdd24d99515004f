"""The performance targets of issue #4, checked against one run's results (the dict written as JSON).

One ``Target`` per issue target: its wording, the values measured in the run and whether it is met. Only numbers
from the results are used, so an older results file is checked the same way (a missing number → not measured).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bench.tables import fmt, ratio

INGEST_MIN = 0.7  # times raw tantivy add_json docs/s
TERM_SLACK_MS = 1.0  # over raw tantivy p50 + empty request p50
AGG_MAX = 2.0  # times raw Searcher.aggregate p50
IDLE_RSS_MAX_MB = 150.0
FIRST_200_MAX_S = 2.0
MB_PER_MIB = 1.048576


@dataclass(frozen=True)
class Target:
    target: str
    measured: str
    met: bool | None  # None: not measured in this run
    note: str = ""

    @property
    def status(self) -> str:
        word = "not measured" if self.met is None else ("met" if self.met else "not met")
        return f"{word} ({self.note})" if self.note else word

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status}


def _p50(row: dict[str, Any], engine: str) -> float | None:
    d = row.get(engine) or {}
    v = d.get("p50_ms")
    return float(v) if v is not None else None


def _rate(ing: dict[str, Any], key: str) -> float | None:
    v = (ing.get(key) or {}).get("docs_per_s")
    return float(v) if v else None


def _ingest(r: dict[str, Any]) -> Target:
    ing = r.get("ingest", {})
    raw, meta = _rate(ing, "tantivy"), _rate(ing, "tantivy_es_meta")
    parts, meta_parts, ratios = [], [], []
    for key, label in (("quidditch_1", "1 client"), ("quidditch_4", "4 clients")):
        q = _rate(ing, key)
        if q is None or raw is None:
            continue
        ratios.append(q / raw)
        parts.append(f"{label} {ratio(q, raw)} ({q:,.0f} ÷ {raw:,.0f} docs/s)")
        if meta is not None:
            meta_parts.append(f"{label} {ratio(q, meta)}")
    measured = "; ".join(parts) or "-"
    if meta_parts:
        measured += f"; ÷ raw + ES metadata ({meta:,.0f} docs/s): " + ", ".join(meta_parts)
    met = all(x >= INGEST_MIN for x in ratios) if ratios else None
    return Target(f"ingest ≥ {INGEST_MIN}x raw tantivy `add_json` (docs/s)", measured, met)


def _term(r: dict[str, Any]) -> Target:
    row = r.get("latency", {}).get("term") or {}
    q, t = _p50(row, "quidditch"), _p50(row, "tantivy")
    empty = (r.get("empty_request") or {}).get("p50_ms")
    text = f"term p50 ≤ raw tantivy p50 + empty Starlette request p50 + {TERM_SLACK_MS:g} ms"
    if q is None or t is None or empty is None:
        return Target(text, "-", None)
    target = t + empty + TERM_SLACK_MS
    measured = f"p50 {fmt(q)} ms vs target {fmt(target)} ms = {fmt(t)} + {fmt(empty, 3)} + {TERM_SLACK_MS:g}"
    if q > target:
        measured += f" ({fmt(q - target)} ms over)"
    return Target(text, measured, q <= target)


def _corpora(r: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(name prefix, section) for the log corpus and, when it ran, the prose corpus."""
    out = [("", r)]
    pr = r.get("prose") or {}
    if "latency" in pr:
        out.append(("prose/", pr))
    return out


def _aggregations(r: dict[str, Any]) -> Target:
    parts, ratios = [], []
    for prefix, sec in _corpora(r):
        for name, row in sec.get("latency", {}).items():
            if "aggs" not in (row.get("request") or {}):
                continue
            q, t = _p50(row, "quidditch"), _p50(row, "tantivy")
            if q is None or t is None or t == 0:
                parts.append(f"{prefix}{name} -")
                continue
            ratios.append(q / t)
            parts.append(f"{prefix}{name} {ratio(q, t)}" + (" (over)" if q / t > AGG_MAX else ""))
    met = all(x <= AGG_MAX for x in ratios) if ratios else None
    return Target(f"aggregations p50 ≤ {AGG_MAX:g}x raw `Searcher.aggregate` p50", ", ".join(parts) or "-", met)


def _sqlite(r: dict[str, Any]) -> Target:
    """Every workload both engines run: the latency rows SQLite has, and ingest (docs/s, no HTTP floor)."""
    empty = (r.get("empty_request") or {}).get("p50_ms") or 0.0
    slower, slower_floor, n = [], [], 0
    for prefix, sec in _corpora(r):
        ing = sec.get("ingest", {})
        s_rate = _rate(ing, "sqlite")
        for key, label in (("quidditch_1", "ingest 1 client"), ("quidditch_4", "ingest 4 clients")):
            q_rate = _rate(ing, key)
            if q_rate is None or s_rate is None:
                continue
            n += 1
            if q_rate < s_rate:
                item = f"{prefix}{label} {ratio(s_rate, q_rate)}"
                slower.append(item)
                slower_floor.append(item)
        for name, row in sec.get("latency", {}).items():
            q, s = _p50(row, "quidditch"), _p50(row, "sqlite")
            if q is None or s is None:
                continue
            n += 1
            if q > s:
                slower.append(f"{prefix}{name} {ratio(q, s)}")
            if q > s + empty:
                slower_floor.append(f"{prefix}{name} {ratio(q, s + empty)}")
    if n == 0:
        return Target("faster than SQLite FTS5 on every workload both can run", "-", None)

    def listing(items: list[str]) -> str:
        return f"slower on {len(items)} of {n} workloads, by: {', '.join(items)}" if items else f"faster on all {n}"

    measured = (
        f"{listing(slower)}. With the HTTP floor ({fmt(empty, 3)} ms) added to SQLite's p50: {listing(slower_floor)}"
    )
    note = "met with the HTTP floor" if slower and not slower_floor else ""
    return Target("faster than SQLite FTS5 on every workload both can run", measured, not slower, note)


def _idle_rss(r: dict[str, Any]) -> Target:
    mib = (r.get("server") or {}).get("rss_idle_mib")
    text = f"idle RSS < {IDLE_RSS_MAX_MB:g} MB"
    if mib is None:
        return Target(text, "-", None)
    mb = mib * MB_PER_MIB
    return Target(text, f"{mib} MiB = {mb:.1f} MB (after start, no index)", mb < IDLE_RSS_MAX_MB)


def _first_200(r: dict[str, Any]) -> Target:
    times = []
    s = (r.get("server") or {}).get("startup_s")
    if s is not None:
        times.append(("log-corpus server", float(s)))
    s = ((r.get("prose") or {}).get("meta") or {}).get("startup_s")
    if s is not None:
        times.append(("prose server", float(s)))
    text = f"first 200 on `GET /` within {FIRST_200_MAX_S:g} s of start"
    if not times:
        return Target(text, "-", None)
    measured = ", ".join(f"{who} {t:.2f} s" for who, t in times)
    return Target(text, measured, all(t <= FIRST_200_MAX_S for _, t in times))


def evaluate(r: dict[str, Any]) -> list[Target]:
    return [_ingest(r), _term(r), _aggregations(r), _sqlite(r), _idle_rss(r), _first_200(r)]


def section(r: dict[str, Any]) -> list[str]:
    """The markdown "Targets" section."""
    lines = [
        "## Targets",
        "",
        "Issue #4's targets against this run's numbers (log corpus; `prose/` marks the prose corpus). Latency "
        "compares p50s; ingest compares docs/s (the HTTP floor is not applied to ingest).",
        "",
        "| target | measured | status |",
        "| --- | --- | --- |",
    ]
    for t in evaluate(r):
        measured = t.measured.replace("|", "\\|")
        status = t.status if t.met is not False else f"**{t.status}**"
        lines.append(f"| {t.target} | {measured} | {status} |")
    return lines
