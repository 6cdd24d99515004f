"""``date_nanos`` at nanosecond precision through the HTTP app: storage round-trip, queries at nanosecond
boundaries, sort values and ``search_after``, rendering, aggregations, and date + date_nanos indices together.

Expected answers are computed here with plain Python over the same values (``datetime`` for the calendar,
integers for the nanoseconds), never through the server's own date code."""

from __future__ import annotations

import datetime
from typing import Any

import httpx
import orjson
import pytest

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)

# (id, ISO value with 9 fractional digits); several share a millisecond, two share a microsecond
VALUES = {
    "a": "2018-10-29T12:12:12.123456789Z",
    "b": "2018-10-29T12:12:12.123456790Z",
    "c": "2018-10-29T12:12:12.123000000Z",
    "d": "2018-10-29T12:12:12.123999999Z",
    "e": "2018-10-29T12:12:12.987654321Z",
    "f": "2018-10-30T00:00:00.000000001Z",
    "g": "2018-10-31T23:59:59.999999999Z",
    "h": "2019-01-01T00:00:00Z",
}


def nanos_of(text: str) -> int:
    """Plain-Python epoch nanoseconds of an ISO ``...Z`` value (fraction up to 9 digits)."""
    head, _, frac = text.rstrip("Z").partition(".")
    whole = datetime.datetime.fromisoformat(head).replace(tzinfo=datetime.UTC)
    seconds = (whole - EPOCH) // datetime.timedelta(seconds=1)
    return seconds * 1_000_000_000 + int((frac + "0" * 9)[:9])


NANOS = {k: nanos_of(v) for k, v in VALUES.items()}


