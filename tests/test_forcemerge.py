"""Force merge (``Shard.forcemerge``, ``native.merge``, ``POST /{index}/_forcemerge``).

A shard that took several commits has several segments; the merge rewrites it into one (deleted documents
dropped) and every answer stays what plain Python computes over the same documents. Writes, refreshes and
searches made while the rewrite runs are not blocked and nothing written is lost: a hook in the copy holds
the rewrite at a known point while the test writes.
"""

from __future__ import annotations

import os
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import tantivy

import native.merge as merge_module
from native import aggs as native_aggs
from native.analysis import Analysis
from native.errors import IndexNotFound
from native.mapping import Mapping
from native.query import compile_query, parse_query
from native.search import query_shard
from native.shard import Shard
from native.writes import WriteOp

MAPPING = {"properties": {"n": {"type": "long"}, "tag": {"type": "keyword"}, "title": {"type": "text"}}}
TAGS = ["red", "green", "blue", "black"]
WORDS = ["alpha", "beta", "gamma", "delta", "omega"]
WAIT = 30.0


def _open(path: Path) -> Shard:
    return Shard(str(path), Mapping(MAPPING), Analysis.from_settings({}), index_name="fm", shard_id=0)


def _doc(rng: random.Random, n: int) -> dict[str, Any]:
    return {"n": n, "tag": rng.choice(TAGS), "title": " ".join(rng.choices(WORDS, k=3))}


class Model:
    """The documents a shard should hold, kept in plain Python: id → (source, version, seq_no)."""

    def __init__(self) -> None:
        self.docs: dict[str, tuple[dict[str, Any], int, int]] = {}

    def index(self, shard: Shard, doc_id: str, source: dict[str, Any]) -> None:
        result = shard.write([WriteOp("index", doc_id, source=orjson.dumps(source))])[0]
        assert result.error is None
        self.docs[doc_id] = (source, result.version, result.seq_no)

    def delete(self, shard: Shard, doc_id: str) -> None:
        result = shard.write([WriteOp("delete", doc_id)])[0]
        assert result.result == "deleted"
        del self.docs[doc_id]

    def index_auto(self, shard: Shard, ids: list[str], sources: list[dict[str, Any]]) -> None:
        result = shard.index_columns("index", ids, [orjson.dumps(s) for s in sources], auto_id=True)
        assert not result.errors
        for doc_id, source, version, seq_no in zip(ids, sources, result.versions, result.seq_nos, strict=True):
            self.docs[doc_id] = (source, version, seq_no)

    # plain-Python answers
    def count(self, pred: Callable[[dict[str, Any]], bool]) -> int:
        return sum(1 for source, _, _ in self.docs.values() if pred(source))

    def tag_counts(self) -> dict[str, int]:
        return dict(Counter(source["tag"] for source, _, _ in self.docs.values()))

    def n_sum(self) -> float:
        return float(sum(source["n"] for source, _, _ in self.docs.values()))


Answer = tuple[int, dict[str, float], dict[str, Any] | None]


def _search(
    shard: Shard, body: dict[str, Any], aggs: dict[str, Any] | None = None, searcher: tantivy.Searcher | None = None
) -> Answer:
    """(total, {id: score} of every hit, finalized aggregations) from the published searcher."""
    if searcher is None:
        searcher = shard.acquire_searcher()[1]
    query = compile_query(parse_query(body), shard.compiled, now_millis=0, searcher=searcher)
    hits = query_shard(searcher, shard.compiled, query, limit=10_000)
    scores = {str(searcher.doc(tantivy.DocAddress(h.segment_ord, h.doc)).to_dict()["_id"][0]): h.score or 0.0
              for h in hits.hits}  # fmt: skip
    out = None
    if aggs is not None:
        tree = native_aggs.parse_aggs(aggs)
        assert tree is not None
        partial = native_aggs.execute_shard(tree, searcher, query, shard.compiled, now_millis=0)
        out = native_aggs.finalize(tree, native_aggs.merge_partials(tree, [partial]))
    return hits.total, scores, out


AGGS = {"tags": {"terms": {"field": "tag", "size": 10}}, "sum_n": {"sum": {"field": "n"}}}


def _check_after_restart(shard: Shard, model: Model) -> None:
    """Close ``shard``, open its directory again and ``_check`` it."""
    shard.close()
    reopened = _open(Path(shard.path))
    try:
        _check(reopened, model)
    finally:
        reopened.close()


