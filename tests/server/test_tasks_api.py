"""``_tasks`` list and cancel, ``_cat/tasks``; flush and force-merge validation."""

from __future__ import annotations

import asyncio

import httpx

from tests.server.helpers import assert_canonical_error


async def test_list_filter_group_and_cat(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    listed = (await c.get("/_tasks")).json()
    (node,) = listed["nodes"].values()
    (own,) = node["tasks"].values()
    assert own["action"] == "cluster:monitor/tasks/lists" and "description" not in own
    assert (await c.get("/_tasks?actions=indices:*")).json() == {"nodes": {}}
    flat = (await c.get("/_tasks?group_by=none&actions=cluster:monitor/*")).json()
    assert isinstance(flat["tasks"], list) and flat["tasks"][0]["action"] == "cluster:monitor/tasks/lists"
    assert (await c.get("/_tasks?group_by=bogus")).status_code == 400
    assert (await c.get("/_tasks?nodes=elsewhere")).json() == {"nodes": {}}
    cat = (await c.get("/_cat/tasks?v")).text.splitlines()
    assert cat[0].split() == ["action", "task_id", "parent_task_id", "type", "start_time", "timestamp",
                              "running_time", "ip", "node"]  # fmt: skip
    opaque = (await c.get("/_cat/tasks?h=action,x_opaque_id", headers={"X-Opaque-Id": "TestID"})).text
    assert "TestID" in opaque
    assert (await c.post("/_tasks/_cancel?actions=unknown_action")).json() == {"nodes": {}}


async def test_background_task_listed_waited_and_cancelled(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/tt", json={"settings": {"number_of_replicas": 0}})
    started = (await c.post("/tt/_forcemerge?max_num_segments=1&wait_for_completion=false")).json()
    task_id = started["task"]
    done = (await c.get("/_tasks?wait_for_completion=true&actions=indices:admin/forcemerge")).json()
    # the tasks that matched are listed once they have ended (or none if it ended before the listing)
    assert all(set(n["tasks"]) <= {task_id} for n in done["nodes"].values())
    assert (await c.get(f"/_tasks/{task_id}")).json()["completed"] is True
    assert (await c.get("/_tasks?actions=indices:admin/forcemerge")).json() == {"nodes": {}}
    missing = await c.post("/_tasks/quidditch-node-0:999999/_cancel")
    assert_canonical_error(missing, 404, "resource_not_found_exception")
    await asyncio.sleep(0)


async def test_flush_and_forcemerge_validation(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/fv")
    bad = await c.post("/fv/_flush?force=true&wait_if_ongoing=false")
    assert_canonical_error(bad, 400, "action_request_validation_exception")
    assert "wait_if_ongoing must be true for a force flush" in bad.json()["error"]["reason"]
    assert (await c.post("/fv/_flush?force=true&wait_if_ongoing=true")).status_code == 200
    both = await c.post("/fv/_forcemerge?only_expunge_deletes=true&max_num_segments=1")
    assert_canonical_error(both, 400, "action_request_validation_exception")
