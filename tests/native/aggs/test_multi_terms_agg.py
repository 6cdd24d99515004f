"""``multi_terms`` through the HTTP app on three shards, against combination counts computed in plain Python."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from typing import Any

import httpx

from tests.server.helpers import assert_canonical_error

DAY = 86_400_000
DOCS: list[dict[str, Any]] = []
for i in range(60):
    doc: dict[str, Any] = {"k": f"k{i % 4}", "n": i % 3, "d": 1_600_000_000_000 + (i % 2) * DAY, "b": i % 5 == 0,
                           "p": (i % 3) / 2}  # fmt: skip
    if i % 7 == 0:
        doc["tags"] = ["x", "y"]  # multi-valued: counts in both combinations
    elif i % 7 != 3:
        doc["tags"] = "x"  # else: no tags at all
    DOCS.append(doc)


async def _load(client: httpx.AsyncClient) -> None:
    mappings = {"properties": {"k": {"type": "keyword"}, "n": {"type": "long"}, "d": {"type": "date"},
                               "b": {"type": "boolean"}, "p": {"type": "double"}, "tags": {"type": "keyword"},
                               "body": {"type": "text"}}}  # fmt: skip
    r = await client.put("/mt", json={"settings": {"number_of_shards": 3}, "mappings": mappings})
    assert r.status_code == 200, r.text
    lines = []
    for i, doc in enumerate(DOCS):
        lines += [json.dumps({"index": {"_id": str(i)}}), json.dumps(doc)]
    r = await client.post("/mt/_bulk?refresh=true", content="\n".join(lines) + "\n",
                          headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text


def _values(doc: dict[str, Any], field: str, missing: Any = None) -> list[Any]:
    value = doc.get(field, missing)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _combos(fields: list[str], missing: dict[str, Any] | None = None) -> Counter[tuple[Any, ...]]:
    counts: Counter[tuple[Any, ...]] = Counter()
    for doc in DOCS:
        for combo in itertools.product(*(_values(doc, f, (missing or {}).get(f)) for f in fields)):
            counts[combo] += 1
    return counts


async def _agg(client: httpx.AsyncClient, spec: dict[str, Any], **extra: Any) -> dict[str, Any]:
    r = await client.post("/mt/_search", json={"size": 0, "aggs": {"m": {"multi_terms": spec, **extra}}})
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()["aggregations"]["m"]
    return result


async def test_counts_order_and_other_across_shards(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    counts = _combos(["k", "n"])
    got = await _agg(asgi_client, {"terms": [{"field": "k"}, {"field": "n"}], "size": 5, "shard_size": 100})
    want = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    assert [(tuple(b["key"]), b["doc_count"]) for b in got["buckets"]] == want
    assert [b["key_as_string"] for b in got["buckets"]] == [f"{k}|{n}" for (k, n), _ in want]
    assert got["sum_other_doc_count"] == sum(counts.values()) - sum(n for _, n in want)
    got = await _agg(asgi_client, {"terms": [{"field": "n"}, {"field": "k"}], "size": 50,
                                   "order": {"_key": "desc"}})  # fmt: skip
    want_keys = sorted(_combos(["n", "k"]), reverse=True)
    assert [tuple(b["key"]) for b in got["buckets"]] == want_keys


async def test_multi_valued_missing_and_key_rendering(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    got = await _agg(asgi_client, {"terms": [{"field": "tags"}, {"field": "b"}], "size": 50})
    assert {(tuple(b["key"]), b["doc_count"]) for b in got["buckets"]} == set(_combos(["tags", "b"]).items())
    assert all(b["key_as_string"] == f"{b['key'][0]}|{str(b['key'][1]).lower()}" for b in got["buckets"])
    got = await _agg(asgi_client, {"terms": [{"field": "tags", "missing": "none"}, {"field": "d"}], "size": 50})
    expected = {(t, "2020-09-13T12:26:40.000Z" if d == 1_600_000_000_000 else "2020-09-14T12:26:40.000Z"): n
                for (t, d), n in _combos(["tags", "d"], {"tags": "none"}).items()}  # fmt: skip
    assert {tuple(b["key"]): b["doc_count"] for b in got["buckets"]} == expected
    got = await _agg(asgi_client, {"terms": [{"field": "p"}, {"field": "k"}], "size": 1, "order": {"_key": "asc"}})
    assert got["buckets"][0]["key"] == [0.0, "k0"] and got["buckets"][0]["key_as_string"] == "0.0|k0"


async def test_sub_aggregation_and_metric_order(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    got = await _agg(asgi_client, {"terms": [{"field": "k"}, {"field": "b"}], "order": {"mx": "desc"}, "size": 20},
                     aggs={"mx": {"max": {"field": "p"}}})  # fmt: skip
    groups: dict[tuple[Any, ...], list[float]] = {}
    for doc in DOCS:
        groups.setdefault((doc["k"], doc["b"]), []).append(doc["p"])
    want = sorted(groups, key=lambda key: (-max(groups[key]), key))
    assert [tuple(b["key"]) for b in got["buckets"]] == want
    assert [b["mx"]["value"] for b in got["buckets"]] == [max(groups[key]) for key in want]


async def test_refusals(asgi_client: httpx.AsyncClient) -> None:
    await _load(asgi_client)
    r = await asgi_client.post("/mt/_search", json={"aggs": {"m": {"multi_terms": {"terms": [{"field": "k"}]}}}})
    assert_canonical_error(r, 400, "illegal_argument_exception")
    assert "must be present and have at least 2 fields or scripts" in r.text
    r = await asgi_client.post("/mt/_search", json={"aggs": {"m": {"multi_terms": {
        "terms": [{"field": "k"}, {"field": "n"}], "keyed": True}}}})  # fmt: skip
    assert_canonical_error(r, 400, "x_content_parse_exception")
    r = await asgi_client.post("/mt/_search", json={"aggs": {"m": {"multi_terms": {
        "terms": [{"field": "k"}, {"field": "body"}]}}}})  # fmt: skip
    assert r.status_code == 400 and "Fielddata is disabled on [body] in [mt]" in r.text, r.text
