"""``nested`` / ``reverse_nested`` aggregations on nested documents and ``top_hits`` of nested objects, over the
in-process app; expected values computed from the documents in plain Python."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

DOCS: dict[str, dict[str, Any]] = {
    "1": {"str": "sheep", "nested": [{"tag": "danger", "number": 1}, {"tag": "fluffiness", "number": 10}]},
    "2": {"str": "cow", "nested": [{"tag": "danger", "number": 3}, {"tag": "fluffiness", "number": 1}]},
    "3": {"str": "pig", "nested": [{"tag": "danger", "number": 100}, {"tag": "fluffiness", "number": 1}]},
    "4": {"str": "cat"},
    "5": {"str": "dog", "nested": {"tag": "loud", "number": 7}},
}


def objects(doc: dict[str, Any]) -> list[dict[str, Any]]:
    value = doc.get("nested", [])
    return value if isinstance(value, list) else [value]


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    mappings = {
        "properties": {
            "str": {"type": "keyword"},
            "nested": {"type": "nested", "properties": {"tag": {"type": "keyword"}, "number": {"type": "long"}}},
        }
    }
    r = await asgi_client.put("/n", json={"settings": {"number_of_shards": 2}, "mappings": mappings})
    assert r.status_code == 200, r.text
    lines = []
    for doc_id, doc in DOCS.items():
        lines += [orjson.dumps({"index": {"_id": doc_id}}), orjson.dumps(doc)]
    r = await asgi_client.post(
        "/n/_bulk?refresh=true", content=b"\n".join(lines) + b"\n", headers={"content-type": "application/x-ndjson"}
    )
    assert r.status_code == 200 and not r.json()["errors"], r.text
    return asgi_client


async def aggs(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/n/_search", json={"size": 0, "aggs": body})
    assert r.status_code == 200, r.text
    return r.json()["aggregations"]  # type: ignore[no-any-return]


async def test_nested_counts_nested_objects(client: httpx.AsyncClient) -> None:
    out = await aggs(client, {"n": {"nested": {"path": "nested"}, "aggs": {"mx": {"max": {"field": "nested.number"}}}}})
    all_objects = [o for d in DOCS.values() for o in objects(d)]
    assert out["n"]["doc_count"] == len(all_objects)
    assert out["n"]["mx"]["value"] == max(o["number"] for o in all_objects)
    out = await aggs(client, {"n": {"nested": {"path": "missing"}}})
    assert out["n"]["doc_count"] == 0


async def test_filter_under_nested_is_per_object(client: httpx.AsyncClient) -> None:
    body = {
        "n": {
            "nested": {"path": "nested"},
            "aggs": {
                "f": {
                    "filter": {
                        "bool": {"must": [{"term": {"nested.tag": "danger"}}, {"range": {"nested.number": {"gte": 3}}}]}
                    },
                    "aggs": {"sum": {"sum": {"field": "nested.number"}}, "back": {"reverse_nested": {}}},
                }
            },
        }
    }
    out = (await aggs(client, body))["n"]["f"]
    matching = [
        (doc_id, o) for doc_id, d in DOCS.items() for o in objects(d) if o["tag"] == "danger" and o["number"] >= 3
    ]
    assert out["doc_count"] == len(matching)
    assert out["sum"]["value"] == sum(o["number"] for _, o in matching)
    assert out["back"]["doc_count"] == len({doc_id for doc_id, _ in matching})


async def test_terms_ordered_by_metric_under_nested(client: httpx.AsyncClient) -> None:
    body = {
        "s": {
            "terms": {"field": "str", "size": 2, "order": [{"n>mx": "desc"}]},
            "aggs": {"n": {"nested": {"path": "nested"}, "aggs": {"mx": {"max": {"field": "nested.number"}}}}},
        }
    }
    got = [(b["key"], b["n"]["mx"]["value"]) for b in (await aggs(client, body))["s"]["buckets"]]
    best = sorted(
        ((d["str"], float(max(o["number"] for o in objects(d)))) for d in DOCS.values() if objects(d)),
        key=lambda kv: -kv[1],
    )
    assert got == best[:2]


async def test_reverse_nested_goes_back_to_parents(client: httpx.AsyncClient) -> None:
    body = {
        "n": {
            "nested": {"path": "nested"},
            "aggs": {"tags": {"terms": {"field": "nested.tag"}, "aggs": {"back": {"reverse_nested": {}}}}},
        }
    }
    buckets = (await aggs(client, body))["n"]["tags"]["buckets"]
    expected = {}
    for doc in DOCS.values():
        for tag in {o["tag"] for o in objects(doc)}:
            expected[tag] = expected.get(tag, 0) + 1
    assert {b["key"]: b["back"]["doc_count"] for b in buckets} == expected


async def test_top_hits_returns_nested_objects(client: httpx.AsyncClient) -> None:
    body = {"n": {"nested": {"path": "nested"}, "aggs": {"top": {"top_hits": {"sort": "nested.number", "size": 4}}}}}
    hits = (await aggs(client, body))["n"]["top"]["hits"]
    rows = sorted(
        ((o["number"], doc_id, i, o) for doc_id, d in DOCS.items() for i, o in enumerate(objects(d))),
        key=lambda r: (r[0], int(r[1]), r[2]),
    )
    assert hits["total"]["value"] == len(rows)
    assert [h["sort"][0] for h in hits["hits"]] == [r[0] for r in rows[:4]]
    for hit in hits["hits"]:
        doc_objects = objects(DOCS[hit["_id"]])
        assert hit["_nested"]["field"] == "nested"
        assert hit["_source"] == doc_objects[hit["_nested"]["offset"]]


async def test_nested_requires_a_path(client: httpx.AsyncClient) -> None:
    r = await client.post("/n/_search", json={"aggs": {"n": {"nested": {}}}})
    assert r.status_code == 400
    assert "Missing [path] field for nested aggregation [n]" in r.text


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_top_hits_sorted_by_nested_field(client: httpx.AsyncClient, order: str) -> None:
    sort = {
        "nested.number": {"order": order, "nested": {"path": "nested", "filter": {"term": {"nested.tag": "danger"}}}}
    }
    body = {"top": {"top_hits": {"size": 10, "sort": [sort], "_source": False}}}
    hits = (await aggs(client, body))["top"]["hits"]["hits"]
    keyed = []
    for doc_id, doc in DOCS.items():
        values = [o["number"] for o in objects(doc) if o["tag"] == "danger"]
        keyed.append(((min if order == "asc" else max)(values) if values else None, int(doc_id)))
    present = sorted((k for k in keyed if k[0] is not None), key=lambda k: (k[0] if order == "asc" else -k[0], k[1]))
    missing = sorted(k for k in keyed if k[0] is None)
    assert [h["_id"] for h in hits] == [str(k[1]) for k in present + missing]
    assert [h["sort"][0] for h in hits] == [k[0] for k in present + missing]
