"""Mapping features beyond the core types, against a real tantivy index (``native.shard.Shard``)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import orjson
import pytest
import tantivy

from native.analysis import Analysis
from native.errors import IllegalArgument, MapperParsingError, StrictDynamicMappingError
from native.fields import FIELD_NAMES_FIELD, ID_FIELD
from native.mapping import Mapping, parse_geo_point
from native.schema import CompiledMapping
from native.shard import Shard
from native.writes import WriteOp


def _shard(tmp: Path, body: dict[str, Any], settings: dict[str, Any] | None = None) -> Shard:
    analysis = Analysis.from_settings({}, index_settings=settings)
    return Shard(str(tmp), Mapping(body), analysis)


def _index(shard: Shard, docs: dict[str, dict[str, Any]]) -> None:
    results = shard.write([WriteOp("index", doc_id, orjson.dumps(doc)) for doc_id, doc in docs.items()])
    for r in results:
        if r.error is not None:
            raise r.error
    shard.refresh(force=True)


def _ids(shard: Shard, query: tantivy.Query) -> set[str]:
    _, searcher = shard.acquire_searcher()
    return {searcher.doc(addr)[ID_FIELD][0] for _, addr in searcher.search(query, 100).hits}


def _range(shard: Shard, name: str, ftype: tantivy.FieldType, lo: Any, hi: Any) -> set[str]:
    return _ids(shard, tantivy.Query.range_query(shard.compiled.schema, name, ftype, lo, hi))


def _term(shard: Shard, name: str, value: Any) -> set[str]:
    return _ids(shard, tantivy.Query.term_query(shard.compiled.schema, name, value))


# -- geo_point ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        {"lat": 41.12, "lon": -71.34},
        {"lat": "41.12", "lon": "-71.34"},
        "41.12,-71.34",
        [-71.34, 41.12],
        "POINT (-71.34 41.12)",
        {"type": "Point", "coordinates": [-71.34, 41.12]},
    ],
)
def test_geo_point_formats_parse_to_the_same_point(value):
    lat, lon = parse_geo_point(value)
    assert lat == pytest.approx(41.12) and lon == pytest.approx(-71.34)


def test_geohash_decodes_to_its_cell():
    lat, lon = parse_geo_point("drm3btev3e86")
    assert lat == pytest.approx(41.12, abs=1e-4) and lon == pytest.approx(-71.34, abs=1e-4)


@pytest.mark.parametrize("bad", ["foo,bar", {"lat": 95, "lon": 0}, [200, 0], "abc!", {"lat": 1}, True])
def test_bad_geo_points_are_mapper_parsing_errors(tmp_path, bad):
    shard = _shard(tmp_path, {"properties": {"geo": {"type": "geo_point"}}})
    with pytest.raises(MapperParsingError, match=r"failed to parse field \[geo\] of type \[geo_point\]"):
        _index(shard, {"1": {"geo": bad}})


def test_geo_point_ignore_malformed_keeps_the_document(tmp_path):
    shard = _shard(tmp_path, {"properties": {"geo": {"type": "geo_point", "ignore_malformed": True}}})
    _index(shard, {"1": {"geo": "nope"}, "2": {"geo": "1,2"}})
    assert shard.num_docs() == 2


def test_geo_point_stores_lat_lon_in_hidden_fast_fields(tmp_path):
    shard = _shard(tmp_path, {"properties": {"geo": {"type": "geo_point"}, "n": {"type": "long"}}})
    _index(shard, {"a": {"geo": [-71.34, 41.12]}, "b": {"geo": ["10,20", {"lat": 50, "lon": 60}]}, "c": {"n": 1}})
    info = shard.compiled.field("geo")
    assert info is not None and info.es_type == "geo_point"
    lat, lon = str(info.extra["lat"]), str(info.extra["lon"])
    assert _range(shard, lat, tantivy.FieldType.Float, 41.0, 42.0) == {"a"}
    assert _range(shard, lon, tantivy.FieldType.Float, 55.0, 65.0) == {"b"}
    assert _range(shard, lat, tantivy.FieldType.Float, 5.0, 15.0) == {"b"}
    assert _term(shard, FIELD_NAMES_FIELD, "geo") == {"a", "b"}


# -- range types ----------------------------------------------------------------------------------------------
def test_date_range_bounds_are_inclusive_hidden_fields(tmp_path):
    shard = _shard(tmp_path, {"properties": {"range": {"type": "date_range"}}})
    _index(
        shard,
        {
            "1": {"range": {"gte": "2016-01-01", "lt": "2016-01-02"}},
            "2": {"range": {"gte": "2016-04-01"}},
            "3": {"range": {"lt": "2016-02-01"}},
        },
    )
    info = shard.compiled.field("range")
    assert info is not None and info.extra["bound_type"] == "date"
    gte, lte = str(info.extra["gte"]), str(info.extra["lte"])
    day = 86_400_000
    jan1 = 1_451_606_400_000
    assert _term(shard, gte, jan1) == {"1"}
    assert _term(shard, lte, jan1 + day - 1) == {"1"}  # lt → inclusive upper bound one ms before
    # intersects [2016-03-01, 2016-05-01]: lower <= q_hi and upper >= q_lo
    q_lo, q_hi = jan1 + 60 * day, jan1 + 121 * day
    lower_ok = _range(shard, gte, tantivy.FieldType.Integer, -(2**63), q_hi)
    upper_ok = _range(shard, lte, tantivy.FieldType.Integer, q_lo, 2**63 - 1)
    assert lower_ok & upper_ok == {"2"}


@pytest.mark.parametrize(
    ("ftype", "value", "expected"),
    [
        ("integer_range", {"gt": 1, "lt": 10}, (2, 9)),
        ("long_range", {"gte": "5"}, (5, 2**63 - 1)),
        ("double_range", {"gte": 1.5, "lte": 2.5}, (1.5, 2.5)),
        ("ip_range", "10.0.0.0/8", ("::ffff:10.0.0.0", "::ffff:10.255.255.255")),
        ("ip_range", {"gte": "10.0.0.1", "lt": "10.0.0.9"}, ("::ffff:10.0.0.1", "::ffff:10.0.0.8")),
    ],
)
def test_range_values_become_inclusive_bounds(ftype, value, expected):
    from native.mapping import convert_value

    mapping = Mapping({"properties": {"r": {"type": ftype}}})
    leaf = mapping.leaf("r")
    assert leaf is not None
    got = convert_value(leaf, value, "1")
    if ftype == "ip_range":
        got = tuple(ipaddress.ip_address(v) for v in got)
        expected = tuple(ipaddress.ip_address(v) for v in expected)
    assert got == expected


def test_range_with_min_above_max_is_rejected(tmp_path):
    shard = _shard(tmp_path, {"properties": {"r": {"type": "integer_range"}}})
    with pytest.raises(MapperParsingError):
        _index(shard, {"1": {"r": {"gte": 10, "lte": 1}}})
    with pytest.raises(MapperParsingError) as err:
        _index(shard, {"1": {"r": {"gte": 1, "foo": 2}}})
    assert err.value.caused_by is not None
    assert err.value.caused_by.reason == "error parsing field [r], with unknown parameter [foo]"


def test_ip_range_is_searchable_by_bounds(tmp_path):
    shard = _shard(tmp_path, {"properties": {"r": {"type": "ip_range"}}})
    _index(shard, {"1": {"r": "192.168.0.0/16"}, "2": {"r": {"gte": "10.0.0.1", "lte": "10.0.0.5"}}})
    info = shard.compiled.field("r")
    assert info is not None
    assert _term(shard, str(info.extra["gte"]), "::ffff:192.168.0.0") == {"1"}


# -- nested / object ------------------------------------------------------------------------------------------
def test_nested_stays_out_of_the_top_level_document_and_dynamic_updates_merge(tmp_path):
    mapping = Mapping({"properties": {"users": {"type": "nested"}}})
    doc = {"group": "fans", "users": [{"first": "John", "last": "Smith"}, {"first": "Alice", "last": "White"}]}
    update = mapping.dynamic_update(doc)
    assert update is not None
    merged = mapping.merge({"properties": update})
    users = merged.to_dict()["properties"]["users"]
    assert users["type"] == "nested"
    assert set(users["properties"]) == {"first", "last"}
    shard = Shard(str(tmp_path), merged, Analysis.from_settings({}))
    _index(shard, {"1": doc})
    info = shard.compiled.field("users.first.keyword")
    assert info is not None
    # nested objects are their own documents (native.nested), not flat fields of the top-level one
    assert _term(shard, info.tantivy_name, "Alice") == set()
    assert _term(shard, shard.compiled.field("group.keyword").tantivy_name, "fans") == {"1"}


def test_nested_to_object_is_still_a_conflict():
    mapping = Mapping({"properties": {"users": {"type": "nested"}}})
    with pytest.raises(IllegalArgument, match=r"cannot be changed from type \[nested\] to \[object\]"):
        mapping.merge({"properties": {"users": {"type": "object"}}})


def test_disabled_object_is_kept_in_source_only(tmp_path):
    body = {"properties": {"session": {"type": "object", "enabled": False}, "n": {"type": "long"}}}
    mapping = Mapping(body)
    doc = {"session": {"anything": [1, "x", {"deep": True}]}, "n": 1}
    assert mapping.dynamic_update(doc) is None
    shard = Shard(str(tmp_path), mapping, Analysis.from_settings({}))
    _index(shard, {"1": doc})
    assert shard.compiled.field("session.anything") is None
    assert orjson.loads(shard.get("1").source)["session"] == doc["session"]  # type: ignore[union-attr]


def test_dotted_property_names_expand_into_objects():
    mapping = Mapping({"properties": {"subfield.text3": {"type": "text"}}})
    assert mapping.to_dict()["properties"] == {"subfield": {"properties": {"text3": {"type": "text"}}}}
    merged = mapping.merge({"properties": {"text1": {"type": "text", "fields": {"raw": {"type": "keyword"}}}}})
    props = merged.to_dict()["properties"]
    assert props["subfield"]["properties"]["text3"] == {"type": "text"}
    assert props["text1"]["fields"]["raw"]["type"] == "keyword"


# -- invalid mappings -----------------------------------------------------------------------------------------
def test_empty_field_name_is_illegal_argument():
    with pytest.raises(IllegalArgument, match="field name cannot be an empty string"):
        Mapping({"properties": {"": {"type": "keyword"}}})
    with pytest.raises(IllegalArgument):
        Mapping({}).merge({"properties": {"": {"type": "keyword"}}})


def test_put_mapping_with_doc_type_is_refused():
    with pytest.raises(IllegalArgument, match=r"^Types cannot be provided in put mapping requests$"):
        Mapping({}).merge({"_doc": {"properties": {"field": {"type": "keyword"}}}})
    # create index still unwraps the type
    assert Mapping({"_doc": {"properties": {"f": {"type": "keyword"}}}}).leaf("f") is not None


def test_synthetic_source_cannot_be_disabled():
    mapping = Mapping({"_source": {"mode": "synthetic"}})
    with pytest.raises(IllegalArgument, match=r"Cannot update parameter \[mode\] from \[synthetic\] to \[stored\]"):
        mapping.merge({"_source": {"mode": "stored"}})
    Mapping({"_source": {"mode": "stored"}}).merge({"_source": {"mode": "synthetic"}})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"f": {"type": "geo_point", "analyzer": "x"}}, r"unknown parameter \[analyzer\]"),
        ({"f": {"type": "alias", "path": "missing"}}, "an alias must refer to an existing field"),
        ({"f": {"type": "alias", "path": "f"}}, "an alias cannot refer to itself"),
        ({"f": {"type": "token_count"}}, "Analyzer must be set"),
        ({"f": {"type": "long", "null_value": "abc"}}, r"Error parsing \[null_value\]"),
        ({"f": {"type": "no_such_type"}}, r"No handler for type \[no_such_type\]"),
    ],
)
def test_invalid_field_definitions(body, message):
    with pytest.raises(MapperParsingError, match=message):
        Mapping({"properties": body})


# -- other accepted types -------------------------------------------------------------------------------------
def test_exotic_types_are_accepted_and_documents_index(tmp_path):
    body = {
        "properties": {
            "bin": {"type": "binary"},
            "vec": {"type": "dense_vector", "dims": 3},
            "sparse": {"type": "sparse_vector"},
            "rank": {"type": "rank_feature"},
            "ranks": {"type": "rank_features"},
            "suggest": {"type": "completion"},
            "shape": {"type": "geo_shape"},
            "ver": {"type": "version"},
            "big": {"type": "unsigned_long"},
            "nanos": {"type": "date_nanos"},
            "sayt": {"type": "search_as_you_type"},
            "labels": {"type": "flattened"},
            "title": {"type": "text", "fields": {"length": {"type": "token_count", "analyzer": "standard"}}},
            "route": {"type": "alias", "path": "ver"},
        }
    }
    shard = _shard(tmp_path, body)
    doc = {
        "bin": "U29tZSBiaW5hcnkgYmxvYg==",
        "vec": [0.5, 1.0, 2.0],
        "sparse": {"running": 2.4, "good": 2.1},
        "rank": 8,
        "ranks": {"politics": 20, "economics": 50.8},
        "suggest": {"input": ["Nevermind", "Nirvana"], "weight": 34},
        "shape": {"type": "point", "coordinates": [-77.03, 38.89]},
        "ver": "1.2.3",
        "big": 9223372036854775807,
        "nanos": "2015-01-01T12:10:30.123456789Z",
        "sayt": "quick brown fox",
        "labels": {"priority": "urgent", "release": ["v1.2.5", "v1.3.0"], "deep": {"x": "y"}},
        "title": "the quick brown fox",
    }
    _index(shard, {"1": doc})
    c = shard.compiled
    assert _term(shard, c.field("ver").tantivy_name, "1.2.3") == {"1"}  # type: ignore[union-attr]
    assert _term(shard, c.field("big").tantivy_name, 2**63 - 1) == {"1"}  # type: ignore[union-attr]
    nanos = c.field("nanos")
    assert nanos is not None and nanos.es_type == "date"
    assert _term(shard, nanos.tantivy_name, 1_420_114_230_123) == {"1"}
    labels = c.field("labels")
    assert labels is not None and labels.es_type == "keyword"
    for value in ("urgent", "v1.3.0", "y"):
        assert _term(shard, labels.tantivy_name, value) == {"1"}
    length = c.field("title.length")
    assert length is not None and length.es_type == "integer"
    assert _term(shard, length.tantivy_name, 4) == {"1"}
    sayt = c.field("sayt._2gram")
    assert sayt is not None and sayt.es_type == "text"
    assert _term(shard, sayt.tantivy_name, "brown") == {"1"}
    source_only = {"bin": "binary", "vec": "dense_vector", "sparse": "sparse_vector", "rank": "rank_feature",
                   "suggest": "completion", "shape": "geo_shape"}  # fmt: skip
    for name, es_type in source_only.items():
        info = c.field(name)
        assert info is not None and info.es_type == es_type
        assert _term(shard, FIELD_NAMES_FIELD, name) == {"1"}  # exists works through _field_names
    assert c.field("bin").extra["searchable"] is False  # type: ignore[union-attr]
    alias = c.field("route")
    assert alias is not None and alias.path == "route" and alias.tantivy_name == c.field("ver").tantivy_name  # type: ignore[union-attr]
    with pytest.raises(MapperParsingError, match=r"Cannot write to a field alias \[route\]"):
        _index(shard, {"2": {"route": "x"}})


def test_unsigned_long_takes_the_u64_range():
    shard_mapping = Mapping({"properties": {"u": {"type": "unsigned_long"}}})
    compiled = CompiledMapping(shard_mapping, Analysis.from_settings({}))
    compiled.document("1", b"{}", {"u": 2**64 - 1}, seq_no=0, version=1, primary_term=1)
    for bad in (2**64, -1):
        with pytest.raises(MapperParsingError):
            compiled.document("1", b"{}", {"u": bad}, seq_no=0, version=1, primary_term=1)


# -- copy_to, index: false, null_value, ignore_malformed, coerce ----------------------------------------------
def test_copy_to_indexes_values_into_the_targets(tmp_path):
    body = {
        "properties": {
            "first": {"type": "text", "copy_to": "full"},
            "last": {"type": "text", "copy_to": ["full", "tags"]},
            "full": {"type": "text"},
            "tags": {"type": "keyword"},
        }
    }
    shard = _shard(tmp_path, body)
    _index(shard, {"1": {"first": "John", "last": "Smith"}, "2": {"first": "Jane", "full": "Doe"}})
    full = shard.compiled.field("full")
    tags = shard.compiled.field("tags")
    assert full is not None and tags is not None
    assert _term(shard, full.tantivy_name, "john") == {"1"}
    assert _term(shard, full.tantivy_name, "smith") == {"1"}
    assert _term(shard, full.tantivy_name, "jane") == {"2"}
    assert _term(shard, full.tantivy_name, "doe") == {"2"}
    assert _term(shard, tags.tantivy_name, "Smith") == {"1"}
    assert _term(shard, FIELD_NAMES_FIELD, "full") == {"1", "2"}


def test_copy_to_an_unmapped_target_is_mapped_dynamically():
    mapping = Mapping({"properties": {"a": {"type": "keyword", "copy_to": "all.text"}}})
    update = mapping.dynamic_update({"a": "x"})
    assert update == {
        "all": {
            "properties": {"text": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}}
        }
    }


def test_text_with_index_false_is_not_searchable(tmp_path):
    shard = _shard(
        tmp_path, {"properties": {"t": {"type": "text", "index": False}, "n": {"type": "long", "index": False}}}
    )
    _index(shard, {"1": {"t": "hello", "n": 5}})
    t = shard.compiled.field("t")
    n = shard.compiled.field("n")
    assert t is not None and t.extra["searchable"] is False
    assert _term(shard, t.tantivy_name, "hello") == set()
    assert t not in shard.compiled.default_fields()
    assert n is not None and n.extra["searchable"] is True  # ES 8.1+: doc-values search
    assert _term(shard, n.tantivy_name, 5) == {"1"}


def test_null_value_is_indexed_for_null(tmp_path):
    shard = _shard(
        tmp_path,
        {"properties": {"s": {"type": "keyword", "null_value": "NULL"}, "n": {"type": "long", "null_value": -1}}},
    )
    _index(shard, {"1": {"s": None, "n": None}, "2": {"s": "x", "n": [None, 3]}})
    s, n = shard.compiled.field("s"), shard.compiled.field("n")
    assert _term(shard, s.tantivy_name, "NULL") == {"1"}  # type: ignore[union-attr]
    assert _term(shard, n.tantivy_name, -1) == {"1", "2"}  # type: ignore[union-attr]


def test_index_level_ignore_malformed(tmp_path):
    body = {"properties": {"n": {"type": "long"}, "strict": {"type": "long", "ignore_malformed": False}}}
    shard = _shard(tmp_path, body, {"index.mapping.ignore_malformed": "true"})
    _index(shard, {"1": {"n": "not a number"}})
    assert shard.num_docs() == 1
    with pytest.raises(MapperParsingError):
        _index(shard, {"2": {"strict": "not a number"}})


def test_coerce_false_rejects_strings_and_fractions(tmp_path):
    shard = _shard(tmp_path, {"properties": {"n": {"type": "integer", "coerce": False}, "c": {"type": "integer"}}})
    _index(shard, {"1": {"c": "5", "n": 5}})
    with pytest.raises(MapperParsingError):
        _index(shard, {"2": {"n": "5"}})
    with pytest.raises(MapperParsingError):
        _index(shard, {"3": {"n": 5.5}})


# -- dynamic templates and detection --------------------------------------------------------------------------
def test_dynamic_templates_match_in_order():
    mapping = Mapping(
        {
            "dynamic_templates": [
                {"ints": {"match_mapping_type": "long", "mapping": {"type": "integer"}}},
                {"strings_kw": {"match_mapping_type": "string", "match": "*_kw", "mapping": {"type": "keyword"}}},
                {"re": {"match_pattern": "regex", "match": "^ip_\\d+$", "mapping": {"type": "ip"}}},
                {"no_text": {"match_mapping_type": "string", "unmatch": "*_text",
                             "mapping": {"type": "{dynamic_type}", "analyzer": "whitespace", "meta": {"n": "{name}"}}}},
                {"by_path": {"path_match": "obj.*", "path_unmatch": "obj.skip", "mapping": {"type": "keyword"}}},
                {"objs": {"match_mapping_type": "object", "match": "nest*", "mapping": {"type": "nested"}}},
            ]
        }
    )  # fmt: skip
    doc = {"count": 3, "a_kw": "x", "body": "y", "body_text": "z", "obj": {"inner": 1.5, "skip": True},
           "nested_thing": {"k": 1}, "ip_1": "10.0.0.1", "flag": False}  # fmt: skip
    update = mapping.dynamic_update(doc)
    assert update is not None
    props = update
    assert props["count"] == {"type": "integer"}
    assert props["a_kw"] == {"type": "keyword"}
    assert props["body"] == {"type": "text", "analyzer": "whitespace", "meta": {"n": "body"}}
    assert props["body_text"]["type"] == "text" and "fields" in props["body_text"]
    assert props["obj"]["properties"]["inner"] == {"type": "keyword"}
    assert props["obj"]["properties"]["skip"] == {"type": "boolean"}
    assert props["nested_thing"]["type"] == "nested"
    assert props["nested_thing"]["properties"]["k"] == {"type": "integer"}
    assert props["ip_1"] == {"type": "ip"}
    merged = mapping.merge({"properties": update})
    assert merged.leaf("nested_thing.k") is not None


def test_numeric_detection_and_dynamic_date_formats():
    mapping = Mapping({"numeric_detection": True, "dynamic_date_formats": ["yyyy/MM/dd"]})
    update = mapping.dynamic_update({"a": "42", "b": "4.5", "c": "2020/01/02", "d": "hello"})
    assert update is not None
    assert update["a"] == {"type": "long"}
    assert update["b"] == {"type": "float"}
    assert update["c"] == {"type": "date", "format": "yyyy/MM/dd"}
    assert update["d"]["type"] == "text"


def test_default_dynamic_slash_date_keeps_its_format(tmp_path):
    mapping = Mapping({})
    update = mapping.dynamic_update({"d": "2020/01/02 10:00:00"})
    assert update is not None and update["d"]["type"] == "date" and "format" in update["d"]
    shard = Shard(str(tmp_path), mapping.merge({"properties": update}), Analysis.from_settings({}))
    _index(shard, {"1": {"d": "2020/01/02 10:00:00"}})


def test_strict_dynamic_still_refuses_new_fields():
    mapping = Mapping({"dynamic": "strict", "properties": {"a": {"type": "keyword"}}})
    with pytest.raises(StrictDynamicMappingError):
        mapping.dynamic_update({"b": 1})


def test_objects_in_arrays_keep_every_value(tmp_path):
    shard = _shard(tmp_path, {"properties": {"users": {"properties": {"first": {"type": "keyword"}}}}})
    _index(shard, {"1": {"users": [{"first": "John"}, {"first": "Alice"}, {"first": ["Bob", "Eve"]}]}})
    info = shard.compiled.field("users.first")
    assert info is not None
    for name in ("John", "Alice", "Bob", "Eve"):
        assert _term(shard, info.tantivy_name, name) == {"1"}


def test_query_error_messages_for_unsupported_fields():
    from native.schema import query_error

    body = {"properties": {"g": {"type": "geo_point"}, "t": {"type": "text", "index": False}, "b": {"type": "binary"},
                           "r": {"type": "long_range"}, "k": {"type": "keyword"}}}  # fmt: skip
    compiled = CompiledMapping(Mapping(body), Analysis.from_settings({}))
    assert "Geometry fields do not support exact searching" in str(query_error(compiled.field("g")))  # type: ignore[arg-type]
    assert query_error(compiled.field("t")) == "Cannot search on field [t] since it is not indexed."  # type: ignore[arg-type]
    assert query_error(compiled.field("b")) == "Binary fields do not support searching"  # type: ignore[arg-type]
    assert query_error(compiled.field("r"), "range") is None  # type: ignore[arg-type]
    assert query_error(compiled.field("r"), "term") is not None  # type: ignore[arg-type]
    assert query_error(compiled.field("k")) is None  # type: ignore[arg-type]


def test_doc_values_cardinality_object_on_keyword() -> None:
    import pytest

    from native.errors import MapperParsingError
    from native.mapping import Mapping

    for cardinality in ("low", "high"):
        mapping = Mapping({"properties": {"k": {"type": "keyword", "index": False,
                                                "doc_values": {"cardinality": cardinality}}}})  # fmt: skip
        leaf = mapping.leaf("k")
        assert leaf is not None and leaf.aggregatable and leaf.searchable
    for bad in ({"cardinality": "medium"}, {"other": "low"}):
        with pytest.raises(MapperParsingError):
            Mapping({"properties": {"k": {"type": "keyword", "doc_values": bad}}})
    with pytest.raises(MapperParsingError):
        Mapping({"properties": {"n": {"type": "long", "doc_values": {"cardinality": "low"}}}})


def test_date_range_inclusive_upper_bound_rounds_up() -> None:
    from native.field_types import Leaf
    from native.values import parse_range

    leaf = Leaf("d", "date_range", {"format": "yyyy-MM-dd"})
    assert parse_range(leaf, {"gte": "2016-10-31", "lte": "2016-11-01"}) == (1477872000000, 1478044799999)
    assert parse_range(leaf, {"gt": "2016-10-31", "lt": "2016-11-01"}) == (1477872000001, 1477958399999)


def test_date_nanos_range() -> None:
    import pytest

    from native.errors import QuidditchError
    from native.field_types import Leaf
    from native.values import convert_value

    leaf = Leaf("d", "date_nanos", {})
    assert convert_value(leaf, "2020-01-01T00:00:00Z", "1") == 1577836800000 * 1_000_000  # epoch nanoseconds
    with pytest.raises(QuidditchError) as before:
        convert_value(leaf, "1969-10-28T12:12:12.123456789Z", "1")
    assert before.value.caused_by is not None
    assert "is before the epoch in 1970 and cannot be stored in nanosecond resolution" in str(before.value.caused_by)
    with pytest.raises(QuidditchError, match="failed to parse field"):
        convert_value(leaf, "2263-10-29T12:12:12.123456789Z", "1")
    assert convert_value(Leaf("d", "date", {}), "1969-10-28T12:12:12Z", "1") < 0
