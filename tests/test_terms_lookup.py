"""``terms`` lookup: the root reads the values from another document before fan-out (query, post_filter,
filter aggregations, _count), over the in-process app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from native.query.lookup import extract_values
from tests.conftest import _starlette_of

USERS = {
    "u1": {"name": "ann", "follows": ["bob", "cid"], "team": {"members": [{"id": 1}, {"id": 3}]}},
    "u2": {"name": "bob", "follows": "ann"},
    "u3": {"name": "cid", "follows": []},
}
POSTS = {
    "p1": {"author": "ann", "n": 1},
    "p2": {"author": "bob", "n": 2},
    "p3": {"author": "cid", "n": 3},
    "p4": {"author": "bob", "n": 4},
    "p5": {"author": "dan", "n": 5},
}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    from cluster.embedded import EmbeddedCluster
    from server.app import cluster_config, create_app
    from server.settings import load_settings

    settings = load_settings({"data_dir": str(tmp_path / "data")})
    cluster = EmbeddedCluster(settings.data_dir, config=cluster_config(settings))
    if cluster.root.index_of is None:  # the embedded cluster may already wire its root to its documents
        cluster.root.attach_documents(cluster.master.index, cluster.writes.get)
    app = create_app(settings, cluster)
    starlette_app = _starlette_of(app)
    try:
        async with starlette_app.router.lifespan_context(starlette_app):
            transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://quidditch.test", timeout=30) as c:
                for index, docs in (("users", USERS), ("posts", POSTS)):
                    mappings = {"properties": {"author": {"type": "keyword"}, "n": {"type": "integer"}}}
                    r = await c.put(f"/{index}", json={"settings": {"number_of_shards": 2}, "mappings": mappings})
                    assert r.status_code == 200, r.text
                    lines = []
                    for doc_id, doc in docs.items():
                        lines += [orjson.dumps({"index": {"_id": doc_id}}), orjson.dumps(doc)]
                    r = await c.post(
                        f"/{index}/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                        headers={"content-type": "application/x-ndjson"},
                    )  # fmt: skip
                    assert r.status_code == 200 and not r.json()["errors"], r.text
                yield c
    finally:
        await cluster.stop()


def lookup(doc_id: str, path: str = "follows", **extra: Any) -> dict[str, Any]:
    return {"terms": {"author": {"index": "users", "id": doc_id, "path": path, **extra}}}


def expected(doc_id: str, path: str = "follows") -> set[str]:
    wanted = set(extract_values(USERS[doc_id], path)) if doc_id in USERS else set()
    return {pid for pid, post in POSTS.items() if post["author"] in wanted}


async def hits(client: httpx.AsyncClient, body: dict[str, Any]) -> set[str]:
    r = await client.post("/posts/_search", json={"size": 100, **body})
    assert r.status_code == 200, r.text
    return {h["_id"] for h in r.json()["hits"]["hits"]}


@pytest.mark.parametrize("doc_id", ["u1", "u2", "u3", "missing"])
async def test_query_lookup(client: httpx.AsyncClient, doc_id: str) -> None:
    assert await hits(client, {"query": lookup(doc_id)}) == expected(doc_id)


async def test_lookup_reads_unrefreshed_document_and_nested_paths(client: httpx.AsyncClient) -> None:
    r = await client.put("/users/_doc/u9", json={"follows": ["dan", "ann"]})
    assert r.status_code == 201, r.text
    assert await hits(client, {"query": lookup("u9")}) == {"p1", "p5"}
    r = await client.post(
        "/posts/_search", json={"query": {"terms": {"n": {"index": "users", "id": "u1", "path": "team.members.id"}}}}
    )
    assert {h["_id"] for h in r.json()["hits"]["hits"]} == {"p1", "p3"}


async def test_lookup_in_bool_post_filter_filter_agg_and_count(client: httpx.AsyncClient) -> None:
    body = {
        "query": {"bool": {"must_not": [lookup("u2")]}},
        "post_filter": lookup("u1"),
        "aggs": {"followed": {"filter": lookup("u1"), "aggs": {"who": {"terms": {"field": "author"}}}}},
    }
    r = await client.post("/posts/_search", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    not_ann = {pid for pid, p in POSTS.items() if p["author"] != "ann"}
    assert {h["_id"] for h in out["hits"]["hits"]} == expected("u1") & not_ann
    followed = out["aggregations"]["followed"]
    assert followed["doc_count"] == len(expected("u1") & not_ann)
    assert {b["key"]: b["doc_count"] for b in followed["who"]["buckets"]} == {"bob": 2, "cid": 1}
    r = await client.post("/posts/_count", json={"query": lookup("u1")})
    assert r.status_code == 200, r.text
    assert r.json()["count"] == len(expected("u1"))


async def test_lookup_errors(client: httpx.AsyncClient) -> None:
    r = await client.post("/posts/_search", json={"query": lookup("u1", index="nope")})
    assert r.status_code == 404, r.text
    assert r.json()["error"]["type"] == "index_not_found_exception"
    r = await client.post("/posts/_search", json={"query": {"terms": {"author": {"index": "users", "id": "u1"}}}})
    assert r.status_code == 400, r.text
    assert "requires specifying the path" in r.text
    r = await client.post("/posts/_search", json={"query": lookup("u1", colour="red")})
    assert r.status_code == 400, r.text
    assert "does not support [colour] within lookup element" in r.text
