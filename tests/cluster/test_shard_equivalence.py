"""One shard or five, the same answers: hits order, totals, paging and exact aggregations."""

from __future__ import annotations

import random
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette

from server.app import create_app
from server.settings import load_settings
from tests.conftest import _starlette_of

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()


def _docs(n: int = 400) -> list[dict[str, Any]]:
    rng = random.Random(7)
    return [
        {
            "title": " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8))),
            "tag": rng.choice(["red", "green", "blue", "black", "white"]),
            "n": rng.randint(0, 50),
            "price": round(rng.uniform(1, 100), 2),
            "ts": 1_700_000_000_000 + rng.randint(0, 10 * 86_400_000),
        }
        for _ in range(n)
    ]


MAPPINGS = {
    "properties": {
        "title": {"type": "text"},
        "tag": {"type": "keyword"},
        "n": {"type": "long"},
        "price": {"type": "double"},
        "ts": {"type": "date"},
    }
}


@pytest.fixture
async def client(tmp_path):
    app = create_app(load_settings({"data_dir": str(tmp_path)}))
    inner: Starlette = _starlette_of(app)
    async with inner.router.lifespan_context(inner):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as c:
            docs = _docs()
            for name, shards in (("one", 1), ("five", 5)):
                r = await c.put(f"/{name}", json={"settings": {"number_of_shards": shards}, "mappings": MAPPINGS})
                assert r.status_code == 200, r.text
                lines = []
                for i, doc in enumerate(docs):
                    lines.append(orjson.dumps({"index": {"_index": name, "_id": str(i)}}))
                    lines.append(orjson.dumps(doc))
                r = await c.post("/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                                 headers={"content-type": "application/x-ndjson"})  # fmt: skip
                assert r.status_code == 200 and not r.json()["errors"]
            c.docs = docs  # type: ignore[attr-defined]
            yield c


async def _both(client: httpx.AsyncClient, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    one = (await client.post("/one/_search", json=body)).json()
    five = (await client.post("/five/_search", json=body)).json()
    return one, five


def _ids(resp: dict[str, Any]) -> list[str]:
    return [h["_id"] for h in resp["hits"]["hits"]]


@pytest.mark.parametrize(
    "sort",
    [[{"n": "asc"}, {"price": "desc"}], [{"price": "asc"}], [{"tag": "desc"}, {"ts": "asc"}], [{"ts": "desc"}]],
)
async def test_sorted_paging_is_identical_and_exact(client, sort):
    # Expected sort values, computed independently: stable multi-pass sort, last key first.
    rows = [tuple(d[next(iter(s))] for s in sort) for d in client.docs]
    for pos in reversed(range(len(sort))):
        rows.sort(key=lambda r, p=pos: r[p], reverse=next(iter(sort[pos].values())) == "desc")
    expected = [list(r) for r in rows[:60]]
    got_one, got_five = [], []
    for start in range(0, 60, 20):
        one, five = await _both(client, {"sort": sort, "from": start, "size": 20})
        assert one["hits"]["total"] == five["hits"]["total"] == {"value": 400, "relation": "eq"}
        got_one += [h["sort"] for h in one["hits"]["hits"]]
        got_five += [h["sort"] for h in five["hits"]["hits"]]
    assert got_one == got_five == expected


async def test_match_query_totals_and_scores_agree(client):
    body = {"query": {"match": {"title": "alpha beta"}}, "size": 50}
    one, five = await _both(client, body)
    expected = sum(1 for d in client.docs if {"alpha", "beta"} & set(d["title"].split()))
    assert one["hits"]["total"]["value"] == five["hits"]["total"]["value"] == expected


async def test_exact_aggregations_agree_with_plain_python(client):
    body = {
        "size": 0,
        "aggs": {
            "tags": {"terms": {"field": "tag", "size": 10}, "aggs": {"avg_n": {"avg": {"field": "n"}}}},
            "hist": {"histogram": {"field": "n", "interval": 10}},
            "stats": {"stats": {"field": "price"}},
        },
    }
    one, five = await _both(client, body)
    assert one["aggregations"] == five["aggregations"]
    docs = client.docs
    counts: dict[str, int] = {}
    for d in docs:
        counts[d["tag"]] = counts.get(d["tag"], 0) + 1
    buckets = one["aggregations"]["tags"]["buckets"]
    assert {b["key"]: b["doc_count"] for b in buckets} == counts
    for b in buckets:
        values = [d["n"] for d in docs if d["tag"] == b["key"]]
        assert b["avg_n"]["value"] == pytest.approx(sum(values) / len(values))
    hist = {b["key"]: b["doc_count"] for b in one["aggregations"]["hist"]["buckets"]}
    expected_hist: dict[float, int] = {}
    for d in docs:
        key = float(d["n"] // 10 * 10)
        expected_hist[key] = expected_hist.get(key, 0) + 1
    assert hist == expected_hist
    prices = [d["price"] for d in docs]
    st = one["aggregations"]["stats"]
    assert st["count"] == len(prices)
    assert st["min"] == pytest.approx(min(prices)) and st["max"] == pytest.approx(max(prices))
    assert st["sum"] == pytest.approx(sum(prices))


async def test_count_and_search_after(client):
    one = (await client.post("/one/_count", json={"query": {"range": {"n": {"gte": 10, "lt": 20}}}})).json()
    five = (await client.post("/five/_count", json={"query": {"range": {"n": {"gte": 10, "lt": 20}}}})).json()
    expected = sum(1 for d in client.docs if 10 <= d["n"] < 20)
    assert one["count"] == five["count"] == expected
    collected = []
    after = None
    for _ in range(50):
        body: dict[str, Any] = {"sort": [{"price": "asc"}, {"ts": "asc"}], "size": 37}
        if after:
            body["search_after"] = after
        page = (await client.post("/five/_search", json=body)).json()["hits"]["hits"]
        if not page:
            break
        collected += [h["_id"] for h in page]
        after = page[-1]["sort"]
    assert len(collected) == len(set(collected)) == 400
