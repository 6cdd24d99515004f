"""A mapping that adds fields to a large shard rebuilds it in the background (``Shard.update_mapping``).

Writes are checked against the new mapping at once and go on, searches read the old index until the swap,
an explicit refresh waits for the swap; afterwards every document (written before or during the rebuild) is
searchable on the new fields, with its version and seq_no unchanged. ``ONLINE_REBUILD_DOCS`` is lowered so a
small shard takes the background path, and the copy is held at its start so the test sees the rebuild
running.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import tantivy

from native import generations, merge
from native.analysis import Analysis
from native.mapping import Mapping
from native.query import compile_query, parse_query
from native.search import query_shard
from native.shard import Shard
from native.writes import WriteOp

BASE = {"properties": {"n": {"type": "long"}, "tag": {"type": "keyword"}}}
WITH_COLOR = {"properties": {**BASE["properties"], "color": {"type": "keyword"}}}
WITH_SIZE = {"properties": {**WITH_COLOR["properties"], "size": {"type": "long"}}}
N = 400


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Background rebuilds for shards of 100+ documents; each copy waits for the event before it starts."""
    monkeypatch.setattr(generations, "ONLINE_REBUILD_DOCS", 100)
    release = threading.Event()
    real = merge.Rewrite.copy

    def copy(self: merge.Rewrite, *args: Any, **kwargs: Any) -> None:
        assert release.wait(30), "the test never released the rebuild"
        real(self, *args, **kwargs)

    monkeypatch.setattr(merge.Rewrite, "copy", copy)
    yield release
    release.set()


def _shard(path: Path, mapping: dict[str, Any] = BASE) -> Shard:
    return Shard(str(path), Mapping(mapping), Analysis.from_settings({}), index_name="t")


def _docs(start: int, stop: int) -> list[dict[str, Any]]:
    return [{"n": i, "tag": "even" if i % 2 == 0 else "odd", "color": ["red", "blue", "green"][i % 3]}
            for i in range(start, stop)]  # fmt: skip


def _write(s: Shard, docs: list[dict[str, Any]]) -> None:
    results = s.write([WriteOp("index", str(d["n"]), orjson.dumps(d)) for d in docs])
    assert all(r.status in (200, 201) for r in results), [r.error for r in results if r.error]


def _ids(s: Shard, body: dict[str, Any]) -> list[int]:
    _, searcher, compiled = s.view()
    query = compile_query(parse_query(body), compiled, now_millis=0, searcher=searcher)
    hits = query_shard(searcher, compiled, query, limit=10_000).hits
    return sorted(int(searcher.doc(tantivy.DocAddress(h.segment_ord, h.doc)).to_dict()["_id"][0]) for h in hits)


def _generations(path: Path) -> list[str]:
    return sorted(p for p in os.listdir(path) if p.startswith("index."))


def test_writes_and_searches_go_on_and_the_new_field_is_searchable_after_the_swap(
    tmp_path: Path, held: threading.Event
) -> None:
    s = _shard(tmp_path)
    try:
        _write(s, _docs(0, N))
        s.refresh()
        before = {str(i): s.get(str(i)) for i in range(N)}
        s.update_mapping(Mapping(WITH_COLOR))  # returns at once: the rebuild waits for ``held``
        assert not s.await_rebuild(0.05)
        _write(s, _docs(N, N + 100))  # writes go on, checked against the new mapping
        bad = s.write([WriteOp("index", "bad", orjson.dumps({"n": "not a number"}))])[0]
        assert bad.status == 400
        s.refresh()
        assert _ids(s, {"term": {"tag": "odd"}}) == list(range(1, N + 100, 2))  # the old index answers
        assert _ids(s, {"term": {"color": "red"}}) == []  # not searchable before the swap
        held.set()
        assert s.await_rebuild(30)
        expected = [i for i in range(N + 100) if i % 3 == 0]
        assert _ids(s, {"term": {"color": "red"}}) == expected
        assert _ids(s, {"term": {"tag": "odd"}}) == list(range(1, N + 100, 2))
        for doc_id, stored in before.items():  # versions and seq_nos survive the rewrite
            got = s.get(doc_id)
            assert got is not None and stored is not None
            assert (got.version, got.seq_no, got.source) == (stored.version, stored.seq_no, stored.source)
        assert len(_generations(tmp_path)) == 1
    finally:
        s.close()
    reopened = _shard(tmp_path, WITH_COLOR)  # the new generation is in charge: no rebuild at open
    try:
        assert _ids(reopened, {"term": {"color": "red"}}) == expected
    finally:
        reopened.close()


def test_a_newer_mapping_during_the_rebuild_restarts_it(tmp_path: Path, held: threading.Event) -> None:
    s = _shard(tmp_path)
    try:
        _write(s, _docs(0, N))
        s.update_mapping(Mapping(WITH_COLOR))
        s.update_mapping(Mapping(WITH_SIZE))
        _write(s, [{"n": N, "color": "red", "size": 7}])
        held.set()
        assert s.await_rebuild(30)
        assert _ids(s, {"term": {"size": 7}}) == [N]
        assert _ids(s, {"term": {"color": "red"}}) == [i for i in range(N) if i % 3 == 0] + [N]
        assert s.compiled.field("size") is not None
        assert len(_generations(tmp_path)) == 1
    finally:
        s.close()


def test_closing_during_the_rebuild_leaves_the_old_generation_and_reopening_rebuilds(
    tmp_path: Path, held: threading.Event
) -> None:
    s = _shard(tmp_path)
    _write(s, _docs(0, N))
    s.update_mapping(Mapping(WITH_COLOR))
    _write(s, _docs(N, N + 10))
    closer = threading.Thread(target=s.close)
    closer.start()
    held.set()  # the copy starts, sees the shard closed and discards itself
    closer.join(30)
    assert not closer.is_alive()
    reopened = _shard(tmp_path, WITH_COLOR)  # the old fingerprint in state.json: rebuilt at open
    try:
        assert _ids(reopened, {"term": {"color": "red"}}) == [i for i in range(N + 10) if i % 3 == 0]
        assert len(_generations(tmp_path)) == 1
    finally:
        reopened.close()


async def test_an_explicit_refresh_waits_for_the_rebuild_over_http(
    asgi_client: httpx.AsyncClient, held: threading.Event
) -> None:
    """Through the server: ``?refresh=true`` on the write that adds a field returns once it is searchable,
    while a search sent meanwhile is answered from the old index without waiting."""
    body = b"".join(b'{"index":{"_index":"logs"}}\n' + orjson.dumps(d) + b"\n" for d in _docs(0, N))
    r = await asgi_client.post("/_bulk?refresh=true", content=body, headers={"content-type": "application/json"})
    assert r.json()["errors"] is False
    write = asyncio.create_task(asgi_client.post("/logs/_doc/new?refresh=true", json={"n": 1, "shade": "dark"}))
    await asyncio.sleep(0.5)
    assert not write.done()  # its refresh waits for the held rebuild
    r = await asgi_client.post("/logs/_search", json={"query": {"term": {"tag": "odd"}}, "size": 0})
    assert r.json()["hits"]["total"]["value"] == N // 2  # searches are not held
    held.set()
    assert (await asyncio.wait_for(write, 30)).status_code == 201
    r = await asgi_client.post("/logs/_search", json={"query": {"match": {"shade": "dark"}}})
    assert [h["_id"] for h in r.json()["hits"]["hits"]] == ["new"]
