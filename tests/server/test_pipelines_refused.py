"""Ingest pipelines are not built yet: a write that asks for one fails as ES fails it for a missing pipeline,
instead of going in untransformed (``?pipeline=``, bulk item ``pipeline``, ``index.default_pipeline``,
``index.final_pipeline``, ``_update_by_query?pipeline=``, ``_reindex`` ``dest.pipeline``)."""

from __future__ import annotations

import httpx

from tests.server.helpers import assert_canonical_error

NDJSON = {"content-type": "application/x-ndjson"}


async def _count(client: httpx.AsyncClient, index: str) -> int:
    await client.post(f"/{index}/_refresh")
    return int((await client.get(f"/{index}/_count")).json()["count"])


async def test_named_pipelines_fail_the_write(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/p")
    response = await asgi_client.put("/p/_doc/1", params={"pipeline": "p1"}, json={"a": 1})
    assert_canonical_error(response, 400, "illegal_argument_exception")
    assert "pipeline with id [p1] does not exist" in response.text
    assert (await asgi_client.put("/p/_doc/1", params={"pipeline": "_none"}, json={"a": 1})).status_code == 201
    body = '{"index":{"_index":"p"}}\n{"a":2}\n{"index":{"_index":"p","pipeline":"_none"}}\n{"a":3}\n'
    items = (await asgi_client.post("/_bulk", params={"pipeline": "p2"}, content=body, headers=NDJSON)).json()
    assert [i["index"]["status"] for i in items["items"]] == [400, 201]
    assert items["items"][0]["index"]["error"]["reason"] == "pipeline with id [p2] does not exist"
    body = '{"create":{"_index":"p","pipeline":"p3"}}\n{"a":4}\n{"delete":{"_index":"p","_id":"1"}}\n'
    items = (await asgi_client.post("/_bulk", content=body, headers=NDJSON)).json()
    assert [i[next(iter(i))]["status"] for i in items["items"]] == [400, 200]
    assert await _count(asgi_client, "p") == 1  # the _none document only
    response = await asgi_client.post("/p/_update_by_query", params={"pipeline": "p4"})
    assert_canonical_error(response, 400, "illegal_argument_exception")
    reindex = {"source": {"index": "p"}, "dest": {"index": "q", "pipeline": "p5"}}
    response = await asgi_client.post("/_reindex", json=reindex)
    assert_canonical_error(response, 400, "illegal_argument_exception")


async def test_index_pipelines_fail_the_write(asgi_client: httpx.AsyncClient) -> None:
    for setting in ("index.default_pipeline", "index.final_pipeline"):
        name = setting.split(".")[1]
        await asgi_client.put(f"/{name}", json={"settings": {setting: "dp"}})
        response = await asgi_client.post(f"/{name}/_doc", json={"a": 1})
        assert_canonical_error(response, 400, "illegal_argument_exception")
        assert "pipeline with id [dp] does not exist" in response.text
        # ``_none`` in the request skips the default pipeline, never the final one
        response = await asgi_client.post(f"/{name}/_doc", params={"pipeline": "_none"}, json={"a": 1})
        assert response.status_code == (201 if name == "default_pipeline" else 400), response.text
        assert await _count(asgi_client, name) == (1 if name == "default_pipeline" else 0)


async def test_require_data_stream_is_refused(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/plain")
    for response in (
        await asgi_client.put("/plain/_doc/1", params={"require_data_stream": "true"}, json={"a": 1}),
        await asgi_client.post("/_bulk", params={"require_data_stream": "true"},
                               content='{"index":{"_index":"plain"}}\n{"a":1}\n', headers=NDJSON),
        await asgi_client.post("/_bulk", content='{"index":{"_index":"plain","require_data_stream":true}}\n{"a":1}\n',
                               headers=NDJSON),
    ):  # fmt: skip
        assert_canonical_error(response, 400, "illegal_argument_exception")
        assert "require_data_stream" in response.text
    assert await _count(asgi_client, "plain") == 0
