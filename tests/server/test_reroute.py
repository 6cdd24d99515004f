"""``_cluster/reroute`` commands decided as on a one-node ES; deprecation warnings; state expand_wildcards."""

from __future__ import annotations

import httpx
import pytest

from tests.server.helpers import assert_canonical_error

NODE = "quidditch-node-0"


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    await asgi_client.put("/ti", json={"settings": {"number_of_shards": 1, "number_of_replicas": 1}})
    return asgi_client


async def _explain(c: httpx.AsyncClient, command: dict) -> dict:
    response = await c.post("/_cluster/reroute?explain=true&dry_run=true&metric=none", json={"commands": [command]})
    assert response.status_code == 200, response.text
    (explanation,) = response.json()["explanations"]
    return explanation


async def test_decisions(client: httpx.AsyncClient) -> None:
    missing = await _explain(client, {"cancel": {"index": "ti", "shard": 9, "node": NODE}})
    assert missing["command"] == "cancel"
    assert missing["parameters"] == {"index": "ti", "shard": 9, "node": NODE, "allow_primary": False}
    (decision,) = missing["decisions"]
    assert decision["decider"] == "cancel_allocation_command" and decision["decision"] == "NO"
    assert "failed to find it on node" in decision["explanation"]
    primary = await _explain(client, {"cancel": {"index": "ti", "shard": 0, "node": NODE}})
    assert "shard is primary and started" in primary["decisions"][0]["explanation"]
    allowed = await _explain(client, {"cancel": {"index": "ti", "shard": 0, "node": NODE, "allow_primary": True}})
    assert allowed["decisions"][0]["decision"] == "YES"
    replica = await _explain(client, {"allocate_replica": {"index": "ti", "shard": 0, "node": NODE}})
    assert replica["decisions"][0]["decision"] == "NO" and "already allocated" in replica["decisions"][0]["explanation"]
    empty = await _explain(client, {"allocate_empty_primary": {"index": "ti", "shard": 0, "node": NODE,
                                                               "accept_data_loss": True}})  # fmt: skip
    assert "is already assigned" in empty["decisions"][0]["explanation"]
    move = await _explain(client, {"move": {"index": "ti", "shard": 0, "from_node": NODE, "to_node": NODE}})
    assert move["decisions"][0]["decision"] == "NO"


async def test_errors_without_explain(client: httpx.AsyncClient) -> None:
    c = client
    no = await c.post("/_cluster/reroute?metric=none", json={"commands": [
        {"allocate_replica": {"index": "ti", "shard": 0, "node": NODE}}]})  # fmt: skip
    assert_canonical_error(no, 400, "illegal_argument_exception")
    assert "[allocate_replica] allocation of [ti][0]" in no.json()["error"]["reason"]
    other = await c.post("/_cluster/reroute", json={"commands": [
        {"move": {"index": "ti", "shard": 0, "from_node": NODE, "to_node": "elsewhere"}}]})  # fmt: skip
    assert other.json()["error"]["reason"] == "failed to resolve [elsewhere], no matching nodes"
    unknown = await c.post("/_cluster/reroute", json={"commands": [{"teleport": {"index": "ti"}}]})
    assert_canonical_error(unknown, 400, "parsing_exception")
    gone = await c.post("/_cluster/reroute", json={"commands": [{"cancel": {"index": "nope", "shard": 0,
                                                                              "node": NODE}}]})  # fmt: skip
    assert_canonical_error(gone, 404, "index_not_found_exception")


async def test_state_metric_and_warning(client: httpx.AsyncClient) -> None:
    c = client
    default = await c.post("/_cluster/reroute")
    assert "metadata" not in default.json()["state"] and "routing_table" in default.json()["state"]
    assert "warning" not in default.headers
    metadata = await c.post("/_cluster/reroute?metric=metadata")
    assert "metadata" in metadata.json()["state"] and "nodes" not in metadata.json()["state"]
    none = await c.post("/_cluster/reroute?metric=none")
    assert "state" not in none.json() and "warning" not in none.headers


async def test_transient_settings_warn_and_state_expand_wildcards(client: httpx.AsyncClient) -> None:
    c = client
    setting = await c.put("/_cluster/settings", json={"transient": {"cluster.routing.allocation.enable": "none"}})
    assert "[transientSettings removal]" in setting.headers["warning"]
    reset = await c.put("/_cluster/settings", json={"transient": {"cluster.routing.allocation.enable": None}})
    assert "warning" not in reset.headers
    persistent = await c.put("/_cluster/settings", json={"persistent": {"search.max_buckets": 100}})
    assert "warning" not in persistent.headers
    await c.put("/tc", json={"settings": {"number_of_replicas": 0}})
    await c.post("/tc/_close")
    closed = (await c.get("/_cluster/state/metadata/t*?expand_wildcards=closed")).json()["metadata"]["indices"]
    assert set(closed) == {"tc"}
    opened = (await c.get("/_cluster/state/metadata/t*?expand_wildcards=open")).json()["metadata"]["indices"]
    assert set(opened) == {"ti"}


async def test_allocation_explain_names_the_shard_asked_for(client: httpx.AsyncClient) -> None:
    c = client
    await c.put("/two", json={"settings": {"number_of_shards": 2, "number_of_replicas": 1}})
    primary = (await c.post("/_cluster/allocation/explain", json={"index": "two", "shard": 1, "primary": True})).json()
    assert (primary["index"], primary["shard"], primary["primary"]) == ("two", 1, True)
    assert primary["current_state"] == "started"
    replica = (await c.get("/_cluster/allocation/explain?index=two&shard=0&primary=false")).json()
    assert (replica["shard"], replica["primary"], replica["current_state"]) == (0, False, "unassigned")
    created = int((await c.get("/two/_settings?flat_settings=true")).json()["two"]["settings"]["index.creation_date"])
    import time

    assert replica["unassigned_info"]["at"] == time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created / 1000)) + \
        f".{created % 1000:03d}Z"  # fmt: skip
    bad = await c.post("/_cluster/allocation/explain", json={"index": "two", "shard": 5, "primary": True})
    assert bad.status_code == 404 and bad.json()["error"]["type"] == "shard_not_found_exception"
