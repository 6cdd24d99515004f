"""``fields`` / ``docvalue_fields`` rendering: binary values (base64 as stored), open ends of double ranges
(no bound), inclusive date_range upper bounds rounded up to the end of the formatted unit."""

from __future__ import annotations

import httpx


async def test_binary_and_ranges(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/rf", json={"mappings": {"properties": {
        "binary": {"type": "binary", "doc_values": True}, "double": {"type": "double_range"},
        "date": {"type": "date_range", "format": "yyyy-MM-dd"}}}})  # fmt: skip
    doc = {"binary": "U29tZSBiaW5hcnkgYmxvYg==", "double": {"gte": 1.5},
           "date": {"gte": "2016-10-31", "lte": "2016-11-01"}}
    await asgi_client.put("/rf/_doc/1", json=doc, params={"refresh": "true"})
    for key in ("fields", "docvalue_fields"):
        body = (await asgi_client.post("/rf/_search", json={key: ["binary", "double", "date"]})).json()
        hit = body["hits"]["hits"][0]
        assert hit["fields"]["binary"] == ["U29tZSBiaW5hcnkgYmxvYg=="]
        assert hit["fields"]["double"] == [{"gte": 1.5, "lte": None}]
        assert hit["fields"]["date"] == [{"gte": "2016-10-31", "lte": "2016-11-01"}]
    fmt = {"docvalue_fields": [{"field": "date", "format": "epoch_millis"}]}
    millis = await asgi_client.post("/rf/_search", json=fmt)
    assert millis.json()["hits"]["hits"][0]["fields"]["date"] == [{"gte": "1477872000000", "lte": "1478044799999"}]
    inside = await asgi_client.post("/rf/_search", json={"query": {"term": {"date": "2016-11-01T12:00:00"}}})
    assert inside.json()["hits"]["total"]["value"] == 1


async def test_flattened_fields_dates_and_index_ignore_above(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/fl", json={"settings": {"index.mapping.ignore_above": 10}, "mappings": {"properties": {
        "keyword": {"type": "keyword"}, "own": {"type": "keyword", "ignore_above": 50},
        "flattened": {"type": "flattened"}, "date": {"type": "date", "format": "yyyy-MM-dd'T'HH:mm:ss"}}}})  # fmt: skip
    doc = {"keyword": ["foo bar", "the quick brown fox"], "own": "the quick brown fox",
           "flattened": {"value": ["the quick brown fox", "jumps over"], "n": {"k": "v"}},
           "date": "2023-09-17T15:30:00"}  # fmt: skip
    await asgi_client.put("/fl/_doc/1", json=doc, params={"refresh": "true"})
    body = {"fields": ["keyword", "own", "flattened", "flattened.value", "date"]}
    hit = (await asgi_client.post("/fl/_search", json=body)).json()["hits"]["hits"][0]
    assert hit["fields"] == {
        "keyword": ["foo bar"], "own": ["the quick brown fox"], "date": ["2023-09-17T15:30:00"],
        "flattened": [{"value": "jumps over", "n": {"k": "v"}}], "flattened.value": ["jumps over"],
    }  # fmt: skip
    assert hit["_ignored"] == ["keyword"]
    long_kw = await asgi_client.post("/fl/_search", json={"query": {"term": {"keyword": "the quick brown fox"}}})
    assert long_kw.json()["hits"]["total"]["value"] == 0
    short_kw = await asgi_client.post("/fl/_search", json={"query": {"term": {"keyword": "foo bar"}}})
    assert short_kw.json()["hits"]["total"]["value"] == 1
    negative = await asgi_client.put("/fl2", json={"settings": {"index.mapping.ignore_above": -1}})
    assert negative.status_code == 400


async def test_fields_format_and_disabled_source_errors(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/ff", json={"mappings": {"properties": {"k": {"type": "keyword"}, "d": {"type": "date"}}}})
    await asgi_client.put("/ff/_doc/1", json={"k": "a", "d": "1990-12-29T22:30:00Z"}, params={"refresh": "true"})
    ok = await asgi_client.post("/ff/_search", json={"fields": [{"field": "d", "format": "yyyy/MM/dd"}]})
    assert ok.json()["hits"]["hits"][0]["fields"]["d"] == ["1990/12/29"]
    bad = await asgi_client.post("/ff/_search", json={"fields": [{"field": "k", "format": "yyyy/MM/dd"}]})
    assert bad.status_code == 400
    assert "Field [k] of type [keyword] doesn't support formats." in bad.text
    await asgi_client.put("/nosrc", json={"mappings": {"_source": {"enabled": False},
                                                       "properties": {"k": {"type": "keyword"}}}})  # fmt: skip
    await asgi_client.put("/nosrc/_doc/1", json={"k": "a"}, params={"refresh": "true"})
    refused = await asgi_client.post("/nosrc/_search", json={"fields": ["k"]})
    assert refused.status_code == 400
    assert ("Unable to retrieve the requested [fields] since _source is disabled in the mappings for index [nosrc]"
            in refused.text)  # fmt: skip


async def test_include_unmapped_and_disabled_objects(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/um", json={"mappings": {"dynamic": False, "properties": {
        "f1": {"type": "keyword"}, "f2": {"type": "object", "enabled": False}, "f3": {"type": "object"},
        "geo": {"type": "geo_point"}}}})  # fmt: skip
    doc = {"f1": "some text", "f2": {"a": "foo", "b": ["bar", 1]}, "f3": {"c": "baz"}, "f4": "other",
           "geo": {"lat": 1.0, "lon": 2.0}}  # fmt: skip
    assert (await asgi_client.put("/um/_doc/1", json=doc, params={"refresh": "true"})).status_code == 201
    assert (await asgi_client.put("/um/_doc/2", json={"f2": "a concrete value"})).status_code == 201
    body = {"query": {"ids": {"values": ["1"]}}, "fields": ["f1", {"field": "f4", "include_unmapped": True}]}
    hit = (await asgi_client.post("/um/_search", json=body)).json()["hits"]["hits"][0]
    assert hit["fields"] == {"f1": ["some text"], "f4": ["other"]}
    body = {"query": {"ids": {"values": ["1"]}}, "fields": [{"field": "f*", "include_unmapped": True}]}
    hit = (await asgi_client.post("/um/_search", json=body)).json()["hits"]["hits"][0]
    assert hit["fields"] == {"f1": ["some text"], "f2.a": ["foo"], "f2.b": ["bar", 1], "f3.c": ["baz"],
                             "f4": ["other"]}  # fmt: skip
    plain = (await asgi_client.post("/um/_search", json={"query": {"ids": {"values": ["1"]}}, "fields": ["f*"]}))
    assert plain.json()["hits"]["hits"][0]["fields"] == {"f1": ["some text"]}
