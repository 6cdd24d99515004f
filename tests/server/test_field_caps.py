"""``_field_caps``: per-type merge across indices, objects, unmapped, metadata fields, filters and types;
``fields`` rendering of geo points and ranges; date-math index names in the path."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import httpx

from tests.server.helpers import assert_canonical_error

ONE = {"properties": {
    "num": {"type": "double"}, "title": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
    "obj": {"properties": {"a": {"type": "keyword", "doc_values": False}}},
    "deep": {"type": "nested", "properties": {"leaf": {"type": "text", "index": False}}},
}}  # fmt: skip
TWO = {"properties": {
    "num": {"type": "long"}, "title": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
    "obj": {"properties": {"a": {"type": "keyword"}}},
}}  # fmt: skip


async def _caps(client: httpx.AsyncClient, path: str, **params: str) -> dict[str, Any]:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _two_indices(client: httpx.AsyncClient) -> None:
    await client.put("/fc1", json={"mappings": ONE})
    await client.put("/fc2", json={"mappings": TWO})


async def test_types_merge_across_indices(asgi_client: httpx.AsyncClient) -> None:
    await _two_indices(asgi_client)
    body = await _caps(asgi_client, "/fc1,fc2/_field_caps", fields="num,title*,obj*")
    assert body["indices"] == ["fc1", "fc2"]
    fields = body["fields"]
    # two types: each lists its indices
    assert fields["num"]["double"]["indices"] == ["fc1"] and fields["num"]["long"]["indices"] == ["fc2"]
    # one type everywhere: no index lists
    assert fields["title"] == {"text": {"type": "text", "metadata_field": False, "searchable": True,
                                        "aggregatable": False}}  # fmt: skip
    assert fields["title.raw"]["keyword"]["aggregatable"] is True
    # disagreement on a capability names the odd indices
    a = fields["obj.a"]["keyword"]
    assert a["aggregatable"] is False and a["non_aggregatable_indices"] == ["fc1"] and "indices" not in a
    assert a["searchable"] is True and "non_searchable_indices" not in a
    # the parent object of a matched leaf comes along
    assert fields["obj"]["object"] == {"type": "object", "metadata_field": False, "searchable": False,
                                       "aggregatable": False}  # fmt: skip


async def test_nested_parents_unmapped_and_filters(asgi_client: httpx.AsyncClient) -> None:
    await _two_indices(asgi_client)
    fields = (await _caps(asgi_client, "/fc1,fc2/_field_caps", fields="deep*"))["fields"]
    assert fields["deep"]["nested"]["searchable"] is False
    assert fields["deep.leaf"]["text"]["searchable"] is False
    fields = (await _caps(asgi_client, "/fc1,fc2/_field_caps", fields="deep.leaf", include_unmapped="true"))["fields"]
    assert fields["deep.leaf"]["text"]["indices"] == ["fc1"]
    assert fields["deep.leaf"]["unmapped"] == {"type": "unmapped", "metadata_field": False, "searchable": False,
                                               "aggregatable": False, "indices": ["fc2"]}  # fmt: skip
    fields = (await _caps(asgi_client, "/fc1/_field_caps", fields="*", filters="-nested,-multifield,-parent"))["fields"]
    assert "deep.leaf" not in fields and "deep" not in fields and "title.raw" not in fields and "obj" not in fields
    assert "title" in fields and "obj.a" in fields
    fields = (await _caps(asgi_client, "/fc1/_field_caps", fields="*", types="keyword"))["fields"]
    assert sorted(fields) == ["obj.a", "title.raw"]


async def test_metadata_fields(asgi_client: httpx.AsyncClient) -> None:
    await _two_indices(asgi_client)
    fields = (await _caps(asgi_client, "/fc1/_field_caps", fields="*"))["fields"]
    assert fields["_id"]["_id"] == {"type": "_id", "metadata_field": True, "searchable": True, "aggregatable": False}
    assert fields["_index"]["_index"]["aggregatable"] is True
    assert fields["_source"]["_source"]["searchable"] is False
    only_meta = (await _caps(asgi_client, "/fc1/_field_caps", fields="*", filters="+metadata"))["fields"]
    assert only_meta and all(name.startswith("_") for name in only_meta)
    no_meta = (await _caps(asgi_client, "/fc1/_field_caps", fields="*", filters="-metadata"))["fields"]
    assert not any(name.startswith("_") for name in no_meta)


async def test_body_fields_index_filter_and_errors(asgi_client: httpx.AsyncClient) -> None:
    await _two_indices(asgi_client)
    await asgi_client.put("/fc2/_doc/1?refresh=true", json={"num": 5})
    response = await asgi_client.post(
        "/fc*/_field_caps", json={"fields": ["num"], "index_filter": {"range": {"num": {"gte": 1}}}}
    )
    assert response.status_code == 200, response.text
    assert response.json()["indices"] == ["fc2"]
    assert response.json()["fields"]["num"] == {"long": {"type": "long", "metadata_field": False,
                                                         "searchable": True, "aggregatable": True}}  # fmt: skip
    assert_canonical_error(await asgi_client.get("/fc1/_field_caps"), 400, "action_request_validation_exception")
    assert_canonical_error(await asgi_client.get("/fc1/_field_caps?fields=*&filters=bogus"), 400,
                           "illegal_argument_exception")  # fmt: skip


async def test_fields_render_geo_points_and_ranges(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/shapes", json={"mappings": {"properties": {
        "loc": {"type": "geo_point"}, "ages": {"type": "integer_range"}, "net": {"type": "ip_range"},
        "when": {"type": "date_range", "format": "yyyy-MM-dd"},
    }}})  # fmt: skip
    doc = {"loc": [{"lat": 41.5, "lon": -71.25}, [2.5, 48.75]], "ages": {"gt": 10, "lt": 20},
           "net": "10.0.0.0/8", "when": {"gte": "2024-01-01", "lte": "2024-12-31"}}  # fmt: skip
    await asgi_client.put("/shapes/_doc/1?refresh=true", json=doc)
    body = (await asgi_client.post("/shapes/_search", json={"fields": ["*"]})).json()
    fields = body["hits"]["hits"][0]["fields"]
    assert fields["loc"] == [{"type": "Point", "coordinates": [-71.25, 41.5]},
                             {"type": "Point", "coordinates": [2.5, 48.75]}]  # fmt: skip
    assert fields["ages"] == [{"gte": 11, "lte": 19}]
    assert fields["net"] == [{"gte": "10.0.0.0", "lte": "10.255.255.255"}]
    assert fields["when"] == [{"gte": "2024-01-01", "lte": "2024-12-31"}]


async def test_date_math_names_in_paths(asgi_client: httpx.AsyncClient) -> None:
    today = time.strftime("%Y.%m.%d", time.gmtime())
    expression = quote("<logs-{now/d}>", safe="")
    created = await asgi_client.put(f"/{expression}", json={"aliases": {"<cur-{now/d}>": {}}})
    assert created.status_code == 200, created.text
    assert created.json()["index"] == f"logs-{today}"
    assert (await asgi_client.head(f"/_alias/cur-{today}")).status_code == 200
    written = await asgi_client.put(f"/{expression}/_doc/{quote('<a{b}>', safe='')}?refresh=true", json={"x": 1})
    assert written.status_code == 201, written.text
    assert written.json()["_index"] == f"logs-{today}" and written.json()["_id"] == "<a{b}>"
    assert (await asgi_client.get(f"/{expression}/_count")).json()["count"] == 1
    got = await asgi_client.get(f"/{expression}/_doc/{quote('<a{b}>', safe='')}")
    assert got.json()["_source"] == {"x": 1}
    fixed = quote("<logs-{2022-12-31||/d{yyyy-MM-dd}}>", safe="")
    assert (await asgi_client.put(f"/{fixed}")).json()["index"] == "logs-2022-12-31"


async def test_include_empty_fields_false_drops_fields_without_values(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/fce", json={"mappings": {"properties": {
        "foo": {"type": "long"}, "empty": {"type": "text"},
        "obj": {"properties": {"a": {"type": "keyword"}, "b": {"type": "keyword"}}},
        "none": {"properties": {"x": {"type": "keyword"}}}}}})  # fmt: skip
    await asgi_client.put("/fce/_doc/1", json={"foo": 42, "obj": {"a": "v"}, "dyn": "bar"},
                          params={"refresh": "true"})  # fmt: skip
    every = await _caps(asgi_client, "/fce/_field_caps", fields="*")
    assert {"empty", "obj.b", "none", "none.x"} <= set(every["fields"])
    body = await _caps(asgi_client, "/fce/_field_caps", fields="*", include_empty_fields="false")
    names = set(body["fields"])
    assert {"foo", "obj", "obj.a", "dyn", "dyn.keyword", "_index", "_id"} <= names
    assert not names & {"empty", "obj.b", "none", "none.x"}
