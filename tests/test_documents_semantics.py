"""Document-API and ``_bulk`` semantics that ES's YAML suites check (in process, over ASGI)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

NDJSON = {"content-type": "application/x-ndjson"}


def _ndjson(*lines: Any) -> str:
    return "".join(json.dumps(x) + "\n" for x in lines)


async def test_forced_refresh_only_for_refresh_true(asgi_client: httpx.AsyncClient) -> None:
    r = await asgi_client.put("/test/_doc/1?refresh=true", json={"foo": "bar"})
    assert r.status_code == 201 and r.json()["forced_refresh"] is True
    r = await asgi_client.put("/test/_doc/2?refresh=", json={"foo": "bar"})
    assert r.json()["forced_refresh"] is True
    r = await asgi_client.put("/test/_doc/3?refresh=wait_for", json={"foo": "bar"})
    assert "forced_refresh" not in r.json()
    r = await asgi_client.put("/test/_doc/4", json={"foo": "bar"})
    assert "forced_refresh" not in r.json()
    r = await asgi_client.post("/_bulk?refresh=true", content=_ndjson({"index": {"_index": "test"}}, {"a": 1}),
                               headers=NDJSON)  # fmt: skip
    assert r.json()["items"][0]["index"]["forced_refresh"] is True


async def test_bulk_empty_id_is_an_item_error(asgi_client: httpx.AsyncClient) -> None:
    body = _ndjson({"index": {"_index": "test", "_id": ""}}, {"f": 1}, {"index": {"_index": "test", "_id": "id"}},
                   {"f": 2}, {"index": {"_index": "test", "op_type": "create"}}, {"f": 3})  # fmt: skip
    r = await asgi_client.post("/_bulk?refresh=true", content=body, headers=NDJSON)
    out = r.json()
    assert out["errors"] is True
    first = out["items"][0]["index"]
    assert first["status"] == 400
    assert first["error"]["type"] == "illegal_argument_exception"
    assert first["error"]["reason"] == "if _id is specified it must not be empty"
    assert out["items"][1]["index"]["result"] == "created"
    assert out["items"][2]["create"]["result"] == "created"
    assert (await asgi_client.get("/test/_count")).json()["count"] == 2


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{}", "Malformed action/metadata line [3], expected FIELD_NAME but found [END_OBJECT]"),
        ("[1]", "Malformed action/metadata line [3], expected START_OBJECT but found [START_ARRAY]"),
        ('{"index": "x"}', "Malformed action/metadata line [3], expected START_OBJECT but found [VALUE_STRING]"),
        (
            '{"index": {}, "delete": {}}',
            "Malformed action/metadata line [3], expected END_OBJECT but found [FIELD_NAME]",
        ),
        ('{"explode": {}}', "expected one of [create, delete, index, update] but found [explode]"),
    ],
)
async def test_bulk_malformed_action_lines(asgi_client: httpx.AsyncClient, line: str, message: str) -> None:
    body = _ndjson({"index": {"_index": "test", "_id": "1"}}, {"f": 1}) + line + "\n"
    r = await asgi_client.post("/_bulk", content=body, headers=NDJSON)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["type"] == "illegal_argument_exception"
    assert message in r.json()["error"]["reason"]


async def test_require_alias_and_writes_through_alias(asgi_client: httpx.AsyncClient) -> None:
    r = await asgi_client.put("/backing_index", json={"aliases": {"test_require_alias": {}}})
    assert r.status_code == 200, r.text
    body = _ndjson({"index": {"_index": "new_index_not_created", "require_alias": True}}, {"f": 1},
                   {"index": {"_index": "new_index_created"}}, {"f": 2},
                   {"index": {"_index": "test_require_alias", "require_alias": True}}, {"f": 3},
                   {"create": {"_index": "test_require_alias"}}, {"f": 4})  # fmt: skip
    out = (await asgi_client.post("/_bulk?refresh=true", content=body, headers=NDJSON)).json()
    assert out["errors"] is True
    item = out["items"][0]["index"]
    assert item["status"] == 404 and item["error"]["type"] == "index_not_found_exception"
    assert item["error"]["reason"] == (
        "no such index [new_index_not_created] and [require_alias] request flag is [true] and "
        "[new_index_not_created] is not an alias"
    )
    assert out["items"][2]["index"]["_index"] == "backing_index"
    assert out["items"][3]["create"]["result"] == "created"
    assert (await asgi_client.get("/new_index_not_created")).status_code == 404
    assert (await asgi_client.get("/backing_index/_count")).json()["count"] == 2
    # the request-level flag, overridden per item
    body = _ndjson({"index": {"_index": "plain"}}, {"f": 1},
                   {"index": {"_index": "plain2", "require_alias": False}}, {"f": 2})  # fmt: skip
    out = (await asgi_client.post("/_bulk?require_alias=true", content=body, headers=NDJSON)).json()
    assert out["items"][0]["index"]["status"] == 404 and out["items"][1]["index"]["result"] == "created"
    # single-document APIs through the alias
    doc_id = out["items"][1]["index"]["_id"]
    r = await asgi_client.put("/test_require_alias/_doc/x?require_alias=true", json={"f": 5})
    assert r.status_code == 201 and r.json()["_index"] == "backing_index"
    r = await asgi_client.get("/test_require_alias/_doc/x")
    assert r.status_code == 200 and r.json()["_index"] == "backing_index"
    assert (await asgi_client.get(f"/plain2/_doc/{doc_id}")).json()["found"] is True


async def test_alias_over_several_indices_without_write_index(asgi_client: httpx.AsyncClient) -> None:
    for name in ("a1", "a2"):
        r = await asgi_client.put(f"/{name}", json={"aliases": {"both": {}}})
        assert r.status_code == 200, r.text
    out = (await asgi_client.post("/_bulk", content=_ndjson({"index": {"_index": "both"}}, {"f": 1}),
                                  headers=NDJSON)).json()  # fmt: skip
    item = out["items"][0]["index"]
    assert out["errors"] is True and item["status"] == 400
    assert item["error"]["reason"].startswith("no write index is defined for alias [both]")


async def test_bulk_ignores_a_trailing_action_without_document(asgi_client) -> None:
    body = b'{"index":{"_index":"trail","_id":"1"}}\n{"a":1}\n{"index":{"_index":"trail"}}\n'
    r = await asgi_client.post("/_bulk?refresh=true", content=body, headers={"content-type": "application/x-ndjson"})
    assert r.status_code == 200 and [list(i) for i in r.json()["items"]] == [["index"]]
    assert (await asgi_client.get("/trail/_count")).json()["count"] == 1
    only = await asgi_client.post("/_bulk", content=b'{"index":{"_index":"trail"}}\n',
                                  headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert only.status_code == 400 and only.json()["error"]["type"] == "action_request_validation_exception"
