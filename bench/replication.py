"""``python -m bench.replication [--docs N] [--batch N]``: what a replica costs shard-level ingest.

Data nodes in this one process (``tests/cluster/replication_harness``: each a ``DataNode`` + ``LeafService`` in
its own tmp dir) take the same 500-document ``index`` shard bulks (the coordinator's columns shape) three ways:
no replica; one replica reached in process (``LocalLeafClient``); one replica reached over a gRPC channel on
loopback (the primary's node also served over gRPC). Both nodes share this interpreter, so the replica's work
competes with the primary's for one GIL: a lower bound for the multi-process cluster (``bench.cluster``). Prints
documents per second; ``--out FILE`` also writes them as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson


async def _ingest(root: Path, mode: str, docs: int, batch: int) -> float:
    from cluster.grpc_leaf import GrpcLeafClient, LeafServer, start_leaf_server
    from cluster.state import ShardRouting
    from tests.cluster.replication_harness import Cluster, copy, ok

    cluster = Cluster(root)
    servers: list[LeafServer] = []
    clients: list[GrpcLeafClient] = []
    try:
        for node_id in ("n0", "n1"):
            service = cluster.start(node_id)
            if mode == "grpc":
                server = await start_leaf_server(service, "127.0.0.1", 0)
                servers.append(server)
                clients.append(GrpcLeafClient(f"127.0.0.1:{server.port}", node_id=node_id))
                cluster.clients[node_id] = clients[-1]
        copies = (copy("n0", True),) if mode == "none" else (copy("n0", True), copy("n1", False))
        cluster.master.set_routing(ShardRouting(0, 1, copies, tuple(c.allocation_id for c in copies)))
        bodies = [{f"d{i}": {"n": i, "title": f"document number {i} of the replication bench", "tag": f"t{i % 50}"}
                   for i in range(start, min(start + batch, docs))} for start in range(0, docs, batch)]  # fmt: skip
        t0 = time.perf_counter()
        for body in bodies:
            ok(await cluster.index_columns("n0", body))
        return docs / (time.perf_counter() - t0)
    finally:
        for client in clients:
            await client.close()
        for server in servers:
            await server.stop()
        await cluster.close()


async def run(docs: int, batch: int) -> dict[str, Any]:
    results: dict[str, Any] = {"docs": docs, "batch": batch}
    for mode in ("none", "local", "grpc"):
        with tempfile.TemporaryDirectory(prefix="bench-replication-") as tmp:
            results[f"docs_per_s_{mode}"] = round(await _ingest(Path(tmp), mode, docs, batch))
    results["replica_local_ratio"] = round(results["docs_per_s_local"] / results["docs_per_s_none"], 3)
    results["replica_grpc_ratio"] = round(results["docs_per_s_grpc"] / results["docs_per_s_none"], 3)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    results = asyncio.run(run(args.docs, args.batch))
    for key, value in results.items():
        print(f"{key:>24}: {value}")
    if args.out is not None:
        args.out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
