"""The custom routing a document is written with is kept (``_routing``): in the live map, in tantivy after
a refresh, through WAL replay and a mapping rebuild; GET and search hits return it."""

from __future__ import annotations

from pathlib import Path

import httpx

from native.analysis import Analysis
from native.mapping import Mapping
from native.shard import Shard
from native.wal import _decode, index_payload
from native.writes import WriteOp
from tests.server.helpers import assert_canonical_error


def test_wal_payload_keeps_routing() -> None:
    record = _decode(index_payload("id1", 3, 2, 1, b'{"a":1}', "r-5"))
    assert record == {"op": "index", "id": "id1", "seq_no": 3, "version": 2, "term": 1, "routing": "r-5",
                      "source": b'{"a":1}'}  # fmt: skip
    plain = _decode(index_payload("id1", 3, 2, 1, b'{"a":1}'))
    assert plain is not None and "routing" not in plain


def _shard(path: Path) -> Shard:
    return Shard(str(path), Mapping({"properties": {"a": {"type": "long"}}}), Analysis.from_settings({}),
                 index_name="r", shard_id=0)


def test_routing_survives_refresh_replay_and_rebuild(tmp_path: Path) -> None:
    shard = _shard(tmp_path)
    shard.write([WriteOp("index", "1", b'{"a":1}', routing="five"), WriteOp("index", "2", b'{"a":2}')])
    assert shard.get("1").routing == "five" and shard.get("2").routing is None  # type: ignore[union-attr]
    shard.refresh()
    assert shard.get("1").routing == "five"  # type: ignore[union-attr]
    shard.write([WriteOp("update", "1", doc={"a": 3})])  # an update keeps the routing
    shard.close()
    reopened = _shard(tmp_path)  # the update is replayed from the WAL
    assert reopened.get("1").routing == "five" and reopened.get("1").source == b'{"a":3}'  # type: ignore[union-attr]
    reopened.update_mapping(Mapping({"properties": {"a": {"type": "long"}, "b": {"type": "keyword"}}}))
    reopened.refresh()
    assert reopened.get("1", realtime=False).routing == "five"  # type: ignore[union-attr]
    reopened.close()


async def test_routing_in_get_and_hits(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/rt", json={"settings": {"number_of_shards": 3}})
    await asgi_client.put("/rt/_doc/1", json={"a": 1}, params={"routing": "5", "refresh": "true"})
    await asgi_client.put("/rt/_doc/2", json={"a": 2}, params={"refresh": "true"})
    got = (await asgi_client.get("/rt/_doc/1", params={"routing": "5"})).json()
    assert got["_routing"] == "5" and got["found"] is True
    assert "_routing" not in (await asgi_client.get("/rt/_doc/2")).json()
    hits = (await asgi_client.post("/rt/_search", json={"sort": ["a"]})).json()["hits"]["hits"]
    assert [h.get("_routing") for h in hits] == ["5", None]
    bulk = (b'{"index":{"_index":"rt","_id":"3","routing":"x"}}\n{"a":3}\n'
            b'{"index":{"_index":"rt","_id":"4"}}\n{"a":4}\n')
    await asgi_client.post("/_bulk", content=bulk, params={"refresh": "true"},
                           headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert (await asgi_client.get("/rt/_doc/3", params={"routing": "x"})).json()["_routing"] == "x"
    assert "_routing" not in (await asgi_client.get("/rt/_doc/4")).json()


async def test_routing_required(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/req", json={"mappings": {"_routing": {"required": True}}})
    missing = await asgi_client.put("/req/_doc/1", json={"a": 1})
    assert_canonical_error(missing, 400, "routing_missing_exception")
    assert missing.json()["error"]["reason"] == "routing is required for [req]/[1]"
    assert (await asgi_client.put("/req/_doc/1", json={"a": 1}, params={"routing": "r"})).status_code == 201
    for response in (await asgi_client.get("/req/_doc/1"), await asgi_client.delete("/req/_doc/1"),
                     await asgi_client.post("/req/_update/1", json={"doc": {"a": 2}})):  # fmt: skip
        assert_canonical_error(response, 400, "routing_missing_exception")
    assert (await asgi_client.get("/req/_doc/1", params={"routing": "r"})).json()["_source"] == {"a": 1}
    bulk = (b'{"index":{"_index":"req","_id":"2"}}\n{"a":2}\n'
            b'{"index":{"_index":"req","_id":"3","routing":"r"}}\n{"a":3}\n')
    items = (await asgi_client.post("/_bulk", content=bulk, headers={"content-type": "application/x-ndjson"})).json()
    assert [next(iter(i.values()))["status"] for i in items["items"]] == [400, 201]
    docs = (await asgi_client.post("/req/_mget", json={"docs": [{"_id": "1"}, {"_id": "1", "routing": "r"}]})).json()
    assert docs["docs"][0]["error"]["type"] == "routing_missing_exception" and docs["docs"][1]["found"] is True
    tv = (await asgi_client.post("/_mtermvectors", json={"docs": [{"_index": "req", "_id": "1"}]})).json()
    assert tv["docs"][0]["error"]["reason"] == "routing is required for [req]/[1]"


async def test_by_query_and_split_follow_the_routing(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/bq", json={"settings": {"number_of_shards": 5}})
    for i in range(20):
        await asgi_client.put(f"/bq/_doc/{i}", json={"n": i}, params={"routing": f"r{i % 3}"})
    await asgi_client.post("/bq/_refresh")
    done = (await asgi_client.post("/bq/_delete_by_query", json={"query": {"range": {"n": {"lt": 10}}}},
                                   params={"refresh": "true"})).json()  # fmt: skip
    assert done["deleted"] == 10
    count = (await asgi_client.post("/bq/_count")).json()["count"]
    assert count == 10
    for i in range(10, 20):
        assert (await asgi_client.get(f"/bq/_doc/{i}", params={"routing": f"r{i % 3}"})).json()["found"] is True
