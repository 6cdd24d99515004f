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
