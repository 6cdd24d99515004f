"""``python -m bench [--quick] [--docs N]``: run every measure and write ``bench/results/``."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import tantivy

from bench import es_metadata, prose, report, targets
from bench import quidditch_runner as qr
from bench.corpus import MAPPING, Corpus
from bench.measure import latency
from bench.sqlite_baseline import SqliteBaseline
from bench.tantivy_baseline import TantivyBaseline
from bench.totals import quidditch_total, returns_hits

RESULTS = Path(__file__).resolve().parent / "results"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def orjson_parse_seconds(bodies: list[bytes]) -> float:
    t0 = time.perf_counter()
    for body in bodies:
        for line in body.split(b"\n"):
            if line:
                orjson.loads(line)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument(
        "--quick",
        action="store_true",
        help="100k docs (20k packages in the prose corpus), 200 repetitions, 10 s throughput",
    )
    ap.add_argument("--docs", type=int, default=None, help="corpus size (default 1M, 100k with --quick)")
    ap.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    ap.add_argument("--no-profile", action="store_true", help="skip the py-spy profiles")
    ap.add_argument("--no-prose", action="store_true", help="skip the prose (Debian package descriptions) corpus")
    args = ap.parse_args(argv)

    quick = args.quick
    n_docs = args.docs or (100_000 if quick else 1_000_000)
    reps = 200 if quick else 500
    query_budget_s = 15.0 if quick else 45.0
    ingest_deadline_s = 300.0 if quick else 1200.0
    tp_seconds = 10.0 if quick else 20.0
    side_docs = min(n_docs, 200_000)  # the secondary ingest variants load at most this many
    args.out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    notes: list[str] = []

    results: dict[str, Any] = {
        "meta": {
            "date": dt.date.today().isoformat(),
            "started": dt.datetime.now().isoformat(timespec="seconds"),
            "mode": "quick" if quick else "full",
            "docs": n_docs,
            "reps": reps,
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "tantivy": getattr(tantivy, "__version__", "0.27"),
        },
        "ingest": {},
        "latency": {},
        "hits": {},  # per hit-returning query: each engine's ES ``hits.total`` (one untimed call each)
        "cached": {},  # size-0 queries again with the shard request cache (Quidditch only)
        "profiles": {},
        "notes": notes,
    }

    log(f"generating {n_docs:,} docs")
    t0 = time.perf_counter()
    corpus = Corpus.generate(n_docs)
    results["meta"]["seed"] = corpus.seed
    params = corpus.params()
    bodies = corpus.bulk_bodies("logs")
    body_bytes = sum(len(b) for b in bodies)
    results["meta"]["corpus"] = {
        "generate_s": round(time.perf_counter() - t0, 2),
        "ndjson_bytes": body_bytes,
        "params": params,
    }

    work = Path(tempfile.mkdtemp(prefix="quidditch-bench-"))
    server = empty = None
    try:
        # -- empty Starlette request ------------------------------------------------------------------
        log("empty Starlette app")
        empty = qr.start_empty_app(work / "empty.log")
        with qr.client(empty.url) as c:
            er = latency(lambda: c.get("/").status_code == 200, reps, query_budget_s, warmup=20)
        er["startup_s"] = round(empty.startup_s, 3)
        results["empty_request"] = er
        empty.stop()
        empty = None

        # -- Quidditch --------------------------------------------------------------------------------
        data_dir = str(work / "quidditch-data")
        log("starting Quidditch")
        server = qr.start_quidditch(data_dir, work / "server.log")
        time.sleep(1.0)
        srv: dict[str, Any] = {"startup_s": round(server.startup_s, 3), "rss_idle_mib": server.rss_mib(),
                               "rss_idle_parts_mib": server.rss_parts_mib()}  # fmt: skip
        results["server"] = srv
        c = qr.client(server.url, timeout=120.0)
        qr.create_index(c, "logs", MAPPING)

        log(f"Quidditch _bulk, 1 client, {len(bodies)} requests")
        r1 = qr.ingest(server.url, bodies, 1, ingest_deadline_s)
        r1["refresh_s"] = qr.refresh(c, "logs")
        r1["seconds"] += r1["refresh_s"]
        idx_dir = qr.index_dir(c, "logs", data_dir)
        r1["bytes_on_disk"] = qr.dir_bytes(idx_dir) if idx_dir else None
        r1.update(
            label="Quidditch `_bulk`, 1 client (refresh 1s)",
            docs_per_s=r1["docs"] / r1["seconds"],
            bytes_per_doc=r1["bytes_on_disk"] / max(r1["docs"], 1) if r1["bytes_on_disk"] else None,
        )
        results["ingest"]["quidditch_1"] = r1
        srv["rss_loaded_mib"] = server.rss_mib()
        srv["rss_loaded_parts_mib"] = server.rss_parts_mib()
        count = c.get("/logs/_count").json().get("count")
        if count != n_docs:
            notes.append(f"`logs` holds {count} docs after ingest, expected {n_docs}")

        parse_s = orjson_parse_seconds(bodies)
        results["orjson_parse"] = {
            "seconds": parse_s,
            "pct_of_quidditch_1_client": 100 * parse_s / r1["seconds"],
            "docs_per_s": n_docs / parse_s,
        }

        side = corpus.bulk_bodies("logs4", limit=side_docs)
        qr.create_index(c, "logs4", MAPPING)
        log(f"Quidditch _bulk, 4 clients, {len(side)} requests")
        r4 = qr.ingest(server.url, side, 4, ingest_deadline_s)
        r4["refresh_s"] = qr.refresh(c, "logs4")
        r4["seconds"] += r4["refresh_s"]
        idx4 = qr.index_dir(c, "logs4", data_dir)
        r4["bytes_on_disk"] = qr.dir_bytes(idx4) if idx4 else None
        r4.update(
            label="Quidditch `_bulk`, 4 clients (refresh 1s)",
            docs_per_s=r4["docs"] / r4["seconds"],
            bytes_per_doc=r4["bytes_on_disk"] / max(r4["docs"], 1) if r4["bytes_on_disk"] else None,
        )
        results["ingest"]["quidditch_4"] = r4
        c.delete("/logs4")

        if r1["seconds"] < 120 or quick:
            side = corpus.bulk_bodies("logs_norefresh", limit=side_docs)
            qr.create_index(c, "logs_norefresh", MAPPING, refresh_interval="-1")
            log("Quidditch _bulk, 1 client, refresh_interval -1")
            rn = qr.ingest(server.url, side, 1, ingest_deadline_s)
            rn["refresh_s"] = qr.refresh(c, "logs_norefresh")
            rn["seconds"] += rn["refresh_s"]
            rn.update(
                label="Quidditch `_bulk`, 1 client (refresh -1, one refresh at end)",
                docs_per_s=rn["docs"] / rn["seconds"],
            )
            results["ingest"]["quidditch_1_norefresh"] = rn
            c.delete("/logs_norefresh")
        else:
            notes.append("refresh_interval -1 variant skipped: the 1-client ingest took over 120 s")

        # As Rally's tracks do after loading (and as the raw baseline's single commit leaves its index): merge
        # the loaded index's segments before the queries. Timed and reported, not part of the ingest rate.
        log("Quidditch _forcemerge?max_num_segments=1")
        results["forcemerge"] = {"segments_before": qr.segment_count(c, "logs")}
        t0 = time.perf_counter()
        c.post("/logs/_forcemerge?max_num_segments=1", timeout=1800).raise_for_status()
        results["forcemerge"]["seconds"] = round(time.perf_counter() - t0, 2)
        results["forcemerge"]["segments_after"] = qr.segment_count(c, "logs")
        results["checks"] = qr.run_checks(c, "logs")
        qbodies = qr.queries(params)
        for name, body in qbodies.items():
            log(f"Quidditch query {name}")
            results["latency"][name] = {
                "quidditch": latency(qr.search_fn(c, "logs", body, request_cache=False), reps, query_budget_s),
                "request": body,
            }
            if returns_hits(body):
                results["hits"][name] = {"quidditch": quidditch_total(c, "logs", body)}
            else:  # size 0: also as clients see it by default, with the shard request cache
                log(f"Quidditch query {name} (request cache)")
                results["cached"][name] = latency(qr.search_fn(c, "logs", body), reps, query_budget_s)

        log(f"throughput, 16 clients, {tp_seconds:.0f} s")
        qr.create_index(c, "scratch", MAPPING)
        write_bodies = corpus.bulk_bodies("scratch", batch=50, limit=5000)
        results["throughput"] = qr.throughput(server.url, "logs", qbodies, 16, tp_seconds, write_bodies)

        if args.no_profile:
            results["profiles"]["_bulk"] = {"skipped": "--no-profile"}
        elif not qr.py_spy_available():
            results["profiles"]["_bulk"] = {"skipped": "py-spy is not installed (pip install py-spy)"}
        else:
            log("profiling _bulk with py-spy")
            qr.create_index(c, "profile", MAPPING)
            pbodies = corpus.bulk_bodies("profile", limit=min(n_docs, 60_000))
            results["profiles"]["_bulk (1 client)"] = qr.profile_bulk(
                server.url, server.pid, pbodies, work / "bulk.pyspy", 14.0
            )
            c.delete("/profile")
            log("profiling aggregations with py-spy")
            agg_names = ("terms_agg", "date_histogram_avg", "percentiles", "cardinality")
            agg_fns = [qr.search_fn(c, "logs", qbodies[k]) for k in agg_names]

            def agg_loop(deadline: float) -> None:
                while time.monotonic() < deadline:
                    for fn in agg_fns:
                        fn()

            results["profiles"]["aggregations (terms, date_histogram+avg, percentiles, cardinality)"] = qr.profile_work(
                server.pid, work / "aggs.pyspy", 10.0, agg_loop
            )
        srv["rss_end_mib"] = server.rss_mib()
        srv["rss_end_parts_mib"] = server.rss_parts_mib()
        log("a new field on the loaded index, while a client searches")
        results["new_field"] = qr.new_field(server.url, "logs", qbodies["term"], [corpus.doc(i) for i in range(1000)])
        c.close()
        server.stop()
        server = None

        # -- raw tantivy ------------------------------------------------------------------------------
        log("raw tantivy ingest")
        tjson = list(corpus.tantivy_json())
        tb = TantivyBaseline(str(work / "tantivy"))
        rt = tb.ingest(tjson, ingest_deadline_s)
        del tjson
        rt["bytes_on_disk"] = qr.dir_bytes(work / "tantivy")
        rt.update(
            label="raw tantivy-py `add_json` (1 writer thread, 64 MB heap)",
            docs_per_s=rt["docs"] / rt["seconds"],
            bytes_per_doc=rt["bytes_on_disk"] / max(rt["docs"], 1),
        )
        results["ingest"]["tantivy"] = rt

        log("raw tantivy ingest + ES metadata fields")
        results["ingest"]["tantivy_es_meta"] = es_metadata.ingest_row(
            TantivyBaseline, work / "tantivy-es-meta", corpus.tantivy_json(), corpus.sources(), ingest_deadline_s,
            corpus.seed,
        )

        for name, tfn in tb.queries(params).items():
            log(f"tantivy query {name}")
            if name in results["hits"]:
                results["hits"][name]["tantivy"] = tfn()
            results["latency"][name]["tantivy"] = latency(tfn, reps, query_budget_s)

        # -- SQLite FTS5 ------------------------------------------------------------------------------
        log("SQLite FTS5 ingest")
        rows = list(corpus.sqlite_rows())
        sb = SqliteBaseline(str(work / "sqlite.db"))
        rs = sb.ingest(rows, ingest_deadline_s)
        del rows
        rs["bytes_on_disk"] = sum(os.path.getsize(p) for p in work.glob("sqlite.db*"))
        rs.update(
            label="SQLite + FTS5 (executemany, 1,000 rows/txn, indexes built after)",
            docs_per_s=rs["docs"] / rs["seconds"],
            bytes_per_doc=rs["bytes_on_disk"] / max(rs["docs"], 1),
        )
        results["ingest"]["sqlite"] = rs
        for name, sfn in sb.queries(params).items():
            if sfn is None:
                results["latency"][name]["sqlite"] = None
                continue
            log(f"SQLite query {name}")
            if name in results["hits"]:
                results["hits"][name]["sqlite"] = sfn()
            results["latency"][name]["sqlite"] = latency(sfn, reps, query_budget_s)
        sb.close()

        # -- prose corpus (its own Quidditch server, after every log-corpus measure) -----------------
        if args.no_prose:
            results["prose"] = {"skipped": "--no-prose"}
        else:
            results["prose"] = prose.run(quick, reps, query_budget_s, ingest_deadline_s, work, log)
    finally:
        for proc in (server, empty):
            if proc is not None:
                proc.stop()
        shutil.rmtree(work, ignore_errors=True)

    results["meta"]["total_seconds"] = round(time.perf_counter() - t_start, 1)
    results["targets"] = [t.as_dict() for t in targets.evaluate(results)]
    json_path = report.write_json(results, args.out)
    why = report.plot(results, args.out / "latency.png")
    if why:
        notes.append(why)
    (args.out / "latest.md").write_text(report.markdown(results))
    report.write_json(results, args.out)
    log(f"wrote {json_path}, {args.out / 'latest.md'}" + ("" if why else f", {args.out / 'latency.png'}"))
    print((args.out / "latest.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
