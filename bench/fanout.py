"""``python -m bench.fanout [--docs N] [--reps N]``: what the per-node fan-out costs the root, in one process.

Two setups get the same documents (5 shards): the embedded server (one node, every shard in process: the one
call it always made), and three in-process nodes (``tests/cluster/fanout_harness``: three ``DataNode``s and
``LocalLeafClient``s, primaries spread by a hand-made routing table), so that the root groups shards per node,
sends one request per node and merges. Timed on the root directly (no HTTP): a term query, a terms
aggregation, a ``from``/``size`` page, and a 1,000-document write through the ``WriteCoordinator``. Prints
p50/p99 per request and the write documents per second; ``--out FILE`` also writes them as JSON. The numbers
of real processes over gRPC are the cluster benchmarks'; this one isolates the coordinator's own cost.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from bench.measure import new_histogram, summarize
from cluster.embedded import EmbeddedCluster
from cluster.search_request import parse_search
from cluster.writes import WriteCoordinator, WriteItem
from tests.cluster.fanout_harness import NODES, ThreeNodes

SHARDS = 5
SEARCHES = {
    "term": {"query": {"term": {"level": "warn"}}, "size": 10},
    "terms_agg": {"size": 0, "aggs": {"levels": {"terms": {"field": "level"}}}},
    "page": {"query": {"match": {"msg": "node"}}, "from": 40, "size": 20},
}


def _items(start: int, count: int) -> list[WriteItem]:
    return [WriteItem("index", "b", str(i), source=orjson.dumps({
        "msg": f"request {i} served by node {i % 7}", "level": ["info", "warn", "error"][i % 3], "bytes": i * 13 % 9000,
    })) for i in range(start, start + count)]  # fmt: skip


async def _timed(fn: Callable[[], Awaitable[Any]], reps: int) -> dict[str, Any]:
    for _ in range(20):
        await fn()
    hist = new_histogram()
    for _ in range(reps):
        t0 = time.perf_counter()
        await fn()
        hist.record_value(max(1, int((time.perf_counter() - t0) * 1e6)))
    return summarize(hist)


async def _measure(name: str, root: Any, writes: WriteCoordinator, meta_of: Callable[[str], Any], docs: int,
                   reps: int) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {}
    for start in range(0, docs, 1000):
        await writes.write(_items(start, min(1000, docs - start)))
    await writes.refresh([meta_of("b")])
    metas = [meta_of("b")]
    for label, body in SEARCHES.items():
        spec = parse_search(body, {})

        async def one(spec: Any = spec) -> Any:
            return await root.search(metas, spec)

        out[label] = await _timed(one, reps)
    t0 = time.perf_counter()
    await writes.write(_items(docs, 1000))
    out["write_docs_per_s"] = round(1000 / (time.perf_counter() - t0))
    print(f"{name:12s} " + "  ".join(f"{k} p50 {v['p50_ms']:.3f} ms p99 {v['p99_ms']:.3f} ms"
                                     for k, v in out.items() if isinstance(v, dict))
          + f"  write {out['write_docs_per_s']} docs/s")  # fmt: skip
    return out


async def main(docs: int, reps: int) -> dict[str, Any]:
    body = {"settings": {"number_of_shards": SHARDS, "number_of_replicas": 0},
            "mappings": {"properties": {"msg": {"type": "text"}, "level": {"type": "keyword"},
                                        "bytes": {"type": "long"}}}}  # fmt: skip
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        embedded = EmbeddedCluster(str(Path(tmp) / "embedded"))
        try:
            embedded.master.create_index("b", body)
            results["embedded"] = await _measure("embedded", embedded.root, embedded.writes, embedded.master.index,
                                                 docs, reps)  # fmt: skip
        finally:
            await embedded.stop()
        three = ThreeNodes(str(Path(tmp) / "three"))
        try:
            three.master.create_index("b", body)
            three.route("b", [[NODES[s % 3]] for s in range(SHARDS)])
            results["three_nodes"] = await _measure("three nodes", three.root, three.writes, three.master.index,
                                                    docs, reps)  # fmt: skip
        finally:
            three.close()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=500)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    found = asyncio.run(main(args.docs, args.reps))
    if args.out:
        args.out.write_bytes(orjson.dumps(found, option=orjson.OPT_INDENT_2))
