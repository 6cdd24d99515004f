"""Results → ``<date>-<mode>.json``, ``latest.md`` (tables with ratios) and ``latency.png``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import targets
from bench.tables import (
    INGEST_HEADER,
    INGEST_NOTE,
    LATENCY_HEADER,
    LATENCY_NOTE,
    cached_rows,
    fmt,
    ingest_rows,
    latency_rows,
    totals_rows,
)


def write_json(results: dict[str, Any], out_dir: Path) -> Path:
    path = out_dir / f"{results['meta']['date']}-{results['meta']['mode']}.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return path


def _parts(parts: dict[str, float] | None) -> str:
    """RSS split into heap (anonymous) and mapped index files (file-backed pages the kernel can drop)."""
    if not parts:
        return ""
    return f" ({parts['anon']} heap + {parts['file']} mapped files)"


def markdown(r: dict[str, Any]) -> str:
    m = r["meta"]
    lines = [
        f"# Quidditch benchmark — {m['date']} ({m['mode']}, {m['docs']:,} docs)",
        "",
        f"Machine: {m['cpus']} CPUs, Python {m['python']}, tantivy-py {m['tantivy']}. Total run "
        f"{m.get('total_seconds', 0):.0f} s. Generated corpus (seed {m['seed']}), nothing downloaded.",
        "",
        *targets.section(r),
        "",
        "## Ingest",
        "",
        INGEST_NOTE,
        "",
        *INGEST_HEADER,
    ]
    lines += ingest_rows(r["ingest"])
    op = r.get("orjson_parse", {})
    if op:
        lines += [
            "",
            f"Parsing every bulk body with orjson alone (split + `loads` of each line): "
            f"{op['seconds']:.2f} s = **{op['pct_of_quidditch_1_client']:.1f}%** of the 1-client "
            f"Quidditch ingest time ({op['docs_per_s']:,.0f} docs/s).",
        ]
    fm = r.get("forcemerge")
    if fm:
        lines += [
            "",
            f"After loading, the `logs` index is force-merged (`POST /logs/_forcemerge?max_num_segments=1`, as "
            f"Rally's tracks do; the raw tantivy index got one commit): {fm.get('segments_before')} → "
            f"{fm.get('segments_after')} segments in {fm.get('seconds')} s, before the queries below.",
        ]
    lines += [
        "",
        "## Query latency (ms)",
        "",
        "Quidditch over HTTP (httpx, keep-alive, 1 client) vs raw tantivy-py in-process (`Searcher.search` + "
        "fetching the hits' stored docs, or `Searcher.aggregate`) vs SQLite FTS5 in-process. "
        f"Empty Starlette request (hypercorn, same machine): p50 **{fmt(r['empty_request'].get('p50_ms'), 3)}"
        f"** ms, p99 {fmt(r['empty_request'].get('p99_ms'), 3)} ms (the HTTP floor).",
        "",
        LATENCY_NOTE,
        "",
        *LATENCY_HEADER,
    ]
    lines += latency_rows(r["latency"], r["empty_request"].get("p50_ms") or 0.0)
    if r.get("cached"):
        lines += [
            "",
            "Quidditch's size-0 requests above are sent with `?request_cache=false`, so every repetition is "
            "computed, as the baselines compute theirs. By default ES (and Quidditch) answer a repeated size-0 "
            "request from the shard request cache until the next refresh; the same requests that way "
            "(p50 / p99 / max ms):",
            "",
            *cached_rows(r["cached"], r["latency"]),
        ]
    if r.get("hits"):
        lines += [
            "",
            "`hits.total` per engine, as each timed call returns it (one untimed call each; `≥ 10,000` is "
            '`{"value": 10000, "relation": "gte"}`):',
            "",
            *totals_rows(r["hits"]),
        ]
    tp = r.get("throughput", {})
    if tp:
        lat = tp["latency"]
        lines += [
            "",
            "## Mixed throughput",
            "",
            f"{tp['clients']} concurrent clients, {tp['seconds']} s, every query kind above at random plus "
            f"~5% `_bulk` of 50 docs: **{tp['req_per_s']:,} req/s**, {tp['requests']:,} requests, "
            f"**{tp['errors']} errors** {tp['errors_by_kind'] or ''}; latency p50 {fmt(lat['p50_ms'])} ms, "
            f"p99 {fmt(lat['p99_ms'])} ms, max {fmt(lat['max_ms'])} ms.",
        ]
    nf = r.get("new_field")
    if nf:
        sl = nf["search_latency"]
        lines += [
            "",
            "## A new field on the loaded index",
            "",
            f"One document with a field the mapping lacks (dynamic mapping adds it), then a `_bulk` of "
            f"{nf['bulk_docs']:,} documents with it, then `_refresh`, while one client sends the `term` query "
            "without pause. The shard rebuilds its index for the new field in the background; `_refresh` returns "
            "once the field is searchable.",
            "",
            "| step | value |",
            "| --- | ---: |",
            f"| the write bringing the field | {nf['write_s'] * 1000:,.1f} ms |",
            f"| `_bulk` of {nf['bulk_docs']:,} documents with it, meanwhile | {nf['bulk_s'] * 1000:,.1f} ms |",
            f"| `_refresh` (until the field is searchable) | {nf['refresh_s']:.1f} s |",
            f"| searches meanwhile: p50 / p99 / max | {fmt(sl['p50_ms'])} / {fmt(sl['p99_ms'])} / "
            f"{fmt(sl['max_ms'])} ms ({nf['search_errors']} errors) |",
            f"| documents found on the new field afterwards | {nf['found'] or 0:,} of {nf['bulk_docs']:,} |",
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
            f"| RSS idle (after start) | {srv['rss_idle_mib']} MiB{_parts(srv.get('rss_idle_parts_mib'))} |",
            f"| RSS after loading {m['docs']:,} docs | {srv['rss_loaded_mib']} MiB"
            f"{_parts(srv.get('rss_loaded_parts_mib'))} |",
            f"| RSS at end of run | {srv['rss_end_mib']} MiB{_parts(srv.get('rss_end_parts_mib'))} |",
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
        *ingest_rows(pr["ingest"]),
        "",
        "### Query latency (ms)",
        "",
        "Same engines, method and answer as above (top hits + `hits.total`; multi_match is `best_fields`: a "
        "dis_max of per-field OR; the wildcard is a regex query in tantivy and a prefix query in FTS5). "
        "Target = raw tantivy p50 + empty request p50 + 1 ms; the HTTP floor is the same empty-request p50.",
        "",
        *LATENCY_HEADER,
        *latency_rows(pr["latency"], (r.get("empty_request") or {}).get("p50_ms") or 0.0),
    ]
    hits = pr.get("hits") or {}
    if hits:
        lines += [
            "",
            "Exact total hits per engine (one untimed request each, Quidditch with `track_total_hits: true`; "
            "differences come from tokenizers, not bugs, unless large):",
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
