"""Unknown index settings are refused as ES refuses them; the settings real tools send are accepted."""

from __future__ import annotations

import httpx

from cluster.known_settings import is_known_setting, unknown_setting_message

PLEASE = ("please check that any required plugins are installed, or check the breaking changes documentation for "
          "removed settings")  # fmt: skip


async def test_unknown_setting_refused_everywhere(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    r = await c.put("/u", json={"settings": {"index.unknown_setting": 1}})
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "illegal_argument_exception"
    assert r.json()["error"]["reason"] == f"unknown setting [index.unknown_setting] {PLEASE}"
    assert (await c.head("/u")).status_code == 404  # nothing created
    # a near miss gets ES's suggestion
    r = await c.put("/u", json={"settings": {"number_of_shard": 2}})
    reason = r.json()["error"]["reason"]
    assert reason == "unknown setting [index.number_of_shard] did you mean [index.number_of_shards]?"
    # settings update
    assert (await c.put("/u", json={"settings": {"number_of_replicas": 0}})).status_code == 200
    r = await c.put("/u/_settings", json={"index": {"foo": {"bar": "x"}}})
    assert r.status_code == 400 and r.json()["error"]["reason"] == f"unknown setting [index.foo.bar] {PLEASE}"
    assert "foo" not in (await c.get("/u/_settings")).json()["u"]["settings"]["index"]
    # templates
    r = await c.put("/_index_template/t", json={"index_patterns": ["t*"], "template": {"settings": {"index.nope": 1}}})
    assert r.status_code == 400 and "unknown setting [index.nope]" in r.json()["error"]["reason"]
    r = await c.put("/_template/lt", json={"index_patterns": ["l*"], "settings": {"index.nope": 1}})
    assert r.status_code == 400 and "unknown setting [index.nope]" in r.json()["error"]["reason"]


async def test_tool_settings_accepted(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    settings = {
        "index.plugins.index_state_management.rollover_alias": "logs",  # OpenSearch ISM
        "index.opendistro.index_state_management.policy_id": "p",
        "index.knn": True, "index.knn.algo_param.ef_search": 100,  # OpenSearch k-NN
        "index.lifecycle.name": "policy", "index.lifecycle.rollover_alias": "logs",  # ILM (Kibana, Beats)
        "index.routing.allocation.include._tier_preference": "data_hot",
        "index.routing.allocation.require.box": "hot", "index.mapping.total_fields.limit": 2000,
        "index.query.default_field": ["message"], "index.refresh_interval": "5s", "index.codec": "best_compression",
        "index.hidden": False, "index.auto_expand_replicas": "0-1", "index.priority": 10,
        "index.search.slowlog.threshold.query.warn": "10s", "index.sort.field": "ts", "index.sort.order": "desc",
    }  # fmt: skip
    r = await c.put("/tools", json={"settings": settings,
                                    "mappings": {"properties": {"ts": {"type": "date"}}}})  # fmt: skip
    assert r.status_code == 200, r.text
    got = (await c.get("/tools/_settings", params={"flat_settings": "true"})).json()["tools"]["settings"]
    assert got["index.lifecycle.name"] == "policy" and got["index.knn"] == "true"


def test_registry() -> None:
    assert is_known_setting("index.number_of_shards") and is_known_setting("index.analysis.analyzer.a.type")
    assert not is_known_setting("index.number_of_shard") and not is_known_setting("number_of_shards")
    assert unknown_setting_message("index.zzzzzz").endswith(PLEASE)
