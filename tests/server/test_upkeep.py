"""``_dangling``, ``_migration`` and ``_internal/prevalidate_node_removal``: answered from what the node keeps."""

from __future__ import annotations

import httpx

from tests.server.helpers import assert_canonical_error


async def test_dangling_and_migration(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/kept")
    body = (await asgi_client.get("/_dangling")).json()
    assert body["dangling_indices"] == [] and body["_nodes"]["failed"] == 0
    assert_canonical_error(await asgi_client.post("/_dangling/abc?accept_data_loss=true"), 400,
                           "illegal_argument_exception")  # fmt: skip
    status = (await asgi_client.get("/_migration/system_features")).json()
    assert status == {"features": [], "migration_status": "NO_MIGRATION_NEEDED"}
    assert (await asgi_client.post("/_migration/system_features")).json() == {"accepted": False, "features": []}
    report = (await asgi_client.get("/kept/_migration/deprecations")).json()
    assert report["cluster_settings"] == [] and report["index_settings"] == {}
    assert_canonical_error(await asgi_client.get("/nope/_migration/deprecations"), 404, "index_not_found_exception")


async def test_prevalidate_node_removal(asgi_client: httpx.AsyncClient) -> None:
    node_id, node = next(iter((await asgi_client.get("/_nodes")).json()["nodes"].items()))
    for params in ({"ids": node_id}, {"names": node["name"]}, {"external_ids": node["name"]}):
        body = (await asgi_client.post("/_internal/prevalidate_node_removal", params=params)).json()
        assert body["is_safe"] is True
        assert body["nodes"] == [{"name": node["name"], "id": node_id, "external_id": node["name"],
                                  "result": {"is_safe": True, "reason": "no_problems", "message": ""}}]  # fmt: skip
    for params, status, es_type in (
        ({}, 400, "action_request_validation_exception"),
        ({"ids": node_id, "names": "x"}, 400, "action_request_validation_exception"),
        ({"ids": "nope"}, 404, "resource_not_found_exception"),
    ):
        response = await asgi_client.post("/_internal/prevalidate_node_removal", params=params)
        assert_canonical_error(response, status, es_type)


async def test_repositories_metering_meters_no_repositories(asgi_client: httpx.AsyncClient) -> None:
    node_id = next(iter((await asgi_client.get("/_nodes")).json()["nodes"]))
    body = (await asgi_client.get(f"/_nodes/{node_id}/_repositories_metering")).json()
    assert body["nodes"] == {node_id: {"repositories": []}} and body["_nodes"]["total"] == 1
    body = (await asgi_client.delete(f"/_nodes/{node_id}/_repositories_metering/1")).json()
    assert body["nodes"] == {node_id: {"repositories": []}}
    assert (await asgi_client.get("/_nodes/other/_repositories_metering")).json()["nodes"] == {}
