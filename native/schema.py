"""A mapping compiled against one tantivy schema: the shard's ``FieldResolver`` and document builder."""

from __future__ import annotations

import fnmatch
from binascii import b2a_base64
from collections.abc import Callable, Iterator, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import orjson
import tantivy

from native.analysis import Analysis
from native.doc_count import DOC_COUNT_FIELD, doc_count_value
from native.document import (
    _completion_handler,
    _converter,
    _date_nanos_handler,
    _flat,
    _flattened_handler,
    _geo_handler,
    _range_handler,
    _simple_handler,
    _source_only_handler,
    _token_count_handler,
)
from native.errors import FieldValueError
from native.fields import (
    FIELD_NAMES_FIELD,
    ID_FIELD,
    IGNORED_PREFIX,
    NUMERIC_FLOAT_TYPES,
    NUMERIC_INT_TYPES,
    PRIMARY_TERM_FIELD,
    ROUTING_FIELD,
    SEQ_NO_FIELD,
    SOURCE_FIELD,
    VERSION_FIELD,
    FieldInfo,
)
from native.mapping import (
    GEO_POINT_TYPES,
    RANGE_TYPES,
    SOURCE_ONLY_TYPES,
    Leaf,
    Mapping,
)
from native.nested import HAS_NESTED, nested_documents, nested_paths
from native.nested import strip as strip_nested

if TYPE_CHECKING:
    from native.ignored import IgnoredFields

