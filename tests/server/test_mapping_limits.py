"""``index.mapping.field_name_length.limit`` (static and dynamic, with ``ignore_dynamic_beyond_limit``),
``index.mapping.array_objects.limit`` (per document, in bulk, updatable) and ``auto_expand_replicas`` on
one node (zero replicas: green)."""

from __future__ import annotations

import httpx

from tests.server.helpers import assert_canonical_error

LONG = "a_field_name_of_thirty_chars_x"  # 30 characters


def _settings(**flat: object) -> dict[str, object]:
    return {"settings": {f"index.{k}": v for k, v in flat.items()}}


async def test_static_names_past_the_limit_are_refused(asgi_client: httpx.AsyncClient) -> None:
    body = {**_settings(**{"mapping.field_name_length.limit": 29}),
            "mappings": {"properties": {"obj": {"properties": {LONG: {"type": "keyword"}}}}}}  # fmt: skip
    refused = await asgi_client.put("/fl", json=body)
    assert_canonical_error(refused, 400, "illegal_argument_exception")
    assert refused.json()["error"]["reason"] == f"Field name [{LONG}] is longer than the limit of [29] characters"
    body["settings"] = {"index.mapping.field_name_length.limit": 30}
    assert (await asgi_client.put("/fl", json=body)).status_code == 200
    multi = {"properties": {"t": {"type": "text", "fields": {LONG + "y": {"type": "keyword"}}}}}
    assert_canonical_error(await asgi_client.put("/fl/_mapping", json=multi), 400, "illegal_argument_exception")
    assert_canonical_error(await asgi_client.put("/bad", json=_settings(**{"mapping.field_name_length.limit": 0})),
                           400, "illegal_argument_exception")  # fmt: skip


