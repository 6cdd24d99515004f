"""Field sort ``format`` and ``numeric_type``, and ``search_after`` values given as formatted dates."""

from __future__ import annotations

import httpx
import orjson
import pytest

from native.date_formats import format_date, parse_date

DAYS = {"1": "2021-10-13 00:30:04.828", "2": None, "3": "2021-06-11 04:30:04.828", "4": "2022-01-01 00:00:00.000"}


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    ts = {"type": "date", "format": "yyyy-MM-dd HH:mm:ss.SSS"}
    mappings = {"properties": {"ts": ts, "price": {"type": "double"}}}
    r = await asgi_client.put("/s", json={"settings": {"number_of_shards": 2}, "mappings": mappings})
    assert r.status_code == 200, r.text
    lines = []
    for doc_id, day in DAYS.items():
        doc = {"price": int(doc_id) * 1.25} | ({"ts": day} if day else {})
        lines += [orjson.dumps({"index": {"_id": doc_id}}), orjson.dumps(doc)]
    r = await asgi_client.post("/s/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text
    return asgi_client


def millis(day: str) -> int:
    return parse_date(day, "yyyy-MM-dd HH:mm:ss.SSS")


@pytest.mark.parametrize("fmt", ["strict_date_optional_time_nanos", "epoch_millis", "yyyy-MM-dd"])
async def test_date_sort_format(client: httpx.AsyncClient, fmt: str) -> None:
    r = await client.post("/s/_search", json={"sort": [{"ts": {"order": "desc", "format": fmt}}]})
    assert r.status_code == 200, r.text
    got = [(h["_id"], h["sort"]) for h in r.json()["hits"]["hits"]]
    dated = sorted(((k, millis(v)) for k, v in DAYS.items() if v), key=lambda t: -t[1])
    assert got == [(k, [format_date(ms, fmt)]) for k, ms in dated] + [("2", [None])]


async def test_numeric_type_and_numeric_format(client: httpx.AsyncClient) -> None:
    r = await client.post("/s/_search", json={"sort": [{"ts": {"numeric_type": "date_nanos"}}], "size": 1})
    assert r.json()["hits"]["hits"][0]["sort"] == [millis(DAYS["3"]) * 1_000_000]
    r = await client.post("/s/_search", json={"sort": [{"price": {"numeric_type": "long", "order": "desc"}}]})
    assert [h["sort"] for h in r.json()["hits"]["hits"]] == [[5], [3], [2], [1]]
    r = await client.post("/s/_search", json={"sort": [{"price": {"format": "0.00"}}], "size": 2})
    assert [h["sort"] for h in r.json()["hits"]["hits"]] == [["1.25"], ["2.50"]]
    r = await client.post("/s/_search", json={"sort": [{"price": {"numeric_type": "half"}}]})
    assert r.status_code == 400


async def test_search_after_with_a_formatted_date(client: httpx.AsyncClient) -> None:
    body = {"sort": [{"ts": {"order": "asc", "format": "yyyy-MM-dd"}}], "search_after": ["2021-06-12"]}
    r = await client.post("/s/_search", json=body)
    assert r.status_code == 200, r.text
    assert [h["_id"] for h in r.json()["hits"]["hits"]] == ["1", "4", "2"]


async def test_date_nanos_sort_values_are_nanoseconds(asgi_client: httpx.AsyncClient) -> None:
    r = await asgi_client.put("/ns", json={"mappings": {"properties": {"d": {"type": "date_nanos"}}}})
    assert r.status_code == 200, r.text
    days = {"a": "2018-10-29T12:12:12.123Z", "b": "2018-10-29T12:12:12.987Z", "c": "2018-10-30T00:00:00Z"}
    lines = []
    for doc_id, day in days.items():
        lines += [orjson.dumps({"index": {"_id": doc_id}}), orjson.dumps({"d": day})]
    r = await asgi_client.post("/ns/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                               headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200 and not r.json()["errors"], r.text
    nanos = {k: parse_date(v) * 1_000_000 for k, v in days.items()}
    r = await asgi_client.post("/ns/_search", json={"sort": [{"d": "desc"}], "size": 1})
    (first,) = r.json()["hits"]["hits"]
    assert (first["_id"], first["sort"]) == ("c", [nanos["c"]])
    r = await asgi_client.post("/ns/_search", json={"sort": [{"d": "desc"}], "search_after": first["sort"]})
    assert [(h["_id"], h["sort"]) for h in r.json()["hits"]["hits"]] == [("b", [nanos["b"]]), ("a", [nanos["a"]])]
    body = {"sort": [{"d": {"order": "asc", "format": "strict_date_optional_time", "numeric_type": "date"}}]}
    r = await asgi_client.post("/ns/_search", json=body)
    assert [h["sort"] for h in r.json()["hits"]["hits"]] == [[days["a"]], [days["b"]], ["2018-10-30T00:00:00.000Z"]]
    r = await asgi_client.post("/ns/_search", json={"sort": [{"d": {"numeric_type": "date"}}], "size": 1})
    assert r.json()["hits"]["hits"][0]["sort"] == [nanos["a"] // 1_000_000]
