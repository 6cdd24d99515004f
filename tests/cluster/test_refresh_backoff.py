"""A periodic refresh that keeps failing (a full disk) is retried with a growing pause, and at once again after
one succeeds: each try after a writer failure re-applies the WAL since the last commit."""

from __future__ import annotations

import itertools
from pathlib import Path

from cluster.node import RETRY_MAX_S, DataNode
from cluster.state import IndexMeta


class _FlakyShard:
    def __init__(self) -> None:
        self.calls: list[float] = []
        self.fail = True
        self.dirty = True

    def refresh(self) -> None:
        self.calls.append(0.0)
        if self.fail:
            raise OSError(28, "No space left on device")

    def retire_readers(self) -> None:
        pass


def test_failed_periodic_refreshes_back_off(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    node = DataNode(str(tmp_path))
    meta = IndexMeta("i", "uuid-i", {"index.number_of_shards": "1", "index.refresh_interval": "100ms"}, {}, 0)
    shard = _FlakyShard()
    node._meta[meta.uuid] = meta
    node.shards[(meta.uuid, 0)] = shard  # type: ignore[assignment]
    clock = [1000.0]
    monkeypatch.setattr("cluster.node.time.monotonic", lambda: clock[0])
    tried_at = []
    for _ in range(1200):  # 120 s of 100 ms ticks
        before = len(shard.calls)
        node.refresh_due()
        if len(shard.calls) > before:
            tried_at.append(clock[0])
        clock[0] += 0.1
    gaps = [round(b - a, 1) for a, b in itertools.pairwise(tried_at)]
    assert all(abs(gap - want) <= 0.25 for gap, want in zip(gaps, [1.0, 2.0, 4.0, 8.0, 16.0], strict=False)), gaps
    assert max(gaps) <= RETRY_MAX_S + 0.2
    assert len(tried_at) < 15  # against 1,200 ticks
    shard.fail = False
    clock[0] += RETRY_MAX_S
    node.refresh_due()
    calls = len(shard.calls)
    clock[0] += 0.2
    node.refresh_due()  # a success resets the pause: the next interval refreshes again
    assert len(shard.calls) == calls + 1
