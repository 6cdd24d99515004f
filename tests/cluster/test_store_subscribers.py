"""Watch delivery (cluster.subscribers): order, no duplicates, a slow watcher skips ahead with a warning."""

from __future__ import annotations

import logging
import threading

import pytest

from cluster.subscribers import Subscribers
from tests.cluster.test_state_store_conformance import Collector, wait_for


def test_values_arrive_in_order_once_each_and_a_new_watcher_starts_from_the_latest() -> None:
    subscribers: Subscribers[int] = Subscribers("numbers", key=lambda v: v)
    first = Collector()
    subscribers.subscribe(first)
    for value in (1, 2, 2, 3, 1, 4):  # a replaying stream repeats and reorders
        subscribers.publish(value)
    wait_for(lambda: first.snapshot()[-1:] == [4], what="the last value")
    assert first.snapshot() == [1, 2, 3, 4]
    second = Collector()
    subscribers.subscribe(second)
    wait_for(lambda: second.snapshot() == [4], what="the latest for a new watcher")
    subscribers.close()


def test_a_watcher_that_falls_behind_gets_the_latest_and_the_skip_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    subscribers: Subscribers[int] = Subscribers("numbers", key=lambda v: v, max_backlog=5)
    gate = threading.Event()
    slow = Collector()

    def blocked(value: int) -> None:
        gate.wait(10)
        slow(value)

    fast = Collector()
    subscribers.subscribe(blocked)
    subscribers.subscribe(fast)
    with caplog.at_level(logging.WARNING, logger="cluster.subscribers"):
        for value in range(1, 101):
            subscribers.publish(value)
        wait_for(lambda: fast.snapshot()[-1:] == [100], what="the fast watcher's last value")
        gate.set()
        wait_for(lambda: slow.snapshot()[-1:] == [100], what="the slow watcher's last value")
    # the fast watcher reached 100 while the slow one was still blocked: one slow watcher holds no one back
    assert fast.snapshot() == sorted(set(fast.snapshot()))
    assert len(slow.snapshot()) < 100
    assert slow.snapshot() == sorted(slow.snapshot())
    assert any("fell behind" in r.getMessage() for r in caplog.records)
    subscribers.close()


def test_a_failing_callback_keeps_its_subscription() -> None:
    subscribers: Subscribers[int] = Subscribers("numbers")
    seen = Collector()

    def flaky(value: int) -> None:
        seen(value)
        if value == 1:
            raise RuntimeError("watcher bug")

    unsubscribe = subscribers.subscribe(flaky)
    subscribers.publish(1)
    subscribers.publish(2)
    wait_for(lambda: seen.snapshot() == [1, 2], what="delivery past the failure")
    unsubscribe()
    subscribers.publish(3)
    assert seen.snapshot() == [1, 2]
    subscribers.close()
