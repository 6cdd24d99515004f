"""``rescore`` (query rescorer) and named queries (``matched_queries``) through the HTTP app.

Scores are made of constant-score clauses so the expected values follow from ES's formulas by hand.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import orjson
import pytest

N = 6  # documents d1..d6 with n = 1..6; the first pass scores d_i with i
MODES: dict[str, Callable[[float, float], float]] = {
    "total": lambda a, b: a + b,
    "multiply": lambda a, b: a * b,
    "avg": lambda a, b: (a + b) / 2,
    "max": max,
    "min": min,
}


async def _index(client: httpx.AsyncClient, shards: int = 1) -> None:
    mappings = {"properties": {"n": {"type": "integer"}, "t": {"type": "keyword"}}}
    r = await client.put("/r", json={"settings": {"number_of_shards": shards}, "mappings": mappings})
    assert r.status_code == 200, r.text
    lines = []
    for i in range(1, N + 1):
        doc = {"n": i, "t": "even" if i % 2 == 0 else "odd"}
        lines += [orjson.dumps({"index": {"_id": f"d{i}"}}), orjson.dumps(doc)]
    r = await client.post("/r/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                          headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text


FIRST = {"bool": {"should": [{"constant_score": {"filter": {"term": {"n": i}}, "boost": i}} for i in range(1, N + 1)]}}
SECOND = {"constant_score": {"filter": {"terms": {"n": [4, 6, 1]}}, "boost": 10}}


def _expected(window: int, qw: float, rqw: float, mode: str) -> list[tuple[str, float]]:
    first = sorted(((f"d{i}", float(i)) for i in range(1, N + 1)), key=lambda t: -t[1])
    out = []
    for pos, (doc, score) in enumerate(first):
        n = int(doc[1:])
        if pos < window and n in (4, 6, 1):
            out.append((doc, MODES[mode](score * qw, 10.0 * rqw)))
        else:
            out.append((doc, score * qw))
    return sorted(out, key=lambda t: -t[1])


@pytest.mark.parametrize("mode", sorted(MODES))
async def test_rescore_score_modes(asgi_client: httpx.AsyncClient, mode: str) -> None:
    await _index(asgi_client)
    body = {"query": FIRST, "size": N,
            "rescore": {"window_size": 3, "query": {"rescore_query": SECOND, "query_weight": 0.5,
                                                    "rescore_query_weight": 2, "score_mode": mode}}}  # fmt: skip
    r = await asgi_client.post("/r/_search", json=body)
    assert r.status_code == 200, r.text
    got = [(h["_id"], h["_score"]) for h in r.json()["hits"]["hits"]]
    want = _expected(3, 0.5, 2.0, mode)
    assert [s for _, s in got] == pytest.approx([s for _, s in want])
    assert {d for d, _ in got} == {d for d, _ in want}
    assert r.json()["hits"]["max_score"] == pytest.approx(want[0][1])


async def test_rescore_list_applies_in_order_and_paginates(asgi_client: httpx.AsyncClient) -> None:
    await _index(asgi_client, shards=1)
    third = {"constant_score": {"filter": {"term": {"t": "odd"}}, "boost": 100}}
    body = {"query": FIRST, "from": 1, "size": 2, "rescore": [
        {"window_size": 6, "query": {"rescore_query": SECOND}},
        {"window_size": 2, "query": {"rescore_query": third, "score_mode": "total"}},
    ]}  # fmt: skip
    r = await asgi_client.post("/r/_search", json=body)
    assert r.status_code == 200, r.text
    # pass 1 (total): d6 16, d4 14, d1 11, d5 5, d3 3, d2 2; pass 2 on d6, d4 (both even): unchanged
    assert [(h["_id"], h["_score"]) for h in r.json()["hits"]["hits"]] == [("d4", 14.0), ("d1", 11.0)]


async def test_rescore_errors(asgi_client: httpx.AsyncClient) -> None:
    await _index(asgi_client)
    rescore = {"window_size": 10001, "query": {"rescore_query": {"match_all": {}}}}
    r = await asgi_client.post("/r/_search", json={"rescore": rescore})
    assert r.status_code == 400 and "Rescore window [10001] is too large" in r.text
    ok = {"query": {"rescore_query": {"match_all": {}}}}
    r = await asgi_client.post("/r/_search", json={"sort": [{"n": "asc"}], "rescore": ok})
    assert r.status_code == 400 and "Cannot use [sort] option in conjunction with [rescore]." in r.text
    r = await asgi_client.post("/r/_search", json={"rescore": {"query": {"rescore_query": {"match_all": {}},
                                                                         "score_mode": "bogus"}}})  # fmt: skip
    assert r.status_code == 400 and "score_mode" in r.text
    r = await asgi_client.post("/r/_search", json={"rescore": {"query": {"rescore_query": {"match_all": {}}, "x": 1}}})
    assert r.status_code == 400
    r = await asgi_client.post("/r/_search", json={"rescore": {"window_size": 5}})
    assert r.status_code == 400 and "missing rescore type" in r.text


@pytest.mark.parametrize("shards", [1, 3])
async def test_named_queries(asgi_client: httpx.AsyncClient, shards: int) -> None:
    await _index(asgi_client, shards)
    query = {"bool": {
        "should": [
            {"constant_score": {"filter": {"term": {"t": "even"}}, "boost": 2, "_name": "even"}},
            {"term": {"n": {"value": 3, "_name": "three", "boost": 5}}},
        ],
        "filter": [{"range": {"n": {"lte": 4, "_name": "small"}}}],
    }}  # fmt: skip
    r = await asgi_client.post("/r/_search", json={"query": query, "size": 10})
    assert r.status_code == 200, r.text
    got = {h["_id"]: sorted(h.get("matched_queries", [])) for h in r.json()["hits"]["hits"]}
    want = {}
    for i in range(1, 5):
        names = ["small"] + (["even"] if i % 2 == 0 else []) + (["three"] if i == 3 else [])
        want[f"d{i}"] = sorted(names)
    assert got == want
    r = await asgi_client.post("/r/_search?include_named_queries_score=true", json={"query": query, "size": 10})
    scored = {h["_id"]: h["matched_queries"] for h in r.json()["hits"]["hits"]}
    assert scored["d3"] == {"small": 1.0, "three": 5.0}
    assert scored["d2"] == {"small": 1.0, "even": 2.0}
    r = await asgi_client.post("/r/_search", json={"query": {"term": {"n": 1}}})
    assert "matched_queries" not in r.json()["hits"]["hits"][0]


async def test_match_all_keeps_its_score_beside_a_filter(asgi_client: httpx.AsyncClient) -> None:
    await _index(asgi_client)
    r = await asgi_client.post("/r/_search", json={"query": {"bool": {"must": {"match_all": {"boost": 2}},
                                                                      "filter": {"term": {"n": 2}}}}})  # fmt: skip
    assert [(h["_id"], h["_score"]) for h in r.json()["hits"]["hits"]] == [("d2", 2.0)]


async def test_request_limits_from_index_settings(asgi_client: httpx.AsyncClient) -> None:
    settings = {"index.max_script_fields": 2, "index.max_docvalue_fields_search": 2, "index.max_result_window": 20}
    r = await asgi_client.put("/lim", json={"settings": settings})
    assert r.status_code == 200, r.text
    script = {"script": {"source": "1"}}
    r = await asgi_client.post("/lim/_search", json={"script_fields": {"a": script, "b": script, "c": script}})
    assert r.status_code == 400 and "Trying to retrieve too many script_fields" in r.text
    r = await asgi_client.post("/lim/_search", json={"script_fields": {"a": script}})
    assert r.status_code == 400 and "cannot execute [inline] scripts" in r.text
    r = await asgi_client.post("/lim/_search", json={"docvalue_fields": ["a", "b", "c"]})
    assert r.status_code == 400 and "Trying to retrieve too many docvalue_fields" in r.text
    r = await asgi_client.post("/lim/_search?scroll=1m&size=21", json={})
    assert r.status_code == 400 and "Batch size is too large" in r.text
