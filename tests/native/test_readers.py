"""Searcher generations: kept for fetch phases, released after a grace period unless a scroll pins them."""

from __future__ import annotations

import time
from typing import Any

from native.readers import Readers


def test_earlier_generations_are_kept_then_retired_unless_pinned() -> None:
    readers = Readers(keep=16, retire_after_s=0.05)
    searchers: list[Any] = [object(), object(), object()]
    gens = [readers.publish(s) for s in searchers]
    assert [readers.get(g) for g in gens] == searchers  # a fetch phase right after its query phase
    readers.pin(gens[0], 60)
    time.sleep(0.1)
    readers.retire()
    assert readers.get(gens[0]) is searchers[0]  # pinned by a scroll
    assert readers.get(gens[1]) is searchers[2]  # retired: falls back to the current searcher
    assert readers.current() == (gens[2], searchers[2])


def test_the_newest_generations_are_kept_up_to_the_limit() -> None:
    readers = Readers(keep=3, retire_after_s=3600)
    searchers: list[Any] = [object() for _ in range(6)]
    gens = [readers.publish(s) for s in searchers]
    assert [readers.get(g) is s for g, s in zip(gens, searchers, strict=True)] == [False] * 3 + [True] * 3