def iso9(nanos: int) -> str:
    seconds, below = divmod(nanos, 1_000_000_000)
    day = (EPOCH + datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    digits = f"{below:09d}".rstrip("0")
    return f"{day}.{digits + '0' * (3 - len(digits))}Z"


async def _bulk(client: httpx.AsyncClient, index: str, docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    lines = []
    for doc_id, doc in docs.items():
        lines += [orjson.dumps({"index": {"_index": index, "_id": doc_id}}), orjson.dumps(doc)]
    r = await client.post("/_bulk?refresh=true", content=b"\n".join(lines) + b"\n",
                          headers={"content-type": "application/x-ndjson"})  # fmt: skip
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.fixture
async def client(asgi_client: httpx.AsyncClient) -> httpx.AsyncClient:
    mappings = {"properties": {"d": {"type": "date_nanos"}, "n": {"type": "long"}}}
    r = await asgi_client.put("/ns", json={"settings": {"number_of_shards": 3}, "mappings": mappings})
    assert r.status_code == 200, r.text
    body = await _bulk(asgi_client, "ns", {k: {"d": v, "n": i} for i, (k, v) in enumerate(VALUES.items())})
    assert not body["errors"], body
    return asgi_client


async def _search(client: httpx.AsyncClient, body: dict[str, Any], index: str = "ns") -> dict[str, Any]:
    r = await client.post(f"/{index}/_search", json={"size": 100, **body})
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def _ids(client: httpx.AsyncClient, query: dict[str, Any]) -> set[str]:
    return {h["_id"] for h in (await _search(client, {"query": query}))["hits"]["hits"]}


async def test_source_unchanged_and_fields_render_nanoseconds(client: httpx.AsyncClient) -> None:
    body = await _search(client, {"fields": ["d"], "docvalue_fields": [{"field": "d", "format": "epoch_millis"}]})
    hits = {h["_id"]: h for h in body["hits"]["hits"]}
    assert {k: h["_source"]["d"] for k, h in hits.items()} == VALUES
    for k, hit in hits.items():
        millis, below = divmod(NANOS[k], 1_000_000)
        expected_millis = str(millis) + (("." + f"{below:06d}".rstrip("0")) if below else "")
        assert hit["fields"]["d"] == [expected_millis], k
    body = await _search(client, {"docvalue_fields": ["d"], "_source": False})
    assert {h["_id"]: h["fields"]["d"] for h in body["hits"]["hits"]} == {k: [iso9(n)] for k, n in NANOS.items()}
    fmt = "uuuu-MM-dd'T'HH:mm:ss.SSSSSSSSSX"
    body = await _search(client, {"docvalue_fields": [{"field": "d", "format": fmt}], "_source": False})
    got = {h["_id"]: h["fields"]["d"][0] for h in body["hits"]["hits"]}
    assert got == {k: iso9(n)[:20] + f"{n % 1_000_000_000:09d}Z" for k, n in NANOS.items()}


@pytest.mark.parametrize("pivot", ["b", "c", "d", "f", "g"])
async def test_range_at_nanosecond_boundaries(client: httpx.AsyncClient, pivot: str) -> None:
    value, at = VALUES[pivot], NANOS[pivot]
    for op, keep in (
        ("gte", lambda n: n >= at),
        ("gt", lambda n: n > at),
        ("lte", lambda n: n <= at),
        ("lt", lambda n: n < at),
    ):
        got = await _ids(client, {"range": {"d": {op: value}}})
        assert got == {k for k, n in NANOS.items() if keep(n)}, (op, value)
    assert await _ids(client, {"term": {"d": value}}) == {k for k, n in NANOS.items() if n == at}


async def test_range_with_epoch_millis_fraction_date_math_and_rounding(client: httpx.AsyncClient) -> None:
    lo = NANOS["a"]
    millis, below = divmod(lo, 1_000_000)
    got = await _ids(client, {"range": {"d": {"gt": f"{millis}.{below:06d}", "format": "epoch_millis"}}})
    assert got == {k for k, n in NANOS.items() if n > lo}
    # a whole day rounded: lte 2018-10-29 ends at its last nanosecond, gt excludes all of it
    day_end = nanos_of("2018-10-29T23:59:59.999999999Z")
    assert await _ids(client, {"range": {"d": {"lte": "2018-10-29"}}}) == {k for k, n in NANOS.items() if n <= day_end}
    assert await _ids(client, {"range": {"d": {"gt": "2018-10-29||/d"}}}) == {
        k for k, n in NANOS.items() if n > day_end
    }
    # an epoch_millis term covers its whole millisecond
    got = await _ids(client, {"term": {"d": NANOS["a"] // 1_000_000}})
    assert got == {k for k, n in NANOS.items() if n // 1_000_000 == NANOS["a"] // 1_000_000}
    plus = VALUES["a"] + "||+1d"
    got = await _ids(client, {"range": {"d": {"gte": plus}}})
    assert got == {k for k, n in NANOS.items() if n >= NANOS["a"] + 86_400 * 10**9}
    got = await _ids(client, {"terms": {"d": [VALUES["a"], VALUES["e"], "2000-01-01T00:00:00Z"]}})
    assert got == {"a", "e"}


async def test_sort_values_are_nanoseconds_and_search_after_pages(client: httpx.AsyncClient) -> None:
    for order in ("asc", "desc"):
        expected = sorted(NANOS.items(), key=lambda kv: kv[1], reverse=order == "desc")
        body = await _search(client, {"sort": [{"d": order}]})
        assert [(h["_id"], h["sort"]) for h in body["hits"]["hits"]] == [(k, [n]) for k, n in expected]
        seen: list[tuple[str, int]] = []
        after: list[Any] | None = None
        while True:
            page: dict[str, Any] = {"size": 3, "sort": [{"d": order}]}
            if after is not None:
                page["search_after"] = after
            r = await client.post("/ns/_search", json=page)
            hits = r.json()["hits"]["hits"]
            if not hits:
                break
            seen += [(h["_id"], h["sort"][0]) for h in hits]
            after = hits[-1]["sort"]
        assert seen == expected
    body = await _search(client, {"sort": [{"d": {"order": "asc", "format": "strict_date_optional_time_nanos"}}]})
    ordered = sorted(NANOS.items(), key=lambda kv: kv[1])
    assert [h["sort"] for h in body["hits"]["hits"]] == [[iso9(n)] for _, n in ordered]
    # search_after as a formatted date string
    body = await _search(client, {"sort": [{"d": "asc"}], "search_after": [VALUES["c"]]})
    assert [h["_id"] for h in body["hits"]["hits"]] == [k for k, n in ordered if n > NANOS["c"]]


async def test_aggregations_work_in_milliseconds(client: httpx.AsyncClient) -> None:
    aggs = {
        "lo": {"min": {"field": "d"}},
        "hi": {"max": {"field": "d"}},
        "days": {"date_histogram": {"field": "d", "calendar_interval": "day"}},
        "ms": {"terms": {"field": "d", "size": 100}},
        "top": {"top_hits": {"size": 1, "sort": [{"d": "desc"}], "docvalue_fields": ["d"], "_source": False}},
    }
    body = await _search(client, {"size": 0, "aggs": aggs})
    result = body["aggregations"]
    millis = [n // 1_000_000 for n in NANOS.values()]
    assert result["lo"]["value"] == min(millis)
    assert result["hi"]["value"] == max(millis)
    days: dict[int, int] = {}
    for ms in millis:
        days[ms - ms % 86_400_000] = days.get(ms - ms % 86_400_000, 0) + 1
    got = {b["key"]: b["doc_count"] for b in result["days"]["buckets"] if b["doc_count"]}
    assert got == days
    counts: dict[int, int] = {}
    for ms in millis:
        counts[ms] = counts.get(ms, 0) + 1
    assert {b["key"]: b["doc_count"] for b in result["ms"]["buckets"]} == counts
    (top,) = result["top"]["hits"]["hits"]
    latest = max(NANOS.values())
    assert (top["sort"], top["fields"]["d"]) == ([latest], [iso9(latest)])


async def test_out_of_range_values_fail_the_document(client: httpx.AsyncClient) -> None:
    docs = {
        "x": {"d": "1969-12-31T23:59:59.999999999Z"},
        "y": {"d": "2262-04-11T23:47:16.854775808Z"},
        "z": {"d": "2262-04-11T23:47:16.854775807Z"},
        "w": {"d": "1970-01-01T00:00:00Z"},
    }
    body = await _bulk(client, "ns", docs)
    items = [item["index"] for item in body["items"]]
    assert [item["status"] for item in items] == [400, 400, 201, 201]
    assert items[0]["error"]["type"] == "document_parsing_exception"
    assert items[0]["error"]["caused_by"]["reason"] == (
        "date[1969-12-31T23:59:59.999999999Z] is before the epoch in 1970 and cannot be stored in nanosecond resolution"
    )
    assert items[1]["error"]["caused_by"]["reason"] == (
        "date[2262-04-11T23:47:16.854775808Z] is after 2262-04-11T23:47:16.854775807 and cannot be stored in "
        "nanosecond resolution"
    )
    body = await _search(client, {"query": {"ids": {"values": ["z", "w"]}}, "sort": [{"d": "desc"}]})
    assert [h["sort"] for h in body["hits"]["hits"]] == [[2**63 - 1], [0]]


async def test_date_and_date_nanos_indices_sorted_together(client: httpx.AsyncClient) -> None:
    r = await client.put("/ms", json={"mappings": {"properties": {"d": {"type": "date"}}}})
    assert r.status_code == 200, r.text
    ms_values = {"m1": "2018-10-29T12:12:12.123Z", "m2": "2018-10-30T12:00:00.500Z"}
    assert not (await _bulk(client, "ms", {k: {"d": v} for k, v in ms_values.items()}))["errors"]
    ms_nanos = {k: nanos_of(v) for k, v in ms_values.items()}
    every = {**NANOS, **ms_nanos}
    body = await _search(client, {"sort": [{"d": {"order": "asc", "numeric_type": "date_nanos"}}]}, "ns,ms")
    got = [(h["_id"], h["sort"][0]) for h in body["hits"]["hits"]]
    assert [v for _, v in got] == sorted(every.values())
    assert dict(got) == every
    body = await _search(client, {"sort": [{"d": {"order": "desc", "numeric_type": "date"}}]}, "ns,ms")
    got = [(h["_id"], h["sort"][0]) for h in body["hits"]["hits"]]
    assert [v for _, v in got] == sorted((n // 1_000_000 for n in every.values()), reverse=True)
    assert dict(got) == {k: n // 1_000_000 for k, n in every.items()}
    # search_after in the numeric_type's unit, across both indices
    body = {"size": 4, "sort": [{"d": {"order": "asc", "numeric_type": "date_nanos"}}]}
    seen: list[int] = []
    while True:
        r = await client.post("/ns,ms/_search", json=body)
        hits = r.json()["hits"]["hits"]
        if not hits:
            break
        seen += [h["sort"][0] for h in hits]
        body["search_after"] = hits[-1]["sort"]
    assert seen == sorted(every.values())
    fmt = {"order": "asc", "numeric_type": "date_nanos", "format": "strict_date_optional_time_nanos"}
    body = await _search(client, {"sort": [{"d": fmt}]}, "ns,ms")
    assert [h["sort"][0] for h in body["hits"]["hits"]] == [iso9(n) for n in sorted(every.values())]


async def test_multi_valued_date_nanos(client: httpx.AsyncClient) -> None:
    many = ["2018-10-29T12:12:12.123456788Z", "2018-10-31T23:59:59.999999998Z"]
    assert not (await _bulk(client, "ns", {"m": {"d": many}}))["errors"]
    values = {**{k: [n] for k, n in NANOS.items()}, "m": [nanos_of(v) for v in many]}
    for order, pick in (("asc", min), ("desc", max)):
        body = await _search(client, {"sort": [{"d": order}]})
        keys = sorted(((k, pick(v)) for k, v in values.items()), key=lambda kv: kv[1], reverse=order == "desc")
        assert [(h["_id"], h["sort"][0]) for h in body["hits"]["hits"]] == keys
    body = await _search(client, {"query": {"ids": {"values": ["m"]}}, "fields": ["d"]})
    assert body["hits"]["hits"][0]["fields"]["d"] == [iso9(n) for n in values["m"]]
    # a range between the two values matches neither; one covering either value matches the document
    lo, hi = values["m"]
    assert "m" not in await _ids(client, {"range": {"d": {"gt": iso9(lo), "lt": iso9(hi)}}})
    assert "m" in await _ids(client, {"range": {"d": {"gte": iso9(hi), "lte": iso9(hi)}}})


async def test_exists_query_string_and_match(client: httpx.AsyncClient) -> None:
    assert not (await _bulk(client, "ns", {"none": {"n": 99}}))["errors"]
    assert await _ids(client, {"exists": {"field": "d"}}) == set(NANOS)
    lo, hi = (VALUES[k].replace(":", "\\:") for k in ("b", "e"))
    got = await _ids(client, {"query_string": {"query": f"d:[{lo} TO {hi}}}"}})
    assert got == {k for k, n in NANOS.items() if NANOS["b"] <= n < NANOS["e"]}
    got = await _ids(client, {"query_string": {"query": f'd:{{"{VALUES["b"]}" TO "{VALUES["e"]}"]'}})
    assert got == {k for k, n in NANOS.items() if NANOS["b"] < n <= NANOS["e"]}
    assert await _ids(client, {"match": {"d": VALUES["g"]}}) == {"g"}


async def test_numeric_type_date_nanos_refuses_dates_outside_its_range(client: httpx.AsyncClient) -> None:
    r = await client.put("/old", json={"mappings": {"properties": {"d": {"type": "date"}}}})
    assert r.status_code == 200, r.text
    assert not (await _bulk(client, "old", {"x": {"d": "1969-07-20T20:17:40Z"}}))["errors"]
    r = await client.post("/old/_search", json={"sort": [{"d": {"numeric_type": "date_nanos"}}]})
    assert r.status_code == 400, r.text
    assert "before the epoch in 1970" in r.text
    r = await client.post("/old/_search", json={"sort": [{"d": {"numeric_type": "date"}}]})
    assert r.json()["hits"]["hits"][0]["sort"] == [nanos_of("1969-07-20T20:17:40Z") // 1_000_000]


async def test_nested_date_nanos_sort_and_query(asgi_client: httpx.AsyncClient) -> None:
    mappings = {"properties": {"ev": {"type": "nested", "properties": {"t": {"type": "date_nanos"}}}}}
    r = await asgi_client.put("/nest", json={"mappings": mappings})
    assert r.status_code == 200, r.text
    docs = {
        "p": [VALUES["a"], VALUES["e"]],
        "q": [VALUES["b"]],
        "r": [VALUES["c"], VALUES["g"]],
    }
    assert not (await _bulk(asgi_client, "nest", {k: {"ev": [{"t": t} for t in v]} for k, v in docs.items()}))["errors"]
    for order, pick in (("asc", min), ("desc", max)):
        sort = [{"ev.t": {"order": order, "nested": {"path": "ev"}}}]
        body = await _search(asgi_client, {"sort": sort}, "nest")
        keys = sorted(((k, pick(nanos_of(t) for t in v)) for k, v in docs.items()), key=lambda kv: kv[1])
        if order == "desc":
            keys.reverse()
        assert [(h["_id"], h["sort"][0]) for h in body["hits"]["hits"]] == keys
    query = {"nested": {"path": "ev", "query": {"range": {"ev.t": {"gt": VALUES["a"], "lt": VALUES["g"]}}}}}
    body = await _search(asgi_client, {"query": query}, "nest")
    inside = {k for k, v in docs.items() if any(NANOS["a"] < nanos_of(t) < NANOS["g"] for t in v)}
    assert {h["_id"] for h in body["hits"]["hits"]} == inside
