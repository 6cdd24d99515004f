"""The can_match pre-filter: shards whose data cannot match a search are skipped and counted in
``_shards.skipped``; the answer is the one a full search gives (computed here from the documents)."""

from __future__ import annotations

import datetime
import json
from typing import Any

import httpx
import pytest

from cluster.routing import shard_for

INDICES = ("logs-a", "logs-b", "logs-c")
SHARDS = 2
DOCS = 24


def _docs() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for k, name in enumerate(INDICES):
        docs = []
        for i in range(DOCS):
            day = datetime.date(2016 + k, 1, 1) + datetime.timedelta(days=11 * i)
            docs.append((f"{name}-{i}", {"at": day.isoformat(), "n": 100 * k + (i * 7) % 50, "raw": i}))
        out[name] = docs
    return out


DATA = _docs()


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    mappings = {"properties": {"at": {"type": "date"}, "n": {"type": "long"},
                               "raw": {"type": "long", "index": False}}}  # fmt: skip
    for name in INDICES:
        r = await asgi_client.put(f"/{name}", json={"settings": {"number_of_shards": SHARDS}, "mappings": mappings})
        assert r.status_code == 200, r.text
    lines = []
    for name, docs in DATA.items():
        for doc_id, doc in docs:
            lines += [json.dumps({"index": {"_index": name, "_id": doc_id}}), json.dumps(doc)]
    r = await asgi_client.post("/_bulk?refresh=true", content="\n".join(lines) + "\n",
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert not r.json()["errors"]
    return asgi_client


def _shard_values(field: str) -> dict[tuple[str, int], list[Any]]:
    out: dict[tuple[str, int], list[Any]] = {(n, s): [] for n in INDICES for s in range(SHARDS)}
    for name, docs in DATA.items():
        for doc_id, doc in docs:
            out[(name, shard_for(doc_id, SHARDS))].append(doc[field])
    return out


def _expected_skipped(field: str, low: Any, high: Any) -> int:
    """Shards whose [min, max] of ``field`` misses [low, high] (at least one shard runs)."""
    values_by_shard = _shard_values(field).values()
    disjoint = sum(1 for values in values_by_shard if not values or max(values) < low or min(values) > high)
    return min(disjoint, len(INDICES) * SHARDS - 1)


def _matching(pred: Any) -> set[str]:
    return {doc_id for docs in DATA.values() for doc_id, doc in docs if pred(doc)}


async def _search(client: httpx.AsyncClient, body: dict[str, Any], **params: Any) -> dict[str, Any]:
    r = await client.post("/logs-*/_search", json=body, params=params)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_range_outside_shard_bounds_is_skipped(client: httpx.AsyncClient) -> None:
    query = {"range": {"n": {"gte": 110, "lte": 140}}}
    want = _matching(lambda d: 110 <= d["n"] <= 140)
    skipped = _expected_skipped("n", 110, 140)
    assert skipped >= 4  # logs-a and logs-c hold no such value
    body = await _search(client, {"query": query, "size": 100}, pre_filter_shard_size=1)
    assert body["_shards"] == {"total": 6, "successful": 6, "skipped": skipped, "failed": 0}
    assert {h["_id"] for h in body["hits"]["hits"]} == want
    # below the shard-count threshold (default 128) nothing is pre-filtered: same hits
    body = await _search(client, {"query": query, "size": 100})
    assert body["_shards"]["skipped"] == 0
    assert {h["_id"] for h in body["hits"]["hits"]} == want


async def test_date_range_and_all_skipped_keeps_one_shard(client: httpx.AsyncClient) -> None:
    body = {"query": {"range": {"at": {"gte": "2017-01-01", "lt": "2018-01-01"}}}, "size": 0}
    got = await _search(client, body, pre_filter_shard_size=1)
    want = _matching(lambda d: "2017-01-01" <= d["at"] < "2018-01-01")
    assert got["hits"]["total"]["value"] == len(want) == DOCS
    assert got["_shards"]["skipped"] == _expected_skipped("at", "2017-01-01", "2017-12-31") == 4
    body = {"query": {"range": {"at": {"gte": "2030-01-01"}}}, "size": 0, "aggs": {"m": {"max": {"field": "n"}}}}
    got = await _search(client, body, pre_filter_shard_size=1)
    assert got["_shards"] == {"total": 6, "successful": 6, "skipped": 5, "failed": 0}
    assert got["hits"]["total"]["value"] == 0 and got["aggregations"]["m"]["value"] is None


async def test_aggregations_that_need_every_shard_disable_skipping(client: httpx.AsyncClient) -> None:
    query = {"range": {"n": {"gte": 200}}}
    aggs: dict[str, Any]
    for aggs in ({"g": {"global": {}}}, {"i": {"terms": {"field": "_index", "min_doc_count": 0}}}):
        got = await _search(client, {"query": query, "size": 0, "aggs": aggs}, pre_filter_shard_size=1)
        assert got["_shards"]["skipped"] == 0
    got = await _search(client, {"query": query, "size": 0, "aggs": {"g": {"global": {}}}}, pre_filter_shard_size=1)
    assert got["aggregations"]["g"]["doc_count"] == len(INDICES) * DOCS
    aggs = {"i": {"terms": {"field": "_index", "min_doc_count": 0}}}
    got = await _search(client, {"query": query, "size": 0, "aggs": aggs}, pre_filter_shard_size=1)
    buckets = {b["key"]: b["doc_count"] for b in got["aggregations"]["i"]["buckets"]}
    assert buckets == {"logs-c": DOCS, "logs-a": 0, "logs-b": 0}
    got = await _search(client, {"query": query, "size": 0, "aggs": {"i": {"terms": {"field": "_index"}}}},
                        pre_filter_shard_size=1)  # fmt: skip
    assert got["_shards"]["skipped"] == 4
    assert got["aggregations"]["i"]["buckets"] == [{"key": "logs-c", "doc_count": DOCS}]


async def test_index_name_unmapped_fields_and_bool_composition(client: httpx.AsyncClient) -> None:
    cases: list[tuple[dict[str, Any], int | None, set[str]]] = [
        ({"term": {"_index": "logs-b"}}, 4, {d for d, _ in DATA["logs-b"]}),
        ({"bool": {"filter": [{"terms": {"_index": ["logs-a", "logs-c"]}}, {"range": {"n": {"lt": 10}}}]}}, None,
         _matching(lambda d: d["n"] < 10)),
        ({"range": {"missing_field": {"gte": 1}}}, 5, set()),
        ({"bool": {"must_not": [{"range": {"n": {"gte": 0}}}]}}, 0, set()),
        ({"bool": {"should": [{"term": {"_index": "logs-a"}}, {"term": {"_index": "logs-c"}}]}}, 2,
         {d for n in ("logs-a", "logs-c") for d, _ in DATA[n]}),
        ({"constant_score": {"filter": {"range": {"n": {"gt": 1000}}}}}, 5, set()),
        ({"match_none": {}}, 5, set()),
        ({"exists": {"field": "nope"}}, 5, set()),
        ({"exists": {"field": "n"}}, 0, _matching(lambda d: True)),
    ]  # fmt: skip
    for query, skipped, want in cases:
        got = await _search(client, {"query": query, "size": 200}, pre_filter_shard_size=1)
        if skipped is None:  # the _index filter leaves out logs-b; range bounds may skip more
            assert got["_shards"]["skipped"] >= 2, query
        else:
            assert got["_shards"]["skipped"] == skipped, query
        assert got["_shards"]["successful"] == 6
        assert {h["_id"] for h in got["hits"]["hits"]} == want, query


async def test_not_indexed_fields_are_never_bounded(client: httpx.AsyncClient) -> None:
    got = await _search(client, {"query": {"range": {"raw": {"gte": 1000}}}}, pre_filter_shard_size=1)
    assert got["_shards"]["skipped"] == 0 and got["hits"]["total"]["value"] == 0


async def test_default_threshold_read_only_and_field_sort(client: httpx.AsyncClient) -> None:
    query = {"range": {"n": {"gte": 200}}}
    # the primary sort on a field lowers the threshold to 1
    got = await _search(client, {"query": query, "sort": [{"n": "desc"}], "size": 3})
    assert got["_shards"]["skipped"] == 4
    top = sorted((d for docs in DATA.values() for _, d in docs if d["n"] >= 200), key=lambda d: -d["n"])[:3]
    assert [h["sort"][0] for h in got["hits"]["hits"]] == [d["n"] for d in top]
    # a read-only (write-blocked) index searched does too, for search and count
    r = await client.put("/logs-a/_settings", json={"index": {"blocks": {"write": True}}})
    assert r.status_code == 200, r.text
    got = await _search(client, {"query": query, "size": 0})
    assert got["_shards"]["skipped"] == 4
    count = (await client.post("/logs-*/_count", json={"query": query})).json()
    assert count["count"] == DOCS and count["_shards"]["skipped"] == 4 and count["_shards"]["successful"] == 6
    # an explicit size above the shard count turns it off again
    got = await _search(client, {"query": query, "size": 0}, pre_filter_shard_size=6)
    assert got["_shards"]["skipped"] == 0
    # suggest and match_all never pre-filter
    got = await _search(client, {"query": {"match_all": {}}, "size": 0}, pre_filter_shard_size=1)
    assert got["_shards"]["skipped"] == 0
    r = await client.put("/logs-a/_settings", json={"index": {"blocks": {"write": False}}})
    assert r.status_code == 200


async def test_invalid_pre_filter_shard_size(client: httpx.AsyncClient) -> None:
    r = await client.post("/logs-*/_search", params={"pre_filter_shard_size": 0}, json={})
    assert r.status_code == 400 and "preFilterShardSize must be >= 1" in r.text


async def test_msearch_passes_pre_filter_shard_size(client: httpx.AsyncClient) -> None:
    lines = '{"index":"logs-*"}\n{"query":{"range":{"n":{"gte":200}}},"size":0}\n{"index":"logs-a"}\n{}\n'
    r = await client.post("/_msearch", params={"pre_filter_shard_size": 1}, content=lines,
                          headers={"content-type": "application/x-ndjson"})  # fmt: skip
    first, second = r.json()["responses"]
    assert first["_shards"]["skipped"] == 4 and first["hits"]["total"]["value"] == DOCS
    assert second["_shards"]["skipped"] == 0 and second["hits"]["total"]["value"] == DOCS
    r = await client.post("/_msearch", params={"pre_filter_shard_size": 0}, content=lines,
                          headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 400 and "preFilterShardSize must be >= 1" in r.text
