"""External versioning (``version_type=external|external_gte`` with ``version``) on index, delete and
``_bulk``; ``version`` on GET; ``realtime=false`` reads; the validation errors ES gives for versioning."""

from __future__ import annotations

import httpx

from tests.server.helpers import assert_canonical_error


async def _put(client: httpx.AsyncClient, doc_id: str, body: dict[str, object], **params: str) -> httpx.Response:
    return await client.put(f"/v/_doc/{doc_id}", json=body, params=params)


async def test_external_versions_are_stored_and_must_grow(asgi_client: httpx.AsyncClient) -> None:
    first = await _put(asgi_client, "1", {"n": 1}, version_type="external", version="10")
    assert first.status_code == 201, first.text
    assert first.json()["_version"] == 10 and first.json()["result"] == "created"
    same = await _put(asgi_client, "1", {"n": 2}, version_type="external", version="10")
    assert_canonical_error(same, 409, "version_conflict_engine_exception")
    assert same.json()["error"]["reason"] == (
        "[1]: version conflict, current version [10] is higher or equal to the one provided [10]"
    )
    assert same.json()["error"]["index"] == "v"
    higher = await _put(asgi_client, "1", {"n": 3}, version_type="external", version="42")
    assert higher.status_code == 200 and higher.json()["_version"] == 42 and higher.json()["result"] == "updated"
    got = (await asgi_client.get("/v/_doc/1")).json()
    assert got["_version"] == 42 and got["_source"] == {"n": 3}
    # an internal write after external ones counts on from the stored version
    plain = await _put(asgi_client, "1", {"n": 4})
    assert plain.json()["_version"] == 43


async def test_external_gte_accepts_equal_versions(asgi_client: httpx.AsyncClient) -> None:
    assert (await _put(asgi_client, "g", {"a": 1}, version_type="external_gte", version="0")).json()["_version"] == 0
    assert (await _put(asgi_client, "g", {"a": 2}, version_type="external_gte", version="5")).json()["_version"] == 5
    equal = await _put(asgi_client, "g", {"a": 3}, version_type="external_gte", version="5")
    assert equal.status_code == 200 and equal.json()["_version"] == 5
    lower = await _put(asgi_client, "g", {"a": 4}, version_type="external_gte", version="4")
    assert_canonical_error(lower, 409, "version_conflict_engine_exception")
    assert lower.json()["error"]["reason"] == (
        "[g]: version conflict, current version [5] is higher than the one provided [4]"
    )
    assert (await asgi_client.get("/v/_doc/g")).json()["_source"] == {"a": 3}


async def test_external_delete_keeps_its_version_as_a_tombstone(asgi_client: httpx.AsyncClient) -> None:
    await _put(asgi_client, "d", {"a": 1}, version_type="external_gte", version="5")
    stale = await asgi_client.delete("/v/_doc/d", params={"version_type": "external_gte", "version": "4"})
    assert_canonical_error(stale, 409, "version_conflict_engine_exception")
    deleted = await asgi_client.delete("/v/_doc/d", params={"version_type": "external_gte", "version": "6"})
    assert deleted.status_code == 200 and deleted.json()["_version"] == 6 and deleted.json()["result"] == "deleted"
    # the delete's version still counts: a lower external version conflicts, an equal _gte one is accepted
    older = await _put(asgi_client, "d", {"a": 2}, version_type="external", version="6")
    assert_canonical_error(older, 409, "version_conflict_engine_exception")
    again = await _put(asgi_client, "d", {"a": 3}, version_type="external_gte", version="6")
    assert again.status_code == 201 and again.json()["_version"] == 6 and again.json()["result"] == "created"
    missing = await asgi_client.delete("/v/_doc/nope", params={"version_type": "external", "version": "3"})
    assert missing.status_code == 404 and missing.json()["result"] == "not_found" and missing.json()["_version"] == 3


async def test_versioning_validation_errors(asgi_client: httpx.AsyncClient) -> None:
    create = await asgi_client.put("/v/_create/1", json={"a": 1}, params={"version_type": "external", "version": "2"})
    assert_canonical_error(create, 400, "action_request_validation_exception")
    assert create.json()["error"]["reason"] == (
        "Validation Failed: 1: create operations only support internal versioning. use index instead;"
    )
    internal = await _put(asgi_client, "1", {"a": 1}, version="2")
    assert_canonical_error(internal, 400, "action_request_validation_exception")
    reason = internal.json()["error"]["reason"]
    assert "internal versioning can not be used for optimistic concurrency control" in reason
    negative = await _put(asgi_client, "1", {"a": 1}, version_type="external", version="-1")
    assert negative.json()["error"]["reason"] == (
        "Validation Failed: 1: illegal version value [-1] for version type [EXTERNAL];"
    )
    unknown = await _put(asgi_client, "1", {"a": 1}, version_type="force", version="2")
    assert_canonical_error(unknown, 400, "illegal_argument_exception")
    assert unknown.json()["error"]["reason"] == "No version type match [force]"
    cas = await _put(asgi_client, "1", {"a": 1}, version_type="external", version="2", if_seq_no="0",
                     if_primary_term="1")  # fmt: skip
    assert "compare and write operations can not use versioning" in cas.json()["error"]["reason"]
    update = await asgi_client.post("/v/_update/1", json={"doc": {"a": 1}}, params={"version": "2"})
    assert_canonical_error(update, 400, "action_request_validation_exception")
    assert "Please use `if_seq_no` and `if_primary_term` instead" in update.json()["error"]["reason"]


