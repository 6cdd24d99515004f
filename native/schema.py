"""A mapping compiled against one tantivy schema: the shard's ``FieldResolver`` and document builder."""

from __future__ import annotations

import base64
import datetime
import fnmatch
import re
from collections.abc import Iterator, Sequence
from collections.abc import Mapping as MappingABC
from typing import Any

import orjson
import tantivy

from native.analysis import Analysis
from native.fields import (
    FIELD_NAMES_FIELD,
    ID_FIELD,
    NUMERIC_FLOAT_TYPES,
    NUMERIC_INT_TYPES,
    PRIMARY_TERM_FIELD,
    SEQ_NO_FIELD,
    SOURCE_FIELD,
    VERSION_FIELD,
    FieldInfo,
)
from native.mapping import Leaf, Mapping, convert_value

_TEXT_TYPES = ("text", "match_only_text")
_KEYWORD_TYPES = ("keyword", "constant_keyword", "wildcard")


def tantivy_name(path: str) -> str:
    """A stable, injective tantivy field name for an ES leaf path."""
    out = ["f_"]
    for ch in path:
        if ch.isalnum():
            out.append(ch)
        elif ch == "_":
            out.append("__")
        else:
            out.append(f"_{ord(ch):x}_")
    return "".join(out)


def flatten_source(source: MappingABC[str, Any]) -> dict[str, list[Any]]:
    """``{"a": {"b": [1, 2]}, "c.d": "x"}`` → ``{"a.b": [1, 2], "c.d": ["x"]}`` (leaf values only)."""
    out: dict[str, list[Any]] = {}
    stack: list[tuple[str, Any]] = [("", source)]
    while stack:
        prefix, value = stack.pop()
        if isinstance(value, dict):
            for key, child in value.items():
                stack.append((f"{prefix}{key}.", child))
        elif isinstance(value, list):
            for item in reversed(value):
                stack.append((prefix, item))
        else:
            out.setdefault(prefix[:-1], []).append(value)
    for values in out.values():
        values.reverse()
    return out


def object_paths(source: MappingABC[str, Any]) -> Iterator[str]:
    """Every path of an object (non-leaf) in the source, for ``_field_names``."""
    stack: list[tuple[str, Any]] = [("", source)]
    while stack:
        prefix, value = stack.pop()
        if isinstance(value, dict):
            if prefix:
                yield prefix[:-1]
            for key, child in value.items():
                stack.append((f"{prefix}{key}.", child))
        elif isinstance(value, list):
            stack.extend((prefix, item) for item in value)