def _check(shard: Shard, model: Model) -> None:
    """Every document (by realtime get and through the searcher) and a few answers equal the model's."""
    for doc_id, (source, version, seq_no) in model.docs.items():
        got = shard.get(doc_id)
        assert got is not None, doc_id
        assert (orjson.loads(got.source or b""), got.version, got.seq_no, got.primary_term) == (source, version,
                                                                                                seq_no, 1)  # fmt: skip
    searcher = shard.acquire_searcher()[1]
    assert searcher.num_docs == len(model.docs)
    for doc_id, (_, version, seq_no) in model.docs.items():
        committed = shard._get_committed(searcher, doc_id)
        assert committed is not None and (committed.version, committed.seq_no) == (version, seq_no), doc_id
    total, scores, aggs = _search(shard, {"match_all": {}}, AGGS)
    assert total == len(model.docs) and set(scores) == set(model.docs)
    assert aggs is not None
    assert {b["key"]: b["doc_count"] for b in aggs["tags"]["buckets"]} == model.tag_counts()
    assert aggs["sum_n"]["value"] == model.n_sum()
    total, scores, _ = _search(shard, {"range": {"n": {"gte": 100, "lt": 400}}})
    assert total == model.count(lambda s: 100 <= s["n"] < 400)
    total, scores, _ = _search(shard, {"match": {"title": "gamma"}})
    assert total == model.count(lambda s: "gamma" in s["title"].split())
    assert set(scores) == {i for i, (s, _, _) in model.docs.items() if "gamma" in s["title"].split()}


def _load(shard: Shard, model: Model, rng: random.Random, rounds: int = 5, per_round: int = 200) -> None:
    """``rounds`` commits of ``per_round`` new documents each: one segment per commit."""
    for r in range(rounds):
        for i in range(per_round):
            n = r * per_round + i
            model.index(shard, f"d{n}", _doc(rng, n))
        shard.refresh()


@pytest.fixture
def loaded(tmp_path: Path) -> Iterator[tuple[Shard, Model]]:
    shard = _open(tmp_path / "shard")
    model = Model()
    _load(shard, model, random.Random(7))
    yield shard, model
    shard.close()


def _index_dirs(shard: Shard) -> list[str]:
    return sorted(name for name in os.listdir(shard.path) if name.startswith("index."))


# -- the merge itself -------------------------------------------------------------------------------------
def test_forcemerge_leaves_one_segment_and_every_answer(loaded: tuple[Shard, Model]) -> None:
    shard, model = loaded
    assert shard.acquire_searcher()[1].num_segments == len(shard.segments()) == 5
    before = _search(shard, {"match": {"title": "gamma delta"}})
    _check(shard, model)
    assert shard.forcemerge() is True
    assert shard.acquire_searcher()[1].num_segments == 1
    assert [s.num_docs for s in shard.segments()] == [1000]
    assert _index_dirs(shard) == [f"index.{shard.generation}"]
    _check(shard, model)
    after = _search(shard, {"match": {"title": "gamma delta"}})
    # no deleted documents before: the BM25 statistics, and so the scores, are the same
    assert after[0] == before[0] and after[1] == pytest.approx(before[1])
    # writes, refreshes and a restart go on from the new generation
    model.index(shard, "d0", {"n": 5000, "tag": "red", "title": "omega"})
    shard.refresh()
    _check(shard, model)
    _check_after_restart(shard, model)


def test_forcemerge_expunges_deletes_and_keeps_updates(loaded: tuple[Shard, Model]) -> None:
    shard, model = loaded
    rng = random.Random(11)
    for n in range(0, 1000, 7):
        model.delete(shard, f"d{n}")
    for n in range(3, 1000, 11):
        if f"d{n}" in model.docs:
            model.index(shard, f"d{n}", _doc(rng, n + 10_000))
    shard.refresh()
    assert sum(s.deleted_docs for s in shard.segments()) > 0
    _check(shard, model)
    assert shard.forcemerge(only_expunge_deletes=True) is True
    assert [(s.num_docs, s.deleted_docs) for s in shard.segments()] == [(len(model.docs), 0)]
    _check(shard, model)


def test_forcemerge_skips_a_merged_shard(loaded: tuple[Shard, Model]) -> None:
    shard, _ = loaded
    generation = shard.generation
    assert shard.forcemerge(max_num_segments=5) is False  # already 5 segments, no deletes
    assert shard.forcemerge(only_expunge_deletes=True) is False  # nothing deleted
    assert shard.generation == generation
    assert shard.forcemerge(max_num_segments=2) is True
    assert shard.forcemerge() is False
    assert shard.generation == generation + 1


