"""Quidditch over HTTP: the server process, ingest via ``_bulk``, queries, mixed throughput, profiling."""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.measure import new_histogram, summarize

REPO = Path(__file__).resolve().parent.parent
NDJSON = {"content-type": "application/x-ndjson"}
JSON = {"content-type": "application/json"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    """VmRSS of ``pid`` plus its children (KiB)."""
    total = 0
    pids = [pid]
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError), open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                    if int(fields[1]) == pid:
                        pids.append(int(entry))
    for p in pids:
        with contextlib.suppress(OSError), open(f"/proc/{p}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def rss_parts_kib(pid: int) -> dict[str, int]:
    """``RssAnon`` (heap: Python objects, tantivy's writer buffers) and ``RssFile`` (mapped index files, which
    the kernel can drop and re-read) of ``pid`` (KiB)."""
    parts = {"anon": 0, "file": 0}
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                parts["anon"] = int(line.split()[1])
            elif line.startswith("RssFile:"):
                parts["file"] = int(line.split()[1])
    return parts


def dir_bytes(path: str | Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.path.getsize(os.path.join(root, name))
    return total


class Process:
    """A server subprocess on 127.0.0.1 that is waited for (GET / → 200) and always stopped."""

    def __init__(self, argv: list[str], port: int, log_path: Path, start_timeout: float = 60.0) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(log_path, "wb")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(argv, cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + start_timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{argv} exited with {self.proc.returncode}; see {log_path}")
            try:
                if httpx.get(self.url + "/", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{argv} did not answer within {start_timeout}s; see {log_path}")
            time.sleep(0.02)
        self.startup_s = time.perf_counter() - t0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_mib(self) -> float:
        return round(rss_kib(self.pid) / 1024, 1)

    def rss_parts_mib(self) -> dict[str, float]:
        return {k: round(v / 1024, 1) for k, v in rss_parts_kib(self.pid).items()}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()


def start_quidditch(data_dir: str, log_path: Path) -> Process:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "server.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        data_dir,
    ]
    return Process(argv, port, log_path)


def start_empty_app(log_path: Path) -> Process:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "hypercorn",
        "bench.empty_app:app",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]
    return Process(argv, port, log_path)


def client(url: str, timeout: float = 60.0) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=timeout, limits=httpx.Limits(max_keepalive_connections=4))


# -- index management --
def create_index(
    c: httpx.Client, name: str, mapping: dict[str, Any], refresh_interval: str | None = None
) -> None:
    settings: dict[str, Any] = {"number_of_shards": 1, "number_of_replicas": 0}
    if refresh_interval is not None:
        settings["refresh_interval"] = refresh_interval
    r = c.put(f"/{name}", content=orjson.dumps({"settings": settings, "mappings": mapping}), headers=JSON)
    r.raise_for_status()


def index_dir(c: httpx.Client, name: str, data_dir: str) -> Path | None:
    r = c.get(f"/{name}/_settings")
    r.raise_for_status()
    uuid = r.json()[name]["settings"]["index"].get("uuid")
    return Path(data_dir, "indices", uuid) if uuid else None


def ingest(url: str, bodies: list[bytes], clients: int, deadline_s: float) -> dict[str, Any]:
    """Send ``bodies`` over ``clients`` threads; docs, seconds and errors (bulk item failures included)."""
    lock = threading.Lock()
    state = {"next": 0, "docs": 0, "errors": 0, "item_errors": 0, "requests": 0}
    deadline = time.monotonic() + deadline_s
    hist = new_histogram()

    def worker() -> None:
        with client(url) as c:
            while time.monotonic() < deadline:
                with lock:
                    i = state["next"]
                    if i >= len(bodies):
                        return
                    state["next"] = i + 1
                body = bodies[i]
                t0 = time.perf_counter_ns()
                try:
                    r = c.post("/_bulk", content=body, headers=NDJSON)
                    ok = r.status_code == 200
                    parsed = orjson.loads(r.content) if ok else None
                except httpx.HTTPError:
                    ok, parsed = False, None
                dt = (time.perf_counter_ns() - t0) // 1000
                with lock:
                    state["requests"] += 1
                    hist.record_value(max(1, dt))
                    if not ok or parsed is None:
                        state["errors"] += 1
                        continue
                    n_items = len(parsed["items"])
                    bad = sum(1 for it in parsed["items"] if "error" in next(iter(it.values())))
                    state["docs"] += n_items - bad
                    state["item_errors"] += bad

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=deadline_s + 120)
    seconds = time.perf_counter() - t0
    return {
        **state,
        "seconds": seconds,
        "truncated": state["next"] < len(bodies),
        "bulk_request_latency": summarize(hist),
    }