class CompiledMapping:
    """An index mapping bound to a tantivy schema; implements ``native.fields.FieldResolver``."""

    def __init__(self, mapping: Mapping, analysis: Analysis) -> None:
        self.mapping = mapping
        self.analysis = analysis
        self.leaves: list[Leaf] = list(mapping.iter_leaves())
        self._fields: dict[str, FieldInfo] = {}
        builder = tantivy.SchemaBuilder()
        builder.add_text_field(ID_FIELD, stored=True, fast=True, tokenizer_name="raw", index_option="basic")
        builder.add_bytes_field(SOURCE_FIELD, stored=True)
        builder.add_integer_field(SEQ_NO_FIELD, stored=True, indexed=True, fast=True)
        builder.add_integer_field(VERSION_FIELD, stored=True, fast=True)
        builder.add_integer_field(PRIMARY_TERM_FIELD, stored=True, fast=True)
        builder.add_text_field(FIELD_NAMES_FIELD, tokenizer_name="raw", index_option="basic")
        for leaf in self.leaves:
            self._fields[leaf.path] = self._add_leaf(builder, leaf)
        self._schema = builder.build()
        self._by_source: dict[str, list[tuple[Leaf, FieldInfo]]] = {}
        for leaf in self.leaves:
            self._by_source.setdefault(leaf.source_path, []).append((leaf, self._fields[leaf.path]))

    def _add_leaf(self, builder: tantivy.SchemaBuilder, leaf: Leaf) -> FieldInfo:
        name = tantivy_name(leaf.path)
        ftype = leaf.type
        params = leaf.params
        indexed = params.get("index", True) is not False
        analyze = None
        formats: tuple[str, ...] = ("strict_date_optional_time", "epoch_millis")
        if ftype in _TEXT_TYPES:
            index_name = str(params.get("analyzer", "standard"))
            search_name = str(params.get("search_analyzer", index_name))
            self.analysis.analyzer(index_name)
            builder.add_text_field(name, tokenizer_name=f"a:{index_name}", index_option="position")
            analyze = self.analysis.analyzer(search_name).analyze
            ftype = "text"
        elif ftype in _KEYWORD_TYPES:
            normalizer = params.get("normalizer")
            tokenizer = "raw" if normalizer is None else f"n:{normalizer}"
            if normalizer is not None:
                analyze = self.analysis.normalizer(str(normalizer)).analyze
            builder.add_text_field(name, fast=True, tokenizer_name=tokenizer, index_option="freq")
            ftype = "keyword"
        elif ftype in NUMERIC_INT_TYPES or ftype == "date":
            builder.add_integer_field(name, indexed=indexed, fast=True)
            if ftype == "date":
                formats = tuple(str(params.get("format", "strict_date_optional_time||epoch_millis")).split("||"))
        elif ftype in NUMERIC_FLOAT_TYPES:
            builder.add_float_field(name, indexed=indexed, fast=True)
        elif ftype == "boolean":
            builder.add_boolean_field(name, indexed=indexed, fast=True)
        elif ftype == "ip":
            builder.add_ip_addr_field(name, indexed=indexed, fast=True)
        scaling = params.get("scaling_factor")
        ignore_above = params.get("ignore_above")
        return FieldInfo(
            path=leaf.path,
            es_type=ftype,
            tantivy_name=name,
            analyze=analyze,
            date_formats=formats,
            scaling_factor=float(scaling) if scaling is not None else None,
            ignore_above=int(ignore_above) if ignore_above is not None else None,
        )

    # -- FieldResolver ------------------------------------------------------------------------------------
    @property
    def schema(self) -> tantivy.Schema:
        return self._schema

    def field(self, path: str) -> FieldInfo | None:
        return self._fields.get(path)

    def expand(self, pattern: str) -> Sequence[FieldInfo]:
        if "*" not in pattern and "?" not in pattern:
            info = self._fields.get(pattern)
            return [info] if info is not None else []
        return [info for path, info in self._fields.items() if fnmatch.fnmatchcase(path, pattern)]

    def default_fields(self) -> Sequence[FieldInfo]:
        return [info for info in self._fields.values() if info.es_type in ("text", "keyword")]

    def fields(self) -> Sequence[FieldInfo]:
        return list(self._fields.values())

    def same_schema(self, other: CompiledMapping) -> bool:
        return [(f.path, f.es_type, f.tantivy_name) for f in self._fields.values()] == [
            (f.path, f.es_type, f.tantivy_name) for f in other._fields.values()
        ] and [(leaf.path, dict(leaf.params)) for leaf in self.leaves] == [
            (leaf.path, dict(leaf.params)) for leaf in other.leaves
        ]

    # -- documents ----------------------------------------------------------------------------------------
    def new_index(self, path: str | None) -> tantivy.Index:
        index = tantivy.Index(self._schema, path=path, reuse=True) if path else tantivy.Index(self._schema)
        self.analysis.register(index)
        return index

    def document(
        self,
        doc_id: str,
        source_bytes: bytes,
        source: MappingABC[str, Any],
        *,
        seq_no: int,
        version: int,
        primary_term: int,
    ) -> str:
        """The tantivy JSON document (for ``IndexWriter.add_json``) of one ES document.

        Raises ``MapperParsingError`` on a value the mapping cannot take. Common value shapes (a string
        for text/keyword, an int for integer types, an ISO date string) take a fast path; everything else
        goes through ``native.mapping.convert_value``.
        """
        out: dict[str, Any] = {
            ID_FIELD: doc_id,
            SOURCE_FIELD: base64.b64encode(source_bytes).decode(),
            SEQ_NO_FIELD: seq_no,
            VERSION_FIELD: version,
            PRIMARY_TERM_FIELD: primary_term,
        }
        present: list[str] = []
        plan = self._by_source
        stack: list[tuple[str, MappingABC[str, Any]]] = [("", source)]
        while stack:
            prefix, obj = stack.pop()
            for key, value in obj.items():
                path = prefix + key
                if type(value) is dict:
                    stack.append((path + ".", value))
                    continue
                targets = plan.get(path)
                if type(value) is list:
                    nested = [v for v in value if type(v) is dict]
                    if nested:
                        stack.extend((path + ".", v) for v in nested)
                    if targets is None:
                        continue
                    values = [v for v in _flat(value) if type(v) is not dict]
                    for leaf, info in targets:
                        converted = [c for c in (_fast(leaf, info, v, doc_id) for v in values) if c is not None]
                        if converted:
                            out[info.tantivy_name] = converted
                            if info.es_type == "text":
                                present.append(leaf.path)
                    continue
                if targets is None:
                    continue
                for leaf, info in targets:
                    single = _fast(leaf, info, value, doc_id)
                    if single is not None:
                        out[info.tantivy_name] = single
                        if info.es_type == "text":
                            present.append(leaf.path)
        if present:
            out[FIELD_NAMES_FIELD] = present
        return orjson.dumps(out).decode()


def _flat(values: list[Any]) -> Iterator[Any]:
    for value in values:
        if type(value) is list:
            yield from _flat(value)
        else:
            yield value


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
_DEFAULT_DATE_FORMATS = ("strict_date_optional_time", "epoch_millis")
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MS = datetime.timedelta(milliseconds=1)


def _fast(leaf: Leaf, info: FieldInfo, value: Any, doc_id: str) -> Any:
    kind = info.es_type
    vtype = type(value)
    if kind == "text" and vtype is str:
        return value
    if kind == "keyword" and vtype is str:
        limit = info.ignore_above
        return value if limit is None or len(value) <= limit else None
    if vtype is int and (
        (kind == "long" and -(2**63) <= value < 2**63) or (kind == "integer" and -(2**31) <= value < 2**31)
    ):
        return value
    if kind == "date" and info.date_formats == _DEFAULT_DATE_FORMATS:
        if vtype is int:
            return value
        if vtype is str and len(value) >= 10 and value[4] == "-" and (len(value) == 10 or value[10] == "T"):
            try:
                parsed = datetime.datetime.fromisoformat(value)
            except ValueError:
                return convert_value(leaf, value, doc_id)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=datetime.UTC)
            return (parsed - _EPOCH) // _MS
    if kind == "ip" and vtype is str and _IPV4.fullmatch(value):
        return value
    if kind == "boolean" and vtype is bool:
        return value
    converted = convert_value(leaf, value, doc_id)
    if converted is not None and kind == "date":
        return int(converted)
    return converted


