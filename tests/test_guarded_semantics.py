"""Semantics a plausible slip would break while every other test still passed (found by breaking the code on
purpose): optimistic concurrency with ``if_seq_no``, ``search_after`` paging over a keyword sort, and a
``fixed_interval`` date histogram in a ``time_zone``. Expected answers are computed here in plain Python.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

import httpx

NDJSON = {"content-type": "application/x-ndjson"}


async def _bulk(client: httpx.AsyncClient, lines: list[dict[str, Any]]) -> dict[str, Any]:
    body = "".join(json.dumps(x) + "\n" for x in lines)
    response = await client.post("/_bulk?refresh=true", content=body, headers=NDJSON)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_if_seq_no_refuses_a_stale_write_everywhere(asgi_client: httpx.AsyncClient) -> None:
    client = asgi_client
    created = (await client.put("/occ/_doc/1?refresh=true", json={"v": 1})).json()
    seq_no, term = created["_seq_no"], created["_primary_term"]
    moved = (await client.put("/occ/_doc/1", json={"v": 2})).json()
    assert moved["_seq_no"] > seq_no
    stale = {"if_seq_no": seq_no, "if_primary_term": term}

    attempts = [
        await client.put("/occ/_doc/1", params=stale, json={"v": 3}),
        await client.post("/occ/_update/1", params=stale, json={"doc": {"v": 4}}),
        await client.delete("/occ/_doc/1", params=stale),
        await client.put("/occ/_doc/1", params={**stale, "if_seq_no": moved["_seq_no"], "if_primary_term": term + 1},
                         json={"v": 5}),
    ]
    for response in attempts:
        assert response.status_code == 409, response.text
        assert response.json()["error"]["type"] == "version_conflict_engine_exception"
    items = (await _bulk(client, [
        {"index": {"_index": "occ", "_id": "1", "if_seq_no": seq_no, "if_primary_term": term}}, {"v": 6},
        {"delete": {"_index": "occ", "_id": "1", "if_seq_no": seq_no, "if_primary_term": term}},
    ]))["items"]  # fmt: skip
    assert [next(iter(item.values()))["status"] for item in items] == [409, 409]
    doc = (await client.get("/occ/_doc/1")).json()
    assert doc["_source"] == {"v": 2} and doc["_seq_no"] == moved["_seq_no"]

    current = {"if_seq_no": moved["_seq_no"], "if_primary_term": moved["_primary_term"]}
    ok = await client.put("/occ/_doc/1", params=current, json={"v": 7})
    assert ok.status_code == 200, ok.text
    again = await client.put("/occ/_doc/1", params=current, json={"v": 8})  # the same condition is now stale
    assert again.status_code == 409
    assert (await client.get("/occ/_doc/1")).json()["_source"] == {"v": 7}
    missing = await client.put("/occ/_doc/none", params=current, json={"v": 9})
    assert missing.status_code == 409


async def test_search_after_on_a_keyword_sort_visits_every_document_once(asgi_client: httpx.AsyncClient) -> None:
    client = asgi_client
    rng = random.Random(5)
    mappings = {"properties": {"tag": {"type": "keyword"}, "n": {"type": "long"}, "g": {"type": "long"}}}
    created = await client.put("/kw", json={"settings": {"number_of_shards": 3}, "mappings": mappings})
    assert created.status_code == 200
    docs = {str(i): {"tag": rng.choice(["a", "b", "c", "d", "e", "ab", "b "]), "n": i, "g": i // 7} for i in range(257)}
    lines: list[dict[str, Any]] = []
    for doc_id, doc in docs.items():
        lines += [{"index": {"_index": "kw", "_id": doc_id}}, doc]
    await _bulk(client, lines)
    for order in ("asc", "desc"):
        for keys in (("tag", "n"), ("g", "tag", "n")):  # a keyword first, and a numeric first key with ties
            expected = sorted(docs, key=lambda i: tuple(docs[i][k] for k in keys), reverse=order == "desc")
            seen: list[str] = []
            after: list[Any] | None = None
            for _ in range(100):
                body: dict[str, Any] = {"size": 10, "sort": [{k: order} for k in keys]}
                if after is not None:
                    body["search_after"] = after
                hits = (await client.post("/kw/_search", json=body)).json()["hits"]["hits"]
                if not hits:
                    break
                seen += [hit["_id"] for hit in hits]
                after = hits[-1]["sort"]
            assert seen == expected, (order, keys)
        # Ties on the keyword alone: the page after a tag's last hit starts at the next tag, never repeats it.
        body: dict[str, Any] = {"size": 5, "sort": [{"tag": order}], "search_after": ["b"]}
        tags = [hit["sort"][0] for hit in (await client.post("/kw/_search", json=body)).json()["hits"]["hits"]]
        assert tags and all((tag > "b") if order == "asc" else (tag < "b") for tag in tags), tags


async def test_fixed_interval_histogram_rounds_in_its_time_zone(asgi_client: httpx.AsyncClient) -> None:
    client = asgi_client
    mappings = {"properties": {"ts": {"type": "date"}}}
    assert (await client.put("/tz", json={"mappings": mappings})).status_code == 200
    rng = random.Random(9)
    start = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
    stamps = [start + dt.timedelta(minutes=rng.randrange(0, 4 * 24 * 60)) for _ in range(300)]
    lines: list[dict[str, Any]] = []
    for i, ts in enumerate(stamps):
        lines += [{"index": {"_index": "tz", "_id": str(i)}}, {"ts": ts.isoformat()}]
    await _bulk(client, lines)
    for zone, offset, interval in (("+05:30", dt.timedelta(hours=5, minutes=30), "1h"),
                                   ("-03:00", dt.timedelta(hours=-3), "1d"),
                                   ("+05:30", dt.timedelta(hours=5, minutes=30), "6h")):  # fmt: skip
        width = {"1h": 3600, "6h": 6 * 3600, "1d": 86400}[interval] * 1000
        expected: dict[int, int] = {}
        for ts in stamps:
            local_ms = int((ts + offset).timestamp() * 1000)  # rounding happens on the local clock
            key = local_ms - local_ms % width - int(offset.total_seconds() * 1000)
            expected[key] = expected.get(key, 0) + 1
        body = {"size": 0, "aggs": {"h": {"date_histogram": {"field": "ts", "fixed_interval": interval,
                                                             "time_zone": zone, "min_doc_count": 1}}}}
        buckets = (await client.post("/tz/_search", json=body)).json()["aggregations"]["h"]["buckets"]
        assert {b["key"]: b["doc_count"] for b in buckets} == expected, (zone, interval)
        first = buckets[0]["key_as_string"]
        assert first.endswith(zone), first
