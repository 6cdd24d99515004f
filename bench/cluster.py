"""``python -m bench.cluster [--quick] [--docs N]``: the cluster section, written to ``bench/results/cluster.json``.

Against the embedded server (every role in one process):

- term-query p50 through a coordinator (master role, no shards) and three data-node processes;
- ``_bulk`` ingest docs/s into 1, 2 and 3 data-node processes (no replicas) and, with one replica, into 3
  data nodes; the bulk clients are spread over the data nodes' HTTP ports (every node coordinates: it parses
  and routes its share, as behind a client that sniffs the nodes).

Every cluster here uses ``--state-store local`` on loopback ports; indices have 6 shards so every node count
spreads them evenly. Timings only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import quidditch_runner as qr
from bench.corpus import MAPPING, Corpus
from bench.measure import latency

RESULTS = Path(__file__).resolve().parent / "results"
SHARDS = 6


def log(msg: str) -> None:
    print(f"[bench.cluster {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Cluster:
    """A master/coordinator and ``data_nodes`` data-node processes (or the embedded server when 0)."""

    def __init__(self, root: Path, data_nodes: int) -> None:
        self.procs: list[qr.Process] = []
        try:
            if data_nodes == 0:
                self.procs.append(qr.start_quidditch(str(root / "embedded"), root / "embedded.log"))
                return
            transport = qr.free_port()
            self.procs.append(self._start(root, "m1", ["--roles", "master", "--transport-port", str(transport)]))
            for i in range(data_nodes):
                args = ["--roles", "data", "--transport-port", str(qr.free_port()),
                        "--seed-hosts", f"127.0.0.1:{transport}"]  # fmt: skip
                self.procs.append(self._start(root, f"d{i + 1}", args))
            self._wait_members(1 + data_nodes)
        except BaseException:
            self.stop()
            raise

    @staticmethod
    def _start(root: Path, name: str, args: list[str]) -> qr.Process:
        port = qr.free_port()
        argv = [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                "--data-dir", str(root / name), "--node-name", name, "--cluster-name", "bench", *args]  # fmt: skip
        return qr.Process(argv, port, root / f"{name}.log")

    def _wait_members(self, n: int, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if len(httpx.get(self.url + "/_cat/nodes?format=json", timeout=2).json()) == n:
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{n} members not listed within {timeout_s}s")

    @property
    def url(self) -> str:
        return self.procs[0].url

    @property
    def ingest_urls(self) -> list[str]:
        """Where bulk clients send: every data node (each coordinates its share, as a client that sniffs the
        nodes does), or the embedded server."""
        return [p.url for p in self.procs[1:]] or [self.url]

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()


def _create(url: str, replicas: int) -> None:
    settings = {"number_of_shards": SHARDS, "number_of_replicas": replicas, "refresh_interval": "1s"}
    body = orjson.dumps({"settings": settings, "mappings": MAPPING})
    httpx.put(url + "/logs", content=body, headers=qr.JSON, timeout=60).raise_for_status()


def _wait_green(url: str, status: str, timeout_s: float = 60.0) -> None:
    httpx.get(url + f"/_cluster/health/logs?wait_for_status={status}&timeout={int(timeout_s)}s",
              timeout=timeout_s + 5).raise_for_status()  # fmt: skip


def _ingest(urls: list[str], bodies: list[bytes], clients: int) -> dict[str, Any]:
    """``bodies`` split over ``urls`` (each with ``clients`` threads, at once): docs, wall seconds, errors."""
    parts = [bodies[i :: len(urls)] for i in range(len(urls))]
    results: list[dict[str, Any]] = [{} for _ in urls]

    def one(i: int) -> None:
        results[i] = qr.ingest(urls[i], parts[i], clients=max(1, clients // len(urls)), deadline_s=600)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(urls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - t0
    total = {key: sum(r[key] for r in results) for key in ("docs", "errors", "item_errors")}
    return {**total, "seconds": seconds}


def run_one(root: Path, data_nodes: int, replicas: int, bodies: list[bytes], corpus: Corpus, reps: int,
            clients: int, query: bool) -> dict[str, Any]:  # fmt: skip
    cluster = Cluster(root, data_nodes)
    try:
        _create(cluster.url, replicas)
        _wait_green(cluster.url, "green" if replicas == 0 or data_nodes > 1 else "yellow")
        ingest = _ingest(cluster.ingest_urls, bodies, clients)
        out: dict[str, Any] = {"docs": ingest["docs"], "seconds": round(ingest["seconds"], 3),
                               "docs_per_s": round(ingest["docs"] / ingest["seconds"]),
                               "errors": ingest["errors"] + ingest["item_errors"]}  # fmt: skip
        if query:
            with qr.client(cluster.url) as c:
                qr.refresh(c, "logs")
                body = qr.queries(corpus.params())["term"]
                out["term_query"] = latency(qr.search_fn(c, "logs", body, request_cache=False), reps, 30.0)
        return out
    finally:
        cluster.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="50k docs, 200 repetitions")
    ap.add_argument("--docs", type=int, default=None, help="documents to ingest (default 200k, 50k with --quick)")
    ap.add_argument("--clients", type=int, default=4, help="concurrent bulk clients")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    n_docs = args.docs or (50_000 if args.quick else 200_000)
    reps = 200 if args.quick else 1000
    corpus = Corpus.generate(n_docs)
    bodies = corpus.bulk_bodies("logs", batch=1000)
    results: dict[str, Any] = {"meta": {"date": dt.date.today().isoformat(), "docs": n_docs, "cpus": os.cpu_count(),
                                        "clients": args.clients, "shards": SHARDS}, "runs": {}}  # fmt: skip
    runs = [("embedded", 0, 0, True), ("data_nodes_1", 1, 0, False), ("data_nodes_2", 2, 0, False),
            ("data_nodes_3", 3, 0, True), ("data_nodes_3_replica_1", 3, 1, False)]  # fmt: skip
    root = Path(tempfile.mkdtemp(prefix="quidditch-bench-cluster-"))
    try:
        for name, data_nodes, replicas, query in runs:
            log(f"{name}: {data_nodes} data node(s), {replicas} replica(s)")
            run_root = root / name
            run_root.mkdir()
            try:
                results["runs"][name] = run_one(run_root, data_nodes, replicas, bodies, corpus, reps,
                                                args.clients, query)  # fmt: skip
            except Exception as exc:  # a run that cannot happen (e.g. no replication yet) is recorded, not fatal
                results["runs"][name] = {"error": f"{type(exc).__name__}: {exc}"}
            log(f"{name}: {results['runs'][name]}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    base = results["runs"].get("embedded", {})
    summary: dict[str, Any] = {}
    for name, run in results["runs"].items():
        if "docs_per_s" in run and base.get("docs_per_s"):
            summary[f"{name}_ingest_vs_embedded"] = round(run["docs_per_s"] / base["docs_per_s"], 2)
    cluster_term = results["runs"].get("data_nodes_3", {}).get("term_query", {}).get("p50_ms")
    if cluster_term is not None and base.get("term_query", {}).get("p50_ms") is not None:
        summary["term_p50_ms_above_embedded"] = round(cluster_term - base["term_query"]["p50_ms"], 3)
    results["summary"] = summary
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cluster.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    log(f"summary: {summary}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