async def test_bulk_external_versions(asgi_client: httpx.AsyncClient) -> None:
    body = (
        b'{"index":{"_index":"b","_id":"1","version":7,"version_type":"external"}}\n{"a":1}\n'
        b'{"index":{"_index":"b","_id":"1","version":5,"version_type":"external"}}\n{"a":2}\n'
        b'{"index":{"_index":"b","_id":"2","version":3,"version_type":"external_gte"}}\n{"a":3}\n'
        b'{"delete":{"_index":"b","_id":"2","version":3,"version_type":"external_gte"}}\n'
    )
    response = await asgi_client.post("/_bulk", content=body, headers={"content-type": "application/x-ndjson"})
    out = response.json()
    assert out["errors"] is True
    items = [next(iter(i.values())) for i in out["items"]]
    assert [i["status"] for i in items] == [201, 409, 201, 200]
    assert items[0]["_version"] == 7 and items[2]["_version"] == 3 and items[3]["_version"] == 3
    assert items[1]["error"]["reason"] == (
        "[1]: version conflict, current version [7] is higher or equal to the one provided [5]"
    )
    bad = await asgi_client.post(
        "/_bulk", content=b'{"update":{"_index":"b","_id":"1","version":9}}\n{"doc":{"a":1}}\n',
        headers={"content-type": "application/x-ndjson"},
    )
    assert_canonical_error(bad, 400, "illegal_argument_exception")
    assert bad.json()["error"]["reason"].startswith("Update requests do not support versioning.")
    create = await asgi_client.post(
        "/_bulk", content=b'{"create":{"_index":"b","_id":"9","version":9,"version_type":"external"}}\n{"a":1}\n',
        headers={"content-type": "application/x-ndjson"},
    )
    assert_canonical_error(create, 400, "action_request_validation_exception")
    assert (await asgi_client.get("/b/_doc/9")).status_code == 404


async def test_get_with_version(asgi_client: httpx.AsyncClient) -> None:
    await _put(asgi_client, "1", {"a": 1})
    await _put(asgi_client, "1", {"a": 2})
    ok = await asgi_client.get("/v/_doc/1", params={"version": "2"})
    assert ok.status_code == 200 and ok.json()["_source"] == {"a": 2}
    stale = await asgi_client.get("/v/_doc/1", params={"version": "1"})
    assert_canonical_error(stale, 409, "version_conflict_engine_exception")
    assert stale.json()["error"]["reason"] == (
        "[1]: version conflict, current version [2] is different than the one provided [1]"
    )
    source = await asgi_client.get("/v/_source/1", params={"version": "3", "version_type": "external"})
    assert_canonical_error(source, 409, "version_conflict_engine_exception")
    assert (await asgi_client.get("/v/_doc/2", params={"version": "1"})).status_code == 404


async def test_realtime_false_reads_only_refreshed_documents(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/rt", json={"settings": {"refresh_interval": -1}})
    await asgi_client.put("/rt/_doc/1", json={"a": 1})
    assert (await asgi_client.get("/rt/_doc/1", params={"realtime": "false"})).status_code == 404
    assert (await asgi_client.get("/rt/_doc/1")).status_code == 200
    assert (await asgi_client.head("/rt/_doc/1", params={"realtime": "false"})).status_code == 404
    await asgi_client.post("/rt/_refresh")
    got = await asgi_client.get("/rt/_doc/1", params={"realtime": "false"})
    assert got.status_code == 200 and got.json()["_source"] == {"a": 1}


async def test_internal_versions_count_on_after_a_delete(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/tomb", json={"settings": {"refresh_interval": -1}})
    assert (await _put_in(asgi_client, "tomb", "1")).json()["_version"] == 1
    deleted = await asgi_client.delete("/tomb/_doc/1")
    assert deleted.json()["_version"] == 2 and deleted.json()["result"] == "deleted"
    again = await asgi_client.delete("/tomb/_doc/1")
    assert again.status_code == 404 and again.json()["_version"] == 3
    recreated = await _put_in(asgi_client, "tomb", "1")
    assert recreated.json()["_version"] == 4 and recreated.json()["result"] == "created"
    bulk = b'{"delete":{"_index":"tomb","_id":"1"}}\n{"index":{"_index":"tomb","_id":"1"}}\n{"a":1}\n'
    items = (await asgi_client.post("/_bulk", content=bulk, headers={"content-type": "application/x-ndjson"})).json()
    assert [next(iter(i.values()))["_version"] for i in items["items"]] == [5, 6]


async def _put_in(client: httpx.AsyncClient, index: str, doc_id: str) -> httpx.Response:
    return await client.put(f"/{index}/_doc/{doc_id}", json={"a": 1})
