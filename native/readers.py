"""The searchers a shard answers from: the current one, the last few, and those pinned by scrolls.

Every refresh publishes a new searcher under the next generation number. A query phase names the generation
it read, so its fetch phase (and a scroll's next page, or a by-query pass) reads the same point in time: the
last ``keep`` generations stay available for ``RETIRE_AFTER_S`` after a newer one replaced them, and a pinned
generation stays until its deadline. A generation that is gone falls back to the current searcher. Each
generation keeps the mapping its index was built with (``view``): a query compiled for another generation's
schema could name other fields.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

import tantivy

# An earlier searcher, unpinned, is released this long after a newer one replaced it: a fetch phase follows
# its query phase within the request, and scrolls pin theirs. Until then it holds its segment files (after a
# merge or mapping rebuild, a whole deleted index generation).
RETIRE_AFTER_S = 60.0


class Readers:
    def __init__(self, keep: int, retire_after_s: float = RETIRE_AFTER_S) -> None:
        self.keep = keep
        self.retire_after_s = retire_after_s
        # Searches take only this lock: they never wait behind a write batch or a commit.
        self.lock = threading.RLock()
        self._searchers: OrderedDict[int, tantivy.Searcher] = OrderedDict()
        self._mappings: dict[int, Any] = {}  # generation → the compiled mapping of its index
        self._pins: dict[int, float] = {}  # generation → monotonic deadline
        self._generation = 0
        self._replaced_at: dict[int, float] = {}  # generation → when a newer searcher was published

    def publish(self, searcher: tantivy.Searcher, mapping: Any = None) -> int:
        """Make ``searcher`` (of an index built with ``mapping``) the current one (earlier ones stay, even when
        their index directory was replaced and deleted: their mapped files stay readable)."""
        with self.lock:
            self._replaced_at[self._generation] = time.monotonic()
            self._generation += 1
            self._searchers[self._generation] = searcher
            self._mappings[self._generation] = mapping
            self._evict()
            return self._generation

    def _evict(self) -> None:
        now = time.monotonic()
        self._pins = {gen: until for gen, until in self._pins.items() if until > now}
        excess = len(self._searchers) - self.keep
        retire_before = now - self.retire_after_s
        for gen in list(self._searchers):
            if gen == self._generation or gen in self._pins:
                continue
            if excess > 0 or self._replaced_at.get(gen, now) < retire_before:
                del self._searchers[gen]
                excess -= 1
        self._replaced_at = {gen: at for gen, at in self._replaced_at.items() if gen in self._searchers}
        self._mappings = {gen: m for gen, m in self._mappings.items() if gen in self._searchers}

    def retire(self) -> None:
        """Release the earlier searchers whose time is up (called periodically: an idle shard publishes none)."""
        with self.lock:
            if len(self._searchers) > 1:
                self._evict()

    def pin(self, generation: int, seconds: float) -> None:
        """Keep the searcher of ``generation`` for ``seconds`` more (scroll keep-alive, snapshot passes)."""
        with self.lock:
            if generation in self._searchers:
                self._pins[generation] = max(self._pins.get(generation, 0.0), time.monotonic() + seconds)

    def free(self) -> bool:
        """Whether a search could take the lock right now (False while a rebuild swaps the index)."""
        if not self.lock.acquire(blocking=False):
            return False
        self.lock.release()
        return True

    def current(self) -> tuple[int, tantivy.Searcher]:
        with self.lock:
            return self._generation, self._searchers[self._generation]

    def get(self, generation: int) -> tantivy.Searcher:
        """The searcher of ``generation`` (an earlier query phase's), or the current one."""
        return self.view(generation)[1]

    def view(self, generation: int = 0) -> tuple[int, tantivy.Searcher, Any]:
        """``(generation, searcher, mapping)`` of ``generation`` (0: the current one; one that is gone: the
        current one, under its own number)."""
        with self.lock:
            found = self._searchers.get(generation) if generation else None
            if found is None:
                generation = self._generation
                found = self._searchers[generation]
            else:
                self._searchers.move_to_end(generation)
            return generation, found, self._mappings.get(generation)
