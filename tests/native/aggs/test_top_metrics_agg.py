"""``top_metrics`` through the HTTP app on three shards, against answers computed in plain Python."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from tests.server.helpers import assert_canonical_error

DAY = 86_400_000
DOCS = [
    {"g": f"g{i % 4}", "ts": 1_600_000_000_000 + ((i * 7) % 23) * DAY, "v": (i * 13) % 17, "p": i / 4,
     "name": f"n{(i * 5) % 11}"}
    for i in range(40)
]  # fmt: skip


async def _load(client: httpx.AsyncClient) -> None:
    mappings = {"properties": {"g": {"type": "keyword"}, "ts": {"type": "date"}, "v": {"type": "long"},
                               "p": {"type": "double"}, "name": {"type": "keyword"}}}  # fmt: skip
    r = await client.put("/tm", json={"settings": {"number_of_shards": 3}, "mappings": mappings})
    assert r.status_code == 200, r.text
    lines = []
    for i, doc in enumerate(DOCS):
        lines.append({"index": {"_id": str(i)}})
        lines.append(doc)
    body = "\n".join(__import__("json").dumps(x) for x in lines) + "\n"
    r = await client.post("/tm/_bulk?refresh=true", content=body, headers={"content-type": "application/x-ndjson"})
    assert r.status_code == 200 and not r.json()["errors"], r.text


def _iso(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def _search(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/tm/_search", json={"size": 0, **body})


async def test_top_metrics_per_bucket_sorted_by_date(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    agg = {"top_metrics": {"metrics": [{"field": "v"}, {"field": "name"}, {"field": "p"}, {"field": "ts"}],
                           "sort": {"ts": "desc"}, "size": 2}}  # fmt: skip
    r = await _search(asgi_client, {"aggs": {"g": {"terms": {"field": "g"}, "aggs": {"tm": agg}}}})
    assert r.status_code == 200, r.text
    for bucket in r.json()["aggregations"]["g"]["buckets"]:
        docs = [d for d in DOCS if d["g"] == bucket["key"]]
        # ties on ts: any of the tied docs may come first, so compare the sort values and the metric sets
        want = sorted(docs, key=lambda d: -d["ts"])[:2]
        top = bucket["tm"]["top"]
        assert [t["sort"] for t in top] == [[_iso(d["ts"])] for d in want]
        for t in top:
            tied = [d for d in docs if _iso(d["ts"]) == t["sort"][0]]
            assert {"v": t["metrics"]["v"], "name": t["metrics"]["name"], "p": t["metrics"]["p"]} in [
                {"v": d["v"], "name": d["name"], "p": d["p"]} for d in tied
            ]
            assert t["metrics"]["ts"] == t["sort"][0]


async def test_top_metrics_numeric_sort_asc_and_missing_metric(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    agg = {"top_metrics": {"metrics": [{"field": "p"}, {"field": "nope"}], "sort": [{"p": {"order": "asc"}}],
                           "size": 3}}  # fmt: skip
    r = await _search(asgi_client, {"query": {"range": {"v": {"gte": 5}}}, "aggs": {"tm": agg}})
    assert r.status_code == 200, r.text
    want = sorted(d["p"] for d in DOCS if d["v"] >= 5)[:3]
    top = r.json()["aggregations"]["tm"]["top"]
    assert [t["sort"][0] for t in top] == want
    assert [t["metrics"] for t in top] == [{"p": p, "nope": None} for p in want]


async def test_terms_ordered_by_top_metrics_value(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    for direction in ("asc", "desc"):
        aggs = {"g": {"terms": {"field": "g", "order": {"tm.p": direction}},
                      "aggs": {"tm": {"top_metrics": {"metrics": [{"field": "p"}, {"field": "v"}],
                                                      "sort": {"p": "desc"}}}}}}  # fmt: skip
        r = await _search(asgi_client, {"aggs": aggs})
        assert r.status_code == 200, r.text
        best = {g: max(d["p"] for d in DOCS if d["g"] == g) for g in {d["g"] for d in DOCS}}
        want = sorted(best, key=lambda g: best[g], reverse=direction == "desc")
        assert [b["key"] for b in r.json()["aggregations"]["g"]["buckets"]] == want


async def test_top_metrics_errors(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    aggs = {"g": {"terms": {"field": "g", "order": {"tm.zzz": "asc"}},
                  "aggs": {"tm": {"top_metrics": {"metrics": {"field": "p"}, "sort": {"p": "desc"}}}}}}  # fmt: skip
    r = await _search(asgi_client, {"aggs": aggs})
    assert r.status_code == 400 and "unknown metric [zzz]" in r.text, r.text
    r = await _search(asgi_client, {"aggs": {"tm": {"top_metrics": {"metrics": {"field": "p"}, "size": 11,
                                                                   "sort": {"p": "desc"}}}}})  # fmt: skip
    assert_canonical_error(r, 400, "illegal_argument_exception")
    assert "[top_metrics.size] must not be more than [10] but was [11]" in r.text
    r = await _search(asgi_client, {"aggs": {"tm": {"top_metrics": {"metrics": {"field": "p"}}}}})
    assert_canonical_error(r, 400, "illegal_argument_exception")
    assert "Required [sort]" in r.text
    r = await _search(asgi_client, {"aggs": {"tm": {"top_metrics": {"metrics": {"field": "p"}, "sort": {"g": "asc"}}}}})
    assert r.status_code == 400, r.text
    assert (
        "error building sort for field [g] of type [keyword] in index [tm]: only supported on numeric fields" in r.text
    )
    r = await _search(asgi_client, {"aggs": {"tm": {"top_metrics": {"metrics": {"field": "p"}, "bogus": 1}}}})
    assert_canonical_error(r, 400, "x_content_parse_exception")
    r = await _search(asgi_client, {"aggs": {"tm": {"top_metrics": {"metrics": {"field": "p"}},
                                                    "aggs": {"x": {"max": {"field": "p"}}}}}})  # fmt: skip
    assert_canonical_error(r, 400, "parsing_exception")
