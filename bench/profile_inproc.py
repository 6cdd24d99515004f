"""In-process breakdown of one search: leaf (sync), root (async, via the local leaf) and the pieces inside.

    python -m bench.profile_inproc [--data-dir /tmp/qprof-data] [--kinds term,terms_agg]

Uses the data directory ``bench.profile_search`` filled (stop that server first). Prints p50 in ms of:
the leaf's ``search`` called directly, ``Root.search`` end to end without HTTP, and raw tantivy on the
same shard (``Searcher.search``/``aggregate``) for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench import quidditch_runner as qr
from bench.corpus import Corpus
from cluster.embedded import EmbeddedCluster
from cluster.search_request import parse_search


def p50(fn: Callable[[], Any], n: int) -> float:
    for _ in range(10):
        fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default="/tmp/qprof-data")
    ap.add_argument("--kinds", default="")
    ap.add_argument("--n", type=int, default=200)
    args = ap.parse_args(argv)
    bodies = qr.queries(Corpus.generate(100_000).params())
    kinds = [k for k in args.kinds.split(",") if k] or list(bodies)
    cluster = EmbeddedCluster(args.data_dir)
    root = cluster.root
    meta = cluster.master.index("logs")
    loop = asyncio.new_event_loop()

    async def _root(spec: Any) -> Any:
        return await root.search([meta], spec)

    # capture the leaf request the root sends
    captured: dict[str, Any] = {}
    real_search = cluster.leaf.search

    async def capture(request: Any) -> Any:
        captured["req"] = request
        return await real_search(request)

    print(f"{'query':<22}{'root.search':>12}{'leaf.search':>12}")
    for kind in kinds:
        spec = parse_search(bodies[kind], {})
        cluster.leaf.search = capture  # type: ignore[method-assign]
        loop.run_until_complete(_root(spec))
        cluster.leaf.search = real_search  # type: ignore[method-assign]
        req = captured["req"]
        t_root = p50(functools.partial(lambda s: loop.run_until_complete(_root(s)), spec), args.n)
        t_leaf = p50(functools.partial(cluster.leaf_service.search, req), args.n)
        print(f"{kind:<22}{t_root:>12.3f}{t_leaf:>12.3f}", flush=True)
    loop.run_until_complete(cluster.stop())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
