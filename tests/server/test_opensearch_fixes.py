"""Fixes found by the OpenSearch API stories: settings defaults, background by-query tasks, CBOR output."""

from __future__ import annotations

import httpx

from compat_tests.opensearch_runner.cbor import decode
from server import cbor


async def test_get_settings_include_defaults(asgi_client: httpx.AsyncClient) -> None:
    response = await asgi_client.put("/movies", json={"settings": {"index": {"refresh_interval": "5s"}}})
    assert response.status_code == 200, response.text
    body = (await asgi_client.get("/movies/_settings", params={"include_defaults": "true"})).json()["movies"]
    defaults = body["defaults"]["index"]
    assert defaults["store"]["type"] == ""
    assert defaults["max_result_window"] == "10000"
    assert defaults["number_of_routing_shards"] == body["settings"]["index"]["number_of_shards"]
    assert "refresh_interval" not in defaults  # set explicitly: reported under settings only
    assert body["settings"]["index"]["refresh_interval"] == "5s"
    plain = (await asgi_client.get("/movies/_settings")).json()["movies"]
    assert "defaults" not in plain
    flat = (await asgi_client.get("/movies/_settings/index.store.*",
                                  params={"include_defaults": "true", "flat_settings": "true"})).json()  # fmt: skip
    assert flat["movies"] == {"settings": {}, "defaults": {"index.store.type": "", "index.store.preload": []}}


async def test_delete_by_query_in_background_returns_a_task(asgi_client: httpx.AsyncClient) -> None:
    for i in range(3):
        await asgi_client.put(f"/books/_doc/{i}", params={"refresh": "true"}, json={"n": i})
    response = await asgi_client.post("/books/_delete_by_query",
                                      params={"wait_for_completion": "false", "requests_per_second": "1"},
                                      json={"query": {"match_all": {}}})  # fmt: skip
    assert response.status_code == 200, response.text
    task_id = response.json()["task"]
    node, _, number = task_id.partition(":")
    assert node and number.isdigit()
    rethrottle = await asgi_client.post(f"/_delete_by_query/{task_id}/_rethrottle",
                                        params={"requests_per_second": "2"})  # fmt: skip
    assert rethrottle.status_code == 200, rethrottle.text
    done = (await asgi_client.get(f"/_tasks/{task_id}", params={"wait_for_completion": "true"})).json()
    assert done["completed"] is True
    assert done["task"]["action"] == "indices:data/write/delete/byquery"
    assert done["response"]["deleted"] == 3
    await asgi_client.post("/books/_refresh")
    assert (await asgi_client.get("/books/_count")).json()["count"] == 0
    update = await asgi_client.post("/books/_update_by_query", params={"wait_for_completion": "false"})
    assert update.status_code == 200 and "task" in update.json()
    bad = await asgi_client.post("/books/_delete_by_query", params={"wait_for_completion": "false"},
                                 json={"query": {"nope": {}}})  # fmt: skip
    assert bad.status_code == 400


def test_cbor_encoder_round_trips() -> None:
    value = {"a": [1, -1, 0, 23, 24, 255, 256, 65536, 1 << 40, -(1 << 40)], "s": "héllo", "f": 1.5,
             "t": True, "n": None, "b": False, "big": 12345678901234567890, "nested": {"x": []}}  # fmt: skip
    assert decode(cbor.dumps(value)) == value
    assert cbor.dumps({"a": 1}) == bytes([0xA1, 0x61, 0x61, 0x01])
    assert cbor.wants_cbor("application/cbor") and not cbor.wants_cbor("application/json")


async def test_cat_and_json_apis_speak_cbor(asgi_client: httpx.AsyncClient) -> None:
    response = await asgi_client.get("/_cat/health", params={"format": "cbor"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/cbor")
    rows = decode(response.content)
    assert isinstance(rows, list) and rows[0]["node.total"] == "1"
    await asgi_client.put("/idx")
    cat = await asgi_client.get("/_cat/indices", params={"format": "cbor", "h": "index"})
    assert decode(cat.content) == [{"index": "idx"}]
    root = await asgi_client.get("/", headers={"accept": "application/cbor"})
    assert root.headers["content-type"].startswith("application/cbor")
    assert decode(root.content)["tagline"] == "You Know, for Search"
    smile = await asgi_client.get("/_cat/health", params={"format": "smile"})
    assert smile.status_code == 400
