"""Strict JSON in, fast JSON out.

Request bodies are parsed the way Elasticsearch's Jackson parser accepts them, which is stricter than
``orjson``/``json`` in two ways: duplicate keys are an error (``Duplicate field 'query'``) and documents
nested deeper than 1000 levels are an error (Jackson's ``StreamReadConstraints``). orjson already rejects
``NaN``/``Infinity`` and ``1e400``.

The common path costs one ``orjson.loads``, one ``orjson.dumps`` of the result and two byte counts
(about 2-3x a bare ``orjson.loads``; see ``tests/server/test_jsonio.py``). Every key/value pair of the
input has one ``:`` outside strings, and re-serialising writes one per surviving key; the ``:`` inside
strings are the same on both sides. So the counts agree exactly when no key was overwritten by a
duplicate, and the slower, exact token scan only runs when there is a duplicate to report (or when a
``\\u003X`` escape, or nesting deeper than orjson serialises, makes the count unusable).

Depth is checked *before* orjson, because this orjson has no nesting limit and overflows the C stack
around a million levels: only inputs with more than 1000 opening brackets are scanned (vectorised with
numpy over the quote and bracket bytes), since fewer cannot nest deeper.

Known differences from Jackson: integers beyond 64 bits become floats (Jackson keeps a BigInteger), and
``/* comments */`` (which ES allows) are rejected.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import orjson

from native.errors import XContentParseError

__all__ = ["MAX_DEPTH", "dumps", "iter_ndjson", "loads"]

MAX_DEPTH = 1000

_SOURCE = "[Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled)"
_DUMPS_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
# quote -> 0, open bracket -> 1, close bracket -> -1 (as int8); everything else deleted
_MARKS = bytes.maketrans(b'"{[}]', b"\x00\x01\x01\xff\xff")
_NOT_MARKS = bytes(b for b in range(256) if b not in b'"{[}]')
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\]:,]', re.DOTALL)


def _parse_error(message: str, line: int, column: int) -> XContentParseError:
    return XContentParseError(f"[{line}:{column}] {message}\n at {_SOURCE}; line: {line}, column: {column}]")


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse one JSON document; raise ``XContentParseError`` for anything Elasticsearch would reject."""
    raw = data if type(data) is bytes else _as_bytes(data)
    if raw.count(b"{") + raw.count(b"[") > MAX_DEPTH:
        # Before orjson: this orjson has no depth limit of its own and overflows the C stack.
        _check_depth(raw)
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _translate(exc, raw) from None
    colons = raw.count(b":")
    if colons > 1 and type(value) in (dict, list):
        # Re-serialising writes one ':' per surviving key plus the ':' inside strings; the input has one
        # per key/value pair plus the same string ':'s. Fewer on output means a key was overwritten.
        # (A \u003a escape decodes to an extra string ':' and would blur the count: scan instead.)
        if b"\\u003" in raw or _dumped_colons(value) != colons:
            _find_duplicate(raw)
    return value


def _dumped_colons(value: Any) -> int:
    try:
        return orjson.dumps(value).count(b":")
    except orjson.JSONEncodeError:  # nested deeper than orjson writes (254 levels)
        return -1


def _as_bytes(data: bytes | bytearray | memoryview | str) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8", "surrogatepass")
    return bytes(data)


def _check_depth(raw: bytes) -> None:
    offset = _deep_bracket_offset(raw, MAX_DEPTH + 1)
    if offset is not None:
        line, column = _position(raw, offset + 1)
        raise _parse_error(
            f"Document nesting depth ({MAX_DEPTH + 1}) exceeds the maximum allowed ({MAX_DEPTH}, from "
            "`StreamReadConstraints.getMaxNestingDepth()`)",
            line,
            column,
        )


def _deep_bracket_offset(raw: bytes, depth: int) -> int | None:
    """Byte offset of the first bracket (outside strings) that opens nesting level ``depth``, if any."""
    # Blank out escaped backslashes and quotes (same length, so offsets hold); then a byte is inside a
    # string exactly when an odd number of quotes precede it.
    blanked = raw.replace(b"\\\\", b"  ").replace(b'\\"', b"  ") if b"\\" in raw else raw
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a dependency; keep a slow exact path anyway
        return _deep_bracket_offset_py(blanked, depth)
    # Vectorised over the quotes and brackets only; the exact offset is then found the slow way.
    marks = np.frombuffer(blanked.translate(_MARKS, _NOT_MARKS), dtype=np.int8)
    outside = (np.cumsum(marks == 0, dtype=np.int32) & 1) == 0
    if int(np.cumsum(marks * outside, dtype=np.int32).max(initial=0)) < depth:
        return None
    return _deep_bracket_offset_py(blanked, depth)


