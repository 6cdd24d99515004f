"""``_field_usage_stats``: the structures each search read, counted per shard and field."""

from __future__ import annotations

import httpx


def _usage(body: dict, index: str) -> dict:
    return body[index]["shards"][0]["stats"]


async def test_field_usage_counts(asgi_client: httpx.AsyncClient) -> None:
    c = asgi_client
    await c.put("/fu", json={"settings": {"number_of_shards": 1, "number_of_replicas": 0}, "mappings": {"properties": {
        "name": {"type": "text"}, "tag": {"type": "keyword"}, "price": {"type": "double"}}}})  # fmt: skip
    for i, (name, tag, price) in enumerate([("foo bar", "a", 1.0), ("bar baz", "b", 2.0), ("foo", "a", 3.0)]):
        await c.put(f"/fu/_doc/{i}", json={"name": name, "tag": tag, "price": price})
    await c.post("/fu/_refresh")
    body = (await c.get("/fu/_field_usage_stats")).json()
    assert _usage(body, "fu")["fields"] == {} and _usage(body, "fu")["all_fields"]["any"] == 0
    assert body["fu"]["shards"][0]["tracking_started_at_millis"] > 0

    # 1: phrase on name, filter on tag, range on price, sorted by price (nothing scored), hits fetched
    await c.post("/fu/_search", json={"query": {"bool": {"must": [{"match_phrase": {"name": "foo bar"}}],
                                                         "filter": [{"term": {"tag": "a"}},
                                                                    {"range": {"price": {"gte": 1}}}]}},
                                      "sort": ["price"]})  # fmt: skip
    # 2: a scored match, no hits fetched (size 0), a terms aggregation on tag
    await c.post("/fu/_search", json={"size": 0, "query": {"match": {"name": "baz"}},
                                      "aggs": {"t": {"terms": {"field": "tag"}}}})  # fmt: skip
    stats = _usage((await c.get("/fu/_field_usage_stats")).json(), "fu")
    fields = stats["fields"]
    name = fields["name"]
    assert name["any"] == 2
    assert name["inverted_index"] == {"terms": 2, "postings": 2, "proximity": 1, "positions": 1,
                                      "term_frequencies": 2, "offsets": 0, "payloads": 0}  # fmt: skip
    assert name["norms"] == 1 and name["doc_values"] == 0  # only the second search scored
    assert fields["tag"]["any"] == 2 and fields["tag"]["inverted_index"]["terms"] == 1  # the filter
    assert fields["tag"]["doc_values"] == 1 and fields["tag"]["norms"] == 0  # the aggregation
    assert fields["price"]["any"] == 1 and fields["price"]["doc_values"] == 1  # range and sort, one search
    assert fields["price"]["inverted_index"]["terms"] == 0
    assert fields["_source"]["stored_fields"] == 1 and fields["_id"]["stored_fields"] == 1  # one fetch
    total = stats["all_fields"]
    assert total["any"] == sum(f["any"] for f in fields.values())
    assert total["inverted_index"]["terms"] == sum(f["inverted_index"]["terms"] for f in fields.values())
    assert total["points"] == 0 and total["term_vectors"] == 0
    # ``fields`` filters the fields listed (and the totals)
    stats = _usage((await c.get("/fu/_field_usage_stats", params={"fields": "na*"})).json(), "fu")
    assert list(stats["fields"]) == ["name"] and stats["all_fields"]["any"] == 2
