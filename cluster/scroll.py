"""Scroll contexts: a search whose pages are served from the readers pinned by its first page."""

from __future__ import annotations

import base64
import os
import threading
import time
from dataclasses import dataclass

from cluster.search_request import SearchSpec
from cluster.state import IndexMeta
from native.errors import ResourceNotFound

MAX_OPEN_SCROLLS = 500


@dataclass
class ScrollContext:
    id: str
    indices: list[IndexMeta]
    spec: SearchSpec
    generations: list[int]
    offset: int
    total: int
    expires_at: float


class ScrollRegistry:
    def __init__(self) -> None:
        self._contexts: dict[str, ScrollContext] = {}
        self._lock = threading.Lock()

    def open(self, indices: list[IndexMeta], spec: SearchSpec, generations: list[int], offset: int, total: int,
             keep_alive: float) -> ScrollContext:  # fmt: skip
        self.expire()
        with self._lock:
            if len(self._contexts) >= MAX_OPEN_SCROLLS:
                from native.errors import IllegalArgument

                raise IllegalArgument(
                    f"Trying to create too many scroll contexts. Must be less than or equal to: [{MAX_OPEN_SCROLLS}]. "
                    "This limit can be set by changing the [search.max_open_scroll_context] setting."
                )
            scroll_id = base64.urlsafe_b64encode(b"scroll:" + os.urandom(18)).decode()
            ctx = ScrollContext(scroll_id, indices, spec, generations, offset, total, time.monotonic() + keep_alive)
            self._contexts[scroll_id] = ctx
            return ctx

    def get(self, scroll_id: str, keep_alive: float | None) -> ScrollContext:
        self.expire()
        with self._lock:
            ctx = self._contexts.get(scroll_id)
            if ctx is None:
                raise ResourceNotFound(f"No search context found for id [{scroll_id}]")
            if keep_alive is not None:
                ctx.expires_at = time.monotonic() + keep_alive
            return ctx

    def clear(self, scroll_ids: list[str] | None) -> tuple[int, bool]:
        """(number freed, whether every named id existed)."""
        with self._lock:
            if scroll_ids is None or scroll_ids == ["_all"]:
                freed = len(self._contexts)
                self._contexts.clear()
                return freed, True
            freed = 0
            for sid in scroll_ids:
                if self._contexts.pop(sid, None) is not None:
                    freed += 1
            return freed, freed == len(scroll_ids)

    def expire(self) -> None:
        now = time.monotonic()
        with self._lock:
            for sid in [s for s, c in self._contexts.items() if c.expires_at < now]:
                del self._contexts[sid]

    def __len__(self) -> int:
        return len(self._contexts)