def test_only_expunge_deletes_waits_for_ten_percent(loaded: tuple[Shard, Model]) -> None:
    shard, model = loaded
    assert shard.forcemerge() is True  # one segment
    model.delete(shard, "d0")
    shard.refresh()
    assert [s.deleted_docs for s in shard.segments()] == [1]
    assert shard.forcemerge(only_expunge_deletes=True) is False  # 0.1 % deleted: ES's 10 % is not reached
    for n in range(1, 200):
        model.delete(shard, f"d{n}")
    shard.refresh()
    assert shard.forcemerge(only_expunge_deletes=True) is True
    assert [s.deleted_docs for s in shard.segments()] == [0]
    _check(shard, model)


def test_unrefreshed_writes_are_merged_and_committed(loaded: tuple[Shard, Model]) -> None:
    shard, model = loaded
    model.index(shard, "late", {"n": 1, "tag": "red", "title": "alpha"})
    model.delete(shard, "d5")
    assert shard.forcemerge() is True
    assert shard.committed_seq_no == shard.max_seq_no
    _check(shard, model)


def test_old_searchers_still_answer_after_the_swap(loaded: tuple[Shard, Model]) -> None:
    """A fetch phase or a scroll that read the old generation reads it on: its files are gone from the
    directory but still mapped."""
    shard, _ = loaded
    gen, old = shard.acquire_searcher()
    old_dir = os.path.join(shard.path, f"index.{shard.generation}")
    total, scores, aggs = _search(shard, {"match_all": {}}, AGGS, searcher=old)
    assert shard.forcemerge() is True
    assert not os.path.exists(old_dir)
    assert shard.searcher(gen) is old
    assert _search(shard, {"match_all": {}}, AGGS, searcher=old) == (total, scores, aggs)


def test_stale_generation_directories_are_removed_on_open(tmp_path: Path) -> None:
    shard = _open(tmp_path / "s")
    model = Model()
    _load(shard, model, random.Random(1), rounds=2, per_round=10)
    shard.close()
    os.makedirs(tmp_path / "s" / "index.7")  # a rewrite that crashed before its state.json write
    reopened = _open(tmp_path / "s")
    try:
        assert _index_dirs(reopened) == ["index.0"]
        _check(reopened, model)
    finally:
        reopened.close()


