"""``GrpcLeafClient`` against a real leaf servicer on a loopback port, over a real ``LeafService`` and its shards.

The same request through the wire and through ``LocalLeafClient`` gets byte-identical messages back; domain
errors keep their status and ES type; transport failures are ``NodeNotConnected`` (fast) and ``ReceiveTimeout``
(by the deadline, while the server keeps serving other calls).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
import pytest

from cluster.errors import RemoteError
from cluster.grpc_leaf import GrpcLeafClient, LeafServer, ReceiveTimeout, start_leaf_server
from cluster.leaf_client import LocalLeafClient
from cluster.protos import leaf_pb2 as pb
from cluster.routing import shard_for
from cluster.termvectors import TermVectorOptions
from cluster.transport import NodeNotConnected
from native.errors import QuidditchError
from tests.conftest import _starlette_of, free_port

NOW = 1_700_000_000_000


class Leaves:
    """The node's leaf two ways: in process and through its gRPC servicer."""

    def __init__(self, cluster: Any, server: LeafServer, remote: GrpcLeafClient) -> None:
        self.cluster = cluster
        self.server = server
        self.local = LocalLeafClient(cluster.leaf_service)
        self.remote = remote
        meta = cluster.master.state.indices["docs"]
        self.uuid = meta.uuid
        self.shards = meta.number_of_shards

    def ref(self, shard: int = 0) -> pb.ShardRef:
        return pb.ShardRef(index="docs", uuid=self.uuid, shard=shard)

    def all_refs(self) -> list[pb.ShardRef]:
        return [self.ref(s) for s in range(self.shards)]


