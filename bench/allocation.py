"""``python -m bench.allocation``: what ``cluster.allocation.allocate`` costs the master per state change.

The master allocates after every change that can move shards (index create/delete, replica counts, members
joining or leaving, copies started or failed); mapping and alias updates skip it. Measured here on routing
tables of growing size: a no-op pass (nothing to change), a member joining (replicas placed, rebalancing
started) and a member leaving (promotions, new replicas). Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable
from dataclasses import replace

from cluster.allocation import allocate, start_copy
from cluster.state import ClusterState, IndexMeta, NodeInfo


def _state(indices: int, shards: int, replicas: int, nodes: int) -> ClusterState:
    metas = {
        f"i{i}": IndexMeta(f"i{i}", f"u{i}", {"index.number_of_shards": str(shards),
                                              "index.number_of_replicas": str(replicas)}, {}, 0)
        for i in range(indices)
    }  # fmt: skip
    members = {f"n{n}": NodeInfo(f"n{n}", f"n{n}") for n in range(nodes)}
    return ClusterState(nodes=members, indices=metas)


def _settle(state: ClusterState, new_id: Callable[[], str]) -> ClusterState:
    for _ in range(100):
        pending = [(u, r.shard, c.allocation_id) for u, t in state.routing.items() for r in t for c in r.copies
                   if c.state == "INITIALIZING"]  # fmt: skip
        if not pending:
            return state
        for u, shard, aid in pending:
            state = start_copy(state, u, shard, aid)
        state = allocate(state, new_id=new_id)
    return state


def _ms(fn: Callable[[], object], repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - started) * 1000 / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    counter = itertools.count()

    def new_id() -> str:
        return f"a{next(counter)}"

    print(f"{'indices x shards x copies':>28} {'nodes':>5} {'no-op ms':>9} {'join ms':>8} {'leave ms':>9}")
    for indices, shards, nodes in ((10, 5, 3), (100, 5, 3), (200, 5, 5), (1000, 5, 5)):
        state = _settle(allocate(_state(indices, shards, 1, nodes), new_id=new_id), new_id)
        joined = replace(state, nodes={**state.nodes, "extra": NodeInfo("extra", "extra")})
        left = replace(state, nodes={k: v for k, v in state.nodes.items() if k != "n0"})
        noop = _ms(lambda s=state: allocate(s, new_id=new_id), args.repeat)
        join = _ms(lambda s=joined: allocate(s, new_id=new_id), args.repeat)
        leave = _ms(lambda s=left: allocate(s, new_id=new_id), args.repeat)
        print(f"{f'{indices} x {shards} x 2':>28} {nodes:>5} {noop:>9.2f} {join:>8.2f} {leave:>9.2f}")


if __name__ == "__main__":
    main()