# -- concurrency: the rewrite held at a known point -------------------------------------------------------
class _Hold:
    """Holds the rewrite inside ``point`` (``"copy"``: between two seq_no ranges of the copy; ``"swap"``:
    after the copy is committed, before the swap) until ``release``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, point: str) -> None:
        self.reached = threading.Event()
        self.go = threading.Event()
        monkeypatch.setattr(merge_module, "COPY_CHUNK", 100)
        if point == "copy":
            original = merge_module.Rewrite.apply_tail
            calls = [0]

            def apply_tail(rewrite: Any, batches: Any) -> None:
                calls[0] += 1
                if calls[0] == 3:  # two ranges copied, eight to go
                    self._wait()
                original(rewrite, batches)

            monkeypatch.setattr(merge_module.Rewrite, "apply_tail", apply_tail)
        else:
            finish = merge_module.Rewrite.finish

            def finish_then_wait(rewrite: Any, heap: int, threads: int, take_tail: Any) -> Any:
                writer = finish(rewrite, heap, threads, take_tail)
                self._wait()
                return writer

            monkeypatch.setattr(merge_module.Rewrite, "finish", finish_then_wait)

    def _wait(self) -> None:
        self.reached.set()
        assert self.go.wait(WAIT)


def _merge_in_thread(shard: Shard, **kw: Any) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["merged"] = shard.forcemerge(**kw)
        except BaseException as exc:
            out["error"] = exc

    thread = threading.Thread(target=run, name="forcemerge")
    thread.start()
    return thread, out


def _in_thread(fn: Callable[[], Any]) -> Any:
    """``fn()`` on another thread, failing the test when it does not return in time (it is blocked)."""
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    thread.join(WAIT)
    assert not thread.is_alive(), "blocked by the running force merge"
    return out[0]


@pytest.mark.parametrize("point", ["copy", "swap"])
def test_writes_refreshes_and_searches_during_the_merge(
    loaded: tuple[Shard, Model], monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    shard, model = loaded
    hold = _Hold(monkeypatch, point)
    thread, out = _merge_in_thread(shard)
    assert hold.reached.wait(WAIT)
    # a search answers from the old generation meanwhile
    total, _, aggs = _in_thread(lambda: _search(shard, {"match_all": {}}, AGGS))
    assert total == 1000 and aggs is not None and aggs["sum_n"]["value"] == model.n_sum()
    rng = random.Random(3)
    # updates and deletes of documents copied already (d0..d199) and not yet (d900..), new ids, auto ids
    for doc_id in ("d1", "d150", "d901", "d999"):
        _in_thread(lambda doc_id=doc_id: model.index(shard, doc_id, _doc(rng, 7000)))
    for doc_id in ("d2", "d950"):
        _in_thread(lambda doc_id=doc_id: model.delete(shard, doc_id))
    _in_thread(lambda: model.index(shard, "new-1", _doc(rng, 7001)))
    _in_thread(lambda: model.index_auto(shard, ["auto-1", "auto-2"], [_doc(rng, 7002), _doc(rng, 7003)]))
    _in_thread(shard.refresh)  # refreshes commit the old generation meanwhile
    assert _search(shard, {"match_all": {}})[0] == len(model.docs)
    _in_thread(lambda: model.index(shard, "new-2", _doc(rng, 7004)))  # acknowledged, not refreshed
    _in_thread(lambda: model.index(shard, "d1", _doc(rng, 7005)))  # a second update of the same id
    hold.go.set()
    thread.join(WAIT)
    assert out == {"merged": True}
    # writes during the merge may leave a small segment, and deleted copies of documents they replaced
    assert len(shard.segments()) <= 2
    _check(shard, model)
    shard.refresh()
    _check(shard, model)
    _check_after_restart(shard, model)


def test_a_mapping_rebuild_cancels_a_running_merge(
    loaded: tuple[Shard, Model], monkeypatch: pytest.MonkeyPatch
) -> None:
    shard, model = loaded
    hold = _Hold(monkeypatch, "copy")
    thread, out = _merge_in_thread(shard)
    assert hold.reached.wait(WAIT)
    grown = {"properties": {**MAPPING["properties"], "extra": {"type": "keyword"}}}
    _in_thread(lambda: shard.update_mapping(Mapping(grown)))  # rebuilds into a generation of its own
    rebuilt = shard.generation
    hold.go.set()
    thread.join(WAIT)
    assert out == {"merged": False}
    assert shard.generation == rebuilt and _index_dirs(shard) == [f"index.{rebuilt}"]
    _check(shard, model)


def test_closing_the_shard_cancels_a_running_merge(
    loaded: tuple[Shard, Model], monkeypatch: pytest.MonkeyPatch
) -> None:
    shard, _ = loaded
    hold = _Hold(monkeypatch, "copy")
    thread, out = _merge_in_thread(shard)
    assert hold.reached.wait(WAIT)
    _in_thread(shard.close)
    hold.go.set()
    thread.join(WAIT)
    assert isinstance(out.get("error"), IndexNotFound)
    assert _index_dirs(shard) == ["index.0"]


# -- over HTTP --------------------------------------------------------------------------------------------
async def _bulk(client: httpx.AsyncClient, index: str, lines: list[dict[str, Any]]) -> None:
    body = b"\n".join(orjson.dumps(line) for line in lines) + b"\n"
    r = await client.post(f"/{index}/_bulk?refresh=true", content=body,
                          headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text


async def _segments(client: httpx.AsyncClient, index: str) -> list[dict[str, Any]]:
    body = (await client.get(f"/{index}/_segments")).json()
    return list(body["indices"][index]["shards"]["0"][0]["segments"].values())


async def _answers(client: httpx.AsyncClient, index: str) -> tuple[Any, ...]:
    search = (await client.post(f"/{index}/_search", json={
        "size": 100, "query": {"match": {"title": "gamma"}}, "sort": [{"n": "asc"}],
        "aggs": {"tags": {"terms": {"field": "tag"}}, "sum_n": {"sum": {"field": "n"}}},
    })).json()  # fmt: skip
    hits = [(h["_id"], h["_source"], h["_seq_no"] if "_seq_no" in h else None) for h in search["hits"]["hits"]]
    docs = [(await client.get(f"/{index}/_doc/{i}")).json() for i in ("d3", "d40", "d77")]
    count = (await client.get(f"/{index}/_count")).json()["count"]
    return search["hits"]["total"], hits, search["aggregations"], docs, count


async def test_forcemerge_over_http(asgi_client: httpx.AsyncClient) -> None:
    settings = {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"}
    r = await asgi_client.put("/fm", json={"settings": settings, "mappings": MAPPING})
    assert r.status_code == 200, r.text
    rng = random.Random(5)
    docs = {f"d{n}": _doc(rng, n) for n in range(80)}
    for start in range(0, 80, 20):  # four refreshed bulks: four segments
        await _bulk(asgi_client, "fm", [line for n in range(start, start + 20)
                                        for line in ({"index": {"_id": f"d{n}"}}, docs[f"d{n}"])])  # fmt: skip
    await _bulk(asgi_client, "fm", [{"delete": {"_id": "d10"}}, {"delete": {"_id": "d50"}}])
    del docs["d10"], docs["d50"]
    segments = await _segments(asgi_client, "fm")
    assert len(segments) == 4 and sum(s["deleted_docs"] for s in segments) == 2
    cat = (await asgi_client.get("/_cat/segments/fm?format=json")).json()
    assert len(cat) == 4
    stats = (await asgi_client.get("/fm/_stats")).json()["indices"]["fm"]["primaries"]
    assert stats["docs"] == {**stats["docs"], "count": 78, "deleted": 2} and stats["merges"]["total"] == 0
    cat_indices = (await asgi_client.get("/_cat/indices/fm?format=json&h=docs.count,docs.deleted")).json()
    assert cat_indices == [{"docs.count": "78", "docs.deleted": "2"}]
    before = await _answers(asgi_client, "fm")
    gamma = [d for d in docs.values() if "gamma" in d["title"].split()]
    assert before[0] == {"value": len(gamma), "relation": "eq"}
    assert [h[1] for h in before[1]] == sorted(gamma, key=lambda d: d["n"])
    assert before[2]["sum_n"]["value"] == sum(d["n"] for d in gamma)
    assert {b["key"]: b["doc_count"] for b in before[2]["tags"]["buckets"]} == Counter(d["tag"] for d in gamma)
    assert before[4] == len(docs)

    r = await asgi_client.post("/fm/_forcemerge?max_num_segments=1")
    assert r.status_code == 200 and r.json() == {"_shards": {"total": 1, "successful": 1, "failed": 0}}
    segments = await _segments(asgi_client, "fm")
    assert [(s["num_docs"], s["deleted_docs"]) for s in segments] == [(78, 0)]
    cat = (await asgi_client.get("/_cat/segments/fm?format=json")).json()
    assert [(row["segment"], row["docs.count"], row["docs.deleted"]) for row in cat] == [("_0", "78", "0")]
    stats = (await asgi_client.get("/fm/_stats/segments")).json()
    assert stats["indices"]["fm"]["primaries"]["segments"]["count"] == 1
    stats = (await asgi_client.get("/fm/_stats")).json()["indices"]["fm"]["primaries"]
    assert stats["docs"]["deleted"] == 0 and stats["merges"]["total"] == 1
    assert await _answers(asgi_client, "fm") == before
    await asgi_client.post("/fm/_forcemerge?max_num_segments=1")  # already one segment: nothing merged
    assert (await asgi_client.get("/fm/_stats")).json()["indices"]["fm"]["primaries"]["merges"]["total"] == 1


async def test_forcemerge_in_the_background_and_bad_parameters(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/bg", json={"settings": {"number_of_shards": 1, "refresh_interval": "-1"},
                                       "mappings": MAPPING})  # fmt: skip
    rng = random.Random(9)
    for start in range(0, 30, 10):
        await _bulk(asgi_client, "bg", [line for n in range(start, start + 10)
                                        for line in ({"index": {"_id": f"d{n}"}}, _doc(rng, n))])  # fmt: skip
    assert len(await _segments(asgi_client, "bg")) == 3
    r = await asgi_client.post("/_forcemerge?wait_for_completion=false")
    assert r.status_code == 200
    task_id = r.json()["task"]
    task = (await asgi_client.get(f"/_tasks/{task_id}?wait_for_completion=true")).json()
    assert task["completed"] is True and task["response"]["_shards"]["failed"] == 0
    assert [s["num_docs"] for s in await _segments(asgi_client, "bg")] == [30]
    assert (await asgi_client.get("/bg/_count")).json()["count"] == 30

    bad = await asgi_client.post("/bg/_forcemerge?max_num_segments=x")
    assert bad.status_code == 400 and "max_num_segments" in bad.json()["error"]["reason"]
    both = await asgi_client.post("/bg/_forcemerge?max_num_segments=1&only_expunge_deletes=true")
    assert both.status_code == 400
