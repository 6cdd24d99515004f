"""The fast ingest paths keep the slow paths' results: binary WAL records, parse-once hints, cached bulk
action lines, batched auto ids and the flat-document shortcut of ``CompiledMapping.document``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import orjson
import pytest

from cluster.writes import _all_mapped_leaves, auto_ids
from native.analysis import Analysis
from native.errors import QuidditchError
from native.mapping import Mapping
from native.schema import CompiledMapping
from native.shard import Shard
from native.wal import WriteAheadLog, delete_payload, index_payload
from native.writes import WriteOp
from server.handlers import bulk as bulk_handlers
from server.handlers.bulk import parse_bulk
from tests.crash_copy import crash_copy

MAPPING = {"properties": {"n": {"type": "long"}, "title": {"type": "text"}, "tag": {"type": "keyword"},
                          "at": {"type": "date"}, "obj": {"properties": {"x": {"type": "long"}}}}}  # fmt: skip


def test_binary_and_json_wal_records_replay_alike(tmp_path: Path) -> None:
    path = str(tmp_path / "wal.log")
    wal = WriteAheadLog(path)
    wal.append([{"op": "index", "id": "a", "seq_no": 0, "version": 1, "term": 1, "source": '{"n":1}'}])
    wal.append_payloads([index_payload("é/b", 1, 2, 3, b'{"n":2}'), delete_payload("a", 2, 2, 1)])
    assert list(wal.replay()) == [
        {"op": "index", "id": "a", "seq_no": 0, "version": 1, "term": 1, "source": '{"n":1}'},
        {"op": "index", "id": "é/b", "seq_no": 1, "version": 2, "term": 3, "source": b'{"n":2}'},
        {"op": "delete", "id": "a", "seq_no": 2, "version": 2, "term": 1},
    ]
    wal.close()


def test_a_binary_record_with_a_bad_id_length_is_a_torn_tail(tmp_path: Path) -> None:
    path = str(tmp_path / "wal.log")
    wal = WriteAheadLog(path)
    good = index_payload("a", 0, 1, 1, b"{}")
    wal.append_payloads([good, delete_payload("b", 1, 1, 1) + b"x"])  # a delete carries nothing after its id
    assert [r["id"] for r in wal.replay()] == ["a"]
    assert Path(path).stat().st_size == 8 + len(good)
    wal.close()


def _shard(path: Path) -> Shard:
    return Shard(str(path), Mapping(MAPPING), Analysis.from_settings({}), index_name="t")


def test_parsed_hint_and_crash_replay_give_the_same_documents(tmp_path: Path) -> None:
    live = tmp_path / "live"
    shard = _shard(live)
    sources = [orjson.dumps({"n": i, "title": f"doc {i}", "obj": {"x": i}}) for i in range(4)]
    try:
        ops = [WriteOp("index", str(i), source=s, auto_id=True, parsed=orjson.loads(s)) for i, s in enumerate(sources)]
        assert [r.status for r in shard.write(ops)] == [201] * 4
        assert shard.write([WriteOp("delete", "3")])[0].result == "deleted"
        crash_copy(live, tmp_path / "crashed")  # unrefreshed: everything is only in the WAL
    finally:
        shard.close()
    reopened = _shard(tmp_path / "crashed")
    try:
        assert [reopened.get(str(i)).source for i in range(3)] == sources[:3]  # type: ignore[union-attr]
        assert reopened.get("3") is None
        assert reopened.num_docs() == 3
        assert reopened.write([WriteOp("index", "new", source=b"{}")])[0].seq_no == 5
    finally:
        reopened.close()


def test_flat_shortcut_matches_the_general_walk() -> None:
    compiled = CompiledMapping(Mapping(MAPPING), Analysis.from_settings({}))
    docs = [
        {"n": 1, "title": "a b", "tag": "t", "at": "2024-01-02T03:04:05.678Z"},
        {"obj": {"x": 5}, "n": [1, 2], "title": ["x", "y"], "unmapped": {"deep": 1}},
        {"at": 1704067200000, "tag": "x" * 10, "obj.x": 7},
    ]
    for doc in docs:
        raw = orjson.dumps(doc)
        built = orjson.loads(compiled.document("id", raw, doc, seq_no=0, version=1, primary_term=1))
        # an extra unmapped key mixes the shortcut and the general walk: the mapped output must not change
        wrapped = {"_": 0, **doc}
        general = orjson.loads(compiled.document("id", raw, wrapped, seq_no=0, version=1, primary_term=1))
        assert built == general
    flat = orjson.loads(compiled.document("id", b"{}", docs[0], seq_no=0, version=1, primary_term=1))
    assert flat["f_at"] == 1704164645678 and flat["f_n"] == 1 and flat["_field_names"] == ["title"]


def test_all_mapped_leaves_shortcut_agrees() -> None:
    mapping = Mapping(MAPPING)
    for doc in ({"n": 1, "tag": "x"}, {"n": 1, "other": 2}, {"obj": {"x": 1}}, {"n": [{"a": 1}]}, {"tag": "{"}):
        assert _all_mapped_leaves(doc, mapping, orjson.dumps(doc)) == _all_mapped_leaves(doc, mapping)


def test_auto_ids_are_unique_20_char_url_safe() -> None:
    ids = auto_ids(5000)
    assert len(set(ids)) == 5000
    assert all(len(i) == 20 and "=" not in i and "+" not in i and "/" not in i for i in ids)


def test_cached_action_lines_still_give_independent_items() -> None:
    body = b"\n".join([
        b'{"index":{"_index":"a"}}', b'{"n":1}',
        b'{"index":{"_index":"a"}}', b'{"n":2}',
        b'{"create":{"_index":"a","_id":"x","routing":"r"}}', b'{"n":3}',
        b'{"delete":{"_index":"a","_id":"x"}}',
        b'{"index":{"_index":"a"}}', b'{"n":4}',
    ]) + b"\n"  # fmt: skip
    items = parse_bulk(body, None, {"routing": "default"})
    assert [(i.action, i.id, i.routing, i.source) for i in items] == [  # type: ignore[union-attr]
        ("index", None, "default", b'{"n":1}'),
        ("index", None, "default", b'{"n":2}'),
        ("create", "x", "r", b'{"n":3}'),
        ("delete", "x", "default", None),
        ("index", None, "default", b'{"n":4}'),
    ]
    assert len({id(i) for i in items}) == 5


def _general_walk(body: bytes, index: str | None, params: dict[str, str]) -> list[Any]:
    """``parse_bulk`` with the uniform-body shortcut off."""
    saved = bulk_handlers._uniform_documents
    bulk_handlers._uniform_documents = lambda *args: None  # type: ignore[assignment]
    try:
        return _parsed(body, index, params)
    finally:
        bulk_handlers._uniform_documents = saved


def _parsed(body: bytes, index: str | None, params: dict[str, str]) -> list[Any]:
    try:
        return _items(parse_bulk(body, index, params))
    except QuidditchError as exc:  # the whole request fails
        return [exc.to_dict()]


def _items(parsed: list[Any]) -> list[Any]:
    return [p.to_dict() if isinstance(p, QuidditchError) else dataclasses.astuple(p) for p in parsed]


@pytest.mark.parametrize(
    ("body", "index", "params", "uniform"),
    [
        (b'{"index":{"_index":"a"}}\n{"n":1}\n{"index":{"_index":"a"}}\n{"n":2}\n', None, {}, True),
        (b'{"index":{}}\n{"n":1}\n{"index":{}}\n{"n":2}', "b", {"routing": "r"}, True),  # no final newline
        (b'{"create":{"_index":"<logs-{now/d}>","_id":"x"}}\n{"n":1}\n', None, {"require_alias": "false"}, True),
        (b'{"index":{"_index":"a","op_type":"create"}}\n{"n":1}\n', None, {}, True),
        (b'{"index":{"_index":"a"}}\r\n{"n":1}\r\n', None, {}, False),  # \r: the general walk
        (b'{"index":{"_index":"a"}}\n\n{"n":1}\n', None, {}, False),  # a blank line
        (b'{"index":{"_index":"a"}}\n  \n{"index":{"_index":"a"}}\n{"n":1}\n', None, {}, False),  # fails whole
        (b'{"index":{"_index":"a"}}\n{"n":1}\n{"index":{"_index":"a"}}\n', None, {}, False),  # no last document
        (b'{"delete":{"_index":"a","_id":"1"}}\n{"delete":{"_index":"a","_id":"1"}}\n', None, {}, False),
        (b'{"update":{"_index":"a","_id":"1"}}\n{"doc":{"n":1}}\n', None, {}, False),
        (b'{"index":{"_index":"A"}}\n{"n":1}\n', None, {}, False),  # an invalid name: reported per item
        (b'{"index":{}}\n{"n":1}\n', None, {}, False),  # no index at all
        (b'{"index":{"_index":"a"}}\n{"n":1}\n{"index":{"_index":"b"}}\n{"n":2}\n', None, {}, False),
    ],
)
def test_uniform_bodies_parse_as_the_general_walk_does(
    body: bytes, index: str | None, params: dict[str, str], uniform: bool
) -> None:
    assert (bulk_handlers._uniform_documents(body, index, params.get("routing"), False) is not None) == uniform
    assert _parsed(body, index, params) == _general_walk(body, index, params)
