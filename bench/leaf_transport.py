"""``python -m bench.leaf_transport [--docs N] [--reps N]``: what the gRPC leaf transport costs a request.

Two embedded servers in this process, one reaching its leaf in process (``LocalLeafClient``), one through its
own leaf servicer on a loopback port (``QUIDDITCH_LEAF_TRANSPORT=grpc``), get the same documents; the same
requests are timed on both through the ASGI app (no HTTP socket, so the difference is the leaf transport):
a term query, a terms aggregation, a get and a 500-document ``_bulk``. Prints p50/p99 per request and the
``_bulk`` documents per second; ``--out FILE`` also writes them as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
from hdrh.histogram import HdrHistogram

from bench.measure import new_histogram, summarize


@contextlib.asynccontextmanager
async def _app(data_dir: Path, transport: str) -> AsyncIterator[httpx.AsyncClient]:
    from server.app import create_app
    from server.settings import load_settings
    from tests.conftest import _starlette_of

    os.environ["QUIDDITCH_LEAF_TRANSPORT"] = transport
    app = create_app(load_settings({"data_dir": str(data_dir)}))
    inner = _starlette_of(app)
    async with inner.router.lifespan_context(inner):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
                                     base_url="http://bench", timeout=60) as client:  # fmt: skip
            yield client


def _bulk_body(start: int, count: int) -> bytes:
    lines: list[bytes] = []
    for i in range(start, start + count):
        lines += [orjson.dumps({"index": {"_id": str(i)}}),
                  orjson.dumps({"msg": f"request {i} served by node {i % 7}", "level": ["info", "warn", "error"][i % 3],
                                "bytes": i * 13 % 9000})]  # fmt: skip
    return b"\n".join(lines) + b"\n"


async def _time(call: Callable[[], Awaitable[httpx.Response]], reps: int) -> dict[str, Any]:
    hist: HdrHistogram = new_histogram()
    errors = 0
    for i in range(reps + 10):
        t0 = time.perf_counter_ns()
        response = await call()
        elapsed_us = max(1, (time.perf_counter_ns() - t0) // 1000)
        if response.status_code >= 300:
            errors += 1
        elif i >= 10:  # warm-up
            hist.record_value(elapsed_us)
    return summarize(hist, errors)


async def _measure(client: httpx.AsyncClient, docs: int, reps: int) -> dict[str, Any]:
    headers = {"content-type": "application/x-ndjson"}
    for start in range(0, docs, 5000):
        r = await client.post("/logs/_bulk", content=_bulk_body(start, min(5000, docs - start)), headers=headers)
        assert r.status_code == 200 and not r.json()["errors"], r.text[:300]
    await client.post("/logs/_refresh")
    term = {"query": {"term": {"level": "warn"}}, "size": 10}
    aggs = {"size": 0, "aggs": {"l": {"terms": {"field": "level.keyword"}}}}
    out: dict[str, Any] = {
        "term_query": await _time(lambda: client.post("/logs/_search", json=term), reps),
        "terms_agg": await _time(lambda: client.post("/logs/_search", json=aggs), reps),
        "get": await _time(lambda: client.get("/logs/_doc/17"), reps),
    }
    batches, batch = max(reps // 20, 5), 500
    t0 = time.perf_counter()
    for b in range(batches):
        await client.post("/logs/_bulk", content=_bulk_body(docs + b * batch, batch), headers=headers)
    out["bulk_docs_per_s"] = round(batches * batch / (time.perf_counter() - t0))
    return out


async def run(docs: int, reps: int) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-leaf-") as tmp:
        for transport in ("local", "grpc"):
            async with _app(Path(tmp) / transport, transport) as client:
                results[transport] = await _measure(client, docs, reps)
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.leaf_transport", description=__doc__)
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--out", type=Path, default=None, help="also write the numbers here (JSON)")
    args = ap.parse_args(argv)
    results = asyncio.run(run(args.docs, args.reps))
    print(f"{'request':<12} {'local p50':>10} {'grpc p50':>10} {'local p99':>10} {'grpc p99':>10}  (ms)")
    for name in ("term_query", "terms_agg", "get"):
        local, grpc = results["local"][name], results["grpc"][name]
        print(f"{name:<12} {local['p50_ms']:>10.3f} {grpc['p50_ms']:>10.3f} {local['p99_ms']:>10.3f} "
              f"{grpc['p99_ms']:>10.3f}")  # fmt: skip
    print(f"_bulk docs/s: local {results['local']['bulk_docs_per_s']}, grpc {results['grpc']['bulk_docs_per_s']}")
    if args.out is not None:
        numbers = {"docs": args.docs, "reps": args.reps, **results}
        args.out.write_bytes(orjson.dumps(numbers, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
