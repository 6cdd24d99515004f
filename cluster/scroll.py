"""Paged scans and scroll contexts: a search whose pages are served from the readers pinned by its first page."""

from __future__ import annotations

import base64
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cluster.pit import SliceSpec, context_missing
from cluster.search_request import SearchSpec
from cluster.state import IndexMeta
from native.errors import IllegalArgument, SearchPhaseError

if TYPE_CHECKING:
    from cluster.root import QueryPhase, Root


class Pages:
    """Successive pages of one search, each read from the readers its first page used (and pinned for
    ``pin_seconds``): a scroll, and the scans of by-query, reindex and resize.

    With the sort ``_doc`` alone (the scans the server runs, and the Python client's ``scan``) each shard
    goes on after the last ``_seq_no`` it gave (unique within a shard), so a page costs its own size and the
    pages are what offsets would give. Any other sort pages by offset: page ``k`` asks every shard for its
    top ``(k + 1) * size`` (quadratic over a long scan: 100k documents in pages of 1,000 took 30 s).
    """

    def __init__(self, root: Root, indices: Sequence[IndexMeta], spec: SearchSpec, pin_seconds: float) -> None:
        self.root = root
        self.indices = list(indices)
        self.spec = spec
        self.pin_seconds = pin_seconds
        self.generations: list[int] | None = None
        self.nodes: list[str] | None = None  # per target shard, the node whose readers the pages read
        self.offset = spec.from_
        by_doc = [(s.field, s.order) for s in spec.sort] == [("_doc", "asc")]
        self.by_cursor = by_doc and spec.from_ == 0 and spec.search_after is None
        self._cursors: list[Sequence[Any] | None] = []  # per target shard, from the first page on

    async def next(self, pin_seconds: float | None = None) -> tuple[dict[str, Any], QueryPhase]:
        """The next page (the first on the first call): the search response and its query phase."""
        pin = self.pin_seconds if pin_seconds is None else pin_seconds
        first = self.generations is None
        if first:
            response, phase = await self.root.search(self.indices, self.spec, pin_seconds=pin)
            self.generations = phase.generations
            self.nodes = phase.context_nodes() or None
        elif self.by_cursor:
            response, phase = await self.root.search(
                self.indices, self.spec, generations=self.generations, pin_seconds=pin, cursors=self._cursors,
                nodes=self.nodes,
            )
        else:
            response, phase = await self.root.search(
                self.indices, self.spec, scroll_offset=self.offset, generations=self.generations, pin_seconds=pin,
                nodes=self.nodes,
            )
        if self.by_cursor:
            if first:
                self._cursors = [None] * len(phase.targets)
            for hit in phase.hits[: self.spec.size]:  # the page: each shard's last hit in it
                self._cursors[hit[1]] = list(hit[4])
        self.offset += self.spec.size
        return response, phase

MAX_OPEN_SCROLLS = 500


def check_slices_per_scroll(slice_: SliceSpec, indices: Sequence[IndexMeta]) -> None:
    """``index.max_slices_per_scroll`` (default 1024) bounds a sliced scroll's ``max``, per index (on the shard,
    so a failure of every shard, as ES reports it)."""
    for meta in indices:
        limit = int(meta.setting("index.max_slices_per_scroll") or 1024)
        if slice_.max > limit:
            raise SearchPhaseError("all shards failed", caused_by=IllegalArgument(
                f"The number of slices [{slice_.max}] is too large. It must be less than [{limit}]. This limit can "
                "be set by changing the [index.max_slices_per_scroll] index level setting."
            ))  # fmt: skip


@dataclass
class ScrollContext:
    id: str
    pages: Pages
    total: int
    expires_at: float


class ScrollRegistry:
    def __init__(self) -> None:
        self._contexts: dict[str, ScrollContext] = {}
        self._lock = threading.Lock()

    def open(self, pages: Pages, total: int, keep_alive: float) -> ScrollContext:
        self.expire()
        with self._lock:
            if len(self._contexts) >= MAX_OPEN_SCROLLS:
                from native.errors import IllegalArgument

                raise IllegalArgument(
                    f"Trying to create too many scroll contexts. Must be less than or equal to: [{MAX_OPEN_SCROLLS}]. "
                    "This limit can be set by changing the [search.max_open_scroll_context] setting."
                )
            scroll_id = base64.urlsafe_b64encode(b"scroll:" + os.urandom(18)).decode()
            ctx = ScrollContext(scroll_id, pages, total, time.monotonic() + keep_alive)
            self._contexts[scroll_id] = ctx
            return ctx

    def get(self, scroll_id: str, keep_alive: float | None) -> ScrollContext:
        self.expire()
        with self._lock:
            ctx = self._contexts.get(scroll_id)
            if ctx is None:
                raise context_missing(scroll_id)
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
