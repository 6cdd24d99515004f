"""Rollover conditions: max_* roll over, min_* hold back, against the write index's primaries."""

from __future__ import annotations

import httpx
import pytest

from cluster.rollover_conditions import IndexFacts, evaluate, parse_conditions
from native.errors import ActionRequestValidation, ParsingError
from tests.server.helpers import assert_canonical_error

FACTS = IndexFacts(age_ms=5_000, docs=3, size=2_000, max_shard_size=1_500, max_shard_docs=2)


@pytest.mark.parametrize(("conditions", "results", "met"), [
    ({"max_docs": 3}, {"[max_docs: 3]": True}, True),
    ({"max_docs": 4}, {"[max_docs: 4]": False}, False),
    ({"max_age": "5s", "max_docs": 10}, {"[max_age: 5s]": True, "[max_docs: 10]": False}, True),
    ({"max_age": "1m"}, {"[max_age: 1m]": False}, False),
    ({"max_size": "1kb"}, {"[max_size: 1kb]": True}, True),
    ({"max_primary_shard_size": "2kb"}, {"[max_primary_shard_size: 2kb]": False}, False),
    ({"max_primary_shard_docs": 2}, {"[max_primary_shard_docs: 2]": True}, True),
    ({"max_docs": 1, "min_docs": 4}, {"[max_docs: 1]": True, "[min_docs: 4]": False}, False),
    ({"max_docs": 1, "min_age": "1s", "min_primary_shard_size": "1b"},
     {"[max_docs: 1]": True, "[min_age: 1s]": True, "[min_primary_shard_size: 1b]": True}, True),
    ({}, {}, True),
])  # fmt: skip
def test_evaluate(conditions: dict[str, object], results: dict[str, bool], met: bool) -> None:
    assert evaluate(parse_conditions(conditions), FACTS) == (results, met)


def test_parse_errors() -> None:
    with pytest.raises(ActionRequestValidation, match="at least one max_\\* rollover condition"):
        parse_conditions({"min_docs": 1})
    for bad in ({"max_things": 1}, {"max_size": "lots"}, {"max_age": "soon"}, {"max_docs": "x"}):
        with pytest.raises(ParsingError):
            parse_conditions(bad)


async def test_rollover_api(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/logs-1", json={"aliases": {"logs": {}}})
    await c.put("/logs-1/_doc/1?refresh=true", json={"foo": "hello world"})
    held = (await c.post("/logs/_rollover", json={"conditions": {"max_docs": 1, "min_docs": 2}})).json()
    assert held["rolled_over"] is False and held["conditions"] == {"[max_docs: 1]": True, "[min_docs: 2]": False}
    size = (await c.post("/logs/_rollover", json={"conditions": {"max_primary_shard_size": "100mb"}})).json()
    assert size["rolled_over"] is False
    rolled = (await c.post("/logs/_rollover", json={"conditions": {"max_size": "10b"}})).json()
    assert rolled["rolled_over"] is True and rolled["new_index"] == "logs-000002"
    empty = (await c.post("/logs/_rollover", json={"conditions": {"max_size": "1b"}})).json()
    assert empty["rolled_over"] is False and empty["conditions"] == {"[max_size: 1b]": False}  # no documents
    only_min = await c.post("/logs/_rollover", json={"conditions": {"min_docs": 0}})
    assert_canonical_error(only_min, 400, "action_request_validation_exception")
    await c.put("/logs-000003")
    taken = await c.post("/logs/_rollover?dry_run=true", json={"conditions": {"max_docs": 0}})
    assert_canonical_error(taken, 400, "resource_already_exists_exception")
