"""``_health_report`` indicators from the same counts as ``_cluster/health``; ``_features`` is empty."""

from __future__ import annotations

import httpx

from tests.server.helpers import assert_canonical_error


async def test_health_report(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    report = (await c.get("/_health_report")).json()
    assert set(report["indicators"]) == {"master_is_stable", "shards_availability", "disk", "shards_capacity"}
    assert report["indicators"]["shards_availability"]["status"] == "green"
    await c.put("/r1", json={"settings": {"number_of_shards": 2, "number_of_replicas": 1}})
    report = (await c.get("/_health_report")).json()
    shards = report["indicators"]["shards_availability"]
    assert shards["status"] == "yellow" and shards["details"]["unassigned_replicas"] == 2
    assert shards["details"]["started_primaries"] == 2
    statuses = [i["status"] for i in report["indicators"].values()]
    order = ["green", "unknown", "yellow", "red"]
    assert report["status"] == max(statuses, key=order.index)
    assert report["status"] == (await c.get("/_cluster/health")).json()["status"] or report["status"] == "red"
    one = (await c.get("/_health_report/shards_availability?verbose=false")).json()
    assert list(one["indicators"]) == ["shards_availability"] and "details" not in one["indicators"][
        "shards_availability"] and "status" not in one  # fmt: skip
    capacity = (await c.get("/_health_report/shards_capacity")).json()["indicators"]["shards_capacity"]
    assert capacity["details"]["data"]["current_used_shards"] == 4
    assert_canonical_error(await c.get("/_health_report/ilm"), 404, "resource_not_found_exception")
    assert (await c.get("/_features")).json() == {"features": []}
    assert (await c.post("/_features/_reset")).json() == {"features": []}
