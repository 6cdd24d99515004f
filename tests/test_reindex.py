"""``POST /_reindex`` over the in-process app: copies, subsets, conflicts, validation, background tasks."""

from __future__ import annotations

import httpx
import pytest

SRC = {str(i): {"n": i, "kind": "even" if i % 2 == 0 else "odd", "text": f"doc number {i}"} for i in range(25)}


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    lines = []
    for doc_id, doc in SRC.items():
        lines.append({"index": {"_index": "src", "_id": doc_id}})
        lines.append(doc)
    import orjson

    body = b"".join(orjson.dumps(line) + b"\n" for line in lines)
    r = await asgi_client.post("/_bulk?refresh=true", content=body, headers={"content-type": "application/x-ndjson"})
    assert r.status_code == 200 and not r.json()["errors"]
    return asgi_client


async def _all(client: httpx.AsyncClient, index: str) -> dict[str, dict]:
    await client.post(f"/{index}/_refresh")
    r = await client.post(f"/{index}/_search", json={"size": 100})
    return {h["_id"]: h["_source"] for h in r.json()["hits"]["hits"]}


async def test_copy_everything_in_small_batches(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/_reindex?refresh=true", json={"source": {"index": "src", "size": 10}, "dest": {"index": "dst"}}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["total"], body["created"], body["updated"], body["batches"]) == (25, 25, 0, 3)
    assert body["version_conflicts"] == 0 and body["failures"] == [] and body["timed_out"] is False
    assert set(body) >= {"took", "deleted", "noops", "retries", "throttled_millis", "requests_per_second",
                         "throttled_until_millis"}  # fmt: skip
    assert await _all(client, "dst") == SRC
    # the destination was auto-created with a dynamic mapping, like any write
    mapping = (await client.get("/dst/_mapping")).json()["dst"]["mappings"]["properties"]
    assert mapping["n"]["type"] == "long"
    # a second run overwrites (op_type index): everything counts as updated
    body = (await client.post("/_reindex", json={"source": {"index": "src"}, "dest": {"index": "dst"}})).json()
    assert (body["created"], body["updated"]) == (0, 25)


async def test_query_source_filter_and_max_docs(client: httpx.AsyncClient) -> None:
    r = await client.post("/_reindex", json={
        "source": {"index": ["src"], "query": {"term": {"kind.keyword": "even"}}, "_source": ["n"]},
        "dest": {"index": "evens"},
    })  # fmt: skip
    assert r.json()["total"] == 13
    assert await _all(client, "evens") == {k: {"n": v["n"]} for k, v in SRC.items() if v["n"] % 2 == 0}
    r = await client.post("/_reindex", json={"max_docs": 4, "source": {"index": "src", "size": 3},
                                             "dest": {"index": "four"}})  # fmt: skip
    assert (r.json()["total"], r.json()["created"], r.json()["batches"]) == (4, 4, 2)
    assert len(await _all(client, "four")) == 4


async def test_create_conflicts_abort_or_proceed(client: httpx.AsyncClient) -> None:
    await client.put("/dst/_doc/3", json={"mine": True})
    await client.put("/dst/_doc/7", json={"mine": True})
    request = {"source": {"index": "src"}, "dest": {"index": "dst", "op_type": "create"}}
    r = await client.post("/_reindex", json=request)
    assert r.status_code == 409
    assert r.json()["version_conflicts"] == 2
    assert {f["id"] for f in r.json()["failures"]} == {"3", "7"}
    assert all(f["cause"]["type"] == "version_conflict_engine_exception" for f in r.json()["failures"])
    r = await client.post("/_reindex", json={**request, "conflicts": "proceed"})
    assert r.status_code == 200
    body = r.json()
    assert (body["created"], body["version_conflicts"], body["failures"]) == (0, 25, [])  # all exist by now
    docs = await _all(client, "dst")
    assert docs["3"] == {"mine": True} and docs["4"] == SRC["4"]


async def test_several_sources_into_one(client: httpx.AsyncClient) -> None:
    await client.put("/other/_doc/x?refresh=true", json={"n": 100})
    r = await client.post("/_reindex", json={"source": {"index": "src,oth*"}, "dest": {"index": "all"}})
    assert r.json()["created"] == 26
    assert (await _all(client, "all"))["x"] == {"n": 100}


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"source": {"index": "src"}, "dest": {"index": "src"}}, 400, "reindex cannot write into an index its reading"),
        ({"source": {"index": "src"}, "dest": {"index": "d"}, "script": {"source": "x"}}, 400,
         "cannot execute [inline] scripts"),
        ({"source": {"index": "src", "remote": {"host": "http://h:9200"}}, "dest": {"index": "d"}}, 400, "remote"),
        ({"source": {"index": "src"}, "dest": {}}, 400, "index must be specified"),
        ({"source": {"index": "src"}, "dest": {"index": "d"}, "conflicts": "maybe"}, 400, "conflicts may only be"),
        ({"source": {"index": "src"}, "dest": {"index": "d", "op_type": "delete"}}, 400, "opType must be"),
        ({"source": {"index": "src"}, "dest": {"index": "d", "version_type": "force"}}, 400, "No version type match"),
        ({"source": {"index": "src"}, "dest": {"index": "d", "version_type": "external", "op_type": "create"}}, 400,
         "create operations only support internal versioning"),
        ({"source": {"index": "src"}, "dest": {"index": "d"}, "bogus": 1}, 400, "unknown field [bogus]"),
        ({"source": {"index": "missing"}, "dest": {"index": "d"}}, 404, "no such index [missing]"),
        ({"source": {"index": "src", "query": {"nope": {}}}, "dest": {"index": "d"}}, 400, "unknown query [nope]"),
    ],
)  # fmt: skip
async def test_rejected_requests(client: httpx.AsyncClient, body: dict, status: int, needle: str) -> None:
    r = await client.post("/_reindex", json=body)
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]["reason"]
    assert (await client.head("/d")).status_code == 404


