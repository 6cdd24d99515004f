"""Search options end to end over the in-process app: highlight, fields, scroll, msearch, post_filter."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

DOCS = [
    {"@timestamp": "2024-05-01T10:00:00Z", "msg": "disk full on web01", "host": "web01", "latency": 12},
    {"@timestamp": "2024-05-01T10:00:30Z", "msg": "user login ok", "host": "web02", "latency": 40},
    {"@timestamp": "2024-05-01T10:01:10Z", "msg": "disk almost full", "host": "db01", "latency": 7},
    {"@timestamp": "2024-05-01T10:02:00Z", "msg": "timeout talking to db01", "host": "web01", "latency": 99},
    {"@timestamp": "2024-05-01T10:02:40Z", "msg": "user logout", "host": "web02", "latency": 5},
]


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    r = await asgi_client.put(
        "/logs",
        json={
            "settings": {"number_of_shards": 2, "number_of_replicas": 0},
            "mappings": {
                "properties": {
                    "@timestamp": {"type": "date"},
                    "msg": {"type": "text"},
                    "host": {"type": "keyword"},
                    "latency": {"type": "long"},
                }
            },
        },
    )
    assert r.status_code == 200, r.text
    lines = []
    for i, doc in enumerate(DOCS):
        lines += [orjson.dumps({"index": {"_id": str(i)}}), orjson.dumps(doc)]
    r = await asgi_client.post("/logs/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"]
    return asgi_client


async def test_highlight_with_custom_tags(client: httpx.AsyncClient) -> None:
    body = {
        "query": {"match": {"msg": "disk"}},
        "highlight": {"fields": {"*": {}}, "pre_tags": ["@HL@"], "post_tags": ["@/HL@"], "fragment_size": 2147483647},
    }
    hits = (await client.post("/logs/_search", json=body)).json()["hits"]["hits"]
    assert {h["_id"] for h in hits} == {"0", "2"}
    by_id = {h["_id"]: h["highlight"] for h in hits}
    assert by_id["0"] == {"msg": ["@HL@disk@/HL@ full on web01"]}
    assert by_id["2"] == {"msg": ["@HL@disk@/HL@ almost full"]}


async def test_docvalue_fields_and_fields_render_dates(client: httpx.AsyncClient) -> None:
    body: dict[str, Any] = {
        "query": {"ids": {"values": ["1"]}},
        "docvalue_fields": ["@timestamp"],
        "fields": [{"field": "host"}],
    }
    hit = (await client.post("/logs/_search", json=body)).json()["hits"]["hits"][0]
    assert hit["fields"] == {"@timestamp": ["2024-05-01T10:00:30.000Z"], "host": ["web02"]}


async def test_grafana_logs_query_pages_with_search_after(client: httpx.AsyncClient) -> None:
    body: dict[str, Any] = {
        "size": 2,
        "sort": [{"@timestamp": {"order": "desc", "unmapped_type": "boolean"}}, {"_doc": {"order": "desc"}}],
        "query": {
            "bool": {
                "filter": [
                    {"range": {"@timestamp": {"gte": 1714557600000, "lte": 1714557800000, "format": "epoch_millis"}}}
                ]
            }
        },
    }
    seen: list[str] = []
    for _ in range(5):
        page = (await client.post("/logs/_search", json=body)).json()["hits"]["hits"]
        if not page:
            break
        seen += [h["_id"] for h in page]
        body["search_after"] = page[-1]["sort"]
    assert seen == ["4", "3", "2", "1", "0"]


async def test_scroll_returns_every_doc_once_and_clear(client: httpx.AsyncClient) -> None:
    r = (await client.post("/logs/_search?scroll=1m", json={"size": 2, "sort": ["_doc"]})).json()
    ids = [h["_id"] for h in r["hits"]["hits"]]
    scroll_id = r["_scroll_id"]
    for _ in range(5):
        page = (await client.post("/_search/scroll", json={"scroll": "1m", "scroll_id": scroll_id})).json()
        if not page["hits"]["hits"]:
            break
        ids += [h["_id"] for h in page["hits"]["hits"]]
    assert sorted(ids) == ["0", "1", "2", "3", "4"]
    cleared = await client.request("DELETE", "/_search/scroll", json={"scroll_id": [scroll_id]})
    assert cleared.json() == {"succeeded": True, "num_freed": 1}
    gone = await client.post("/_search/scroll", json={"scroll_id": scroll_id})
    assert gone.status_code == 404


async def test_msearch_with_grafana_header(client: httpx.AsyncClient) -> None:
    header = {"search_type": "query_then_fetch", "ignore_unavailable": True, "index": "logs"}
    body = {"size": 0, "query": {"query_string": {"query": "host:web0*", "analyze_wildcard": True}},
            "aggs": {"2": {"date_histogram": {"field": "@timestamp", "fixed_interval": "60000ms",
                                               "min_doc_count": 0, "format": "epoch_millis"},
                           "aggs": {"1": {"avg": {"field": "latency"}}}}}}  # fmt: skip
    payload = b"\n".join([orjson.dumps(header), orjson.dumps(body), orjson.dumps({"index": "missing"}), b"{}"]) + b"\n"
    r = await client.post("/_msearch", content=payload, headers={"content-type": "application/x-ndjson"})
    responses = r.json()["responses"]
    assert responses[1]["status"] == 404
    buckets = responses[0]["aggregations"]["2"]["buckets"]
    web = [d for d in DOCS if d["host"].startswith("web")]
    assert sum(b["doc_count"] for b in buckets) == len(web)
    assert [b["key"] for b in buckets] == [1714557600000, 1714557660000, 1714557720000]
    assert buckets[0]["key_as_string"] == "1714557600000"
    assert buckets[0]["1"]["value"] == pytest.approx((12 + 40) / 2)


async def test_post_filter_narrows_hits_not_aggregations(client: httpx.AsyncClient) -> None:
    body = {"post_filter": {"term": {"host": "web01"}}, "aggs": {"hosts": {"terms": {"field": "host"}}}}
    r = (await client.post("/logs/_search", json=body)).json()
    assert r["hits"]["total"]["value"] == 2
    assert {b["key"]: b["doc_count"] for b in r["aggregations"]["hosts"]["buckets"]} == {
        "web01": 2, "web02": 2, "db01": 1,
    }  # fmt: skip


async def test_source_filtering_and_count(client: httpx.AsyncClient) -> None:
    r = (await client.post("/logs/_search", json={"query": {"ids": {"values": ["3"]}}, "_source": ["host"]})).json()
    assert r["hits"]["hits"][0]["_source"] == {"host": "web01"}
    r = (await client.get("/logs/_count?q=msg:user")).json()
    assert r["count"] == 2


async def test_capabilities_answers_from_the_implemented_table(client: httpx.AsyncClient) -> None:
    yes = await client.get(
        "/_capabilities",
        params={"method": "GET", "path": "/_cluster/health", "capabilities": "unassigned_pri_shard_count"},
    )
    assert yes.json() == {"supported": True}
    no = await client.get(
        "/_capabilities", params={"method": "PUT", "path": "/{index}", "capabilities": "lookup_index_mode"}
    )
    assert no.json() == {"supported": False}


async def test_nodes_stats_has_the_sections_tools_read(client: httpx.AsyncClient) -> None:
    body = (await client.get("/_nodes/stats")).json()
    (node,) = body["nodes"].values()
    assert node["jvm"]["gc"]["collectors"] == {} and node["jvm"]["mem"]["pools"] == {}
    assert node["ingest"]["total"]["count"] == 0 and node["ingest"]["pipelines"] == {}
    assert node["indices"]["docs"]["count"] == len(DOCS)
    assert node["process"]["mem"]["resident_in_bytes"] > 0
    # the node's indices section is every index's ``_stats`` section summed
    for _ in range(2):  # the second from the shard request cache
        await client.post("/logs/_search", json={"size": 0, "aggs": {"n": {"max": {"field": "latency"}}}})
    await client.delete("/logs/_doc/0", params={"refresh": "true"})
    node = next(iter((await client.get("/_nodes/stats/indices")).json()["nodes"].values()))
    totals = (await client.get("/_stats")).json()["_all"]["primaries"]
    for section in ("docs", "request_cache", "merges", "segments", "store"):
        assert node["indices"][section] == totals[section], section
    assert node["indices"]["request_cache"]["hit_count"] >= 1
    only_jvm = (await client.get("/_nodes/stats/jvm")).json()["nodes"]
    assert set(next(iter(only_jvm.values()))) >= {"jvm", "name"} and "indices" not in next(iter(only_jvm.values()))
    info = (await client.get("/_nodes/_all/_none")).json()
    assert next(iter(info["nodes"].values()))["version"].startswith("8.")