async def test_dynamic_names_past_the_limit(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/strict_len", json=_settings(**{"mapping.field_name_length.limit": 10}))
    refused = await asgi_client.put("/strict_len/_doc/1", json={"short": 1, LONG: 2})
    assert_canonical_error(refused, 400, "illegal_argument_exception")
    assert (await asgi_client.get("/strict_len/_doc/1")).status_code == 404
    await asgi_client.put("/ignore_len", json=_settings(**{
        "mapping.field_name_length.limit": 10, "mapping.field_name_length.ignore_dynamic_beyond_limit": True}))
    doc = {"foo": {LONG: "x", "kept": 10}}
    assert (await asgi_client.put("/ignore_len/_doc/1", json=doc, params={"refresh": "true"})).status_code == 201
    props = (await asgi_client.get("/ignore_len/_mapping")).json()["ignore_len"]["mappings"]["properties"]
    assert props == {"foo": {"properties": {"kept": {"type": "long"}}}}
    assert (await asgi_client.get("/ignore_len/_doc/1")).json()["_source"] == doc
    hits = (await asgi_client.post("/ignore_len/_search", json={"query": {"term": {"foo.kept": 10}}})).json()
    assert hits["hits"]["total"]["value"] == 1


async def test_array_objects_limit(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/arr", json=_settings(**{"mapping.array_objects.limit": 2}))
    assert (await asgi_client.put("/arr/_doc/ok", json={"a": [{"v": 1}, {"v": 2}], "b": [1, 2, 3]})).status_code == 201
    too_many = await asgi_client.put("/arr/_doc/no", json={"a": [{"x": 1}], "b": {"c": [{"y": 2}, {"z": [{"w": 3}]}]}})
    assert_canonical_error(too_many, 400, "document_parsing_exception")
    assert too_many.json()["error"]["reason"].startswith(
        "The total number of objects across all arrays in the document has exceeded the allowed limit of [2]."
    )
    bulk = (b'{"index":{"_index":"arr","_id":"1"}}\n{"a":[{"v":1},{"v":2}]}\n'
            b'{"index":{"_index":"arr","_id":"2"}}\n{"a":[{"v":1},{"v":2},{"v":3}]}\n')  # fmt: skip
    out = (await asgi_client.post("/_bulk", content=bulk, headers={"content-type": "application/x-ndjson"})).json()
    assert [next(iter(i.values()))["status"] for i in out["items"]] == [201, 400]
    await asgi_client.put("/arr/_settings", json={"index.mapping.array_objects.limit": 5})
    assert (await asgi_client.put("/arr/_doc/2", json={"a": [{"v": 1}, {"v": 2}, {"v": 3}]})).status_code == 201
    zero = await asgi_client.put("/arr0", json=_settings(**{"mapping.array_objects.limit": 0}))
    assert_canonical_error(zero, 400, "illegal_argument_exception")
    assert "index.mapping.array_objects.limit" in zero.json()["error"]["reason"]


async def test_auto_expand_replicas_on_one_node(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/ax", json=_settings(auto_expand_replicas="0-1"))
    settings = (await asgi_client.get("/ax/_settings")).json()["ax"]["settings"]["index"]
    assert settings["number_of_replicas"] == "0"
    health = await asgi_client.get("/_cluster/health/ax", params={"wait_for_status": "green", "timeout": "1s"})
    assert health.json()["status"] == "green" and health.json()["timed_out"] is False
    await asgi_client.put("/ax1", json=_settings(auto_expand_replicas="1-all"))
    assert (await asgi_client.get("/ax1/_settings")).json()["ax1"]["settings"]["index"]["number_of_replicas"] == "1"
    bad = await asgi_client.put("/ax2", json=_settings(auto_expand_replicas="x"))
    assert_canonical_error(bad, 400, "illegal_argument_exception")


async def test_total_tokens_per_document_limit(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/tok", json={**_settings(**{"mapping.total_tokens_per_document.limit": 4}),
                                        "mappings": {"properties": {"a": {"type": "text"}, "b": {"type": "text"},
                                                                    "k": {"type": "keyword"}}}})  # fmt: skip
    assert (await asgi_client.put("/tok/_doc/1", json={"a": "one two", "b": "three four", "k": "x y z w v"})
            ).status_code == 201  # fmt: skip
    over = await asgi_client.put("/tok/_doc/2", json={"a": "one two", "b": "three four five"})
    assert_canonical_error(over, 400, "document_parsing_exception")
    assert "index.mapping.total_tokens_per_document.limit" in over.json()["error"]["reason"]
    dynamic = await asgi_client.put("/tok/_doc/3", json={"new_text": "one two three four five"})
    assert_canonical_error(dynamic, 400, "document_parsing_exception")
    await asgi_client.put("/tok/_settings", json={"index.mapping.total_tokens_per_document.limit": 10})
    assert (await asgi_client.put("/tok/_doc/2", json={"a": "one two", "b": "three four five"})).status_code == 201
    zero = await asgi_client.put("/tok0", json=_settings(**{"mapping.total_tokens_per_document.limit": 0}))
    assert_canonical_error(zero, 400, "illegal_argument_exception")
    assert "must be -1 (no limit) or a positive number" in zero.json()["error"]["reason"]


async def test_nested_objects_limit(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/nl", json={**_settings(**{"mapping.nested_objects.limit": 3}), "mappings": {"properties": {
        "n": {"type": "nested", "properties": {"inner": {"type": "nested"}}}, "o": {"type": "object"}}}})  # fmt: skip
    ok = {"n": [{"a": 1}, {"a": 2, "inner": [{"b": 1}]}], "o": [{"x": 1}, {"x": 2}, {"x": 3}]}
    assert (await asgi_client.put("/nl/_doc/1", json=ok)).status_code == 201
    over = {"n": [{"a": 1, "inner": {"b": 1}}, {"a": 2, "inner": [{"b": 1}]}]}
    refused = await asgi_client.put("/nl/_doc/2", json=over)
    assert_canonical_error(refused, 400, "document_parsing_exception")
    assert refused.json()["error"]["reason"] == (
        "The number of nested documents has exceeded the allowed limit of [3]. This limit can be set by changing "
        "the [index.mapping.nested_objects.limit] index level setting."
    )
