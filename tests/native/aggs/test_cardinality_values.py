"""``cardinality`` counts every value of multi-valued numeric, date, boolean and unsigned_long fields,
exactly below the precision threshold."""

from __future__ import annotations

import json
from typing import Any

import httpx

DOCS: list[dict[str, Any]] = [
    {"n": [i, i + 100, i + 200], "d": [i * 1.5, -i * 0.25], "t": [f"2024-01-{1 + i % 28:02d}", "2023-05-05"],
     "b": [i % 2 == 0, True], "u": [2**63 + i, i]}
    for i in range(40)
]  # fmt: skip


async def test_cardinality_counts_every_value(asgi_client: httpx.AsyncClient) -> None:
    props = {"n": {"type": "long"}, "d": {"type": "double"}, "t": {"type": "date"}, "b": {"type": "boolean"},
             "u": {"type": "unsigned_long"}}  # fmt: skip
    r = await asgi_client.put("/card", json={"settings": {"number_of_shards": 2}, "mappings": {"properties": props}})
    assert r.status_code == 200, r.text
    lines = []
    for i, doc in enumerate(DOCS):
        lines += [json.dumps({"index": {"_id": str(i)}}), json.dumps(doc)]
    r = await asgi_client.post("/card/_bulk?refresh=true", content="\n".join(lines) + "\n",
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text
    aggs = {f: {"cardinality": {"field": f}} for f in props}
    r = await asgi_client.post("/card/_search", json={"size": 0, "aggs": aggs})
    assert r.status_code == 200, r.text
    got = {f: v["value"] for f, v in r.json()["aggregations"].items()}
    expected = {f: len({json.dumps(v) for doc in DOCS for v in doc[f]}) for f in props}
    assert got == expected


async def test_percentiles_use_every_value(asgi_client: httpx.AsyncClient) -> None:
    r = await asgi_client.put("/pm", json={"mappings": {"properties": {"n": {"type": "long"}}}})
    assert r.status_code == 200, r.text
    for i, values in enumerate([[1, 100], [2, 200], [3, 300]]):
        await asgi_client.put(f"/pm/_doc/{i}", json={"n": values})
    await asgi_client.post("/pm/_refresh")
    body = {"size": 0, "aggs": {"p": {"percentiles": {"field": "n", "percents": [0, 100]}},
                                "r": {"percentile_ranks": {"field": "n", "values": [50]}}}}  # fmt: skip
    r = await asgi_client.post("/pm/_search", json=body)
    assert r.status_code == 200, r.text
    got = r.json()["aggregations"]
    assert got["p"]["values"] == {"0.0": 1.0, "100.0": 300.0}
    assert 40.0 < got["r"]["values"]["50.0"] < 60.0  # 3 of the 6 values lie below 50 (first values only: 100)
