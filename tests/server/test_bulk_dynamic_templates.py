"""``_bulk`` items' ``dynamic_templates``: a new field is mapped by the named template whatever its match
conditions; an unknown name or a leaf template for an object fails only that item."""

from __future__ import annotations

import httpx
import orjson


def _ndjson(*lines: object) -> bytes:
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)


async def test_bulk_dynamic_templates(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/dt", json={"mappings": {"dynamic_templates": [
        {"location": {"match": "never*", "mapping": {"type": "geo_point"}}},
        {"string": {"match_mapping_type": "string", "mapping": {"type": "keyword"}}}]}})  # fmt: skip
    body = _ndjson(
        {"index": {"_index": "dt", "_id": "1", "dynamic_templates": {"where": "location"}}}, {"where": "41.12,-71.34"},
        {"index": {"_index": "dt", "_id": "2", "dynamic_templates": {"other": "nope"}}}, {"other": "41.12,-71.34"},
        {"index": {"_index": "dt", "_id": "3", "dynamic_templates": {"foo": "string"}}}, {"foo.bar": "x"},
        {"index": {"_index": "dt", "_id": "4", "dynamic_templates": {"foo.bar": "string"}}}, {"foo.bar": "x y"},
    )
    out = (await asgi_client.post("/_bulk", content=body, params={"refresh": "true"},
                                  headers={"content-type": "application/x-ndjson"})).json()  # fmt: skip
    items = [item["index"] for item in out["items"]]
    assert [i["status"] for i in items] == [201, 400, 400, 201]
    assert items[1]["error"]["reason"] == (
        "Can't find dynamic template for dynamic template name [nope] of field [other]"
    )
    assert items[2]["error"]["reason"] == (
        "Field [foo] must be an object; but it's configured as [keyword] in dynamic template [string]"
    )
    props = (await asgi_client.get("/dt/_mapping")).json()["dt"]["mappings"]["properties"]
    assert props["where"] == {"type": "geo_point"} and props["foo"]["properties"]["bar"] == {"type": "keyword"}
    assert "other" not in props
    update = _ndjson({"update": {"_index": "dt", "_id": "1", "dynamic_templates": {"a": "string"}}}, {"doc": {}})
    refused = await asgi_client.post("/_bulk", content=update, headers={"content-type": "application/x-ndjson"})
    assert refused.status_code == 400


async def test_unknown_pipelines_fail_the_writes(asgi_client: httpx.AsyncClient) -> None:
    body = _ndjson({"index": {"_index": "pl", "_id": "1"}}, {"a": 1},
                   {"index": {"_index": "pl", "_id": "2", "pipeline": "mypipeline"}}, {"a": 2},
                   {"index": {"_index": "pl", "_id": "3", "pipeline": "_none"}}, {"a": 3})  # fmt: skip
    out = (await asgi_client.post("/_bulk", content=body, params={"refresh": "true"},
                                  headers={"content-type": "application/x-ndjson"})).json()  # fmt: skip
    items = [item["index"] for item in out["items"]]
    assert [i["status"] for i in items] == [201, 400, 201]
    assert items[1]["error"] == {"type": "illegal_argument_exception", "index": "pl",
                                 "reason": "pipeline with id [mypipeline] does not exist"}  # fmt: skip
    assert (await asgi_client.post("/pl/_count")).json()["count"] == 2
    single = await asgi_client.put("/pl/_doc/4", json={"a": 4}, params={"pipeline": "p"})
    assert single.status_code == 400 and single.json()["error"]["reason"] == "pipeline with id [p] does not exist"
    whole = await asgi_client.post("/_bulk", content=_ndjson({"index": {"_index": "pl"}}, {"a": 5}),
                                   params={"pipeline": "q"}, headers={"content-type": "application/x-ndjson"})
    assert whole.json()["items"][0]["index"]["status"] == 400
    await asgi_client.put("/pld", json={"settings": {"index.default_pipeline": "dp"}})
    default = await asgi_client.put("/pld/_doc/1", json={"a": 1})
    assert default.status_code == 400 and "pipeline with id [dp] does not exist" in default.text
    assert (await asgi_client.put("/pld/_doc/1", json={"a": 1}, params={"pipeline": "_none"})).status_code == 201