def refresh(c: httpx.Client, name: str) -> float:
    t0 = time.perf_counter()
    c.post(f"/{name}/_refresh").raise_for_status()
    return time.perf_counter() - t0


def segment_count(c: httpx.Client, name: str) -> int | None:
    """Search segments of ``name`` over its shards, from ``GET /{name}/_segments`` (None when unavailable)."""
    r = c.get(f"/{name}/_segments")
    if r.status_code != 200:
        return None
    shards = r.json().get("indices", {}).get(name, {}).get("shards", {})
    return sum(int(copy.get("num_search_segments", 0)) for copies in shards.values() for copy in copies)


# -- queries --
def queries(p: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """ES request bodies, one per measured query kind (keys shared with the baselines)."""
    return {
        "term": {"query": {"term": {"message": p["word"]}}},
        "match_and": {
            "query": {"match": {"message": {"query": f"{p['word']} {p['word2']}", "operator": "and"}}}
        },
        "phrase": {"query": {"match_phrase": {"message": " ".join(p["phrase"])}}},
        "range": {"query": {"range": {"bytes": {"gte": p["bytes_lo"], "lte": p["bytes_hi"]}}}},
        "bool_filter_match": {
            "query": {
                "bool": {
                    "must": [{"match": {"message": p["word"]}}],
                    "filter": [
                        {"range": {"status": {"gte": p["status_gte"]}}},
                        {"term": {"method": p["method"]}},
                    ],
                }
            }
        },
        "sort_numeric_100": {"size": 100, "sort": [{"bytes": "desc"}]},
        "search_after": {"size": 10, "sort": [{"bytes": "asc"}], "search_after": [p["after_bytes"]]},
        "terms_agg": {"size": 0, "aggs": {"t": {"terms": {"field": "url", "size": 10}}}},
        "date_histogram_avg": {
            "size": 0,
            "aggs": {
                "h": {
                    "date_histogram": {"field": "@timestamp", "fixed_interval": "1h"},
                    "aggs": {"a": {"avg": {"field": "bytes"}}},
                }
            },
        },
        "percentiles": {"size": 0, "aggs": {"p": {"percentiles": {"field": "bytes"}}}},
        "cardinality": {"size": 0, "aggs": {"c": {"cardinality": {"field": "url"}}}},
    }


# Single-shot checks whose outcome (status, error type) is recorded but not timed.
CHECKS: dict[str, dict[str, Any]] = {
    "cardinality_on_ip": {"size": 0, "aggs": {"c": {"cardinality": {"field": "client_ip"}}}},
    "terms_on_ip": {"size": 0, "aggs": {"t": {"terms": {"field": "client_ip", "size": 5}}}},
    "date_histogram_calendar_day": {
        "size": 0,
        "aggs": {"h": {"date_histogram": {"field": "@timestamp", "calendar_interval": "day"}}},
    },
}


def search_fn(c: httpx.Client, index: str, body: dict[str, Any], request_cache: bool = True) -> Callable[[], bool]:
    """One ``_search`` per call; ``request_cache=False`` sends ``?request_cache=false`` so that a repeated
    size-0 request is computed every time, like the in-process baselines, instead of answered by ES's shard
    request cache (on by default for size-0 requests)."""
    payload = orjson.dumps(body)
    path = f"/{index}/_search" if request_cache else f"/{index}/_search?request_cache=false"

    def run() -> bool:
        r = c.post(path, content=payload, headers=JSON)
        return r.status_code == 200

    return run


def run_checks(c: httpx.Client, index: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, body in CHECKS.items():
        try:
            r = c.post(f"/{index}/_search", content=orjson.dumps(body), headers=JSON)
            entry: dict[str, Any] = {"status": r.status_code}
            if r.status_code != 200:
                err = r.json().get("error", {})
                entry["error"] = f"{err.get('type')}: {str(err.get('reason'))[:200]}"
                root = err.get("failed_shards", [{}])[0].get("reason", {}) if err.get("failed_shards") else {}
                if root:
                    entry["shard_error"] = str(root.get("reason"))[:300]
            out[name] = entry
        except httpx.HTTPError as exc:
            out[name] = {"status": None, "error": repr(exc)}
    return out


def throughput(
    url: str,
    index: str,
    bodies: dict[str, dict[str, Any]],
    clients: int,
    seconds: float,
    write_bodies: list[bytes],
) -> dict[str, Any]:
    """``clients`` threads issue a random mix of the queries (and ~5% small bulk writes) for ``seconds``."""
    payloads = [(name, orjson.dumps(b)) for name, b in bodies.items()]
    lock = threading.Lock()
    per_kind: dict[str, int] = {}
    errors: dict[str, int] = {}
    hist = new_histogram()
    stop_at = time.monotonic() + seconds

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        with client(url, timeout=30.0) as c:
            while time.monotonic() < stop_at:
                if write_bodies and rng.random() < 0.05:
                    name = "bulk_50"
                    req = lambda: c.post("/_bulk", content=rng.choice(write_bodies), headers=NDJSON)  # noqa: E731
                else:
                    name, payload = rng.choice(payloads)
                    req = lambda: c.post(f"/{index}/_search", content=payload, headers=JSON)  # noqa: E731, B023
                t0 = time.perf_counter_ns()
                try:
                    ok = req().status_code == 200
                except httpx.HTTPError:
                    ok = False
                dt = max(1, (time.perf_counter_ns() - t0) // 1000)
                with lock:
                    per_kind[name] = per_kind.get(name, 0) + 1
                    if ok:
                        hist.record_value(dt)
                    else:
                        errors[name] = errors.get(name, 0) + 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 60)
    elapsed = time.perf_counter() - t0
    total = sum(per_kind.values())
    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests": total,
        "req_per_s": round(total / elapsed, 1),
        "errors": sum(errors.values()),
        "errors_by_kind": errors,
        "by_kind": per_kind,
        "latency": summarize(hist),
    }


# -- profiling --
def py_spy_available() -> bool:
    return shutil.which("py-spy") is not None


def profile_bulk(url: str, pid: int, bodies: list[bytes], out_raw: Path, duration_s: float) -> dict[str, Any]:
    """py-spy (collapsed stacks) on the server while one client sends ``bodies``; summary of hot frames."""
    proc = subprocess.Popen(
        [
            "py-spy",
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--rate",
            "200",
            "--nonblocking",
            "--duration",
            str(int(duration_s)),
            "--output",
            str(out_raw),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(1.0)
    result = ingest(url, bodies, 1, duration_s - 2)
    try:
        _, err = proc.communicate(timeout=duration_s + 30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    if proc.returncode != 0 or not out_raw.exists():
        return {"error": f"py-spy failed ({proc.returncode}): {err.decode(errors='replace')[-300:]}"}
    return {"ingest": {k: result[k] for k in ("docs", "seconds")}, **summarize_collapsed(out_raw)}


def profile_work(pid: int, out_raw: Path, duration_s: float, work: Callable[[float], Any]) -> dict[str, Any]:
    """py-spy on the server while ``work(deadline)`` runs in this process."""
    proc = subprocess.Popen(
        [
            "py-spy",
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--rate",
            "200",
            "--nonblocking",
            "--duration",
            str(int(duration_s)),
            "--output",
            str(out_raw),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(1.0)
    work(time.monotonic() + duration_s - 2)
    try:
        _, err = proc.communicate(timeout=duration_s + 30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    if proc.returncode != 0 or not out_raw.exists():
        return {"error": f"py-spy failed ({proc.returncode}): {err.decode(errors='replace')[-300:]}"}
    return summarize_collapsed(out_raw)


def summarize_collapsed(path: Path, top: int = 25) -> dict[str, Any]:
    """Inclusive and self sample shares per function from a py-spy ``raw`` (collapsed) file."""
    inclusive: dict[str, int] = {}
    self_: dict[str, int] = {}
    total = 0
    idle = 0
    for line in path.read_text().splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_s)
        frames = [_short(f) for f in stack.split(";")]
        total += count
        if frames and (
            "select (selectors.py" in frames[-1]
            or "_worker (concurrent" in frames[-1]
            or "wait (threading.py" in frames[-1]
            or "_worker (thread.py" in frames[-1]
        ):
            idle += count
        for f in set(frames):
            if _PROJECT.search(f):
                inclusive[f] = inclusive.get(f, 0) + count
        if frames:
            self_[frames[-1]] = self_.get(frames[-1], 0) + count

    def pct(d: dict[str, int]) -> list[tuple[str, float]]:
        return [
            (k, round(100 * v / max(total, 1), 1)) for k, v in sorted(d.items(), key=lambda kv: -kv[1])[:top]
        ]

    return {
        "samples": total,
        "idle_samples_pct": round(100 * idle / max(total, 1), 1),
        "inclusive_pct": pct(inclusive),
        "self_pct": pct(self_),
    }


_PROJECT = re.compile(r"\((server|cluster|native|handlers|aggs|query)/")


def _short(frame: str) -> str:
    # "func (path/to/file.py:123)" → "func (file.py)"; keeps process/thread frames as they are
    name, sep, rest = frame.partition(" (")
    if not sep:
        return frame
    file = rest.rstrip(")").rsplit(":", 1)[0]
    parts = file.split("/")
    short = (
        "/".join(parts[-2:])
        if parts[-2:-1] and parts[-2] in ("server", "cluster", "native", "handlers", "aggs", "query")
        else parts[-1]
    )
    return f"{name} ({short})"


def new_field(url: str, index: str, search_body: dict[str, Any], bulk_docs: list[dict[str, Any]]) -> dict[str, Any]:
    """A field the mapping lacks arrives on the loaded index (dynamic mapping): the write that brings it and
    ``_bulk`` requests with it, timed, while one client searches without pause; then ``_refresh`` (which
    returns once the new field is searchable) and a search on it."""
    payload = orjson.dumps(search_body)
    hist = new_histogram()
    stop = threading.Event()
    errors = 0

    def searcher() -> None:
        nonlocal errors
        with client(url, timeout=120.0) as c:
            while not stop.is_set():
                t0 = time.perf_counter_ns()
                ok = c.post(f"/{index}/_search", content=payload, headers=JSON).status_code == 200
                if ok:
                    hist.record_value(max(1, (time.perf_counter_ns() - t0) // 1000))
                else:
                    errors += 1

    thread = threading.Thread(target=searcher, daemon=True)
    thread.start()
    out: dict[str, Any] = {"bulk_docs": len(bulk_docs)}
    with client(url, timeout=1800.0) as c:
        time.sleep(0.5)
        t0 = time.perf_counter()
        status = c.post(f"/{index}/_doc", json={"bench_new_field": "first"}).status_code
        out["write_s"] = round(time.perf_counter() - t0, 4)
        body = b"".join(b'{"index":{}}\n' + orjson.dumps({**d, "bench_new_field": "bulk"}) + b"\n" for d in bulk_docs)
        t0 = time.perf_counter()
        bulk_ok = c.post(f"/{index}/_bulk", content=body, headers=NDJSON).json().get("errors") is False
        out["bulk_s"] = round(time.perf_counter() - t0, 4)
        t0 = time.perf_counter()
        c.post(f"/{index}/_refresh").raise_for_status()
        out["refresh_s"] = round(time.perf_counter() - t0, 2)
        found = c.post(f"/{index}/_search", json={"size": 0, "query": {"match": {"bench_new_field": "bulk"}},
                                                   "track_total_hits": True}).json()  # fmt: skip
        out["found"] = found.get("hits", {}).get("total", {}).get("value")
        out["ok"] = status == 201 and bulk_ok and out["found"] == len(bulk_docs)
        time.sleep(0.5)
    stop.set()
    thread.join(timeout=60)
    out["search_latency"] = summarize(hist)
    out["search_errors"] = errors
    return out
