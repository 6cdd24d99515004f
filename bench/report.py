"""Results → ``<date>-<mode>.json``, ``latest.md`` (tables with ratios) and ``latency.png``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _f(v: float | None, digits: int = 2) -> str:
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    x = a / b
    return f"{x:.2f}x" if x < 1 else f"{x:.1f}x"


INGEST_HEADER = [
    "| engine | docs | seconds | docs/s | bytes on disk / doc | ÷ raw tantivy (docs/s) | ÷ SQLite (docs/s) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
]
LATENCY_HEADER = [
    "| query | Quidditch p50 / p99 / max | raw tantivy p50 / p99 / max | SQLite p50 / p99 / max | "
    "Q ÷ tantivy (p50) | Q ÷ SQLite (p50) | target p50 | meets target | Q errors |",
    "| --- | --- | --- | --- | ---: | ---: | ---: | :---: | ---: |",
]


def _ingest_rows(ing: dict[str, Any]) -> list[str]:
    lines = []
    t_rate = ing.get("tantivy", {}).get("docs_per_s")
    s_rate = ing.get("sqlite", {}).get("docs_per_s")
    for name, e in ing.items():
        if not isinstance(e, dict) or "docs_per_s" not in e:
            continue
        lines.append(
            f"| {e.get('label', name)} | {e['docs']:,} | {e['seconds']:.1f} | {e['docs_per_s']:,.0f} | "
            f"{_f(e.get('bytes_per_doc'), 0)} | {_ratio(e['docs_per_s'], t_rate)} | "
            f"{_ratio(e['docs_per_s'], s_rate)} |"
        )
    return lines


def _latency_rows(latencies: dict[str, Any], empty: float) -> list[str]:
    lines = []
    for name, row in latencies.items():
        q, t, s = row.get("quidditch") or {}, row.get("tantivy") or {}, row.get("sqlite") or {}
        target = (t.get("p50_ms") or 0) + empty + 1.0 if t.get("p50_ms") is not None else None
        meets = "-" if target is None or q.get("p50_ms") is None else ("yes" if q["p50_ms"] <= target else "no")

        def trio(d: dict[str, Any]) -> str:
            if not d or d.get("p50_ms") is None:
                return "n/a" if not d else f"failed ({d.get('errors', 0)} errors)"
            return f"{_f(d['p50_ms'])} / {_f(d['p99_ms'])} / {_f(d['max_ms'])}"

        lines.append(
            f"| {name} | {trio(q)} | {trio(t)} | {trio(s)} | {_ratio(q.get('p50_ms'), t.get('p50_ms'))} | "
            f"{_ratio(q.get('p50_ms'), s.get('p50_ms'))} | {_f(target)} | {meets} | {q.get('errors', 0)} |"
        )
    return lines


def write_json(results: dict[str, Any], out_dir: Path) -> Path:
    path = out_dir / f"{results['meta']['date']}-{results['meta']['mode']}.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return path


def markdown(r: dict[str, Any]) -> str:
    m = r["meta"]
    lines = [
        f"# Quidditch benchmark — {m['date']} ({m['mode']}, {m['docs']:,} docs)",
        "",
        f"Machine: {m['cpus']} CPUs, Python {m['python']}, tantivy-py {m['tantivy']}. Total run "
        f"{m.get('total_seconds', 0):.0f} s. Generated corpus (seed {m['seed']}), nothing downloaded.",
        "",
        "## Ingest",
        "",
        *INGEST_HEADER,
    ]
    lines += _ingest_rows(r["ingest"])
    op = r.get("orjson_parse", {})
    if op:
        lines += [
            "",
            f"Parsing every bulk body with orjson alone (split + `loads` of each line): "
            f"{op['seconds']:.2f} s = **{op['pct_of_quidditch_1_client']:.1f}%** of the 1-client "
            f"Quidditch ingest time ({op['docs_per_s']:,.0f} docs/s).",
        ]
    lines += [
        "",
        "## Query latency (ms)",
        "",
        "Quidditch over HTTP (httpx, keep-alive, 1 client) vs raw tantivy-py in-process (`Searcher.search` + "
        "fetching the hits' stored docs, or `Searcher.aggregate`) vs SQLite FTS5 in-process. "
        f"Empty Starlette request (hypercorn, same machine): p50 **{_f(r['empty_request'].get('p50_ms'), 3)}"
        f"** ms, p99 {_f(r['empty_request'].get('p99_ms'), 3)} ms. "
        "Target = raw tantivy p50 + empty request p50 + 1 ms.",
        "",
        *LATENCY_HEADER,
    ]
    lines += _latency_rows(r["latency"], r["empty_request"].get("p50_ms") or 0.0)
    tp = r.get("throughput", {})
    if tp:
        lat = tp["latency"]
        lines += [
            "",
            "## Mixed throughput",
            "",
            f"{tp['clients']} concurrent clients, {tp['seconds']} s, every query kind above at random plus "
            f"~5% `_bulk` of 50 docs: **{tp['req_per_s']:,} req/s**, {tp['requests']:,} requests, "
            f"**{tp['errors']} errors** {tp['errors_by_kind'] or ''}; latency p50 {_f(lat['p50_ms'])} ms, "
            f"p99 {_f(lat['p99_ms'])} ms, max {_f(lat['max_ms'])} ms.",
        ]
    srv = r.get("server", {})
    if srv:
        lines += [
            "",
            "## Server process",
            "",
            "| metric | value |",
            "| --- | ---: |",
            f"| start → first 200 on `GET /` | {srv['startup_s']:.2f} s |",
            f"| RSS idle (after start) | {srv['rss_idle_mib']} MiB |",
            f"| RSS after loading {m['docs']:,} docs | {srv['rss_loaded_mib']} MiB |",
            f"| RSS at end of run | {srv['rss_end_mib']} MiB |",
            f"| empty Starlette app start → first 200 | {r['empty_request'].get('startup_s', 0):.2f} s |",
        ]
    checks = r.get("checks", {})
    if checks:
        lines += [
            "",
            "## Single-shot checks (not timed)",
            "",
            "| request | status | error |",
            "| --- | ---: | --- |",
        ]
        for name, c in checks.items():
            err = (c.get("shard_error") or c.get("error") or "").replace("|", "\\|")
            lines.append(f"| {name} | {c.get('status')} | {err} |")
    lines += _prose_section(r)
    prof = r.get("profiles", {})
    for title, p in prof.items():
        lines += ["", f"## Profile: {title}", ""]
        if "error" in p or "skipped" in p:
            lines.append(p.get("error") or p.get("skipped", ""))
            continue
        lines += [
            f"py-spy --gil (samples only the thread holding the GIL), {p['samples']} samples ("
            f"{p['idle_samples_pct']}% idle waits). Top inclusive frames in server/, cluster/, native/:",
            "",
            "| frame | inclusive % |",
            "| --- | ---: |",
        ]
        lines += [f"| `{f}` | {v} |" for f, v in p["inclusive_pct"][:18]]
        lines += ["", "| frame (self) | self % |", "| --- | ---: |"]
        lines += [f"| `{f}` | {v} |" for f, v in p["self_pct"][:12]]
    if r.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {n}" for n in r["notes"]]
    return "\n".join(lines) + "\n"


def _prose_section(r: dict[str, Any]) -> list[str]:
    """The "Prose corpus" section: Debian package descriptions, the same columns as the log-corpus tables."""
    pr = r.get("prose")
    if not pr:
        return []
    lines = ["", "## Prose corpus", ""]
    if "skipped" in pr:
        return [*lines, f"Skipped: {pr['skipped']}."]
    m, p = pr["meta"], pr["meta"]["params"]
    df = p.get("df", {})
    lines += [
        f"{m['docs']:,} Debian packages (of {m['available']:,}, evenly spaced by name) from {m['source']}: "
        "name, section, priority (keyword), installed_size (long), maintainer (text + keyword), summary and "
        f"description (text); {m['ndjson_bytes'] / max(m['docs'], 1):,.0f} bytes of `_bulk` NDJSON per doc. "
        "Quidditch runs in a fresh server process. Query words picked from document frequencies in "
        f"`description`: word `{p['word']}` ({df.get('word', '?')} docs), word2 `{p['word2']}` "
        f"({df.get('word2', '?')} docs, its most frequent co-occurring mid-frequency word), phrase "
        f"`{' '.join(p['phrase'])}` (the most frequent non-stop-word bigram, {df.get('phrase_docs', '?')} docs), "
        f"wildcard `{p['prefix']}*` (from `{df.get('prefix_of', '?')}`), section `{p['section']}` (the most "
        "frequent among the docs with `word`).",
        "",
        "### Ingest",
        "",
        *INGEST_HEADER,
        *_ingest_rows(pr["ingest"]),
        "",
        "### Query latency (ms)",
        "",
        "Same engines and method as above (multi_match is `best_fields`: a dis_max of per-field OR; the wildcard "
        "is a regex query in tantivy and a prefix query in FTS5). Target = raw tantivy p50 + empty request p50 "
        "+ 1 ms.",
        "",
        *LATENCY_HEADER,
        *_latency_rows(pr["latency"], (r.get("empty_request") or {}).get("p50_ms") or 0.0),
    ]
    hits = pr.get("hits") or {}
    if hits:
        lines += [
            "",
            "Total hits per engine (one untimed request each; differences come from tokenizers, not bugs, unless "
            "large):",
            "",
            "| query | Quidditch | raw tantivy | SQLite FTS5 |",
            "| --- | ---: | ---: | ---: |",
        ]
        for name, h in hits.items():
            cells = [f"{h[k]:,}" if isinstance(h.get(k), int) else "-" for k in ("quidditch", "tantivy", "sqlite")]
            lines.append(f"| {name} | {' | '.join(cells)} |")
    if pr.get("notes"):
        lines += ["", *[f"- {n}" for n in pr["notes"]]]
    return lines


def plot(r: dict[str, Any], path: Path) -> str | None:
    """A log-scale p50 bar chart (with p99 whiskers) per query and engine; returns why not, if skipped."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: no latency plot"
    names = list(r["latency"])
    engines = [("quidditch", "Quidditch (HTTP)"), ("tantivy", "raw tantivy-py"), ("sqlite", "SQLite FTS5")]
    fig, ax = plt.subplots(figsize=(12, 6))
    width = 0.27
    for k, (key, label) in enumerate(engines):
        xs, p50, err = [], [], []
        for i, n in enumerate(names):
            d = r["latency"][n].get(key) or {}
            if d.get("p50_ms") is None:
                continue
            xs.append(i + (k - 1) * width)
            p50.append(max(d["p50_ms"], 1e-3))
            err.append(max(d["p99_ms"] - d["p50_ms"], 0))
        ax.bar(xs, p50, width, yerr=[[0] * len(err), err], capsize=2, label=label)
    empty = r["empty_request"].get("p50_ms")
    if empty:
        ax.axhline(
            empty,
            color="grey",
            linestyle="--",
            linewidth=1,
            label=f"empty Starlette request p50 ({empty:.2f} ms)",
        )
    ax.set_yscale("log")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=30, ha="right")
    ax.set_ylabel("latency, ms (bar p50, whisker p99; log scale)")
    m = r["meta"]
    ax.set_title(f"Query latency — {m['docs']:,} docs, {m['mode']} run {m['date']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
