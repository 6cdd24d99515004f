from __future__ import annotations

import json
import time

import numpy as np
import orjson
import pytest

from native.errors import XContentParseError
from server import jsonio


def reason_of(data: bytes) -> str:
    with pytest.raises(XContentParseError) as info:
        jsonio.loads(data)
    assert info.value.status == 400
    assert info.value.es_type == "x_content_parse_exception"
    return info.value.reason


@pytest.mark.parametrize(
    "data",
    [
        b'{"query":{"match_all":{}}}',
        b'{"a":"2024-01-01T10:00:00Z","b":"http://x:80/","c":{"d:e":"f:g"}}',
        b'[{"a":1},{"a":2},{"a":3}]',
        b'{"a":{"x":1},"b":{"x":1}}',
        b'{"a":[{"k":1,"v":2},{"k":1,"v":2}]}',
        '{"é":"ü","😀":[1.5,-2,true,false,null]}'.encode(),
        b"  \n{}\n ",
        b"42",
        b'"str"',
        b'{"a\\u003a":1,"b":2}',
        b'{"a":"\\"}{[","b":"\\\\","c":1}',
    ],
)
def test_valid_documents_parse_like_json(data: bytes) -> None:
    assert jsonio.loads(data) == json.loads(data)


def test_accepts_str_bytearray_memoryview() -> None:
    assert jsonio.loads('{"a":1}') == {"a": 1}
    assert jsonio.loads(bytearray(b'{"a":1}')) == {"a": 1}
    assert jsonio.loads(memoryview(b'{"a":1}')) == {"a": 1}


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b'{"query":{"match_all":{}},"query":{"term":{"a":1}}}', "query"),
        (b'{"a":{"b":1,"b":2}}', "b"),
        (b'[{"x":1},{"y":1,"y":1}]', "y"),
        (b'{"t":"10:00","u":{"k":"a:b","k":"c"}}', "k"),  # colons in strings must not mask it
        (b'{"a":1,"\\u0061":2}', "a"),  # escaped spelling of the same key
        (b'{"a\\u003a":1,"a:":2}', "a:"),  # \u003a escape: the count is unreliable, the scan is exact
    ],
)
def test_duplicate_keys_are_rejected(data: bytes, name: str) -> None:
    reason = reason_of(data)
    assert f"Duplicate field '{name}'" in reason
    assert "line: 1, column:" in reason


def test_duplicate_position_counts_lines() -> None:
    reason = reason_of(b'{\n  "a": 1,\n  "a": 2\n}')
    assert reason.startswith("[3:")
    assert "line: 3, column:" in reason


@pytest.mark.parametrize(
    "data", [b'{"a":NaN}', b'{"a":Infinity}', b'{"a":-Infinity}', b"[1e400]", b"[-1e999]"]
)
def test_non_finite_numbers_are_rejected(data: bytes) -> None:
    reason_of(data)


def test_malformed_json_reports_character_line_and_column() -> None:
    reason = reason_of(b'{"a": x}')
    assert "Unexpected character ('x' (code 120))" in reason
    assert "line: 1, column: 7" in reason
    reason = reason_of(b'{\n"a":\n@}')
    assert "('@' (code 64))" in reason and "line: 3, column: 1" in reason


@pytest.mark.parametrize("data", [b'{"a":1', b"[1,2", b'{"a":"unterminated'])
def test_truncated_input(data: bytes) -> None:
    assert "end-of-input" in reason_of(data)


@pytest.mark.parametrize("data", [b"", b"   ", b"\n"])
def test_empty_input(data: bytes) -> None:
    assert "No content" in reason_of(data)


@pytest.mark.parametrize("data", [b'{"a":1,}', b"{'a':1}", b'{"a":1} {"b":2}', b"\xff\xfe"])
def test_other_malformed_inputs(data: bytes) -> None:
    reason = reason_of(data)
    assert "line:" in reason and "column:" in reason


def test_depth_limit_is_1000() -> None:
    assert jsonio.loads(b"[" * 1000 + b"]" * 1000) is not None
    obj = b'{"a":' * 1000 + b"1" + b"}" * 1000
    assert jsonio.loads(obj) is not None
    for deep in (b"[" * 1001 + b"]" * 1001, b'{"a":' * 1001 + b"1" + b"}" * 1001):
        reason = reason_of(deep)
        assert "Document nesting depth (1001) exceeds the maximum allowed (1000" in reason


def test_huge_depth_is_rejected_not_a_crash() -> None:
    # This orjson has no depth limit and overflows the C stack around a million levels.
    reason = reason_of(b"[" * 2_000_000)
    assert "nesting depth" in reason


def test_brackets_inside_strings_do_not_count_towards_depth() -> None:
    data = orjson.dumps({"s": "[" * 5000, "t": "{" * 5000, "u": '\\"[[' * 100})
    assert jsonio.loads(data)["s"] == "[" * 5000
    wide = orjson.dumps([[i] for i in range(5000)])
    assert len(jsonio.loads(wide)) == 5000


def test_iter_ndjson_skips_blank_lines_and_numbers_from_one() -> None:
    data = b'{"index":{}}\n{"a":1}\r\n\n   \n{"delete":{"_id":"1"}}\n'
    assert list(jsonio.iter_ndjson(data)) == [
        (1, b'{"index":{}}'),
        (2, b'{"a":1}'),
        (5, b'{"delete":{"_id":"1"}}'),
    ]
    assert list(jsonio.iter_ndjson(b"")) == []
    assert list(jsonio.iter_ndjson(b'{"a":1}')) == [(1, b'{"a":1}')]


def test_dumps() -> None:
    assert jsonio.dumps({"a": 1}) == b'{"a":1}'
    assert jsonio.dumps({1: "x", None: 2}) == b'{"1":"x","null":2}'
    assert orjson.loads(jsonio.dumps({"n": np.int64(3), "f": np.float32(1.5), "arr": np.arange(3)})) == {
        "n": 3,
        "f": 1.5,
        "arr": [0, 1, 2],
    }
    assert jsonio.dumps({"a": [1]}, pretty=True) == b'{\n  "a": [\n    1\n  ]\n}'
    assert orjson.loads(jsonio.dumps({"s": {3}, "t": (1, 2)})) == {"s": [3], "t": [1, 2]}
    with pytest.raises(TypeError):
        jsonio.dumps({"x": object()})


def test_common_path_stays_close_to_orjson() -> None:
    # A coarse guard, not a benchmark: the duplicate check must not turn into a Python-level walk.
    body = orjson.dumps(
        {
            "@timestamp": "2024-01-01T10:00:00.000Z",
            "message": "GET /index.html HTTP/1.1 200 http://example.com/",
            "host": {"name": "web-1", "ip": "10.0.0.1"},
            "tags": ["a", "b"],
            "geo": {"lat": 1.5, "lon": 2.5},
        }
    )
    docs = orjson.dumps([orjson.loads(body)] * 3000)

    def best(fn: object, data: bytes, n: int) -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(n):
                fn(data)  # type: ignore[operator]
            times.append(time.perf_counter() - start)
        return min(times)

    assert best(jsonio.loads, body, 2000) < 10 * best(orjson.loads, body, 2000)
    assert best(jsonio.loads, docs, 3) < 10 * best(orjson.loads, docs, 3)
