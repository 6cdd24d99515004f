"""Same answers as one process: the same documents in an embedded server and in a cluster of a master (which
coordinates) and three data nodes, compared through the HTTP API: hits, scores, totals, ``from``,
``search_after``, scroll and a broad set of aggregations are identical (percentiles within the t-digest's
stated bounds)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.cluster.cluster_procs import ProcCluster, proc_cluster  # noqa: F401 (a fixture)

N_DOCS = 3000
WORDS = ("quick brown fox jumps over lazy dog river stone cloud market search engine shard replica node "
         "primary green yellow red apple banana cherry").split()  # fmt: skip
MAPPING = {"properties": {"title": {"type": "text"}, "tag": {"type": "keyword"}, "n": {"type": "long"},
                          "price": {"type": "double"}, "day": {"type": "date"},
                          "user": {"type": "keyword"}}}  # fmt: skip
SETTINGS = {"number_of_shards": 5, "number_of_replicas": 1, "refresh_interval": "-1"}


def _documents() -> list[dict[str, Any]]:
    rng = random.Random(11)
    return [{"title": " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 12))), "tag": rng.choice(WORDS[:8]),
             "n": i, "price": round(rng.uniform(1, 500), 2),
             "day": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
             "user": f"u{rng.randint(0, 400)}"} for i in range(N_DOCS)]  # fmt: skip


def _bulk(docs: list[dict[str, Any]]) -> bytes:
    import orjson

    out = []
    for doc in docs:
        out.append(orjson.dumps({"index": {"_index": "docs", "_id": str(doc["n"])}}))
        out.append(orjson.dumps(doc))
    return b"\n".join(out) + b"\n"


QUERIES: list[dict[str, Any]] = [
    {"query": {"match": {"title": "quick fox"}}, "size": 50},
    {"query": {"match": {"title": "river stone cloud"}}, "size": 20, "from": 30},
    {"query": {"bool": {"must": [{"match": {"title": "apple"}}], "filter": [{"range": {"price": {"gte": 100}}}]}},
     "size": 25},
    {"query": {"term": {"tag": "fox"}}, "sort": [{"price": "desc"}, {"n": "asc"}], "size": 40},
    {"query": {"match_all": {}}, "sort": [{"day": "asc"}, {"n": "desc"}], "size": 30, "from": 100},
    {"query": {"multi_match": {"query": "green market", "fields": ["title", "tag"]}}, "size": 30},
    {"query": {"match_phrase": {"title": "quick brown"}}, "size": 30},
    {"query": {"match_all": {}}, "size": 0, "track_total_hits": True, "aggs": {
        "tags": {"terms": {"field": "tag", "size": 5}, "aggs": {"avg_price": {"avg": {"field": "price"}}}},
        "users": {"terms": {"field": "user", "size": 10, "order": {"_key": "asc"}}},
        "hist": {"histogram": {"field": "price", "interval": 50}},
        "months": {"date_histogram": {"field": "day", "calendar_interval": "month"},
                   "aggs": {"s": {"sum": {"field": "price"}}, "cum": {"cumulative_sum": {"buckets_path": "s"}}}},
        "stats": {"stats": {"field": "price"}}, "ext": {"extended_stats": {"field": "n"}},
        "ranges": {"range": {"field": "price", "ranges": [{"to": 50}, {"from": 50, "to": 200}, {"from": 200}]}},
        "filters": {"filters": {"filters": {"fox": {"term": {"tag": "fox"}}, "dog": {"match": {"title": "dog"}}}}},
        "card": {"cardinality": {"field": "user"}}, "minmax": {"min": {"field": "day"}},
        "top": {"top_hits": {"size": 3, "sort": [{"n": "desc"}]}},
        "comp": {"composite": {"size": 7, "sources": [{"t": {"terms": {"field": "tag"}}}]}},
        "missing": {"missing": {"field": "nope"}}, "vc": {"value_count": {"field": "n"}},
    }},
    {"query": {"match": {"title": "banana"}}, "size": 0, "aggs": {"sig": {"significant_terms": {"field": "tag"}}}},
]
PERCENTILES = {"size": 0, "aggs": {"p": {"percentiles": {"field": "price", "percents": [1, 25, 50, 75, 99]}}}}


@pytest.mark.slow
def test_cluster_answers_as_one_process(proc_cluster: ProcCluster) -> None:  # noqa: F811
    proc_cluster.start_node("e", embedded=True)
    master = proc_cluster.start_node("m1", roles="master")
    for name in ("d1", "d2", "d3"):
        proc_cluster.start_node(name, roles="data", seeds=[master.transport])
    proc_cluster.until(lambda: len(proc_cluster.request("GET", "/_cat/nodes?format=json", node="m1").json()) == 4,
                       10, "members")  # fmt: skip
    docs = _documents()
    for node in ("e", "m1"):
        created = proc_cluster.request("PUT", "/docs", node=node, json={"settings": SETTINGS, "mappings": MAPPING})
        assert created.status_code == 200, created.text
        for start in range(0, N_DOCS, 1000):
            done = proc_cluster.request("POST", "/_bulk", node=node, content=_bulk(docs[start:start + 1000]),
                                        headers={"content-type": "application/x-ndjson"})  # fmt: skip
            assert done.status_code == 200 and not done.json()["errors"]
        assert proc_cluster.request("POST", "/docs/_refresh", node=node).status_code == 200
    shards = proc_cluster.request("GET", "/_cat/shards/docs?format=json&h=node", node="m1").json()
    assert {row["node"] for row in shards} == {"d1", "d2", "d3"}

    def both(method: str, path: str, body: Any = None) -> tuple[Any, Any]:
        a = proc_cluster.request(method, path, node="e", json=body)
        b = proc_cluster.request(method, path, node="m1", json=body)
        assert a.status_code == b.status_code == 200, (a.text, b.text)
        return _strip(a.json()), _strip(b.json())

    for query in QUERIES:
        one, many = both("POST", "/docs/_search", query)
        assert many == one, query
    # search_after from a page's last sort values
    page = {"query": {"match": {"title": "fox"}}, "sort": [{"price": "asc"}, {"n": "asc"}], "size": 15}
    one, many = both("POST", "/docs/_search", page)
    after = {**page, "search_after": one["hits"]["hits"][-1]["sort"]}
    assert both("POST", "/docs/_search", after)[0] == both("POST", "/docs/_search", after)[1]
    # scroll: every page the same
    pages: dict[str, list[Any]] = {}
    for node in ("e", "m1"):
        first = {"query": {"match": {"title": "dog"}}, "sort": ["n"], "size": 100}
        body = proc_cluster.request("POST", "/docs/_search?scroll=1m", node=node, json=first).json()
        pages[node] = []
        while body["hits"]["hits"]:
            pages[node].append([h["_id"] for h in body["hits"]["hits"]])
            body = proc_cluster.request("POST", "/_search/scroll", node=node,
                                        json={"scroll": "1m", "scroll_id": body["_scroll_id"]}).json()  # fmt: skip
    assert pages["m1"] == pages["e"] and len(pages["e"]) > 2
    # count and the percentiles sketch (t-digest merges in another order across processes: 1% of the range)
    assert both("GET", "/docs/_count")[0] == both("GET", "/docs/_count")[1]
    one, many = both("POST", "/docs/_search", PERCENTILES)
    for key, value in one["aggregations"]["p"]["values"].items():
        assert abs(many["aggregations"]["p"]["values"][key] - value) <= 5.0, key


def _strip(body: Any) -> Any:
    """Drop what differs by nature between two servers: timings, scroll ids."""
    if isinstance(body, dict):
        return {k: _strip(v) for k, v in body.items() if k not in ("took", "_scroll_id", "_shards_took")}
    if isinstance(body, list):
        return [_strip(v) for v in body]
    return body