def _deep_bracket_offset_py(blanked: bytes, depth: int) -> int | None:
    level = 0
    in_string = False
    for i, b in enumerate(blanked):
        if b == 34:
            in_string = not in_string
        elif not in_string:
            if b == 123 or b == 91:
                level += 1
                if level >= depth:
                    return i
            elif b == 125 or b == 93:
                level -= 1
    return None


def _position(raw: bytes, offset: int) -> tuple[int, int]:
    line = raw.count(b"\n", 0, offset) + 1
    start = raw.rfind(b"\n", 0, offset) + 1
    return line, len(raw[start:offset].decode("utf-8", "replace")) + 1


def _find_duplicate(raw: bytes) -> None:
    """Scan tokens (iteratively, so depth is no problem) and raise at the first repeated key."""
    text = raw.decode("utf-8")
    # Per open container: None for an array, else (keys seen so far, expecting a key next).
    stack: list[list[Any] | None] = []
    for match in _TOKEN.finditer(text):
        tok = match.group()
        if tok == "{":
            stack.append([set(), True])
        elif tok == "[":
            stack.append(None)
        elif tok in "}]":
            stack.pop()
        elif tok == ":":
            if stack and stack[-1] is not None:
                stack[-1][1] = False
        elif tok == ",":
            if stack and stack[-1] is not None:
                stack[-1][1] = True
        else:
            frame = stack[-1] if stack else None
            if frame is not None and frame[1]:
                key = json.loads(tok)
                if key in frame[0]:
                    line, column = _position(raw, len(text[: match.end()].encode()))
                    raise _parse_error(f"Duplicate field '{key}'", line, column)
                frame[0].add(key)


def _translate(exc: orjson.JSONDecodeError, data: bytes | bytearray | memoryview | str) -> XContentParseError:
    raw = _as_bytes(data)
    if not raw.strip():
        return _parse_error("No content to map due to end-of-input", 1, 1)
    line, column = exc.lineno, exc.colno
    msg = exc.msg
    if "UTF-8" in msg:
        return _parse_error("Invalid UTF-8 middle byte or start byte", line, column)
    if "end of data" in msg:
        return _parse_error(f"Unexpected end-of-input: {msg}", line, column)
    if "infinity" in msg or "number" in msg:
        return _parse_error(f"Numeric value out of range: {msg}", line, column)
    text = raw.decode("utf-8", "replace")
    lines = text.split("\n")
    char = ""
    if 0 < line <= len(lines) and 0 < column <= len(lines[line - 1]):
        char = lines[line - 1][column - 1]
    if char:
        if text[exc.pos : exc.pos + 3] in ("NaN", "Inf", "-In"):
            return _parse_error(
                f"Non-standard token '{'NaN' if char == 'N' else 'Infinity'}': enable "
                "`JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow",
                line,
                column,
            )
        printable = char if char.isprintable() else repr(char)[1:-1]
        return _parse_error(f"Unexpected character ('{printable}' (code {ord(char)})): {msg}", line, column)
    return _parse_error(msg, line, column)


def iter_ndjson(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line_no, line)`` for each non-blank line, numbering lines from 1; ``\\r`` is stripped."""
    for line_no, line in enumerate(data.split(b"\n"), 1):
        if line.endswith(b"\r"):
            line = line[:-1]
        if line and not line.isspace():
            yield line_no, line


def _default(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, (bytes, bytearray)):
        return obj.decode("utf-8", "replace")
    to_float = getattr(obj, "__float__", None)
    if to_float is not None:
        return float(to_float())
    raise TypeError(f"Type is not JSON serializable: {type(obj).__name__}")


def dumps(obj: Any, pretty: bool = False) -> bytes:
    """Serialize a response body (non-str keys, numpy scalars/arrays, dataclasses, sets, Decimals)."""
    option = _DUMPS_OPTIONS | orjson.OPT_INDENT_2 if pretty else _DUMPS_OPTIONS
    try:
        return orjson.dumps(obj, default=_default, option=option)
    except TypeError as exc:  # orjson nests at most 255 deep (deep aggregation trees go past it)
        if "Recursion limit" not in str(exc):
            raise
        return json.dumps(obj, default=_default, indent=2 if pretty else None, ensure_ascii=False,
                          separators=None if pretty else (",", ":")).encode()  # fmt: skip
