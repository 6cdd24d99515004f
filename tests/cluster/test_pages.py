"""Paged scans (``cluster.scroll.Pages``): a ``_doc`` scan continues each shard after its last ``_seq_no``.

The pages must be exactly what offset paging gives (every live document of the first page's readers, once,
in the same order, whatever is written or deleted meanwhile), and each page must ask the shards for one
page's worth of hits, not for everything before it too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cluster.embedded import EmbeddedCluster
from cluster.scroll import Pages
from cluster.search_request import SearchSpec
from cluster.writes import WriteItem
from native.search import SortField

N = 2_500
PAGE = 97


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[EmbeddedCluster, asyncio.AbstractEventLoop]]:
    loop = asyncio.new_event_loop()
    c = EmbeddedCluster(str(tmp_path / "data"))
    loop.run_until_complete(c.start())
    mappings = {"properties": {"n": {"type": "long"}}}
    c.master.create_index("t", {"settings": {"number_of_shards": 3}, "mappings": mappings})
    try:
        for start in range(0, N, 500):  # several segments per shard
            items = [WriteItem("index", "t", str(i), source=b'{"n":%d}' % i) for i in range(start, start + 500)]
            loop.run_until_complete(c.writes.write(items))
            loop.run_until_complete(c.writes.refresh([c.master.index("t")]))
        deletes = [WriteItem("delete", "t", str(i)) for i in range(0, N, 7)]
        loop.run_until_complete(c.writes.write(deletes, refresh=True))
        yield c, loop
    finally:
        loop.run_until_complete(c.stop())
        loop.close()


def _scan(c: EmbeddedCluster, loop: asyncio.AbstractEventLoop, spec: SearchSpec, *, by_cursor: bool,
          during: Any = None) -> tuple[list[tuple[str, Any]], list[int]]:  # fmt: skip
    """Every page's (id, sort values) and the hit limit each leaf request asked for."""
    limits: list[int] = []
    real = c.root.leaf.search

    async def spy(request: Any) -> Any:
        limits.append(request.limit)
        return await real(request)

    c.root.leaf.search = spy  # type: ignore[method-assign]
    try:
        pages = Pages(c.root, [c.master.index("t")], spec, 60.0)
        if not by_cursor:
            pages.by_cursor = False
        seen: list[tuple[str, Any]] = []
        while True:
            response, _ = loop.run_until_complete(pages.next())
            hits = response["hits"]["hits"]
            if not hits:
                return seen, limits
            seen += [(h["_id"], h.get("sort")) for h in hits]
            if during is not None:
                during()
    finally:
        c.root.leaf.search = real  # type: ignore[method-assign]


def test_doc_pages_equal_offset_pages_and_cost_one_page_each(
    cluster: tuple[EmbeddedCluster, asyncio.AbstractEventLoop],
) -> None:
    c, loop = cluster
    spec = SearchSpec(query=None, size=PAGE, sort=[SortField("_doc")], explicit_sort=True)
    written = iter(range(N, N + 10_000))

    def write_and_delete() -> None:  # invisible to the scan: it reads the first page's readers
        i = next(written)
        items = [WriteItem("index", "t", str(i), source=b'{"n":1}'), WriteItem("delete", "t", str(i - N + 1))]
        loop.run_until_complete(c.writes.write(items, refresh=True))

    by_offset, offset_limits = _scan(c, loop, spec, by_cursor=False)
    by_cursor, limits = _scan(c, loop, spec, by_cursor=True, during=write_and_delete)
    live = {str(i) for i in range(N) if i % 7}
    assert sorted(i for i, _ in by_cursor) == sorted(live)  # each live document once, none written later
    assert by_cursor == by_offset
    assert set(limits) == {PAGE}  # every page asked each shard for one page
    assert max(offset_limits) > 20 * PAGE  # (what offsets cost)


def test_other_sorts_and_a_from_keep_offset_paging(cluster: tuple[EmbeddedCluster, asyncio.AbstractEventLoop]) -> None:
    c, loop = cluster
    for spec in (
        SearchSpec(query=None, size=PAGE, sort=[SortField("n", "desc")], explicit_sort=True),
        SearchSpec(query=None, size=PAGE, from_=5, sort=[SortField("_doc")], explicit_sort=True),
    ):
        pages = Pages(c.root, [c.master.index("t")], spec, 60.0)
        assert not pages.by_cursor
        seen, _ = _scan(c, loop, spec, by_cursor=False)
        expected = sorted((i for i in range(N) if i % 7), reverse=True) if spec.sort[0].field == "n" else None
        if expected is not None:
            assert [int(i) for i, _ in seen] == expected
        else:
            assert len(seen) == len([i for i in range(N) if i % 7]) - 5
