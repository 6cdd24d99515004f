"""Kibana 8.x start-up, replayed: the requests of /work/shared/reference/kibana.md §2 to §4, in order."""

from __future__ import annotations

import httpx

from tests.server.helpers import assert_canonical_error

KIBANA = {"x-elastic-product-origin": "kibana", "user-agent": "Kibana/8.15.0"}


async def test_kibana_start_up_sequence(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    # 1. version check: every node at an 8.x version Kibana 8.15 accepts
    nodes = await c.get("/_nodes?filter_path=nodes.*.version,nodes.*.http.publish_address,nodes.*.ip",
                        headers=KIBANA)  # fmt: skip
    assert nodes.status_code == 200 and nodes.headers["x-elastic-product"] == "Elasticsearch"
    entries = list(nodes.json()["nodes"].values())
    assert len(entries) == 1
    major, minor = (int(x) for x in entries[0]["version"].split(".")[:2])
    assert major == 8 and minor >= 15
    assert set(entries[0]) == {"version", "ip", "http"} and entries[0]["http"]["publish_address"]
    # 2. GET /
    root = (await c.get("/", headers=KIBANA)).json()
    assert root["version"]["build_flavor"] == "default" and root["cluster_uuid"]
    # 3. scripting check reads all three objects; script.allowed_types must not exclude inline
    settings = (await c.get("/_cluster/settings?include_defaults=true&flat_settings=true", headers=KIBANA)).json()
    assert {"persistent", "transient", "defaults"} <= set(settings)
    allowed = settings["defaults"].get("script.allowed_types")
    assert allowed in (None, [], "")
    # 4. license: a basic, active license with a uid; security feature present
    xpack = await c.get("/_xpack?accept_enterprise=true", headers=KIBANA)
    assert xpack.status_code == 200 and xpack.headers["x-elastic-product"] == "Elasticsearch"
    lic = xpack.json()["license"]
    assert lic["type"] == "basic" and lic["mode"] == "basic" and lic["status"] == "active" and lic["uid"]
    assert xpack.json()["features"]["security"] == {"available": True, "enabled": False}
    # 5. allocation must not be disabled
    flat = (await c.get("/_cluster/settings?flat_settings=true", headers=KIBANA)).json()
    enable = flat["persistent"].get("cluster.routing.allocation.enable", flat["transient"].get(
        "cluster.routing.allocation.enable", "all"))  # fmt: skip
    assert enable == "all"
    # 6. saved-object migration on a fresh cluster: fetch -> create -> wait -> aliases
    fetched = await c.get("/.kibana,.kibana_8.15.0?ignore_unavailable=true", headers=KIBANA)
    assert fetched.status_code == 200 and fetched.json() == {}
    created = await c.put("/.kibana_8.15.0_001?timeout=60s", headers=KIBANA, json={
        "mappings": {"dynamic": "strict", "properties": {"type": {"type": "keyword"}}},
        "aliases": {".kibana_8.15.0": {}},
        "settings": {"index": {"number_of_shards": 1, "auto_expand_replicas": "0-1", "refresh_interval": "1s",
                               "priority": 10, "mapping": {"total_fields": {"limit": 1500}}}},
    })  # fmt: skip
    assert created.status_code == 200, created.text
    # auto_expand_replicas 0-1 on one data node: no replica, so the index is green at once
    health = await c.get("/_cluster/health/.kibana_8.15.0_001?wait_for_status=green&timeout=2s", headers=KIBANA)
    assert health.status_code == 200 and health.json()["status"] == "green" and not health.json()["timed_out"]
    replicas = (await c.get("/.kibana_8.15.0_001/_settings?flat_settings=true")).json()
    assert replicas[".kibana_8.15.0_001"]["settings"]["index.number_of_replicas"] == "0"
    aliases = await c.post("/_aliases", headers=KIBANA, json={"actions": [
        {"add": {"index": ".kibana_8.15.0_001", "alias": ".kibana"}},
    ]})  # fmt: skip
    assert aliases.json() == {"acknowledged": True, "errors": False} or aliases.json()["acknowledged"] is True


async def test_license_family(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    lic = (await c.get("/_license")).json()["license"]
    assert lic["type"] == "basic" and lic["status"] == "active" and lic["start_date_in_millis"] == -1
    assert "expiry_date_in_millis" not in lic  # a basic license never expires
    assert lic["uid"] == (await c.get("/_xpack")).json()["license"]["uid"]
    assert (await c.get("/_license/basic_status")).json() == {"eligible_to_start_basic": False}
    assert (await c.get("/_license/trial_status")).json() == {"eligible_to_start_trial": False}
    started = await c.post("/_license/start_basic?acknowledge=true")
    assert started.status_code == 403 and started.json()["basic_was_started"] is False
    trial = await c.post("/_license/start_trial?acknowledge=true")
    assert trial.status_code == 403 and trial.json()["trial_was_started"] is False
    assert (await c.delete("/_license")).json() == {"acknowledged": True}
    assert_canonical_error(await c.put("/_license", json={"licenses": []}), 400, "illegal_argument_exception")
    assert (await c.get("/_license")).json()["license"]["uid"] == lic["uid"]


async def test_xpack_categories_and_usage(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    full = (await c.get("/_xpack")).json()
    assert set(full) == {"build", "license", "features", "tagline"} and full["tagline"] == "You know, for X"
    assert set((await c.get("/_xpack?categories=license")).json()) == {"license", "tagline"}
    assert set((await c.get("/_xpack?categories=build,features&human=false")).json()) == {"build", "features"}
    assert_canonical_error(await c.get("/_xpack?categories=nope"), 400, "illegal_argument_exception")
    usage = (await c.get("/_xpack/usage")).json()
    assert usage["security"] == {"available": True, "enabled": False}
    assert usage["ml"] == {"available": False, "enabled": False}  # not built here: not offered


async def test_nodeattrs_agree_with_nodes_and_xpack(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    attrs = (await c.get("/_nodes")).json()["nodes"]
    (node,) = attrs.values()
    text = (await c.get("/_cat/nodeattrs?h=attr,value")).text
    rows = dict(line.split() for line in text.splitlines())
    assert rows == node["attributes"]
    assert rows.get("xpack.installed") == "true" and (await c.get("/_xpack")).status_code == 200


async def test_node_attributes_are_the_same_everywhere(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    (info,) = (await c.get("/_nodes")).json()["nodes"].values()
    (stats,) = (await c.get("/_nodes/stats/os")).json()["nodes"].values()
    (state,) = (await c.get("/_cluster/state/nodes")).json()["nodes"].values()
    assert info["attributes"] == stats["attributes"] == state["attributes"] == {"xpack.installed": "true"}
    assert info["roles"] == state["roles"]
    # OSD's optimized health check reads the attributes from the cluster state
    osd = (await c.get("/_cluster/state/nodes?filter_path=nodes.*.attributes.xpack*")).json()
    (node,) = osd["nodes"].values()
    assert node["attributes"] == {"xpack.installed": "true"}
