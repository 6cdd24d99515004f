"""Template APIs: alias routing as ES returns it, missing and comma-separated names, lifecycle without a
data stream, missing component templates with ``ignore_missing_component_templates``."""

from __future__ import annotations

import httpx

from tests.server.helpers import assert_canonical_error


async def test_template_outputs_and_errors(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/_template/lt", json={"index_patterns": ["lt-*"], "aliases": {"b": {"routing": "r"}}})
    assert (await c.get("/_template/lt")).json()["lt"]["aliases"]["b"] == {"index_routing": "r", "search_routing": "r"}
    await c.put("/_index_template/ct", json={"index_patterns": ["ct-*"],
                                             "template": {"aliases": {"b": {"index_routing": "x"}}}})  # fmt: skip
    got = (await c.get("/_index_template/ct")).json()["index_templates"][0]["index_template"]
    assert got["template"]["aliases"]["b"] == {"index_routing": "x"}
    none = await c.get("/_index_template/non-matching*")
    assert none.status_code == 404 and none.json() == {"index_templates": []}
    assert_canonical_error(await c.get("/_index_template/a,b"), 400, "illegal_argument_exception")
    assert (await c.get("/_cat/templates/a,b")).status_code == 400
    body = {"index_patterns": ["lc-*"], "template": {"lifecycle": {"data_retention": "1d"}}}
    lifecycle = await c.put("/_index_template/lc", json=body)
    assert_canonical_error(lifecycle, 400, "illegal_argument_exception")
    await c.put("/_component_template/red", json={"template": {"settings": {"number_of_replicas": 0}}})
    missing = await c.put("/_index_template/blue", json={"index_patterns": ["p"], "composed_of": ["red", "blue"],
                                                         "ignore_missing_component_templates": ["foo"]})  # fmt: skip
    assert_canonical_error(missing, 400, "invalid_index_template_exception")
    assert "specifies a missing component templates [blue] that does not exist" in missing.json()["error"]["reason"]
    ok = await c.put("/_index_template/blue", json={"index_patterns": ["p"], "composed_of": ["red", "blue"],
                                                    "ignore_missing_component_templates": ["blue"]})  # fmt: skip
    assert ok.status_code == 200


async def test_simulate_index_with_a_template_in_the_body(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/_template/v1", json={"index_patterns": ["t*"], "settings": {"number_of_shards": 5}})
    await c.put("/_index_template/existing", json={"index_patterns": ["te*"], "priority": 10,
                                                   "template": {"settings": {"number_of_replicas": 0}}})  # fmt: skip
    await c.put("/_component_template/ct", json={"template": {"settings": {"index.number_of_replicas": 2}}})
    body = {"index_patterns": ["te*"], "priority": 15, "composed_of": ["ct"],
            "template": {"settings": {"index.blocks.write": True}, "aliases": {"a": {}}}}  # fmt: skip
    simulated = (await c.post("/_index_template/_simulate_index/test", json=body)).json()
    settings = simulated["template"]["settings"]["index"]
    assert settings["blocks"]["write"] == "true" and settings["number_of_replicas"] == "2"
    assert simulated["template"]["aliases"] == {"a": {}}
    assert [o["name"] for o in simulated["overlapping"]] == ["v1", "existing"]
    stored = (await c.post("/_index_template/_simulate_index/test")).json()  # the body was not stored
    assert stored["template"]["settings"]["index"]["number_of_replicas"] == "0"
    assert [o["name"] for o in stored["overlapping"]] == ["v1"]
