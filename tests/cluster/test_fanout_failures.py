"""Searches when a node is lost or hangs: partial results with one failure per missing shard, retries on the
other copy, ES's errors without partial results or without any shard, and a hung node bounded by the timeout.

Three in-process nodes (``fanout_harness``), five shards, primaries on node ``s mod 3``; with replicas the
copy of shard s is on node ``s+1 mod 3`` (replicated by the leaves, ``cluster.replication``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from cluster.config import ClusterConfig
from cluster.protos import leaf_pb2 as pb
from cluster.root import targets_for
from cluster.routing import shard_for
from cluster.search_request import SearchSpec, parse_search
from cluster.writes import WriteItem
from native.errors import IllegalArgument, SearchPhaseError
from server.errors import error_body, error_status
from tests.cluster.fanout_harness import NODES, ThreeNodes

SHARDS = 5
DOCS = 200
NO_COPY = "no_shard_available_action_exception"


def _owner(doc_id: str) -> int:
    return shard_for(doc_id, SHARDS)


async def _three(base: Path, replicas: bool, config: ClusterConfig | None = None) -> ThreeNodes:
    nodes = ThreeNodes(str(base), config=config)
    nodes.master.create_index("docs", {"settings": {"number_of_shards": SHARDS, "number_of_replicas": int(replicas)},
                                       "mappings": {"properties": {"n": {"type": "long"}}}})  # fmt: skip
    placement = [[NODES[s % 3], NODES[(s + 1) % 3]] if replicas else [NODES[s % 3]] for s in range(SHARDS)]
    nodes.route("docs", placement)
    items = [WriteItem("index", "docs", str(i), source=orjson.dumps({"n": i})) for i in range(DOCS)]
    results = await nodes.writes.write(items, refresh=True)
    assert all(r.status == 201 for r in results)
    assert all(r.body["_shards"] == {"total": 1 + int(replicas), "successful": 1 + int(replicas), "failed": 0}
               for r in results)  # fmt: skip
    refreshed = await nodes.writes.refresh([nodes.master.index("docs")])  # every copy, replicas too
    assert refreshed.successful == SHARDS * (1 + int(replicas)) and not refreshed.failures
    return nodes


@pytest.fixture
async def single(tmp_path: Path) -> AsyncIterator[ThreeNodes]:
    nodes = await _three(tmp_path, replicas=False)
    try:
        yield nodes
    finally:
        nodes.close()


@pytest.fixture
async def replicated(tmp_path: Path) -> AsyncIterator[ThreeNodes]:
    nodes = await _three(tmp_path, replicas=True)
    try:
        yield nodes
    finally:
        nodes.close()


async def _search(nodes: ThreeNodes, body: dict[str, Any], params: dict[str, str] | None = None) -> dict[str, Any]:
    response, _ = await nodes.root.search([nodes.master.index("docs")], parse_search(body, params or {}))
    return response


def _on(node: str) -> list[int]:
    return [s for s in range(SHARDS) if NODES[s % 3] == node]


async def test_a_lost_node_leaves_one_failure_per_missing_shard(single: ThreeNodes) -> None:
    single.clients["node-b"].down = True
    body = await _search(single, {"query": {"match_all": {}}, "size": DOCS, "track_total_hits": True})
    lost = _on("node-b")
    assert body["_shards"]["total"] == SHARDS and body["_shards"]["failed"] == len(lost)
    assert body["_shards"]["successful"] == SHARDS - len(lost)
    failures = body["_shards"]["failures"]
    assert sorted(f["shard"] for f in failures) == lost
    assert all(f["index"] == "docs" and f["node"] == "node-b" for f in failures)
    assert all(set(f) == {"shard", "index", "node", "reason"} and set(f["reason"]) == {"type", "reason"}
               for f in failures)  # fmt: skip
    assert {f["reason"]["type"] for f in failures} == {"node_not_connected_exception"}
    expected = {str(i) for i in range(DOCS) if _owner(str(i)) not in lost}
    assert {h["_id"] for h in body["hits"]["hits"]} == expected
    assert body["hits"]["total"]["value"] == len(expected)
    count = await single.root.count([single.master.index("docs")], None)
    assert count["count"] == len(expected) and count["_shards"]["failed"] == len(lost)


async def test_a_node_lost_before_the_fetch_phase_fails_its_shards(single: ThreeNodes) -> None:
    single.clients["node-a"].fetch_down = True
    body = await _search(single, {"query": {"match_all": {}}, "size": DOCS, "sort": [{"n": "asc"}]})
    lost = _on("node-a")
    assert body["_shards"]["failed"] == len(lost) and body["_shards"]["successful"] == SHARDS - len(lost)
    assert sorted(f["shard"] for f in body["_shards"]["failures"]) == lost
    assert {f["node"] for f in body["_shards"]["failures"]} == {"node-a"}
    assert [h["_id"] for h in body["hits"]["hits"]] == [str(i) for i in range(DOCS) if _owner(str(i)) not in lost]


async def test_a_node_hung_in_the_fetch_phase_fails_its_shards_after_the_transport_timeout(tmp_path: Path) -> None:
    nodes = await _three(tmp_path, replicas=False, config=ClusterConfig(transport_timeout_s=0.5))
    try:
        nodes.clients["node-c"].hang_fetch = True
        started = time.monotonic()
        body = await _search(nodes, {"query": {"match_all": {}}, "size": DOCS, "sort": [{"n": "asc"}]})
        assert time.monotonic() - started < 5
        lost = _on("node-c")
        assert sorted(f["shard"] for f in body["_shards"]["failures"]) == lost
        assert {f["reason"]["type"] for f in body["_shards"]["failures"]} == {"receive_timeout_transport_exception"}
        assert [h["_id"] for h in body["hits"]["hits"]] == [str(i) for i in range(DOCS) if _owner(str(i)) not in lost]
    finally:
        nodes.close()


async def test_without_partial_results_a_lost_shard_fails_the_search(single: ThreeNodes) -> None:
    single.clients["node-c"].down = True
    with pytest.raises(SearchPhaseError) as caught:
        await _search(single, {"query": {"match_all": {}}}, {"allow_partial_search_results": "false"})
    body = error_body(caught.value)
    assert body["error"]["type"] == "search_phase_execution_exception"
    assert body["error"]["reason"] == "Partial shards failure"
    assert sorted(f["shard"] for f in body["error"]["failed_shards"]) == _on("node-c")
    assert {f["node"] for f in body["error"]["failed_shards"]} == {"node-c"}
    assert body["error"]["root_cause"][0]["type"] == "node_not_connected_exception"


async def test_all_nodes_lost_is_503_all_shards_failed(single: ThreeNodes) -> None:
    for client in single.clients.values():
        client.down = True
    with pytest.raises(SearchPhaseError) as caught:
        await _search(single, {"query": {"match_all": {}}})
    assert error_status(caught.value) == 503
    body = error_body(caught.value)
    assert body["error"]["reason"] == "all shards failed"
    assert body["error"]["root_cause"][0]["type"] == "no_shard_available_action_exception"
    assert {f["reason"]["type"] for f in body["error"]["failed_shards"]} >= {"node_not_connected_exception"}


async def test_a_replica_answers_for_a_lost_node(replicated: ThreeNodes) -> None:
    body = {"query": {"match_all": {}}, "size": DOCS, "sort": [{"n": "asc"}], "track_total_hits": True}
    complete = await _search(replicated, body)
    for lost in NODES:
        for client in replicated.clients.values():
            client.down = client.node_id == lost
        for _ in range(3):  # whichever copy the rotation starts on
            answer = await _search(replicated, body)
            assert answer["_shards"] == {"total": SHARDS, "successful": SHARDS, "skipped": 0, "failed": 0}
            assert answer["hits"] == complete["hits"]


async def test_a_shard_missing_on_its_node_is_read_from_the_other_copy(replicated: ThreeNodes) -> None:
    meta = replicated.master.index("docs")
    node = replicated.data["node-a"]
    shard = node.shards.pop((meta.uuid, 0))  # node-a no longer has shard 0's copy (index_not_found there)
    try:
        for _ in range(3):
            answer = await _search(replicated, {"query": {"match_all": {}}, "track_total_hits": True})
            assert answer["_shards"]["failed"] == 0 and answer["hits"]["total"]["value"] == DOCS
    finally:
        node.shards[(meta.uuid, 0)] = shard


async def test_preferences_pick_copies(replicated: ThreeNodes) -> None:
    meta = replicated.master.index("docs")
    targets = targets_for([meta])

    async def nodes_for(preference: str) -> list[str]:
        phase = await replicated.root.query_phase(
            targets, SearchSpec(size=0, preference=preference), limit=0, query=None, aggs=None,
            now_millis=int(time.time() * 1000),
        )  # fmt: skip
        assert not phase.failures
        return phase.nodes

    def copies(s: int) -> tuple[str, str]:
        return NODES[s % 3], NODES[(s + 1) % 3]

    for s, node in enumerate(await nodes_for("_only_nodes:node-a,node-b")):
        assert node in copies(s) and node in ("node-a", "node-b")
    for s, node in enumerate(await nodes_for("_only_nodes:name-node-b,name-node-c")):  # by name
        assert node in copies(s) and node in ("node-b", "node-c")
    for _ in range(3):
        for s, node in enumerate(await nodes_for("_prefer_nodes:node-c")):
            assert node == "node-c" if "node-c" in copies(s) else node in copies(s)
        for s, node in enumerate(await nodes_for("_local")):  # the coordinator is node-a
            assert node == "node-a" if "node-a" in copies(s) else node in copies(s)
    custom = await nodes_for("my-session")
    assert all([await nodes_for("my-session") == custom for _ in range(5)])
    assert len({tuple(await nodes_for(f"user-{i}")) for i in range(20)}) > 1
    spread = {tuple(await nodes_for("")) for _ in range(4)}
    assert len(spread) > 1  # no preference: successive searches start on different copies
    with pytest.raises(IllegalArgument, match=r"no Preference for \[_primary\]"):
        parse_search({}, {"preference": "_primary"})
    with pytest.raises(IllegalArgument, match="no data nodes with criteria"):
        await nodes_for("_only_nodes:nowhere")


async def test_only_nodes_fails_the_shards_it_excludes(replicated: ThreeNodes) -> None:
    answer = await _search(replicated, {"query": {"match_all": {}}, "track_total_hits": True},
                           {"preference": "_only_local"})  # fmt: skip
    missing = [s for s in range(SHARDS) if "node-a" not in (NODES[s % 3], NODES[(s + 1) % 3])]
    assert sorted(f["shard"] for f in answer["_shards"].get("failures", [])) == missing
    assert missing and {f["reason"]["type"] for f in answer["_shards"]["failures"]} == {NO_COPY}


async def test_a_hung_node_costs_the_timeout_and_only_its_searches_wait(single: ThreeNodes) -> None:
    single.clients["node-c"].hang = True
    started = time.monotonic()
    hung = asyncio.create_task(_search(single, {"query": {"match_all": {}}, "size": DOCS, "timeout": "1500ms"}))
    await asyncio.sleep(0.05)
    others = "_shards:" + ",".join(str(s) for s in range(SHARDS) if NODES[s % 3] != "node-c")
    quick = await _search(single, {"query": {"match_all": {}}}, {"preference": others})
    assert not hung.done()  # answered while the search touching the hung node still waits
    assert quick["_shards"]["failed"] == 0
    body = await asyncio.wait_for(hung, 10)
    assert time.monotonic() - started < 5  # the request's timeout (1.5 s), not the hang
    lost = _on("node-c")
    assert sorted(f["shard"] for f in body["_shards"]["failures"]) == lost
    assert {f["reason"]["type"] for f in body["_shards"]["failures"]} == {"receive_timeout_transport_exception"}
    assert {h["_id"] for h in body["hits"]["hits"]} == {str(i) for i in range(DOCS) if _owner(str(i)) not in lost}
    started = time.monotonic()  # a search with a can_match phase first: both phases within the one timeout
    body = await _search(single, {"query": {"range": {"n": {"gte": 0}}}, "sort": [{"n": "asc"}], "timeout": "1s"})
    assert time.monotonic() - started < 4
    assert sorted(f["shard"] for f in body["_shards"]["failures"]) == lost


async def test_after_a_hung_node_timed_out_searches_read_the_other_copies(replicated: ThreeNodes) -> None:
    replicated.clients["node-c"].hang = True
    body = {"query": {"match_all": {}}, "track_total_hits": True, "timeout": "3s"}
    first = None
    for _ in range(3):  # until a search starts on a copy on node-c (the rotation spreads them)
        first = await _search(replicated, body)
        if first["_shards"]["failed"]:
            break
    assert first is not None and first["_shards"]["failed"] > 0
    assert {f["reason"]["type"] for f in first["_shards"]["failures"]} == {"receive_timeout_transport_exception"}
    for _ in range(4):  # node-c is tried last now: complete answers, without waiting for the timeout
        started = time.monotonic()
        answer = await _search(replicated, body)
        assert time.monotonic() - started < 2  # (waiting for node-c would take the 3 s timeout)
        assert answer["_shards"]["failed"] == 0 and answer["hits"]["total"]["value"] == DOCS


async def test_scroll_and_pit_shards_stay_on_their_node(replicated: ThreeNodes) -> None:
    meta = replicated.master.index("docs")
    phase = await replicated.root.query_phase(targets_for([meta]), SearchSpec(size=0), limit=0, query=None, aggs=None,
                                              now_millis=int(time.time() * 1000), pin_seconds=60.0)  # fmt: skip
    lost = phase.nodes[0]
    replicated.clients[lost].down = True  # the other copy has the documents, but not the pinned readers
    spec = parse_search({"pit": {"id": "p"}, "size": DOCS}, {})
    response, _ = await replicated.root.search([meta], spec, generations=phase.generations, nodes=phase.nodes)
    failed = [s for s in range(SHARDS) if phase.nodes[s] == lost]
    assert sorted(f["shard"] for f in response["_shards"]["failures"]) == failed
    assert {f["reason"]["type"] for f in response["_shards"]["failures"]} == {"search_context_missing_exception"}


async def test_writes_go_to_the_primary_and_wait_for_a_new_one(replicated: ThreeNodes) -> None:
    meta = replicated.master.index("docs")
    doc = next(str(i) for i in range(1000, 2000) if _owner(str(i)) == 1)  # shard 1: primary node-b, copy node-c
    replicated.clients["node-b"].down = True
    write = asyncio.create_task(replicated.writes.write([WriteItem("index", "docs", doc, source=b'{"n":-1}')]))
    await asyncio.sleep(0.2)
    assert not write.done()  # waiting for the routing to name a new primary
    table = list(replicated.master.state.routing[meta.uuid])
    table[1] = type(table[1])(shard=1, primary_term=2, copies=(type(table[1].copies[0])(
        node="node-c", primary=True, allocation_id="docs-1-1"),), in_sync=("docs-1-1",))  # fmt: skip
    state = replicated.master.state
    replicated.force(state.changed(routing={**state.routing, meta.uuid: tuple(table)}))
    (result,) = await asyncio.wait_for(write, 10)
    assert result.status == 201, result.body
    stored = await replicated.writes.get(meta, doc)
    assert stored.found and orjson.loads(stored.source) == {"n": -1}


async def test_a_write_waits_for_a_primary_copy_its_node_has_not_opened_yet(single: ThreeNodes) -> None:
    meta = single.master.index("docs")
    node = single.data["node-b"]
    shard = node.shards.pop((meta.uuid, 1))  # the routing puts shard 1's primary on node-b; node-b lags
    doc = next(str(i) for i in range(5000, 6000) if _owner(str(i)) == 1)
    write = asyncio.create_task(single.writes.write([WriteItem("index", "docs", doc, source=b'{"n":7}')]))
    try:
        await asyncio.sleep(0.2)
        assert not write.done()
    finally:
        node.shards[(meta.uuid, 1)] = shard  # node-b catches up
    (result,) = await asyncio.wait_for(write, 10)
    assert result.status == 201, result.body
    stored = await single.writes.get(meta, doc)
    assert stored.found and orjson.loads(stored.source) == {"n": 7}


async def test_a_write_retries_a_primary_whose_connection_broke_with_the_routing_unchanged(single: ThreeNodes) -> None:
    """The primary's node answers ``node_not_connected`` once (its connection broke: it restarted and joined again
    within one state, keeping its address) and nothing in the routing changes: the write asks again after a short
    pause instead of waiting for a state that never comes."""
    meta = single.master.index("docs")
    owner = next(c.node for c in single.master.state.routing[meta.uuid][1].copies if c.primary)
    doc = next(str(i) for i in range(6000, 7000) if _owner(str(i)) == 1)
    single.clients[owner].down = True
    started = time.monotonic()
    write = asyncio.create_task(single.writes.write([WriteItem("index", "docs", doc, source=b'{"n":8}')]))
    try:
        await asyncio.sleep(0.3)
        assert not write.done()
    finally:
        single.clients[owner].down = False  # reconnected; the state is the same
    (result,) = await asyncio.wait_for(write, 10)
    assert result.status == 201, result.body
    assert time.monotonic() - started < 5  # well before the write's 1m timeout


async def test_a_shard_without_a_started_primary_is_503_after_the_timeout(single: ThreeNodes) -> None:
    meta = single.master.index("docs")
    table = list(single.master.state.routing[meta.uuid])
    copy = table[2].copies[0]
    table[2] = type(table[2])(shard=2, copies=(type(copy)(node=copy.node, primary=True, state="INITIALIZING",
                                                          allocation_id=copy.allocation_id),))  # fmt: skip
    state = single.master.state
    single.force(state.changed(routing={**state.routing, meta.uuid: tuple(table)}))
    ids = [next(str(i) for i in range(3000, 4000) if _owner(str(i)) == s) for s in (2, 3)]
    started = time.monotonic()
    results = await single.writes.write([WriteItem("index", "docs", i, source=b'{"n":1}') for i in ids],
                                        timeout_s=0.3)  # fmt: skip
    assert 0.3 <= time.monotonic() - started < 5
    assert results[0].status == 503 and results[0].body["error"]["type"] == "unavailable_shards_exception"
    assert "Timeout: [300ms]" in results[0].body["error"]["reason"]
    assert results[1].status == 201


async def test_get_refresh_and_stats_across_nodes(replicated: ThreeNodes) -> None:
    meta = replicated.master.index("docs")
    replicated.clients["node-a"].down = True
    for i in range(0, DOCS, 17):  # realtime GET: the primary, else the replica
        doc = await replicated.writes.get(meta, str(i))
        assert doc.found and orjson.loads(doc.source) == {"n": i}
    refreshed = await replicated.writes.refresh([meta])
    on_a = sum(1 for s in range(SHARDS) if "node-a" in (NODES[s % 3], NODES[(s + 1) % 3]))
    assert refreshed.successful == 2 * SHARDS - on_a and len(refreshed.failures) == on_a
    refs = [pb.ShardRef(index="docs", uuid=meta.uuid, shard=s) for s in range(SHARDS)]
    replicated.clients["node-a"].down = False
    stats = await replicated.writes.stats(pb.StatsRequest(shards=refs))
    assert sorted(st.shard.shard for st in stats.shards) == list(range(SHARDS))
    assert sum(st.num_docs for st in stats.shards) == DOCS