_TEXT_TYPES = ("text", "match_only_text", "search_as_you_type")
_KEYWORD_TYPES = ("keyword", "constant_keyword", "wildcard", "version", "flattened")


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
            stack.extend((f"{prefix}{key}.", child) for key, child in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((prefix, item) for item in reversed(value))
        else:
            out.setdefault(prefix[:-1], []).append(value)
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
    """An index mapping bound to a tantivy schema; implements ``native.fields.FieldResolver``.

    Most leaves are one typed tantivy field (``native.fields``). The others (see ``native.mapping``):
    ``geo_point`` → two hidden f64 fields ``<name>_lat``/``<name>_lon``; range types → two hidden fields
    ``<name>_gte``/``<name>_lte`` of the bound type (i64 for integer/long/date, f64, ip) holding inclusive
    bounds; ``date_nanos`` → its i64 field in epoch millis plus a hidden i64 ``<name>_ns`` in epoch
    nanos (``extra["nanos"]``, ``native.date_nanos``); ``flattened`` → a keyword field with every leaf
    value; types kept in ``_source`` only
    (``binary``, vectors, shapes, ``completion``, ``rank_feature(s)``) → no field at all, their
    ``FieldInfo.tantivy_name`` is not in the schema. ``FieldInfo.extra`` carries ``mapping_type`` (the ES
    type), ``searchable``/``aggregatable`` (``field_caps`` semantics; a non-searchable field is a text field
    with ``index: false``, never written) and, for the two-field types, the hidden field names
    (``lat``/``lon`` or ``gte``/``lte``, plus ``bound_type``). An ``alias`` resolves to its target's
    ``FieldInfo`` with the alias path (``field``/``expand`` by exact name only).
    """

    def __init__(
        self, mapping: Mapping, analysis: Analysis, *, index_name: str = "", index_aliases: frozenset[str] = frozenset()
    ) -> None:
        self.mapping = mapping
        self.analysis = analysis
        # what queries on ``_index`` match (``native.query.index_field``); the aliases are kept current by the node
        self.index_name = index_name
        self.index_aliases = index_aliases
        self.leaves: list[Leaf] = [self._with_index_defaults(leaf) for leaf in mapping.iter_leaves()]
        self._fields: dict[str, FieldInfo] = {}
        self._aliases: dict[str, FieldInfo] = {}
        builder = tantivy.SchemaBuilder()
        builder.add_text_field(ID_FIELD, stored=True, fast=True, tokenizer_name="raw", index_option="basic")
        builder.add_bytes_field(SOURCE_FIELD, stored=True)
        builder.add_integer_field(SEQ_NO_FIELD, stored=True, indexed=True, fast=True)
        builder.add_integer_field(VERSION_FIELD, stored=True, fast=True)
        builder.add_integer_field(PRIMARY_TERM_FIELD, stored=True, fast=True)
        builder.add_text_field(FIELD_NAMES_FIELD, tokenizer_name="raw", index_option="basic")
        builder.add_integer_field(DOC_COUNT_FIELD, indexed=True, fast=True)
        builder.add_text_field(ROUTING_FIELD, stored=True, tokenizer_name="raw", index_option="basic")
        for leaf in self.leaves:
            if leaf.type != "alias":
                self._fields[leaf.path] = self._add_leaf(builder, leaf)
        self._schema = builder.build()
        for leaf in self.leaves:
            if leaf.type == "alias":
                target = self._fields.get(str(leaf.params.get("path")))
                if target is not None:
                    self._aliases[leaf.path] = replace(target, path=leaf.path)
        self._alias_passthrough(mapping)
        # Simple leaves (one value → one tantivy value) by source path take the fast path of ``document``;
        # a source path with any other leaf gets handlers instead (all its leaves go through them).
        simple: dict[str, list[tuple[Leaf, FieldInfo]]] = {}
        special: dict[str, list[Callable[..., None]]] = {}
        for leaf in self.leaves:
            info = self._fields.get(leaf.path)
            handler = self._handler(leaf, info)
            if handler is not None:
                special.setdefault(leaf.source_path, []).append(handler)
            elif info is not None and info.extra.get("searchable", True):
                simple.setdefault(leaf.source_path, []).append((leaf, info))
        for path in list(simple):
            if path in special:
                special[path].extend(_simple_handler(leaf, info) for leaf, info in simple.pop(path))
        self._by_source = simple
        # Per source path: (tantivy name, converter, the path to list in ``_field_names`` or None).
        self._plan: dict[str, tuple[tuple[str, Callable[[Any, str], Any], str | None], ...]] = {
            path: tuple(
                (info.tantivy_name, _converter(leaf, info), leaf.path if info.es_type == "text" else None)
                for leaf, info in targets
            )
            for path, targets in simple.items()
        }
        # The same, for the source paths with exactly one leaf (most): no loop over targets per value.
        self._plan1 = {path: targets[0] for path, targets in self._plan.items() if len(targets) == 1}
        self._special = special
        # object and nested fields: a concrete value there fails the document, as in ES
        # object paths a concrete value may not replace; a disabled object (``enabled: false``) is not parsed,
        # so anything goes inside it, as in ES
        disabled = [p for p, _ in mapping.iter_objects()
                    if str((mapping.object_spec(p) or {}).get("enabled", True)).lower() == "false"]  # fmt: skip
        self._objects = frozenset(
            path for path, _ in mapping.iter_objects()
            if not any(path == d or path.startswith(d + ".") for d in disabled)
        )
        self.nested = nested_paths(mapping.properties)  # native.nested: kept out of top-level documents
        self._appenders: dict[str, list[Callable[..., None]]] = {
            path: [_simple_handler(leaf, info) for leaf, info in targets] for path, targets in simple.items()
        }
        self._appenders.update(special)
        self._copies: dict[str, list[str]] = {}
        for leaf in self.leaves:
            copy_to = leaf.params.get("copy_to")
            if copy_to and leaf.path == leaf.source_path:
                self._copies[leaf.path] = [copy_to] if isinstance(copy_to, str) else [str(t) for t in copy_to]

    def _with_index_defaults(self, leaf: Leaf) -> Leaf:
        params = leaf.params
        if self.analysis.ignore_above is not None and "ignore_above" not in params and leaf.type in IGNORE_ABOVE_TYPES:
            params = {**params, "ignore_above": self.analysis.ignore_above}
        if self.analysis.ignore_malformed and "ignore_malformed" not in params and leaf.type in _MALFORMED_TYPES:
            params = {**params, "ignore_malformed": True}
        if (
            not self.analysis.coerce
            and "coerce" not in params
            and (leaf.type in NUMERIC_INT_TYPES or leaf.type in NUMERIC_FLOAT_TYPES or leaf.type in RANGE_TYPES)
        ):
            params = {**params, "coerce": False}
        return leaf if params is leaf.params else Leaf(leaf.path, leaf.type, params, leaf.source_path)

    def _add_leaf(self, builder: tantivy.SchemaBuilder, leaf: Leaf) -> FieldInfo:
        name = tantivy_name(leaf.path)
        ftype = leaf.type
        params = leaf.params
        analyze = None
        formats: tuple[str, ...] = ("strict_date_optional_time", "epoch_millis")
        extra: dict[str, object] = {
            "mapping_type": leaf.type,
            "searchable": leaf.searchable,
            "aggregatable": leaf.aggregatable,
        }
        if ftype in _TEXT_TYPES:
            index_name = str(params.get("analyzer", "standard"))
            search_name = str(params.get("search_analyzer", index_name))
            self.analysis.analyzer(index_name)
            builder.add_text_field(name, tokenizer_name=f"a:{index_name}", index_option="position")
            analyze = self.analysis.analyzer(search_name).analyze
            if (
                ftype == "match_only_text"
                and params.get("index") is False
                and params.get("doc_values") not in (None, False, "false")
            ):  # ES 9 doc-values-only: each whole value in a raw column, for prefix/wildcard/regexp queries
                extra["doc_values_raw"] = f"{name}_dv"
                builder.add_text_field(f"{name}_dv", fast=True, tokenizer_name="raw", index_option="freq")
            extra["fielddata"] = str(params.get("fielddata", False)).lower() == "true"
            ftype = "text"
        elif ftype in _KEYWORD_TYPES:
            normalizer = params.get("normalizer")
            tokenizer = "raw" if normalizer is None else f"n:{normalizer}"
            if normalizer is not None:
                analyze = self.analysis.normalizer(str(normalizer)).analyze
            builder.add_text_field(name, fast=True, tokenizer_name=tokenizer, index_option="freq")
            ftype = "keyword"
        elif ftype == "unsigned_long":  # a u64 column: values up to 2^64-1, exact
            builder.add_unsigned_field(name, indexed=True, fast=True)
        elif ftype in NUMERIC_INT_TYPES or ftype in ("date", "date_nanos", "token_count"):
            builder.add_integer_field(name, indexed=True, fast=True)
            if ftype == "date_nanos":  # epoch millis here, epoch nanos in a hidden column (native.date_nanos)
                extra["nanos"] = f"{name}_ns"
                builder.add_integer_field(f"{name}_ns", indexed=True, fast=True)
                formats = tuple(str(params.get("format", "strict_date_optional_time_nanos||epoch_millis")).split("||"))
                ftype = "date"
            elif ftype == "date":
                formats = tuple(str(params.get("format", "strict_date_optional_time||epoch_millis")).split("||"))
            elif ftype == "token_count":
                extra["analyzer"] = self.analysis.analyzer(str(params.get("analyzer", "standard"))).analyze
                ftype = "integer"
        elif ftype in NUMERIC_FLOAT_TYPES:
            builder.add_float_field(name, indexed=True, fast=True)
        elif ftype == "boolean":
            builder.add_boolean_field(name, indexed=True, fast=True)
        elif ftype == "ip":
            builder.add_ip_addr_field(name, indexed=True, fast=True)
        elif ftype in GEO_POINT_TYPES:
            extra["lat"], extra["lon"] = f"{name}_lat", f"{name}_lon"
            builder.add_float_field(f"{name}_lat", indexed=True, fast=True)
            builder.add_float_field(f"{name}_lon", indexed=True, fast=True)
        elif ftype in RANGE_TYPES:
            kind = RANGE_TYPES[ftype]
            extra["gte"], extra["lte"], extra["bound_type"] = f"{name}_gte", f"{name}_lte", kind
            for hidden in (f"{name}_gte", f"{name}_lte"):
                if kind in ("integer", "long", "date"):
                    builder.add_integer_field(hidden, indexed=True, fast=True)
                elif kind == "ip":
                    builder.add_ip_addr_field(hidden, indexed=True, fast=True)
                else:
                    builder.add_float_field(hidden, indexed=True, fast=True)
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
            extra=extra,
        )

    def _handler(self, leaf: Leaf, info: FieldInfo | None) -> Callable[..., None] | None:
        """The document handler of a leaf that is not one value → one tantivy value (None: simple leaf)."""
        ftype = leaf.type
        if ftype == "alias":
            path = leaf.path

            def write_alias(out: dict[str, Any], present: list[str], value: Any, doc_id: str) -> None:
                raise FieldValueError(f"Cannot write to a field alias [{path}].")

            return write_alias
        assert info is not None
        if "doc_values_raw" in info.extra:  # doc-values-only match_only_text: its raw column alone is written
            return _simple_handler(leaf, replace(info, tantivy_name=str(info.extra["doc_values_raw"])))
        if ftype in GEO_POINT_TYPES:
            return _geo_handler(leaf, info)
        if ftype in RANGE_TYPES:
            return _range_handler(leaf, info)
        if ftype == "flattened":
            return _flattened_handler(leaf, info)
        if ftype == "token_count":
            return _token_count_handler(leaf, info)
        if ftype == "completion":
            return _completion_handler(leaf)
        if ftype == "date_nanos":
            return _date_nanos_handler(leaf, info)
        if ftype in SOURCE_ONLY_TYPES:
            return _source_only_handler(leaf)
        return None

    def _alias_passthrough(self, mapping: Mapping) -> None:
        """The fields of ``passthrough`` objects by their names without the object's prefix (ES's pass-through
        aliases): a field mapped at that name wins, then the object of the highest ``priority``."""
        passthrough = [(int((mapping.object_spec(p) or {}).get("priority", 0)), p)
                       for p, kind in mapping.iter_objects() if kind == "passthrough"]  # fmt: skip
        for _, prefix in sorted(passthrough):  # lowest first: a higher priority overwrites
            for path, info in self._fields.items():
                if path.startswith(prefix + "."):
                    short = path[len(prefix) + 1 :]
                    if short not in self._fields:
                        self._aliases[short] = replace(info, path=short)

    # -- FieldResolver ------------------------------------------------------------------------------------
    @property
    def schema(self) -> tantivy.Schema:
        return self._schema

    def field(self, path: str) -> FieldInfo | None:
        info = self._fields.get(path)
        return info if info is not None else self._aliases.get(path)

    def expand(self, pattern: str) -> Sequence[FieldInfo]:
        if "*" not in pattern and "?" not in pattern:
            info = self.field(pattern)
            return [info] if info is not None else []
        return [info for path, info in self._fields.items() if fnmatch.fnmatchcase(path, pattern)]

    def default_fields(self) -> Sequence[FieldInfo]:
        return [
            info
            for info in self._fields.values()
            if info.es_type in ("text", "keyword") and info.extra.get("searchable", True)
        ]

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

    @cached_property
    def ignorer(self) -> IgnoredFields:
        """The ``_ignored`` computation of the index (``native.ignored``), applied to every written document."""
        from native.ignored import IgnoredFields  # native.ignored builds on this module

        return IgnoredFields(self.mapping, {}, leaves=self.leaves)  # the leaves carry the index-level defaults

    def document(
        self,
        doc_id: str,
        source_bytes: bytes,
        source: MappingABC[str, Any],
        *,
        seq_no: int,
        version: int,
        primary_term: int,
        top_level: bool = True,
        routing: str | None = None,
    ) -> str:
        """The tantivy JSON document (for ``IndexWriter.add_json``) of one ES document.

        Raises ``MapperParsingError`` on a value the mapping cannot take. Common value shapes (a string
        for text/keyword, an int for integer types, an ISO date string) take a fast path; everything else
        goes through ``native.mapping.convert_value`` or the handler of a non-simple leaf.
        """
        out: dict[str, Any] = {
            ID_FIELD: doc_id,
            SOURCE_FIELD: b2a_base64(source_bytes, newline=False).decode(),
            SEQ_NO_FIELD: seq_no,
            VERSION_FIELD: version,
            PRIMARY_TERM_FIELD: primary_term,
        }
        if DOC_COUNT_FIELD in source:
            out[DOC_COUNT_FIELD] = doc_count_value(source[DOC_COUNT_FIELD])
        has_nested = False
        if self.nested and top_level:
            # nested objects are documents of their own (native.nested): validated here, indexed by the view
            for count, (_, nested_source) in enumerate(nested_documents(source, self.nested), 1):
                has_nested = True
                if count > self.analysis.nested_objects_limit:
                    raise FieldValueError(
                        f"The number of nested documents has exceeded the allowed limit of "
                        f"[{self.analysis.nested_objects_limit}]. This limit can be set by changing the "
                        "[index.mapping.nested_objects.limit] index level setting."
                    )
                self.document(doc_id, b"", nested_source, seq_no=seq_no, version=version, primary_term=primary_term,
                              top_level=False)  # fmt: skip
            source = strip_nested(source, self.nested, "")
        if routing is not None:
            out[ROUTING_FIELD] = routing
        present: list[str] = []
        plan, plan1 = self._plan, self._plan1
        special = self._special
        # The top level first: a planned key holding a scalar is converted right here (the common flat
        # document); every other key goes through the general walk below, as a one-key object. (A source
        # path with a special handler is never planned.)
        rest: dict[str, Any] | None = None
        for key, value in source.items():
            if type(value) in _CONTAINERS:
                targets = None
            else:
                target = plan1.get(key)
                if target is not None:
                    single = target[1](value, doc_id)
                    if single is not None:
                        out[target[0]] = single
                        if target[2] is not None:
                            present.append(target[2])
                    continue
                targets = plan.get(key)
            if targets is None:
                if rest is None:
                    rest = {}
                rest[key] = value
                continue
            for name, convert, text_path in targets:
                single = convert(value, doc_id)
                if single is not None:
                    out[name] = single
                    if text_path is not None:
                        present.append(text_path)
        stack: list[tuple[str, MappingABC[str, Any]]] = [("", rest)] if rest else []
        # Objects inside arrays: several of them can hold the same path, so their values are appended.
        multi: list[tuple[str, MappingABC[str, Any]]] = []
        while stack:
            prefix, obj = stack.pop()
            for key, value in obj.items():
                path = prefix + key if prefix else key
                vtype = type(value)
                if vtype is dict:
                    if special and path in special:
                        for handle in special[path]:
                            handle(out, present, value, doc_id)
                    elif path in plan:  # an object where the mapping has a leaf: the converter refuses it
                        for _, convert, _ in plan[path]:
                            convert(value, doc_id)
                    else:
                        stack.append((path + ".", value))
                    continue
                targets = plan.get(path)
                if targets is None:
                    if special and path in special:
                        for handle in special[path]:
                            handle(out, present, value, doc_id)
                    elif vtype is list:
                        multi.extend((path + ".", v) for v in value if type(v) is dict)
                        if path in self._objects:
                            self._check_object(path, key, [v for v in _flat(value) if type(v) is not dict])
                    elif value is not None and path in self._objects:
                        self._check_object(path, key, [value])
                    continue
                if vtype is list:
                    flat = list(_flat(value))
                    nested = [v for v in flat if type(v) is dict]
                    if nested:
                        for _, convert, _ in targets:
                            convert(nested[0], doc_id)  # refuses it (an array of objects into a leaf)
                        multi.extend((path + ".", v) for v in nested)
                    values = [v for v in flat if type(v) is not dict]
                    for name, convert, text_path in targets:
                        converted = [c for c in (convert(v, doc_id) for v in values) if c is not None]
                        if converted:
                            out[name] = converted
                            if text_path is not None:
                                present.append(text_path)
                    continue
                for name, convert, text_path in targets:
                    single = convert(value, doc_id)
                    if single is not None:
                        out[name] = single
                        if text_path is not None:
                            present.append(text_path)
        if multi:
            self._walk_appending(out, present, multi, doc_id)
        if self._copies:
            self._copy_to(out, present, source, doc_id)
        if has_nested:
            present.append(HAS_NESTED)  # the documents a nested view reads (native.nested)
        if top_level and self.ignorer.possible:  # ``_ignored`` is queryable (native.query.compile)
            present.extend(IGNORED_PREFIX + path for path in self.ignorer.paths(source))
        if present:
            out[FIELD_NAMES_FIELD] = present
        return orjson.dumps(out).decode()

    @staticmethod
    def _check_object(path: str, key: str, values: list[Any]) -> None:
        if any(v is not None for v in values):
            raise FieldValueError(
                f"object mapping for [{path}] tried to parse field [{key}] as object, but found a concrete value"
            )

    def _walk_appending(
        self, out: dict[str, Any], present: list[str], stack: list[tuple[str, MappingABC[str, Any]]], doc_id: str
    ) -> None:
        """The slow path of ``document`` for objects inside arrays: every value is appended."""
        appenders = self._appenders
        special = self._special
        while stack:
            prefix, obj = stack.pop()
            for key, value in obj.items():
                path = prefix + key
                handlers = appenders.get(path)
                if type(value) is dict and path not in special and handlers is None:
                    stack.append((path + ".", value))
                    continue
                if handlers is None and path in self._objects:
                    items = list(_flat(value)) if type(value) is list else [value]
                    self._check_object(path, key, [v for v in items if type(v) is not dict])
                if handlers is not None:
                    for handle in handlers:
                        handle(out, present, value, doc_id)
                if type(value) is list and path not in special:
                    stack.extend((path + ".", v) for v in value if type(v) is dict)

    def _copy_to(self, out: dict[str, Any], present: list[str], source: MappingABC[str, Any], doc_id: str) -> None:
        """``copy_to``: every source value of a copying field is also indexed into each target field."""
        flat = flatten_source(source)
        for src, targets in self._copies.items():
            values = flat.get(src)
            if not values:
                continue
            for target in targets:
                for handle in self._appenders.get(target, ()):
                    handle(out, present, values, doc_id)


