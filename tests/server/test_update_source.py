"""An update that asks for ``_source`` (body or URL, single or in ``_bulk``) answers with ES's ``get``: the
document as the update left it, filtered as asked; ``scripted_upsert`` is refused (there is no script)."""

from __future__ import annotations

import httpx

from tests.server.helpers import assert_canonical_error


async def test_update_returns_the_updated_source(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/u/_doc/1", json={"a": 1, "b": {"c": 2, "d": 3}})
    plain = (await asgi_client.post("/u/_update/1", json={"doc": {"a": 5}})).json()
    assert "get" not in plain
    out = (await asgi_client.post("/u/_update/1", json={"doc": {"a": 6}, "_source": True})).json()
    assert out["get"] == {"_seq_no": out["_seq_no"], "_primary_term": 1, "found": True,
                          "_source": {"a": 6, "b": {"c": 2, "d": 3}}}  # fmt: skip
    out = (await asgi_client.post("/u/_update/1", json={"doc": {"a": 7}, "_source": ["b.c"]})).json()
    assert out["get"]["_source"] == {"b": {"c": 2}}
    out = (await asgi_client.post("/u/_update/1", params={"_source_excludes": "b"}, json={"doc": {"a": 8}})).json()
    assert out["get"]["_source"] == {"a": 8}
    out = (await asgi_client.post("/u/_update/1", json={"doc": {"a": 8}, "_source": True})).json()
    assert out["result"] == "noop" and out["get"]["_source"]["a"] == 8
    bulk = ('{"update":{"_index":"u","_id":"1"}}\n{"doc":{"a":9},"_source":["a"]}\n'
            '{"update":{"_index":"u","_id":"1"}}\n{"doc":{"a":10}}\n')  # fmt: skip
    items = (await asgi_client.post("/_bulk", content=bulk, headers={"content-type": "application/x-ndjson"})).json()
    first, second = (item["update"] for item in items["items"])
    assert first["get"]["_source"] == {"a": 9} and "get" not in second
    items = (await asgi_client.post("/_bulk", params={"_source_includes": "b.d"}, content=bulk,
                                    headers={"content-type": "application/x-ndjson"})).json()  # fmt: skip
    first, second = (item["update"] for item in items["items"])
    assert first["get"]["_source"] == {"a": 9}  # as this item left it, not as the next one did
    assert second["get"]["_source"] == {"b": {"d": 3}}
    response = await asgi_client.post("/u/_update/2", json={"doc": {"a": 1}, "scripted_upsert": True, "upsert": {}})
    assert_canonical_error(response, 400, "illegal_argument_exception")
    assert "scripted_upsert" in response.text
