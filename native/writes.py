"""Shard-level write operations and their results (``native.shard.Shard.write`` / ``index_columns``), and the
document rules they apply: source parsing and ES's partial-update merge."""

from __future__ import annotations

import copy
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

from native.errors import DocumentParsingError, QuidditchError


@dataclass(slots=True)
class WriteOp:
    """One shard-level write. ``source`` is the raw JSON of the document for index/create.

    ``parsed`` is an optional hint: ``orjson.loads(source)`` already made by an in-process caller (the
    coordinator parses every source for dynamic mapping), so the shard does not parse it a second time.
    It must be that exact value (a dict) and is only read.
    """

    op: str  # index | create | delete | update
    id: str
    source: bytes | None = None
    if_seq_no: int | None = None
    if_primary_term: int | None = None
    auto_id: bool = False
    # update only
    doc: dict[str, Any] | None = None
    upsert: dict[str, Any] | None = None
    doc_as_upsert: bool = False
    detect_noop: bool = True
    parsed: dict[str, Any] | None = None
    # external versioning (``native.versioning``): the caller's version, stored as it is
    version: int | None = None
    version_type: str = "internal"
    routing: str | None = None  # custom routing, stored with the document (``_routing``)


@dataclass(slots=True)
class WriteResult:
    id: str
    result: str = ""
    version: int = 0
    seq_no: int = -1
    primary_term: int = 1
    status: int = 200
    error: QuidditchError | None = None


class StoredDoc(NamedTuple):  # a tuple: one is made per written document (the live map)
    id: str
    version: int
    seq_no: int
    primary_term: int
    source: bytes | None  # None: deleted (a tombstone in the live map)
    routing: str | None = None  # the custom routing it was written with


class ColumnsResult(NamedTuple):
    """``Shard.index_columns``: per document, in order (seq_no -1 and version 0 where ``errors`` has it)."""

    seq_nos: list[int]
    versions: list[int]
    updated: list[bool]  # empty when every document was created
    primary_term: int
    errors: dict[int, QuidditchError]


def parse_source(source: bytes) -> dict[str, Any]:
    try:
        parsed = orjson.loads(source)
    except orjson.JSONDecodeError as exc:
        raise DocumentParsingError(f"failed to parse: {exc}") from None
    if not isinstance(parsed, dict):
        raise DocumentParsingError("failed to parse, document is empty")
    return parsed



def deep_merge(base: MappingABC[str, Any], update: MappingABC[str, Any]) -> dict[str, Any]:
    """ES partial-document update semantics: objects merge recursively, everything else replaces."""
    out = copy.deepcopy(dict(base))
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
