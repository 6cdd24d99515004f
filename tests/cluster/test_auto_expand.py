"""``index.auto_expand_replicas``: parsing, and the replica count it sets at create and settings update."""

from __future__ import annotations

import httpx
import pytest

from cluster.auto_expand import AutoExpand, parse_auto_expand
from native.errors import IllegalArgument


@pytest.mark.parametrize(("value", "nodes", "replicas"), [
    ("0-1", 1, 0), ("0-1", 2, 1), ("0-1", 5, 1), ("0-all", 1, 0), ("0-all", 4, 3), ("1-2", 1, 1),
    ("2-3", 1, 2), ("1-all", 3, 2), ("0-0", 3, 0),
])  # fmt: skip
def test_replicas_follow_data_nodes(value: str, nodes: int, replicas: int) -> None:
    expand = parse_auto_expand(value)
    assert expand is not None and expand.replicas(nodes) == replicas


def test_parse() -> None:
    assert parse_auto_expand("false") is None and parse_auto_expand(None) is None
    assert parse_auto_expand("0-all") == AutoExpand(0, None)
    for bad in ("1", "x-1", "1-x", "-1", "3-1", ""):
        with pytest.raises(IllegalArgument):
            parse_auto_expand(bad)


async def test_create_and_update_set_number_of_replicas(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/a", json={"settings": {"index": {"auto_expand_replicas": "0-1", "number_of_replicas": 3}}})
    settings = (await c.get("/a/_settings?flat_settings=true")).json()["a"]["settings"]
    assert settings["index.number_of_replicas"] == "0" and settings["index.auto_expand_replicas"] == "0-1"
    assert (await c.get("/_cluster/health/a")).json()["status"] == "green"
    await c.put("/a/_settings", json={"index": {"auto_expand_replicas": "1-2"}})
    settings = (await c.get("/a/_settings?flat_settings=true")).json()["a"]["settings"]
    assert settings["index.number_of_replicas"] == "1"  # one node: the replica stays unassigned
    assert (await c.get("/_cluster/health/a")).json()["status"] == "yellow"
    bad = await c.put("/b", json={"settings": {"index.auto_expand_replicas": "2-1"}})
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "illegal_argument_exception"