@pytest.fixture
async def leaves(asgi_client: httpx.AsyncClient) -> AsyncIterator[Leaves]:
    r = await asgi_client.put("/docs", json={
        "settings": {"number_of_shards": 2},
        "mappings": {"properties": {"title": {"type": "text"}, "tag": {"type": "keyword"}, "n": {"type": "long"}}},
    })  # fmt: skip
    assert r.status_code == 200, r.text
    lines = []
    for i in range(40):
        lines += [orjson.dumps({"index": {"_id": str(i)}}),
                  orjson.dumps({"title": f"the quick fox number {i} jumps", "tag": f"t{i % 4}", "n": i})]  # fmt: skip
    r = await asgi_client.post("/docs/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text
    cluster = _starlette_of(asgi_client._transport.app).state.cluster  # type: ignore[attr-defined]
    server = await start_leaf_server(cluster.leaf_service, "127.0.0.1", 0)
    remote = GrpcLeafClient(server.address, default_timeout_s=10.0)
    leaves = Leaves(cluster, server, remote)
    try:
        yield leaves
    finally:
        await remote.close()
        await leaves.server.stop(None)  # (a test may have replaced it)


def _search(leaves: Leaves, **fields: Any) -> pb.SearchRequest:
    fields.setdefault("limit", 5)
    return pb.SearchRequest(shards=leaves.all_refs(), query_json=orjson.dumps({"match": {"title": "fox"}}),
                            now_millis=NOW, **fields)  # fmt: skip


async def _same(leaves: Leaves, call: Callable[[Any], Any], request: Any) -> Any:
    """The answer of ``call`` (a client method name's getter) over both transports, asserted byte-identical."""
    local = await call(leaves.local)(request)
    remote = await call(leaves.remote)(request)
    assert type(local) is type(remote)
    assert remote.SerializeToString(deterministic=True) == local.SerializeToString(deterministic=True)
    return remote


async def test_every_leaf_call_answers_what_the_in_process_client_answers(leaves: Leaves) -> None:
    aggs = orjson.dumps({"tags": {"terms": {"field": "tag"}}, "top": {"max": {"field": "n"}}})
    searched = await _same(leaves, lambda c: c.search, _search(leaves, aggs_json=aggs))
    assert sum(r.total for r in searched.results) == 40 and all(r.agg_partial for r in searched.results)
    single = await _same(leaves, lambda c: c.search, pb.SearchRequest(
        shards=[leaves.ref(0)], query_json=orjson.dumps({"term": {"tag": "t1"}}), limit=3, fetch=True,
        now_millis=NOW, sort_json=orjson.dumps([{"field": "n", "order": "asc"}]),
        highlight_json=b"", timeout_seconds=5.0,
    ))  # fmt: skip
    assert single.results[0].docs
    first = searched.results[0]
    fetched = await _same(leaves, lambda c: c.fetch, pb.FetchRequest(
        shard=first.shard, searcher_generation=first.searcher_generation,
        docs=[pb.DocRef(segment_ord=h.segment_ord, doc=h.doc) for h in first.hits],
        query_json=orjson.dumps({"match": {"title": "fox"}}), now_millis=NOW,
        highlight_json=orjson.dumps({"fields": {"title": {}}}),
    ))  # fmt: skip
    assert len(fetched.docs) == len(first.hits) and fetched.docs[0].highlight_json
    for shard in range(leaves.shards):
        for doc_id in ("3", "4", "missing"):
            await _same(leaves, lambda c: c.get, pb.GetRequest(shard=leaves.ref(shard), id=doc_id))
    await _same(leaves, lambda c: c.refresh, pb.RefreshRequest(shards=leaves.all_refs()))
    explained = await _same(leaves, lambda c: c.explain, pb.ExplainRequest(
        shard=leaves.ref(0), id="0", query_json=orjson.dumps({"match": {"title": "quick"}}), now_millis=NOW))
    explained = explained if explained.found else await _same(leaves, lambda c: c.explain, pb.ExplainRequest(
        shard=leaves.ref(1), id="0", query_json=orjson.dumps({"match": {"title": "quick"}}), now_millis=NOW))
    assert explained.found and explained.matched and orjson.loads(explained.explanation_json)["value"] > 0
    validated = await _same(leaves, lambda c: c.validate, pb.ValidateRequest(
        shards=leaves.all_refs(), query_json=orjson.dumps({"range": {"n": {"gte": "not a number"}}}),
        now_millis=NOW))  # fmt: skip
    assert all(r.HasField("error") for r in validated.results)
    for shard in range(leaves.shards):
        vectors = await _same(leaves, lambda c: c.termvectors, pb.TermvectorsRequest(
            shard=leaves.ref(shard), id="5", options_json=TermVectorOptions(term_statistics=True).to_json()))
        await _same(leaves, lambda c: c.termvectors, pb.TermvectorsRequest(
            shard=leaves.ref(shard), doc_json=orjson.dumps({"title": "a fox"}),
            options_json=TermVectorOptions().to_json()))  # fmt: skip
    assert vectors.found or shard == 0
    # a bulk that fails the same way twice (create of an existing id), then one that succeeds over the wire
    on_first = [str(i) for i in range(40) if shard_for(str(i), leaves.shards) == 0]
    conflict = pb.BulkRequest(shard=leaves.ref(0), ops=[pb.WriteOp(op="create", id=i, source=b'{"n": 1}')
                                                        for i in on_first])  # fmt: skip
    failed = await _same(leaves, lambda c: c.bulk, conflict)
    assert on_first and all(r.status == 409 for r in failed.results)
    written = await leaves.remote.bulk(pb.BulkRequest(shard=leaves.ref(1), ops=[
        pb.WriteOp(op="index", id="new", source=b'{"title": "over the wire", "n": 100}')]))  # fmt: skip
    assert written.results[0].status == 201
    got = await leaves.local.get(pb.GetRequest(shard=leaves.ref(1), id="new"))
    assert got.found and orjson.loads(got.source)["n"] == 100
    # stats: the same shards and counts (the write load's clock moves between the two calls)
    refreshed = await leaves.remote.refresh(pb.RefreshRequest(shards=leaves.all_refs()))
    assert refreshed.successful == leaves.shards
    stats = [await c.stats(pb.StatsRequest(shards=leaves.all_refs())) for c in (leaves.local, leaves.remote)]
    for answer in stats:
        for shard_stats in answer.shards:
            shard_stats.ClearField("write_load")
    assert stats[0] == stats[1]
    merged = await leaves.remote.forcemerge(pb.ForcemergeRequest(shards=leaves.all_refs(), max_num_segments=1))
    assert merged.successful == leaves.shards


async def test_domain_errors_keep_their_status_and_type(leaves: Leaves) -> None:
    gone = pb.ShardRef(index="gone", uuid="no-such-uuid", shard=0)
    with pytest.raises(QuidditchError) as local_error:
        await leaves.local.get(pb.GetRequest(shard=gone, id="1"))
    with pytest.raises(RemoteError) as remote_error:
        await leaves.remote.get(pb.GetRequest(shard=gone, id="1"))
    assert (remote_error.value.status, remote_error.value.es_type, remote_error.value.reason) == (
        local_error.value.status, local_error.value.es_type, local_error.value.reason)  # fmt: skip
    assert remote_error.value.status == 404 and remote_error.value.es_type == "index_not_found_exception"
    # errors carried inside the answers: identical bytes
    answer = await _same(leaves, lambda c: c.search, pb.SearchRequest(shards=[gone], limit=1, now_millis=NOW))
    assert answer.results[0].error.es_type == "index_not_found_exception"
    on_first = next(str(i) for i in range(40) if shard_for(str(i), leaves.shards) == 0)
    bad = await _same(leaves, lambda c: c.explain, pb.ExplainRequest(
        shard=leaves.ref(0), id=on_first, query_json=orjson.dumps({"range": {"n": {"gte": "x"}}}), now_millis=NOW))
    assert bad.error.status == 400 and bad.error.es_type
    tv = await _same(leaves, lambda c: c.termvectors, pb.TermvectorsRequest(
        shard=leaves.ref(0), doc_json=b'{"title": "x"}',
        options_json=TermVectorOptions(per_field_analyzer={"title": "nope"}).to_json()))  # fmt: skip
    assert tv.error.es_type == "illegal_argument_exception" and tv.error.status == 400
    # a failure that raises out of the service (a bug): the RPC still answers, with the error in the message
    original = leaves.cluster.leaf_service.refresh

    def broken(request: pb.RefreshRequest) -> pb.RefreshResponse:
        raise RuntimeError("boom")

    leaves.cluster.leaf_service.refresh = broken
    try:
        with pytest.raises(RemoteError) as refresh_error:
            await leaves.remote.refresh(pb.RefreshRequest(shards=leaves.all_refs()))
    finally:
        leaves.cluster.leaf_service.refresh = original
    assert refresh_error.value.status == 500 and "boom" in refresh_error.value.reason


async def test_a_stopped_server_is_node_not_connected_fast(leaves: Leaves) -> None:
    request = pb.GetRequest(shard=leaves.ref(0), id="1")
    await leaves.remote.get(request)  # connected
    await leaves.server.stop(None)
    started = time.monotonic()
    with pytest.raises(NodeNotConnected) as error:
        await leaves.remote.get(request)
    assert time.monotonic() - started < 2.0
    assert error.value.status == 500 and error.value.es_type == "node_not_connected_exception"
    nobody = GrpcLeafClient(f"127.0.0.1:{free_port()}", node_id="ghost")
    try:
        started = time.monotonic()
        with pytest.raises(NodeNotConnected) as error:
            await nobody.search(_search(leaves, timeout_seconds=30.0))
        assert time.monotonic() - started < 2.0 and error.value.node_id == "ghost"
    finally:
        await nobody.close()


async def test_a_hung_call_times_out_by_its_deadline_while_other_calls_answer(leaves: Leaves) -> None:
    service = leaves.cluster.leaf_service
    release = threading.Event()
    entered = threading.Event()
    get, search = service.get, service.search

    def hanging_get(request: pb.GetRequest) -> pb.StoredDoc:
        if request.id == "hang":
            entered.set()
            release.wait(30)
        return get(request)

    def hanging_search(request: pb.SearchRequest) -> pb.SearchResponse:
        if request.limit == 99:
            release.wait(30)
        return search(request)

    service.get, service.search = hanging_get, hanging_search
    client = GrpcLeafClient(leaves.server.address, default_timeout_s=1.5)
    try:
        started = time.monotonic()
        hung = asyncio.ensure_future(client.get(pb.GetRequest(shard=leaves.ref(0), id="hang")))
        assert await asyncio.to_thread(entered.wait, 5)
        # while the hung call holds its worker, the same server answers other calls at once
        answered = await client.search(_search(leaves))
        assert sum(r.total for r in answered.results) == 40
        assert not hung.done() and time.monotonic() - started < 1.5
        with pytest.raises(ReceiveTimeout) as error:
            await hung
        elapsed = time.monotonic() - started
        assert 1.4 < elapsed < 4.0, elapsed
        assert error.value.status == 500 and error.value.es_type == "receive_timeout_transport_exception"
        # a search's deadline is its own timeout plus a small grace, not the default
        started = time.monotonic()
        with pytest.raises(ReceiveTimeout):
            await client.search(_search(leaves, limit=99, timeout_seconds=0.2))
        assert time.monotonic() - started < 1.4
    finally:
        release.set()
        service.get, service.search = get, search
        await client.close()


def test_an_unknown_leaf_transport_is_refused() -> None:
    from cluster.config import ClusterConfig

    assert ClusterConfig(leaf_transport="grpc").leaf_transport == "grpc"
    with pytest.raises(ValueError, match="unknown leaf transport"):
        ClusterConfig(leaf_transport="carrier-pigeon")


async def test_messages_past_grpc_default_limit_cross(leaves: Leaves) -> None:
    """gRPC refuses messages over 4 MB by default; a bulk body (up to 100 MB) and a large document must cross."""
    big = orjson.dumps({"title": "large " * 2_000_000, "n": 1})
    assert len(big) > 8 << 20
    written = await leaves.remote.bulk(pb.BulkRequest(shard=leaves.ref(0), ops=[
        pb.WriteOp(op="index", id="big", source=big)]))  # fmt: skip
    assert written.results[0].status == 201, written
    got = await leaves.remote.get(pb.GetRequest(shard=leaves.ref(0), id="big"))
    assert got.found and got.source == big


async def test_a_restarted_server_is_reached_again_within_seconds(leaves: Leaves) -> None:
    """The channel retries with a short backoff (gRPC's default grows to two minutes): a node that comes back
    on its port answers the same client again at once."""
    request = pb.GetRequest(shard=leaves.ref(0), id="1")
    await leaves.remote.get(request)
    port = leaves.server.port
    await leaves.server.stop(None)
    with pytest.raises(NodeNotConnected):
        await leaves.remote.get(request)
    leaves.server = await start_leaf_server(leaves.cluster.leaf_service, "127.0.0.1", port)
    started = time.monotonic()
    while True:  # bounded poll: the channel reconnects on its own schedule
        try:
            await leaves.remote.get(request)
            break
        except NodeNotConnected:
            assert time.monotonic() - started < 3.0, "not reconnected within 3 s"
            await asyncio.sleep(0.05)
