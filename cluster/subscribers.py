"""Delivery of store events to watchers, one thread per watcher.

A state store learns of a change on one of its own threads (a save, an etcd watch stream, a lease that
expired) and must not run user code there: a slow or re-entrant callback would stall every other watcher
or deadlock the store. ``Subscribers`` gives each watcher its own queue and delivery thread instead.

Contract (what the ``ClusterStateStore`` watch methods promise on top of it):

- a new watcher first gets the latest value published so far (if any), then every later one, in order;
- with ``key`` (the cluster state's version), a watcher never sees a value that is not newer than the last
  one it got: duplicates and reordering from reconnecting streams are dropped here;
- a watcher that falls more than ``max_backlog`` values behind gets the latest only; the skip is logged
  (a warning naming how many were dropped), never silent.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
Unsubscribe = Callable[[], None]

STOP_TIMEOUT_S = 5.0


class _Watcher(Generic[T]):
    def __init__(self, owner: Subscribers[T], callback: Callable[[T], None]) -> None:
        self.owner = owner
        self.callback = callback
        self.queue: deque[T] = deque()
        self.cond = threading.Condition()
        self.closed = False
        self.last_key: int | None = None
        self.thread = threading.Thread(target=self._run, name=f"{owner.name}-watcher", daemon=True)

    def offer(self, value: T) -> None:
        with self.cond:
            self.queue.append(value)
            if len(self.queue) > self.owner.max_backlog:
                dropped = len(self.queue) - 1
                latest = self.queue[-1]
                self.queue.clear()
                self.queue.append(latest)
                log.warning(
                    "watcher fell behind: skipped to the latest value",
                    extra={"watch": self.owner.name, "dropped": dropped},
                )
            self.cond.notify()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify()
        if threading.current_thread() is not self.thread:
            self.thread.join(STOP_TIMEOUT_S)

    def _run(self) -> None:
        while True:
            with self.cond:
                while not self.queue and not self.closed:
                    self.cond.wait()
                if self.closed:
                    return
                value = self.queue.popleft()
            key = self.owner.key(value) if self.owner.key is not None else None
            if key is not None and self.last_key is not None and key <= self.last_key:
                continue
            self.last_key = key
            try:
                self.callback(value)
            except Exception:  # a watcher's bug must not end its delivery
                log.exception("watch callback failed", extra={"watch": self.owner.name})


class Subscribers(Generic[T]):
    """The watchers of one kind of value (states, member lists, the leader)."""

    def __init__(self, name: str, *, key: Callable[[T], int] | None = None, max_backlog: int = 1000) -> None:
        self.name = name
        self.key = key
        self.max_backlog = max_backlog
        self._lock = threading.Lock()
        self._watchers: list[_Watcher[T]] = []
        self._latest: list[T] = []  # empty until the first publish

    def __len__(self) -> int:
        with self._lock:
            return len(self._watchers)

    @property
    def latest(self) -> T | None:
        with self._lock:
            return self._latest[0] if self._latest else None

    def publish(self, value: T) -> None:
        with self._lock:
            if self.key is not None and self._latest and self.key(value) <= self.key(self._latest[0]):
                return  # a stream replaying what was delivered already
            self._latest = [value]
            for watcher in self._watchers:
                watcher.offer(value)

    def subscribe(self, callback: Callable[[T], None]) -> Unsubscribe:
        watcher = _Watcher(self, callback)
        with self._lock:
            if self._latest:
                watcher.offer(self._latest[0])
            self._watchers.append(watcher)
        watcher.thread.start()

        def unsubscribe() -> None:
            with self._lock:
                if watcher in self._watchers:
                    self._watchers.remove(watcher)
            watcher.close()

        return unsubscribe

    def close(self) -> None:
        with self._lock:
            watchers, self._watchers = self._watchers, []
        for watcher in watchers:
            watcher.close()
