"""``subobjects: false`` and ``auto``: dotted names stay whole in the mapping, objects flatten under false,
and documents with both ``time`` and ``time.max`` index (no object/leaf clash, no duplicate tantivy field)."""

from __future__ import annotations

import httpx

from native.mapping import Mapping

DOC = {"host.name": "localhost", "host.id": 1, "time": 10, "time.max": 100, "time.min": 1}


def test_root_without_subobjects_keeps_dotted_leaves() -> None:
    mapping = Mapping({"subobjects": False, "properties": {"host.name": {"type": "keyword"}}})
    update = mapping.dynamic_update({**DOC, "obj": {"a": 1}})
    assert update == {"host.id": {"type": "long"}, "time": {"type": "long"}, "time.max": {"type": "long"},
                      "time.min": {"type": "long"}, "obj.a": {"type": "long"}}  # fmt: skip
    merged = mapping.merge({"properties": update})
    assert sorted(leaf.path for leaf in merged.iter_leaves()) == [
        "host.id", "host.name", "obj.a", "time", "time.max", "time.min"
    ]
    assert merged.dynamic_update({**DOC, "obj": {"a": 2}}) is None


def test_auto_keeps_dotted_names_but_objects_stay_objects() -> None:
    mapping = Mapping({"subobjects": "auto", "properties": {"host.name": {"type": "keyword"}}})
    update = mapping.dynamic_update({**DOC, "obj": {"a": 1}})
    assert update is not None
    assert update["time.max"] == {"type": "long"} and update["obj"] == {"properties": {"a": {"type": "long"}}}
    merged = mapping.merge({"properties": update})
    assert merged.to_dict()["properties"]["host.name"] == {"type": "keyword"}
    assert sorted(leaf.path for leaf in merged.iter_leaves()) == [
        "host.id", "host.name", "obj.a", "time", "time.max", "time.min"
    ]


def test_dynamic_template_object_without_subobjects() -> None:
    template = {"no_subobjects": {"match": "metrics", "mapping": {
        "type": "object", "subobjects": False, "properties": {"host.name": {"type": "keyword"}}}}}  # fmt: skip
    mapping = Mapping({"dynamic_templates": [template]})
    update = mapping.dynamic_update({f"metrics.{k}": v for k, v in DOC.items()})
    assert update == {"metrics": {"type": "object", "subobjects": False, "properties": {
        "host.name": {"type": "keyword"}, "host.id": {"type": "long"}, "time": {"type": "long"},
        "time.max": {"type": "long"}, "time.min": {"type": "long"}}}}  # fmt: skip


async def test_documents_index_and_search_without_subobjects(asgi_client: httpx.AsyncClient) -> None:
    for index, subobjects in (("flat", False), ("auto", "auto")):
        created = await asgi_client.put(f"/{index}", json={"mappings": {
            "subobjects": subobjects, "properties": {"host.name": {"type": "keyword"}}}})  # fmt: skip
        assert created.status_code == 200, created.text
        put = await asgi_client.put(f"/{index}/_doc/1", json=DOC, params={"refresh": "true"})
        assert put.status_code == 201, put.text
        got = (await asgi_client.get(f"/{index}/_doc/1")).json()
        assert got["_source"] == DOC
        for field, value in (("time", 10), ("time.max", 100), ("host.name", "localhost")):
            search = await asgi_client.post(f"/{index}/_search", json={"query": {"term": {field: value}}})
            assert search.json()["hits"]["total"]["value"] == 1, (index, field, search.text)
        miss = await asgi_client.post(f"/{index}/_search", json={"query": {"term": {"time": 100}}})
        assert miss.json()["hits"]["total"]["value"] == 0
