"""The prose-corpus part of ``python -m bench``: Debian package descriptions in Quidditch, tantivy-py and SQLite.

Quidditch runs in its own server process (fresh data directory) after the log-corpus measures are done, so
nothing here changes the log-corpus numbers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench import es_metadata
from bench import quidditch_runner as qr
from bench.corpus_prose import MAPPING, ProseCorpus
from bench.measure import latency
from bench.prose_baselines import SqliteProse, TantivyProse, es_queries

INDEX = "packages"
QUICK_LIMIT = 20_000


def _hits_quidditch(c: Any, body: dict[str, Any]) -> int | None:
    r = c.post(f"/{INDEX}/_search", content=orjson.dumps({**body, "track_total_hits": True}), headers=qr.JSON)
    if r.status_code != 200:
        return None
    return int(r.json()["hits"]["total"]["value"])


def run(
    quick: bool,
    reps: int,
    query_budget_s: float,
    ingest_deadline_s: float,
    work: Path,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Load the corpus and measure it on every engine; ``{"skipped": why}`` when apt has nothing."""
    t0 = time.perf_counter()
    corpus = ProseCorpus.load(QUICK_LIMIT if quick else None)
    out: dict[str, Any] = {"notes": list(corpus.notes)}
    if corpus.n == 0:
        out["skipped"] = "; ".join(corpus.notes) or "no packages"
        log(f"prose corpus skipped: {out['skipped']}")
        return out
    params = corpus.params()
    bodies = corpus.bulk_bodies(INDEX)
    out["meta"] = {
        "docs": corpus.n,
        "available": corpus.total_available,
        "source": corpus.source,
        "load_s": round(time.perf_counter() - t0, 2),
        "ndjson_bytes": sum(len(b) for b in bodies),
        "params": params,
    }
    out["ingest"] = {}
    out["latency"] = {}
    out["hits"] = {}
    log(f"prose corpus: {corpus.n:,} of {corpus.total_available:,} packages, params {params}")

    # -- Quidditch (its own server) -------------------------------------------------------------------
    data_dir = str(work / "quidditch-prose")
    server = qr.start_quidditch(data_dir, work / "server-prose.log")
    out["meta"]["startup_s"] = round(server.startup_s, 3)
    try:
        c = qr.client(server.url, timeout=120.0)
        qr.create_index(c, INDEX, MAPPING)
        log(f"prose: Quidditch _bulk, 1 client, {len(bodies)} requests")
        r1 = qr.ingest(server.url, bodies, 1, ingest_deadline_s)
        r1["refresh_s"] = qr.refresh(c, INDEX)
        r1["seconds"] += r1["refresh_s"]
        idx_dir = qr.index_dir(c, INDEX, data_dir)
        r1["bytes_on_disk"] = qr.dir_bytes(idx_dir) if idx_dir else None
        r1.update(
            label="Quidditch `_bulk`, 1 client (refresh 1s)",
            docs_per_s=r1["docs"] / r1["seconds"],
            bytes_per_doc=r1["bytes_on_disk"] / max(r1["docs"], 1) if r1["bytes_on_disk"] else None,
        )
        out["ingest"]["quidditch_1"] = r1
        out["meta"]["rss_loaded_mib"] = server.rss_mib()
        count = c.get(f"/{INDEX}/_count").json().get("count")
        if count != corpus.n:
            out["notes"].append(f"`{INDEX}` holds {count} docs after ingest, expected {corpus.n}")
        qbodies = es_queries(params)
        for name, body in qbodies.items():
            log(f"prose: Quidditch query {name}")
            out["latency"][name] = {
                "quidditch": latency(qr.search_fn(c, INDEX, body), reps, query_budget_s),
                "request": body,
            }
            if "query" in body:
                out["hits"][name] = {"quidditch": _hits_quidditch(c, body)}
        c.close()
    finally:
        server.stop()

    # -- raw tantivy ----------------------------------------------------------------------------------
    log("prose: raw tantivy ingest")
    tb = TantivyProse(str(work / "tantivy-prose"))
    rt = tb.ingest(list(corpus.tantivy_json()), ingest_deadline_s)
    rt["bytes_on_disk"] = qr.dir_bytes(work / "tantivy-prose")
    rt.update(
        label="raw tantivy-py `add_json` (1 writer thread, 64 MB heap)",
        docs_per_s=rt["docs"] / rt["seconds"],
        bytes_per_doc=rt["bytes_on_disk"] / max(rt["docs"], 1),
    )
    out["ingest"]["tantivy"] = rt

    log("prose: raw tantivy ingest + ES metadata fields")
    sources = [orjson.dumps(d) for d in corpus.docs]  # what `bulk_bodies` sends: Quidditch's `_source`
    out["ingest"]["tantivy_es_meta"] = es_metadata.ingest_row(
        TantivyProse, work / "tantivy-prose-es-meta", corpus.tantivy_json(), sources, ingest_deadline_s
    )

    tq = tb.prose_queries(params)
    for name, fn in tq.items():
        log(f"prose: tantivy query {name}")
        out["latency"][name]["tantivy"] = latency(fn, reps, query_budget_s)
    for name, h in out["hits"].items():
        h["tantivy"] = tb.count(name, params)

    # -- SQLite FTS5 ----------------------------------------------------------------------------------
    log("prose: SQLite FTS5 ingest")
    db_path = work / "sqlite-prose.db"
    sb = SqliteProse(str(db_path))
    rs = sb.ingest(list(corpus.sqlite_rows()), ingest_deadline_s)
    rs["bytes_on_disk"] = sum(os.path.getsize(p) for p in work.glob("sqlite-prose.db*"))
    rs.update(
        label="SQLite + FTS5 (executemany, 1,000 rows/txn, indexes built after)",
        docs_per_s=rs["docs"] / rs["seconds"],
        bytes_per_doc=rs["bytes_on_disk"] / max(rs["docs"], 1),
    )
    out["ingest"]["sqlite"] = rs
    for name, fn in sb.prose_queries(params).items():
        log(f"prose: SQLite query {name}")
        out["latency"][name]["sqlite"] = latency(fn, reps, query_budget_s)
    for name, h in out["hits"].items():
        h["sqlite"] = sb.count(name, params)
    sb.close()
    out["meta"]["seconds"] = round(time.perf_counter() - t0, 1)
    return out
