"""Three nodes holding five shards answer exactly as the embedded server holding them all.

The same documents go through a ``WriteCoordinator`` into an embedded cluster and into three nodes whose
routing table spreads the primaries (shard s on node s mod 3, no replicas); every write must land on its
primary's node only, and searches, counts, aggregations, paging (``from``, ``search_after``), scroll pages and
a PIT (pinned readers on their nodes, while new writes arrive) must be identical.
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from cluster.embedded import EmbeddedCluster
from cluster.protos import leaf_pb2 as pb
from cluster.root import QUERY_AND_FETCH_DOCS, Root, targets_for
from cluster.scroll import Pages
from cluster.search_request import SearchSpec, parse_search
from cluster.state import IndexMeta
from cluster.writes import WriteCoordinator, WriteItem
from tests.cluster.fanout_harness import NODES, ThreeNodes

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
MAPPINGS = {"properties": {"title": {"type": "text"}, "tag": {"type": "keyword"}, "n": {"type": "long"},
                           "price": {"type": "double"}, "ts": {"type": "date"}}}  # fmt: skip
SHARDS = 5


def _docs(n: int, seed: int) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    return [(f"{seed}-{i}", orjson.dumps({
        "title": " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8))),
        "tag": rng.choice(["red", "green", "blue", "black", "white"]),
        "n": rng.randint(0, 50), "price": round(rng.uniform(1, 100), 2),
        "ts": 1_700_000_000_000 + rng.randint(0, 10 * 86_400_000),
    })) for i in range(n)]  # fmt: skip


async def _load(writes: WriteCoordinator, meta_of: Any, docs: list[tuple[str, bytes]]) -> None:
    results = await writes.write([WriteItem("index", "docs", i, source=src) for i, src in docs])
    assert all(r.status == 201 for r in results), results[:3]
    await writes.refresh([meta_of("docs")])


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[EmbeddedCluster, ThreeNodes]]:
    embedded = EmbeddedCluster(str(tmp_path / "embedded"))
    nodes = ThreeNodes(str(tmp_path / "three"))
    try:
        body = {"settings": {"number_of_shards": SHARDS, "number_of_replicas": 0}, "mappings": MAPPINGS}
        embedded.master.create_index("docs", body)
        nodes.master.create_index("docs", body)
        nodes.route("docs", [[NODES[s % 3]] for s in range(SHARDS)])
        for seed in (1, 2):  # two segments per shard
            docs = _docs(150, seed)
            await _load(embedded.writes, embedded.master.index, docs)
            await _load(nodes.writes, nodes.master.index, docs)
        yield embedded, nodes
    finally:
        await embedded.stop()
        nodes.close()


def _meta(root_owner: Any) -> list[IndexMeta]:
    return [root_owner.master.index("docs")]


def _plain(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "took"}


async def _both(pair: tuple[EmbeddedCluster, ThreeNodes], body: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for owner in pair:
        response, _ = await owner.root.search(_meta(owner), parse_search(body, {}))
        out.append(_plain(response))
    return out


SEARCHES: list[dict[str, Any]] = [
    {"query": {"match": {"title": "alpha beta"}}, "size": 20},
    {"query": {"match": {"title": "gamma"}}, "from": 10, "size": 15},
    {"query": {"bool": {"must": [{"match": {"title": "delta"}}], "filter": [{"range": {"n": {"gte": 10}}}]}}},
    {"sort": [{"n": "desc"}, {"price": "asc"}], "size": 25},
    {"query": {"term": {"tag": "red"}}, "sort": [{"ts": "asc"}], "size": 7, "from": 3},
    {"size": 0, "aggs": {"tags": {"terms": {"field": "tag"}, "aggs": {"avg": {"avg": {"field": "price"}}}},
                         "hist": {"histogram": {"field": "n", "interval": 10}},
                         "days": {"date_histogram": {"field": "ts", "calendar_interval": "day"}},
                         "price": {"stats": {"field": "price"}}, "top": {"max": {"field": "n"}}}},
    {"query": {"match": {"title": "eta"}}, "size": 5,
     "aggs": {"tags": {"terms": {"field": "tag", "size": 2}}, "sum": {"sum": {"field": "n"}}}},
    {"query": {"match": {"title": "theta"}}, "post_filter": {"term": {"tag": "blue"}},
     "aggs": {"tags": {"terms": {"field": "tag"}}}},
    {"track_total_hits": True, "query": {"match_all": {}}, "size": 3},
    {"query": {"match": {"title": "alpha"}}, "from": 2, "size": 6, "highlight": {"fields": {"title": {}}},
     "_source": ["title", "n"]},
]  # fmt: skip


@pytest.mark.parametrize("body", SEARCHES, ids=range(len(SEARCHES)))
async def test_searches_are_identical(pair: tuple[EmbeddedCluster, ThreeNodes], body: dict[str, Any]) -> None:
    embedded, three = await _both(pair, body)
    assert three == embedded
    assert three["_shards"] == {"total": SHARDS, "successful": SHARDS, "skipped": 0, "failed": 0}


async def test_small_pages_come_back_with_the_query_phase(pair: tuple[EmbeddedCluster, ThreeNodes]) -> None:
    """Query-and-fetch: a page whose shards load at most ``QUERY_AND_FETCH_DOCS`` documents in all saves the fetch
    round trip; a larger one fetches its winners only. Both answer as the embedded server (above)."""
    _, three = pair
    clients = three.clients.values()
    body = {"query": {"match": {"title": "alpha"}}, "size": 5, "highlight": {"fields": {"title": {}}}}
    before = sum(c.fetches for c in clients)
    small = _plain((await three.root.search(_meta(three), parse_search(body, {})))[0])
    assert small["hits"]["hits"] and all("highlight" in h and "_source" in h for h in small["hits"]["hits"])
    assert sum(c.fetches for c in clients) == before
    wider = {**body, "size": QUERY_AND_FETCH_DOCS // SHARDS + 1}
    large = _plain((await three.root.search(_meta(three), parse_search(wider, {})))[0])
    assert large["hits"]["hits"] and sum(c.fetches for c in clients) > before


async def test_writes_land_on_their_primary_only(pair: tuple[EmbeddedCluster, ThreeNodes]) -> None:
    _, three = pair
    meta = three.master.index("docs")
    total = 0
    for n, service in three.services.items():
        owned = [s for s in range(SHARDS) if NODES[s % 3] == n]
        assert sorted(s for (uuid, s) in three.data[n].shards if uuid == meta.uuid) == owned  # its copies only
        stats = service.stats(pb.StatsRequest(shards=[pb.ShardRef(index="docs", uuid=meta.uuid, shard=s)
                                                      for s in owned]))  # fmt: skip
        assert all(st.num_docs > 0 for st in stats.shards)
        total += sum(st.num_docs for st in stats.shards)
    assert total == 300
    # and every node answered a part of the searches
    await _both(pair, {"query": {"match_all": {}}})
    assert all(client.calls > 0 for client in three.clients.values())


async def test_search_after_pages_are_identical(pair: tuple[EmbeddedCluster, ThreeNodes]) -> None:
    pages: list[list[Any]] = [[], []]
    for k, owner in enumerate(pair):
        after = None
        while True:
            body: dict[str, Any] = {"sort": [{"price": "desc"}, {"ts": "asc"}], "size": 40}
            if after is not None:
                body["search_after"] = after
            response, _ = await owner.root.search(_meta(owner), parse_search(body, {}))
            hits = response["hits"]["hits"]
            if not hits:
                break
            pages[k] += [(h["_id"], h["sort"]) for h in hits]
            after = hits[-1]["sort"]
    assert len(pages[0]) == 300 and pages[1] == pages[0]


async def test_counts_are_identical(pair: tuple[EmbeddedCluster, ThreeNodes]) -> None:
    counts = [await owner.root.count(_meta(owner), {"match": {"title": "alpha"}}) for owner in pair]
    assert counts[1] == counts[0] and counts[0]["count"] > 0


async def _scan(root: Root, metas: list[IndexMeta], spec: SearchSpec) -> list[list[tuple[str, Any]]]:
    pages = Pages(root, metas, spec, 60.0)
    out = []
    while True:
        response, _ = await pages.next()
        hits = response["hits"]["hits"]
        if not hits:
            return out
        out.append([(h["_id"], h.get("_score"), h.get("sort")) for h in hits])


@pytest.mark.parametrize("body", [{"sort": ["_doc"], "size": 37}, {"query": {"match": {"title": "beta"}}, "size": 23},
                                  {"sort": [{"n": "asc"}], "size": 50}])  # fmt: skip
async def test_scroll_pages_are_identical_and_read_their_first_readers(
    pair: tuple[EmbeddedCluster, ThreeNodes], body: dict[str, Any]
) -> None:
    scans = []
    for owner in pair:
        pages = Pages(owner.root, _meta(owner), parse_search(body, {}), 60.0)
        response, phase = await pages.next()
        first = [(h["_id"], h.get("_score"), h.get("sort")) for h in response["hits"]["hits"]]
        if owner is pair[1]:  # the pages read the nodes that answered first
            assert phase.nodes == [NODES[s % 3] for s in range(SHARDS)]
        await _load(owner.writes, owner.master.index, _docs(30, 9))  # new documents: not in the scroll
        rest = []
        while True:
            response, _ = await pages.next()
            hits = response["hits"]["hits"]
            if not hits:
                break
            rest.append([(h["_id"], h.get("_score"), h.get("sort")) for h in hits])
        scans.append([first, *rest])
    assert scans[1] == scans[0]
    assert not any(doc_id.startswith("9-") for page in scans[0] for doc_id, _, _ in page)


async def test_pit_searches_are_identical_and_pinned(pair: tuple[EmbeddedCluster, ThreeNodes]) -> None:
    contexts = []
    for owner in pair:
        metas = _meta(owner)
        phase = await owner.root.query_phase(targets_for(metas), SearchSpec(size=0), limit=0, query=None, aggs=None,
                                             now_millis=int(time.time() * 1000), pin_seconds=60.0)  # fmt: skip
        contexts.append((phase.generations, phase.nodes))
    for owner in pair:  # written after the PIT opened: not seen through it
        await _load(owner.writes, owner.master.index, _docs(40, 8))
    answers: list[list[Any]] = [[], []]
    for k, owner in enumerate(pair):
        generations, nodes = contexts[k]
        after = None
        while True:
            body: dict[str, Any] = {"pit": {"id": "p"}, "sort": [{"n": "asc"}], "size": 45,
                                    "aggs": {"tags": {"terms": {"field": "tag"}}}}  # fmt: skip
            if after is not None:
                body["search_after"] = after
            response, _ = await owner.root.search(_meta(owner), parse_search(body, {}), generations=generations,
                                                  nodes=nodes, pin_seconds=60.0)  # fmt: skip
            hits = response["hits"]["hits"]
            answers[k].append((response["hits"]["total"], response["aggregations"]))
            if not hits:
                break
            answers[k] += [(h["_id"], h["sort"]) for h in hits]
            after = hits[-1]["sort"]
    assert answers[1] == answers[0]
    ids = [entry[0] for entry in answers[0] if isinstance(entry[0], str)]
    assert len(ids) == 300 and not any(i.startswith("8-") for i in ids)


async def test_profile_names_the_node_of_each_shard(pair: tuple[EmbeddedCluster, ThreeNodes]) -> None:
    _, three = pair
    response, _ = await three.root.search(_meta(three), parse_search({"profile": True, "query": {"match_all": {}}}, {}))
    shards = response["profile"]["shards"]
    assert sorted((s["shard_id"], s["node_id"]) for s in shards) == [(s, NODES[s % 3]) for s in range(SHARDS)]
    assert all(s["id"] == f"[{s['node_id']}][docs][{s['shard_id']}]" for s in shards)
