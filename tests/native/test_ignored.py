"""``_ignored``: ignore_above, ignore_malformed (field and index level) and dynamic names past the length
limit; rendered by GET ``stored_fields=_ignored`` and in search hits (``fields``, ``ignored_field_values``)."""

from __future__ import annotations

import httpx

from native.ignored import IgnoredFields
from native.mapping import Mapping

MAPPING = {"properties": {
    "keyword": {"type": "keyword", "ignore_above": 3}, "ip": {"type": "ip", "ignore_malformed": True},
    "value": {"type": "long", "ignore_malformed": True}, "strict": {"type": "long"},
    "title": {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 5}}}}}  # fmt: skip


def test_ignored_values_per_field() -> None:
    ignored = IgnoredFields(Mapping(MAPPING), {})
    doc = {"keyword": ["foo", "foobar"], "ip": ["10.0.0.1", "999.1.1.1"], "value": [1, "ops"], "strict": 3,
           "title": "a long title"}  # fmt: skip
    assert ignored.of(doc) == {"ip": ["999.1.1.1"], "keyword": ["foobar"], "title.raw": ["a long title"],
                               "value": ["ops"]}  # fmt: skip
    assert ignored.of({"keyword": "foo", "ip": "10.0.0.1", "value": 2, "title": "short"}) == {}


def test_index_level_ignore_malformed_and_dynamic_names() -> None:
    mapping = Mapping({"properties": {"n": {"type": "integer"}, "d": {"type": "date"}}})
    assert IgnoredFields(mapping, {}).possible is False
    index_level = IgnoredFields(mapping, {"index.mapping.ignore_malformed": "true"})
    assert index_level.of({"n": "x", "d": "not a date"}) == {"d": ["not a date"], "n": ["x"]}
    names = IgnoredFields(mapping, {"index.mapping.field_name_length.limit": "5",
                                    "index.mapping.field_name_length.ignore_dynamic_beyond_limit": "true"})  # fmt: skip
    assert names.of({"n": 1, "obj": {"toolong": 1, "ok": 2}}) == {"obj.toolong": [1]}


async def test_ignored_in_get_and_search(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.put("/ig", json={"mappings": MAPPING})
    await asgi_client.put("/ig/_doc/1", json={"keyword": "foobar", "value": "ops", "strict": 1},
                          params={"refresh": "true"})  # fmt: skip
    await asgi_client.put("/ig/_doc/2", json={"keyword": "foo"}, params={"refresh": "true"})
    got = (await asgi_client.get("/ig/_doc/1", params={"stored_fields": "_ignored"})).json()
    assert got["_ignored"] == ["keyword", "value"]
    assert "_ignored" not in (await asgi_client.get("/ig/_doc/1")).json()
    assert "_ignored" not in (await asgi_client.get("/ig/_doc/2", params={"stored_fields": "_ignored"})).json()
    hits = (await asgi_client.post("/ig/_search", json={
        "query": {"ids": {"values": ["1", "2"]}}, "sort": ["strict"], "fields": ["_ignored", "key*"]})).json()
    first, second = hits["hits"]["hits"]
    assert first["_id"] == "1" and first["_ignored"] == ["keyword", "value"]
    assert first["fields"]["_ignored"] == ["keyword", "value"]
    assert first["ignored_field_values"] == {"keyword": ["foobar"]}
    assert "_ignored" not in second and "ignored_field_values" not in second
    none = (await asgi_client.post("/ig/_search", json={"query": {"ids": {"values": ["1"]}},
                                                        "stored_fields": "_none_"})).json()  # fmt: skip
    assert "_ignored" not in none["hits"]["hits"][0]


def test_ignore_malformed_does_not_cover_objects() -> None:
    import pytest

    from native.errors import QuidditchError
    from native.field_types import Leaf
    from native.values import convert_value

    for ftype in ("ip", "long", "date", "boolean"):
        leaf = Leaf("f", ftype, {"ignore_malformed": True})
        assert convert_value(leaf, "garbage", "1") is None
        with pytest.raises(QuidditchError, match=r"Preview of field's value: '\{object=wow\}'"):
            convert_value(leaf, {"object": "wow"}, "4")
    assert convert_value(Leaf("g", "geo_point", {"ignore_malformed": True}), {"nope": 1}, "1") is None
