"""Search-path latency harness: one Quidditch server on a fixed port, the bench corpus, p50 per query kind.

    python -m bench.profile_search                      # ingest (once) + measure every kind + mixed load
    python -m bench.profile_search --kinds term --serve 30   # keep a steady single-client load for py-spy

The data directory is kept between runs (``--data-dir``), so only the first run pays for the ingest. The
numbers are measured the way ``python -m bench`` measures them (httpx, keep-alive, one client, p50 over
``--reps`` requests after a warm-up), so before/after comparisons of the search path are cheap.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import quidditch_runner as qr
from bench.corpus import MAPPING, Corpus
from bench.measure import latency

PORT = 9374


def start(data_dir: str, log_path: Path) -> qr.Process:
    argv = [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(PORT)]
    return qr.Process([*argv, "--data-dir", data_dir], PORT, log_path)


def ensure_index(c: httpx.Client, url: str, corpus: Corpus) -> None:
    r = c.get("/logs/_count")
    if r.status_code == 200 and r.json().get("count"):
        return
    with contextlib.suppress(httpx.HTTPError):
        c.delete("/logs")
    qr.create_index(c, "logs", MAPPING)
    qr.ingest(url, corpus.bulk_bodies("logs"), 1, 600)
    qr.refresh(c, "logs")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--data-dir", default="/tmp/qprof-data")
    ap.add_argument("--reps", type=int, default=400)
    ap.add_argument("--kinds", default="", help="comma-separated query kinds (default: all)")
    ap.add_argument("--serve", type=float, default=0.0, help="seconds of steady load on the first kind, then stop")
    ap.add_argument("--mixed", type=float, default=8.0, help="seconds of 16-client mixed load (0: skip)")
    args = ap.parse_args(argv)

    corpus = Corpus.generate(args.docs)
    bodies = qr.queries(corpus.params())
    kinds = [k for k in args.kinds.split(",") if k] or list(bodies)
    os.makedirs(args.data_dir, exist_ok=True)
    server = start(args.data_dir, Path(args.data_dir).parent / "qprof-server.log")
    print(f"server pid {server.pid} on {server.url}", flush=True)
    try:
        with qr.client(server.url, timeout=120.0) as c:
            ensure_index(c, server.url, corpus)
            if args.serve:
                fn = qr.search_fn(c, "logs", bodies[kinds[0]])
                deadline = time.monotonic() + args.serve
                n = 0
                while time.monotonic() < deadline:
                    fn()
                    n += 1
                print(f"{kinds[0]}: {n} requests in {args.serve:.0f}s", flush=True)
                return 0
            out: dict[str, Any] = {}
            print(f"{'query':<22}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}", flush=True)
            for kind in kinds:
                res = latency(qr.search_fn(c, "logs", bodies[kind]), args.reps, 30.0, warmup=20)
                out[kind] = res
                print(f"{kind:<22}{res['p50_ms']:>9.3f}{res['p99_ms']:>9.3f}{res['mean_ms']:>9.3f}", flush=True)
        if args.mixed:
            with qr.client(server.url) as c:
                qr.create_index(c, "scratch", MAPPING) if c.head("/scratch").status_code == 404 else None
            writes = corpus.bulk_bodies("scratch", batch=50, limit=5000)
            mixed = qr.throughput(server.url, "logs", bodies, 16, args.mixed, writes)
            lat = mixed["latency"]
            print(
                f"mixed 16 clients: {mixed['req_per_s']} req/s, {mixed['errors']} errors, "
                f"p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms",
                flush=True,
            )
            out["mixed"] = mixed
        Path(args.data_dir).parent.joinpath("qprof-last.json").write_bytes(orjson.dumps(out))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