async def test_wait_for_completion_false_runs_a_task(client: httpx.AsyncClient) -> None:
    r = await client.post("/_reindex?wait_for_completion=false", json={"source": {"index": "src"},
                                                                        "dest": {"index": "bg"}})  # fmt: skip
    assert r.status_code == 200
    task = r.json()["task"]
    r = await client.get(f"/_tasks/{task}?wait_for_completion=true")
    body = r.json()
    assert body["completed"] is True and body["response"]["created"] == 25
    assert body["task"]["action"] == "indices:data/write/reindex"
    assert len(await _all(client, "bg")) == 25
    r = await client.post(f"/_reindex/{task}/_rethrottle?requests_per_second=5")
    assert task in next(iter(r.json()["nodes"].values()))["tasks"]
    assert (await client.get("/_tasks/nonode:99")).status_code == 404


async def test_rethrottle_of_a_task_on_an_unknown_node(asgi_client: httpx.AsyncClient) -> None:
    for api in ("_reindex", "_delete_by_query", "_update_by_query"):
        response = await asgi_client.post(f"/{api}/test:007/_rethrottle", params={"requests_per_second": "2"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["nodes"] == {}
        failure = body["node_failures"][0]
        assert failure["type"] == "failed_node_exception" and failure["node_id"] == "test"
        assert failure["caused_by"] == {"type": "no_such_node_exception", "reason": "No such node [test]",
                                        "node_id": "test"}  # fmt: skip


async def test_reindex_keeps_routing_by_default(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/rsrc", json={"settings": {"number_of_shards": 3}})
    await asgi_client.put("/rsrc/_doc/1", json={"a": 1}, params={"routing": "r1", "refresh": "true"})
    await asgi_client.put("/rsrc/_doc/2", json={"a": 2}, params={"refresh": "true"})
    await asgi_client.put("/rdst", json={"settings": {"number_of_shards": 3}})
    done = await asgi_client.post("/_reindex", params={"refresh": "true"},
                                  json={"source": {"index": "rsrc"}, "dest": {"index": "rdst"}})  # fmt: skip
    assert done.json()["created"] == 2
    assert (await asgi_client.get("/rdst/_doc/1", params={"routing": "r1"})).json()["_routing"] == "r1"
    assert "_routing" not in (await asgi_client.get("/rdst/_doc/2")).json()
    await asgi_client.put("/rdst2", json={"settings": {"number_of_shards": 3}})
    await asgi_client.post("/_reindex", params={"refresh": "true"},
                           json={"source": {"index": "rsrc"}, "dest": {"index": "rdst2", "routing": "discard"}})
    assert (await asgi_client.get("/rdst2/_doc/1")).json()["found"] is True


async def test_reindex_external_versions(asgi_client: httpx.AsyncClient) -> None:
    for i in range(3):
        await asgi_client.put("/vsrc/_doc/1", json={"rev": i})  # version 3
    await asgi_client.put("/vsrc/_doc/2", json={"rev": 0}, params={"refresh": "true"})  # version 1
    await asgi_client.put("/vdst/_doc/2", json={"rev": "newer"}, params={"version": "5", "version_type": "external"})
    body = {"source": {"index": "vsrc"}, "dest": {"index": "vdst", "version_type": "external"}, "conflicts": "proceed"}
    out = (await asgi_client.post("/_reindex", json=body, params={"refresh": "true"})).json()
    assert out["created"] == 1 and out["version_conflicts"] == 1
    one = (await asgi_client.get("/vdst/_doc/1")).json()
    assert one["_version"] == 3 and one["_source"] == {"rev": 2}
    assert (await asgi_client.get("/vdst/_doc/2")).json()["_source"] == {"rev": "newer"}
