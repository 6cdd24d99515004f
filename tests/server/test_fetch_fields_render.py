"""``fields`` / ``docvalue_fields`` rendering: binary values (base64 as stored), open ends of double ranges
(no bound), inclusive date_range upper bounds rounded up to the end of the formatted unit."""

from __future__ import annotations

import httpx


async def test_binary_and_ranges(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/rf", json={"mappings": {"properties": {
        "binary": {"type": "binary", "doc_values": True}, "double": {"type": "double_range"},
        "date": {"type": "date_range", "format": "yyyy-MM-dd"}}}})  # fmt: skip
    doc = {"binary": "U29tZSBiaW5hcnkgYmxvYg==", "double": {"gte": 1.5},
           "date": {"gte": "2016-10-31", "lte": "2016-11-01"}}
    await asgi_client.put("/rf/_doc/1", json=doc, params={"refresh": "true"})
    for key in ("fields", "docvalue_fields"):
        body = (await asgi_client.post("/rf/_search", json={key: ["binary", "double", "date"]})).json()
        hit = body["hits"]["hits"][0]
        assert hit["fields"]["binary"] == ["U29tZSBiaW5hcnkgYmxvYg=="]
        assert hit["fields"]["double"] == [{"gte": 1.5, "lte": None}]
        assert hit["fields"]["date"] == [{"gte": "2016-10-31", "lte": "2016-11-01"}]
    fmt = {"docvalue_fields": [{"field": "date", "format": "epoch_millis"}]}
    millis = await asgi_client.post("/rf/_search", json=fmt)
    assert millis.json()["hits"]["hits"][0]["fields"]["date"] == [{"gte": "1477872000000", "lte": "1478044799999"}]
    inside = await asgi_client.post("/rf/_search", json={"query": {"term": {"date": "2016-11-01T12:00:00"}}})
    assert inside.json()["hits"]["total"]["value"] == 1
