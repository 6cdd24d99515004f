"""``_bulk`` ingest throughput on the bench corpus: in-process, over HTTP, and raw tantivy-py for the ratio.

    python -m bench.profile_ingest [--docs 100000] [--modes raw,inproc,http] [--cprofile]

- ``raw``: ``IndexWriter.add_json`` of the corpus documents (``bench.tantivy_baseline``), commit included.
- ``inproc``: the server's own ``_bulk`` code without sockets: ``parse_bulk`` → ``WriteCoordinator.write``
  (local leaf, WAL fsync per request) → the rendered JSON response, 1,000 docs per request, one client.
- ``http``: a ``quidditch serve`` subprocess on port 9362 (``--port``), one client posting the same bodies.

Every mode ends with a commit (refresh) so the documents are really indexed; docs/s counts that time too.
``--cprofile`` prints the top functions of the in-process run.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench import quidditch_runner as qr
from bench.corpus import MAPPING, Corpus
from bench.tantivy_baseline import TantivyBaseline

INDEX = "logs"
SETTINGS = {"number_of_shards": 1, "number_of_replicas": 0}


def run_raw(corpus: Corpus, workdir: str) -> dict[str, Any]:
    docs = list(corpus.tantivy_json())
    result = TantivyBaseline(os.path.join(workdir, "raw")).ingest(docs, 1e9)
    return {"docs": result["docs"], "seconds": result["seconds"]}


def run_inproc(bodies: list[bytes], n_docs: int, workdir: str, profile: bool) -> dict[str, Any]:
    from cluster.embedded import EmbeddedCluster
    from server.handlers.bulk import bulk_response, parse_bulk

    async def go() -> dict[str, Any]:
        cluster = EmbeddedCluster(os.path.join(workdir, "inproc"))
        await cluster.start()
        cluster.master.create_index(INDEX, {"settings": SETTINGS, "mappings": MAPPING})
        writes = cluster.writes
        errors = 0
        profiler = cProfile.Profile() if profile else None
        t0 = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        for body in bodies:
            parsed = parse_bulk(body, None, {})
            items = [p for p in parsed if not isinstance(p, Exception)]
            results = await writes.write(items)  # type: ignore[arg-type]
            out = orjson.dumps(bulk_response(parsed, results))
            if out.startswith(b'{"errors":true'):
                errors += 1
        meta = cluster.master.index(INDEX)
        await writes.refresh([meta])
        if profiler is not None:
            profiler.disable()
        seconds = time.perf_counter() - t0
        await cluster.stop()
        if profiler is not None:
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(30)
        return {"docs": n_docs, "seconds": seconds, "error_requests": errors}

    return asyncio.run(go())


def run_http(bodies: list[bytes], n_docs: int, workdir: str, port: int) -> dict[str, Any]:
    data_dir = os.path.join(workdir, "http")
    argv = [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--data-dir", data_dir]  # fmt: skip
    server = qr.Process(argv, port, Path(workdir, "server.log"))
    try:
        with qr.client(server.url) as c:
            qr.create_index(c, INDEX, MAPPING)
            result = qr.ingest(server.url, bodies, 1, 1e9)
            t0 = time.perf_counter()
            qr.refresh(c, INDEX)
            count = c.get(f"/{INDEX}/_count").json()["count"]
        seconds = result["seconds"] + time.perf_counter() - t0
        return {"docs": result["docs"], "seconds": seconds, "count": count, "item_errors": result["item_errors"],
                "errors": result["errors"], "server_pid": server.pid}  # fmt: skip
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.profile_ingest", description=__doc__)
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--modes", default="raw,inproc,http")
    ap.add_argument("--port", type=int, default=9362)
    ap.add_argument("--cprofile", action="store_true")
    args = ap.parse_args(argv)
    corpus = Corpus.generate(args.docs)
    bodies = corpus.bulk_bodies(INDEX, args.batch)
    workdir = tempfile.mkdtemp(prefix="qingest-")
    rates: dict[str, float] = {}
    try:
        for mode in [m for m in args.modes.split(",") if m]:
            if mode == "raw":
                res = run_raw(corpus, workdir)
            elif mode == "inproc":
                res = run_inproc(bodies, args.docs, workdir, args.cprofile)
            elif mode == "http":
                res = run_http(bodies, args.docs, workdir, args.port)
            else:
                raise SystemExit(f"unknown mode {mode}")
            rates[mode] = res["docs"] / res["seconds"]
            extra = {k: v for k, v in res.items() if k not in ("docs", "seconds")}
            print(f"{mode:<8}{res['docs']:>9} docs {res['seconds']:>8.2f} s {rates[mode]:>10,.0f} docs/s  "
                  f"{orjson.dumps(extra).decode() if extra else ''}", flush=True)  # fmt: skip
        if "raw" in rates:
            for mode, rate in rates.items():
                if mode != "raw":
                    print(f"{mode} / raw = {rate / rates['raw']:.2f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
