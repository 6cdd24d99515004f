"""``date_nanos`` storage on a real shard: epoch millis in the field's column, epoch nanos in its hidden one, and
a generation written with the older millisecond-only encoding rebuilt when the shard opens."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import orjson
import pytest
import tantivy

from native.analysis import Analysis
from native.date_nanos import format_date_nanos, parse_date_math_nanos, parse_date_nanos
from native.fields import ID_FIELD
from native.mapping import Mapping
from native.search import SortField, query_shard
from native.shard import Shard
from native.writes import WriteOp

VALUES = {
    "a": ("2018-10-29T12:12:12.123456789Z", 1_540_815_132_123_456_789),
    "b": ("2018-10-29T12:12:12.123456790Z", 1_540_815_132_123_456_790),
    "c": ("1540815132123.4567", 1_540_815_132_123_456_700),  # epoch_millis with a fraction
    "d": (1540815132124, 1_540_815_132_124_000_000),
}
NANOS_BODY = {"properties": {"d": {"type": "date_nanos"}}}


def _open(tmp: Path, body: dict[str, Any]) -> Shard:
    return Shard(str(tmp), Mapping(body), Analysis.from_settings({}, index_settings=None))


def _index(shard: Shard) -> None:
    ops = [WriteOp("index", k, orjson.dumps({"d": v})) for k, (v, _) in VALUES.items()]
    for result in shard.write(ops):
        assert result.error is None, result.error
    shard.refresh(force=True)


def _ids(shard: Shard, query: tantivy.Query) -> set[str]:
    _, searcher = shard.acquire_searcher()
    return {searcher.doc(addr)[ID_FIELD][0] for _, addr in searcher.search(query, 100).hits}


def _check_nanosecond_storage(shard: Shard) -> None:
    info = shard.compiled.field("d")
    assert info is not None and "nanos" in info.extra
    schema = shard.compiled.schema
    for doc_id, (_, nanos) in VALUES.items():
        exact = tantivy.Query.term_query(schema, str(info.extra["nanos"]), nanos)
        assert _ids(shard, exact) == {k for k, (_, n) in VALUES.items() if n == nanos} == {doc_id}
        millis = tantivy.Query.term_query(schema, info.tantivy_name, nanos // 1_000_000)
        assert _ids(shard, millis) == {k for k, (_, n) in VALUES.items() if n // 1_000_000 == nanos // 1_000_000}
    _, searcher = shard.acquire_searcher()
    hits = query_shard(searcher, shard.compiled, tantivy.Query.all_query(), limit=10, sort=[SortField("d", "desc")])
    assert [h.sort_values[0] for h in hits.hits] == sorted((n for _, n in VALUES.values()), reverse=True)


def test_columns_hold_millis_and_nanos(tmp_path: Path) -> None:
    shard = _open(tmp_path, NANOS_BODY)
    _index(shard)
    _check_nanosecond_storage(shard)
    shard.close()


def _old_fingerprint(body: dict[str, Any]) -> str:
    """The fingerprint the millisecond-only encoding recorded (no encoding tag)."""
    leaves: list[tuple[str, str, list[str]]] = [(path, spec["type"], []) for path, spec in body["properties"].items()]
    return orjson.dumps(leaves).decode()


@pytest.mark.parametrize("fingerprint", ["old", "current"])
def test_generation_with_the_millisecond_encoding_is_rebuilt(tmp_path: Path, fingerprint: str) -> None:
    # The older encoding stored date_nanos exactly as a date: one i64 column of epoch millis. A shard built with a
    # ``date`` mapping has that very tantivy schema; its state.json then gets the date_nanos fingerprint.
    old = _open(tmp_path, {"properties": {"d": {"type": "date"}}})
    ops = [
        WriteOp("index", k, orjson.dumps({"d": str(v) if isinstance(v, str) else v})) for k, (v, _) in VALUES.items()
    ]
    for result in old.write(ops[:2] + ops[3:]):  # "c" (a fractional epoch_millis) is not a date value
        assert result.error is None, result.error
    old.refresh(force=True)
    old.close()
    state_path = os.path.join(tmp_path, "state.json")
    with open(state_path) as fh:
        state = json.load(fh)
    if fingerprint == "old":
        state["fingerprint"] = _old_fingerprint(NANOS_BODY)
    else:  # the current fingerprint: the schema mismatch alone must trigger the rebuild
        state["fingerprint"] = Shard._fingerprint(_open(tmp_path / "probe", NANOS_BODY).compiled)
    with open(state_path, "w") as fh:
        json.dump(state, fh)
    shard = _open(tmp_path, NANOS_BODY)
    for result in shard.write([ops[2]]):
        assert result.error is None, result.error
    shard.refresh(force=True)
    _check_nanosecond_storage(shard)
    shard.close()


@pytest.mark.parametrize(
    ("text", "fmt", "nanos"),
    [
        ("2018-10-29T12:12:12.123456789Z", "strict_date_optional_time_nanos", 1_540_815_132_123_456_789),
        ("2018-10-29T12:12:12.1Z", "strict_date_optional_time_nanos", 1_540_815_132_100_000_000),
        ("2018-10-29T14:12:12.123456789+02:00", "strict_date_optional_time", 1_540_815_132_123_456_789),
        ("1540815132.123456789", "epoch_second", 1_540_815_132_123_456_789),
        ("2021-10-13 00:30:04.828123", "yyyy-MM-dd HH:mm:ss.SSSSSS", 1_634_085_004_828_123_000),
    ],
)
def test_parse_and_format_round_trip(text: str, fmt: str, nanos: int) -> None:
    assert parse_date_nanos(text, fmt) == nanos
    kept = nanos - nanos % 1_000_000 if fmt == "strict_date_optional_time" else nanos  # it prints millis only
    assert parse_date_nanos(format_date_nanos(nanos, fmt), fmt) == kept


def test_rendering_and_date_math() -> None:
    n = 1_540_815_132_123_456_789
    assert format_date_nanos(n) == "2018-10-29T12:12:12.123456789Z"
    assert format_date_nanos(n - 456_789) == "2018-10-29T12:12:12.123Z"
    assert format_date_nanos(n - 123_456_789) == "2018-10-29T12:12:12.000Z"
    assert format_date_nanos(n, "strict_date_optional_time") == "2018-10-29T12:12:12.123Z"
    assert format_date_nanos(n, "epoch_millis") == "1540815132123.456789"
    assert format_date_nanos(n - 456_789, "epoch_millis") == "1540815132123"
    assert format_date_nanos(n, "strict_date_optional_time_nanos", "+01:00") == "2018-10-29T13:12:12.123456789+01:00"
    day = 1_540_771_200_000_000_000  # 2018-10-29T00:00:00Z
    assert parse_date_math_nanos("2018-10-29T12:12:12.123456789Z||/d", now_millis=0) == day
    assert parse_date_math_nanos("2018-10-29||/d", now_millis=0, round_up=True) == day + 86_400 * 10**9 - 1
    assert parse_date_math_nanos("2018-10-29T12:12:12.123456789Z||+1h", now_millis=0) == n + 3600 * 10**9