IGNORE_ABOVE_TYPES = frozenset({"keyword", "wildcard", "flattened"})
_MALFORMED_TYPES = NUMERIC_INT_TYPES | NUMERIC_FLOAT_TYPES | {"date", "date_nanos", "ip", "geo_point", *RANGE_TYPES}
_CONTAINERS = (dict, list)


_GEOMETRY_TYPES = frozenset({"geo_point", "geo_shape", "shape", "point"})


def query_error(info: FieldInfo, kind: str = "term") -> str | None:
    """ES's 400 message for a ``kind`` query (term, match, range, prefix…) on ``info``; None when allowed.

    For the query compiler: fields stored only in ``_source``, geometry fields and ``index: false`` text
    fields are not searchable with ordinary queries (range types only through ``range``).
    """
    mapping_type = str(info.extra.get("mapping_type", info.es_type))
    if not info.extra.get("searchable", True):
        if mapping_type == "binary":
            return "Binary fields do not support searching"
        return f"Cannot search on field [{info.path}] since it is not indexed."
    if mapping_type in _GEOMETRY_TYPES:
        return f"Geometry fields do not support exact searching, use dedicated geometry queries instead: [{info.path}]"
    if mapping_type in SOURCE_ONLY_TYPES or (mapping_type in RANGE_TYPES and kind != "range"):
        return f"Field [{info.path}] of type [{mapping_type}] does not support {kind} queries"
    return None
