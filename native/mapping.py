"""ES mappings: parsing, merging, dynamic mapping and document conversion.

A ``Mapping`` is the ES mapping of one index (``properties`` tree, ``dynamic``, date detection). It is
immutable: dynamic updates and ``PUT _mapping`` produce a new ``Mapping`` via ``merge``. The JSON it
renders (``to_dict``) is what ``GET _mapping`` returns.

Schema evolution (the DESIGN decision for fixed tantivy schemas): every leaf field gets a first-class
typed tantivy field (see ``native.fields``). When a mapping gains a leaf, the shard rebuilds its tantivy
index under the new schema from the stored ``_source`` (``native.shard``). The coordinator computes
dynamic mapping updates for a whole bulk request *before* routing it, so a bulk load pays for at most
one rebuild per new field set, and one usually happens while the index is still empty.

Field types beyond the core ones (how ``native.schema`` stores them):

* ``nested`` is indexed exactly like ``object``: its sub-fields are flattened into the parent document,
  so ``nested`` queries/aggregations can only approximate ES (cross-object matches are possible). The
  mapping keeps ``type: nested`` and dynamic updates under a nested field merge into it.
* ``geo_point``: every ES value format parses (object, ``"lat,lon"``, ``[lon, lat]``, geohash, WKT
  ``POINT``, GeoJSON); latitude and longitude go to two hidden f64 fast fields. ``geo_shape``, ``shape``
  and ``point`` are accepted and kept in ``_source`` only.
* range types (``integer_range long_range float_range double_range date_range ip_range``): each range's
  inclusive lower/upper bound goes to two hidden fast fields (``gt``/``lt`` are made inclusive first).
  A multi-valued range field loses the pairing of its bounds (queries can only approximate).
* ``date_nanos`` is stored as a ``date`` (millisecond precision); ``version`` and ``flattened`` (every
  leaf value) as ``keyword``; ``search_as_you_type`` as ``text`` plus ``._2gram``/``._3gram``/
  ``._index_prefix`` text sub-fields; ``token_count`` as the integer token count of its analyzer;
  ``unsigned_long`` as i64 (values above 2^63-1 are rejected).
* ``alias`` resolves to its target (``FieldResolver.field``); writing to it is an error.
* ``binary``, ``dense_vector``, ``sparse_vector``, ``rank_feature(s)``, ``completion`` are accepted and
  kept in ``_source`` only (not searchable).
* ``copy_to`` copies source values into the target fields; ``enabled: false`` objects are kept in
  ``_source`` only; ``dynamic_templates``, ``numeric_detection``, ``null_value``, ``coerce`` and
  ``ignore_malformed`` (per field, or ``index.mapping.ignore_malformed`` via ``Analysis``) work as in ES.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Iterator
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from typing import Any

from native import dates
from native.errors import (
    DocumentParsingError,
    IllegalArgument,
    MapperParsingError,
    StrictDynamicMappingError,
)
from native.fields import NUMERIC_FLOAT_TYPES, NUMERIC_INT_TYPES

RANGE_TYPES: dict[str, str] = {
    "integer_range": "integer", "long_range": "long", "float_range": "float", "double_range": "double",
    "date_range": "date", "ip_range": "ip",
}  # fmt: skip
GEO_POINT_TYPES = frozenset({"geo_point"})
# Accepted and kept in _source only: nothing is indexed for them.
SOURCE_ONLY_TYPES = frozenset(
    {"geo_shape", "shape", "point", "binary", "dense_vector", "sparse_vector", "rank_feature", "rank_features",
     "completion"}
)  # fmt: skip
LEAF_TYPES = frozenset(
    {"text", "keyword", "date", "boolean", "ip", "match_only_text", "constant_keyword", "wildcard", "date_nanos",
     "version", "search_as_you_type", "token_count", "flattened", "alias"}
    | NUMERIC_INT_TYPES
    | NUMERIC_FLOAT_TYPES
    | set(RANGE_TYPES)
    | GEO_POINT_TYPES
    | SOURCE_ONLY_TYPES
)  # fmt: skip
OBJECT_TYPES = frozenset({"object", "nested"})
METADATA_FIELDS = frozenset(
    {"_id", "_index", "_source", "_routing", "_seq_no", "_version", "_primary_term", "_field_names",
     "_ignored", "_doc_count", "_tier", "_data_stream_timestamp"}
)  # fmt: skip
MAX_TOTAL_FIELDS = 1000
MAX_DEPTH = 20

_INT_RANGES = {
    "byte": (-(2**7), 2**7 - 1),
    "short": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
    "unsigned_long": (0, 2**63 - 1),
    "token_count": (-(2**31), 2**31 - 1),
}
_DEFAULT_DYNAMIC_DATE_FORMATS = ("strict_date_optional_time", "yyyy/MM/dd HH:mm:ss||yyyy/MM/dd")

# Parameters each field type accepts (others are a mapper_parsing_exception, as in ES); None = any.
_COMMON_PARAMS = {"type", "fields", "index", "store", "doc_values", "copy_to", "meta", "boost"}
_TEXT_PARAMS = {"analyzer", "search_analyzer", "search_quote_analyzer", "norms", "index_options", "fielddata",
                "position_increment_gap", "term_vector", "similarity", "index_prefixes", "index_phrases",
                "eager_global_ordinals", "fielddata_frequency_filter"}  # fmt: skip
_DATE_PARAMS = {"format", "locale", "null_value", "ignore_malformed", "precision_step", "script", "on_script_error"}
_TYPE_PARAMS: dict[str, set[str] | None] = {
    "text": _TEXT_PARAMS,
    "match_only_text": set(),
    "keyword": {"ignore_above", "normalizer", "null_value", "eager_global_ordinals", "norms",
                "index_options", "split_queries_on_whitespace", "similarity", "time_series_dimension",
                "script", "on_script_error"},
    "constant_keyword": {"value"},
    "wildcard": {"ignore_above", "null_value"},
    "date": _DATE_PARAMS,
    "date_nanos": _DATE_PARAMS,
    "boolean": {"null_value", "script", "on_script_error"},
    "ip": {"null_value", "ignore_malformed", "script", "on_script_error"},
    "version": set(),
    "search_as_you_type": _TEXT_PARAMS | {"max_shingle_size"},
    "token_count": {"analyzer", "enable_position_increments", "null_value"},
    "flattened": {"depth_limit", "eager_global_ordinals", "ignore_above", "index_options", "null_value",
                  "similarity", "split_queries_on_whitespace", "time_series_dimensions"},
    "geo_point": {"ignore_malformed", "ignore_z_value", "null_value", "script", "on_script_error"},
    "geo_shape": {"orientation", "ignore_malformed", "ignore_z_value", "coerce"},
    "shape": {"orientation", "ignore_malformed", "ignore_z_value", "coerce"},
    "point": {"ignore_malformed", "ignore_z_value", "null_value"},
    "binary": set(),
    "dense_vector": {"dims", "similarity", "index_options", "element_type"},
    "sparse_vector": None,
    "rank_feature": {"positive_score_impact"},
    "rank_features": {"positive_score_impact"},
    "completion": {"analyzer", "search_analyzer", "preserve_separators", "preserve_position_increments",
                   "max_input_length", "contexts"},
}  # fmt: skip
_NUMERIC_PARAMS = {"null_value", "coerce", "ignore_malformed", "scaling_factor", "time_series_metric",
                   "time_series_dimension", "script", "on_script_error"}  # fmt: skip
_RANGE_PARAMS = {"coerce", "format", "locale"}
_OBJECT_PARAMS = {"type", "properties", "dynamic", "enabled", "subobjects", "include_in_parent", "include_in_root"}


@dataclass(frozen=True)
class Leaf:
    """One indexable leaf: a mapped field or one of its multi-fields (``title.keyword``)."""

    path: str
    type: str
    params: MappingABC[str, Any]
    # Where the value comes from in ``_source``: the parent's path for a multi-field.
    source_path: str = ""

    @property
    def searchable(self) -> bool:
        """ES ``field_caps`` searchable: indexed, or numeric/keyword-like with doc values (ES 8.1+)."""
        if self.type == "binary":
            return False
        if self.params.get("index", True) is not False:
            return True
        if self.type in ("text", "match_only_text", "search_as_you_type"):
            return False
        return self.params.get("doc_values", True) is not False

    @property
    def aggregatable(self) -> bool:
        """ES ``field_caps`` aggregatable: doc values (text only with ``fielddata``)."""
        if self.type in ("text", "match_only_text", "search_as_you_type"):
            return bool(self.params.get("fielddata", False))
        if self.type in SOURCE_ONLY_TYPES or self.type == "alias":
            return False
        return self.params.get("doc_values", True) is not False


def normalize_properties(props: Any, prefix: str = "", subobjects: bool = True) -> dict[str, Any]:
    """``properties`` with dotted names expanded into objects (``{"a.b": x}`` → ``{"a": {"properties": {"b": x}}}``)."""
    if not isinstance(props, dict):
        raise MapperParsingError(f"Expected map for property [properties] on field [{prefix.rstrip('.') or '_doc'}] "
                                 f"but got a class {type(props).__name__}")  # fmt: skip
    out: dict[str, Any] = {}
    for name, spec in props.items():
        if not isinstance(name, str) or name == "":
            raise IllegalArgument("field name cannot be an empty string")
        if not name.strip():
            raise IllegalArgument(f"field name cannot contain only whitespaces: ['{name}']")
        if isinstance(spec, dict) and "properties" in spec and spec.get("type", "object") in OBJECT_TYPES:
            sub = spec.get("subobjects", subobjects) is not False
            spec = {**spec, "properties": normalize_properties(spec["properties"], f"{prefix}{name}.", sub)}
        if "." in name and subobjects:
            parts = name.split(".")
            if any(not p.strip() for p in parts):
                raise IllegalArgument(f"field name cannot contain only whitespaces: ['{name}']" if name.strip(".")
                                      else f"field name cannot contain only dots: ['{name}']")  # fmt: skip
            for part in reversed(parts[1:]):
                spec = {"properties": {part: spec}}
            name = parts[0]
        if name in out and isinstance(spec, dict) and isinstance(out[name], dict):
            out[name] = _merge_props({name: out[name]}, {name: spec}, prefix)[name]
        else:
            out[name] = spec
    return out


def _check_field_def(path: str, spec: Any) -> None:
    if not isinstance(spec, dict):
        raise MapperParsingError(f"Expected map for property [fields] on field [{path}] but got a {type(spec)}")
    ftype = spec.get("type", "object" if "properties" in spec or "type" not in spec else None)
    if ftype in OBJECT_TYPES:
        for k in spec:
            if k not in _OBJECT_PARAMS:
                raise MapperParsingError(f"unknown parameter [{k}] on mapper [{path}] of type [{ftype}]")
        for name, child in (spec.get("properties") or {}).items():
            _check_field_def(f"{path}.{name}", child)
        return
    if ftype not in LEAF_TYPES:
        raise MapperParsingError(f"No handler for type [{ftype}] declared on field [{path}]")
    if ftype == "alias":
        for k in spec:
            if k not in ("type", "path"):
                raise MapperParsingError(f"unknown parameter [{k}] on mapper [{path}] of type [alias]")
        if not isinstance(spec.get("path"), str):
            raise MapperParsingError(f"The [path] property must be specified for field [{path}].")
        return
    if ftype in NUMERIC_INT_TYPES or ftype in NUMERIC_FLOAT_TYPES:
        allowed: set[str] | None = _COMMON_PARAMS | _NUMERIC_PARAMS
    elif ftype in RANGE_TYPES:
        allowed = _COMMON_PARAMS | _RANGE_PARAMS
    else:
        extra = _TYPE_PARAMS.get(str(ftype), set())
        allowed = None if extra is None else _COMMON_PARAMS | extra
    if allowed is not None:
        for k in spec:
            if k not in allowed:
                raise MapperParsingError(f"unknown parameter [{k}] on mapper [{path}] of type [{ftype}]")
    if ftype == "scaled_float" and "scaling_factor" not in spec:
        raise MapperParsingError(f"Field [scaling_factor] is required for field [{path}]")
    if ftype == "token_count" and "analyzer" not in spec:
        raise MapperParsingError(f"Analyzer must be set for field [{path}] but wasn't.")
    if ftype == "dense_vector" and "dims" in spec and not isinstance(spec["dims"], int):
        raise MapperParsingError(f"Failed to parse mapping: [dims] on mapper [{path}] of type [dense_vector] "
                                 f"must be an integer")  # fmt: skip
    for flag in ("index", "doc_values", "store", "coerce", "ignore_malformed"):
        if flag in spec and not isinstance(spec[flag], bool) and str(spec[flag]) not in ("true", "false"):
            raise MapperParsingError(
                f"Failed to parse mapping: Cannot parse value [{spec[flag]}] as only [true] or [false] are "
                f"allowed. for parameter [{flag}] of field [{path}]"
            )
    if spec.get("null_value") is not None and (
        ftype in NUMERIC_INT_TYPES or ftype in NUMERIC_FLOAT_TYPES or ftype in ("date", "date_nanos", "ip", "boolean")
    ):
        try:
            convert_value(Leaf(path, str(ftype), {k: v for k, v in spec.items() if k != "null_value"}),
                          spec["null_value"], None)  # fmt: skip
        except MapperParsingError as exc:
            raise MapperParsingError(
                f"Failed to parse mapping: Error parsing [null_value] on field [{path}]: {exc.reason}"
            ) from None
    copy_to = spec.get("copy_to")
    if copy_to is not None and not isinstance(copy_to, str | list):
        raise MapperParsingError(f"Failed to parse mapping: [copy_to] on field [{path}] must be a string or list")
    for sub, sub_spec in (spec.get("fields") or {}).items():
        _check_field_def(f"{path}.{sub}", sub_spec)


_ROOT_KEYS = frozenset(
    {"properties", "dynamic", "date_detection", "numeric_detection", "dynamic_date_formats", "_source", "_meta",
     "dynamic_templates", "_routing", "enabled", "runtime", "subobjects", "_field_names", "_data_stream_timestamp"}
)  # fmt: skip
_TEMPLATE_KEYS = frozenset(
    {"match_mapping_type", "unmatch_mapping_type", "match", "unmatch", "path_match", "path_unmatch",
     "match_pattern", "mapping", "runtime"}
)  # fmt: skip
_DYNAMIC_TYPES = ("object", "string", "long", "double", "boolean", "date", "binary")
# The mapping type a dynamic value gets when a template's mapping names none (and ``{dynamic_type}``).
_DEFAULT_DYNAMIC_MAPPING = {"string": "text", "long": "long", "double": "float", "boolean": "boolean",
                            "date": "date", "object": "object", "binary": "binary"}  # fmt: skip


def _simple_match(pattern: str, value: str) -> bool:
    """ES ``Regex.simpleMatch``: only ``*`` is a wildcard."""
    if "*" not in pattern:
        return pattern == value
    return re.fullmatch(".*".join(re.escape(p) for p in pattern.split("*")), value, re.S) is not None


def _template_match(patterns: Any, value: str, regex: bool) -> bool:
    for pattern in patterns if isinstance(patterns, list) else [patterns]:
        if regex:
            if re.search(str(pattern), value):
                return True
        elif _simple_match(str(pattern), value):
            return True
    return False


def _substitute(obj: Any, name: str, dynamic_type: str) -> Any:
    if isinstance(obj, str):
        return obj.replace("{name}", name).replace("{dynamic_type}", dynamic_type)
    if isinstance(obj, dict):
        return {_substitute(k, name, dynamic_type): _substitute(v, name, dynamic_type) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_substitute(v, name, dynamic_type) for v in obj]
    return obj


def _check_templates(templates: Any) -> list[tuple[str, dict[str, Any]]]:
    if not isinstance(templates, list):
        raise MapperParsingError("Failed to parse mapping: Dynamic template syntax error. An array of named objects "
                                 "is expected.")  # fmt: skip
    out: list[tuple[str, dict[str, Any]]] = []
    for entry in templates:
        if not isinstance(entry, dict) or len(entry) != 1 or not isinstance(next(iter(entry.values())), dict):
            raise MapperParsingError("Failed to parse mapping: A dynamic template must be defined with a name")
        name, tpl = next(iter(entry.items()))
        for key in tpl:
            if key not in _TEMPLATE_KEYS:
                raise MapperParsingError(f"Failed to parse mapping: Illegal dynamic template parameter: [{key}]")
        if "mapping" not in tpl and "runtime" not in tpl:
            raise MapperParsingError(f"Failed to parse mapping: template [{name}] must have either mapping or "
                                     "runtime set")  # fmt: skip
        for key in ("match_mapping_type", "unmatch_mapping_type"):
            for t in tpl[key] if isinstance(tpl.get(key), list) else [tpl.get(key)]:
                if t is not None and t != "*" and t not in _DYNAMIC_TYPES:
                    raise MapperParsingError(
                        f"Failed to parse mapping: No field type matched on [{t}], possible values are "
                        f"[{', '.join(_DYNAMIC_TYPES)}]"
                    )
        if tpl.get("match_pattern", "simple") not in ("simple", "regex"):
            raise MapperParsingError(f"Failed to parse mapping: Illegal match_pattern [{tpl['match_pattern']}] "
                                     "for dynamic template")  # fmt: skip
        out.append((str(name), tpl))
    return out


class Mapping:
    """An immutable ES mapping (the ``mappings`` object of one index)."""

    def __init__(self, body: MappingABC[str, Any] | None = None, *, partial: bool = False) -> None:
        body = dict(body or {})
        if len(body) == 1 and isinstance(body.get("_doc"), dict):
            body = dict(body["_doc"])
        for key in body:
            if key not in _ROOT_KEYS:
                raise MapperParsingError(f"Root mapping definition has unsupported parameters:  [{key} : {body[key]}]")
        if "runtime" in body:
            raise IllegalArgument("cannot execute [inline] scripts")
        if body.get("properties") is not None:
            subobjects = body.get("subobjects", True) is not False
            body["properties"] = normalize_properties(body["properties"], "", subobjects)
        for name, spec in (body.get("properties") or {}).items():
            _check_field_def(name, spec)
        self.templates = _check_templates(body["dynamic_templates"]) if "dynamic_templates" in body else []
        self.body: dict[str, Any] = body
        self.properties: dict[str, Any] = dict(body.get("properties") or {})
        dyn = body.get("dynamic", True)
        self.dynamic: str = str(dyn).lower() if not isinstance(dyn, bool) else ("true" if dyn else "false")
        if self.dynamic not in ("true", "false", "strict", "runtime"):
            raise MapperParsingError(
                f"Failed to parse mapping: Could not convert [dynamic] to boolean, strict or runtime: [{dyn}]"
            )
        self.date_detection = str(body.get("date_detection", True)).lower() != "false"
        self.numeric_detection = str(body.get("numeric_detection", False)).lower() == "true"
        formats = body.get("dynamic_date_formats", _DEFAULT_DYNAMIC_DATE_FORMATS)
        self.dynamic_date_formats: tuple[str, ...] = (formats,) if isinstance(formats, str) else tuple(formats)
        self._leaves: list[Leaf] | None = None
        if sum(1 for _ in self.iter_leaves()) > MAX_TOTAL_FIELDS:
            raise IllegalArgument(f"Limit of total fields [{MAX_TOTAL_FIELDS}] has been exceeded")
        if not partial:
            self._check_aliases()

    def _check_aliases(self) -> None:
        leaves = {leaf.path: leaf for leaf in self.iter_leaves()}
        for leaf in leaves.values():
            if leaf.type != "alias":
                continue
            target = str(leaf.params["path"])
            problem = None
            if target == leaf.path:
                problem = "an alias cannot refer to itself."
            elif target not in leaves:
                problem = "an alias must refer to an existing field in the mappings."
            elif leaves[target].type == "alias":
                problem = "an alias cannot refer to another alias."
            if problem:
                raise MapperParsingError(f"Invalid [path] value [{target}] for field alias [{leaf.path}]: {problem}")

    # -- reading --------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.body.items() if k != "properties"}
        if self.properties:
            out["properties"] = self.properties
        return out

    def iter_leaves(self) -> Iterator[Leaf]:
        if self._leaves is not None:
            yield from self._leaves
            return
        leaves: list[Leaf] = []
        stack: list[tuple[str, MappingABC[str, Any]]] = [("", self.properties)]
        while stack:
            prefix, props = stack.pop()
            for name in sorted(props):
                spec = props[name]
                path = f"{prefix}{name}"
                ftype = spec.get("type", "object")
                if ftype in OBJECT_TYPES:
                    if spec.get("enabled", True) is not False and str(spec.get("enabled")) != "false":
                        stack.append((path + ".", spec.get("properties") or {}))
                    continue
                leaves.append(Leaf(path, ftype, spec, path))
                for sub, sub_spec in sorted((spec.get("fields") or {}).items()):
                    leaves.append(Leaf(f"{path}.{sub}", sub_spec.get("type", "keyword"), sub_spec, path))
                if ftype == "search_as_you_type":
                    text_spec = {k: v for k, v in spec.items() if k in ("analyzer", "search_analyzer")}
                    for sub in ("_2gram", "_3gram", "_index_prefix"):
                        leaves.append(Leaf(f"{path}.{sub}", "text", {"type": "text", **text_spec}, path))
        leaves.sort(key=lambda leaf: leaf.path)
        self._leaves = leaves
        yield from leaves

    def iter_objects(self) -> Iterator[tuple[str, str]]:
        """``(path, "object" | "nested")`` of every object field, for ``field_caps``."""
        stack: list[tuple[str, MappingABC[str, Any]]] = [("", self.properties)]
        while stack:
            prefix, props = stack.pop()
            for name in sorted(props):
                spec = props[name]
                ftype = spec.get("type", "object")
                if ftype in OBJECT_TYPES:
                    yield prefix + name, ftype
                    stack.append((f"{prefix}{name}.", spec.get("properties") or {}))

    @property
    def top_level_leaves(self) -> frozenset[str]:
        """Names of the top-level properties that are leaf fields (not objects)."""
        cached: frozenset[str] | None = getattr(self, "_top_level", None)
        if cached is None:
            cached = frozenset(
                name for name, spec in self.properties.items() if spec.get("type", "object") not in OBJECT_TYPES
            )
            self._top_level = cached
        return cached

    def leaf(self, path: str) -> Leaf | None:
        for leaf in self.iter_leaves():
            if leaf.path == path:
                return leaf
        return None

    def object_spec(self, path: str) -> MappingABC[str, Any] | None:
        props: MappingABC[str, Any] = self.properties
        spec: MappingABC[str, Any] | None = None
        for part in path.split("."):
            spec = props.get(part)
            if spec is None:
                return None
            props = spec.get("properties") or {}
        return spec

    # -- evolving -------------------------------------------------------------------------------------------
    def merge(self, update: MappingABC[str, Any]) -> Mapping:
        """A new mapping with ``update`` (a mappings body) merged in; conflicting types raise.

        A body wrapped in ``{"_doc": {...}}`` is refused the way ES 8 refuses types in put-mapping requests.
        """
        update = dict(update)
        if len(update) == 1 and isinstance(update.get("_doc"), dict):
            raise IllegalArgument("Types cannot be provided in put mapping requests")
        upd = Mapping(update, partial=True)  # validates the update on its own
        old_mode = (self.body.get("_source") or {}).get("mode")
        new_mode = (upd.body.get("_source") or {}).get("mode", old_mode) if "_source" in upd.body else old_mode
        if old_mode == "synthetic" and new_mode != "synthetic":
            raise IllegalArgument(
                "Mapper for [_source] conflicts with existing mapper:\n\tCannot update parameter [mode] from "
                f"[synthetic] to [{new_mode or 'stored'}]"
            )
        body = {**self.body, **{k: v for k, v in upd.body.items() if k != "properties"}}
        if "dynamic_templates" in self.body and "dynamic_templates" in upd.body:
            merged = dict(self.templates)
            merged.update(upd.templates)
            body["dynamic_templates"] = [{name: tpl} for name, tpl in merged.items()]
        body["properties"] = _merge_props(self.properties, upd.properties, "")
        if not body["properties"]:
            body.pop("properties")
        return Mapping(body)

    def dynamic_update(self, source: MappingABC[str, Any]) -> dict[str, Any] | None:
        """Properties to add for the unmapped fields of ``source`` (None when nothing is new).

        Raises ``StrictDynamicMappingError`` for a new field under ``dynamic: strict``.
        """
        new: dict[str, Any] = {}
        copies: list[tuple[str, Any]] = []
        self._collect_dynamic(source, self.properties, self.dynamic, new, "", 1, copies)
        for target, sample in copies:
            if self.dynamic != "true" or self.leaf(target) is not None:
                continue
            *parents, name = target.split(".")
            props = new
            for part in parents:
                props = props.setdefault(part, {"properties": {}}).setdefault("properties", {})
            if name not in props:
                props[name] = self._infer_with_templates(target, name, sample) or self._infer(sample)
        return new or None

    def _collect_dynamic(
        self,
        obj: MappingABC[str, Any],
        props: MappingABC[str, Any],
        dynamic: str,
        out: dict[str, Any],
        prefix: str,
        depth: int,
        copies: list[tuple[str, Any]],
    ) -> None:
        if depth > MAX_DEPTH:
            raise IllegalArgument(f"Limit of mapping depth [{MAX_DEPTH}] has been exceeded")
        for key, value in obj.items():
            if not prefix and key in METADATA_FIELDS:
                raise DocumentParsingError(
                    f"[1:{len(key) + 2}] Field [{key}] is a metadata field and cannot be added inside a "
                    "document. Use the index API request parameters."
                )
            if "." in key and key.strip("."):
                head, rest = key.split(".", 1)
                self._collect_dynamic({head: {rest: value}}, props, dynamic, out, prefix, depth, copies)
                continue
            if not key.strip():
                raise DocumentParsingError("field name cannot be an empty string")
            spec = props.get(key)
            path = prefix + key
            sample = _first_non_null(value)
            if spec is not None:
                stype = spec.get("type", "object")
                if stype in OBJECT_TYPES:
                    if isinstance(sample, dict) and spec.get("enabled", True) is not False:
                        child_dyn = str(spec.get("dynamic", dynamic)).lower()
                        sub_out: dict[str, Any] = {}
                        for item in value if isinstance(value, list) else [value]:
                            if isinstance(item, dict):
                                self._collect_dynamic(item, spec.get("properties") or {}, child_dyn,
                                                      sub_out, path + ".", depth + 1, copies)  # fmt: skip
                        if sub_out:
                            out.setdefault(key, {"properties": {}})["properties"].update(sub_out)
                elif sample is not None and "copy_to" in spec:
                    targets = spec["copy_to"]
                    copies.extend((t, sample) for t in (targets if isinstance(targets, list) else [targets]))
                continue
            if sample is None:
                continue
            if dynamic == "strict":
                where = prefix.rstrip(".") or "_doc"
                raise StrictDynamicMappingError(
                    f"[1:2] mapping set to strict, dynamic introduction of [{key}] within [{where}] is not allowed"
                )
            if dynamic in ("false", "runtime"):
                continue
            existing = out.get(key)
            if isinstance(sample, dict):
                mapped = self._infer_with_templates(path, key, sample) if self.templates else None
                if mapped is not None and mapped.get("type", "object") not in OBJECT_TYPES:
                    out.setdefault(key, mapped)
                    continue
                base = {k: v for k, v in (mapped or {}).items() if k != "properties"}
                if base.get("enabled", True) is False:
                    out.setdefault(key, base or {"type": "object"})
                    continue
                child_dyn = str(base.get("dynamic", dynamic)).lower()
                sub_props: dict[str, Any] = dict((existing or {}).get("properties", {}))
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, dict):
                        self._collect_dynamic(item, {}, child_dyn, sub_props, path + ".", depth + 1, copies)
                if sub_props:
                    out[key] = {**base, "properties": sub_props}
                else:
                    out[key] = base or {"type": "object"}
            elif existing is None:
                mapped = self._infer_with_templates(path, key, sample) if self.templates else None
                if mapped is not None and mapped.get("runtime"):
                    continue
                out[key] = mapped if mapped is not None else self._infer(sample)

    def _dynamic_type(self, value: Any) -> tuple[str, dict[str, Any]]:
        """ES's ``match_mapping_type`` of a JSON value plus the mapping it gets without a template."""
        if isinstance(value, dict):
            return "object", {"type": "object"}
        inferred = self._infer(value)
        ftype = inferred["type"]
        if ftype == "text":
            return "string", inferred
        if ftype == "float":
            return "double", inferred
        return ftype, inferred

    def _infer_with_templates(self, path: str, name: str, value: Any) -> dict[str, Any] | None:
        """The mapping of a new field from the first matching ``dynamic_templates`` entry (None: no match)."""
        dyn_type, inferred = self._dynamic_type(value)
        for _, tpl in self.templates:
            mmt = tpl.get("match_mapping_type")
            if mmt is not None:
                types = mmt if isinstance(mmt, list) else [mmt]
                if "*" not in types and dyn_type not in types:
                    continue
            ummt = tpl.get("unmatch_mapping_type")
            if ummt is not None and dyn_type in (ummt if isinstance(ummt, list) else [ummt]):
                continue
            regex = tpl.get("match_pattern") == "regex"
            if "match" in tpl and not _template_match(tpl["match"], name, regex):
                continue
            if "unmatch" in tpl and _template_match(tpl["unmatch"], name, regex):
                continue
            if "path_match" in tpl and not _template_match(tpl["path_match"], path, regex):
                continue
            if "path_unmatch" in tpl and _template_match(tpl["path_unmatch"], path, regex):
                continue
            if "runtime" in tpl:
                return {"runtime": True}
            default_type = _DEFAULT_DYNAMIC_MAPPING[dyn_type]
            mapping = _substitute(tpl.get("mapping") or {}, name, default_type)
            if "type" not in mapping and dyn_type != "object":
                mapping = {"type": default_type, **mapping}
                if default_type == "date" and "format" in inferred and "format" not in mapping:
                    mapping["format"] = inferred["format"]
            _check_field_def(path, mapping)
            return dict(mapping)
        return None

    def _infer(self, value: Any) -> dict[str, Any]:
        if isinstance(value, bool):
            return {"type": "boolean"}
        if isinstance(value, int):
            return {"type": "long"}
        if isinstance(value, float):
            return {"type": "float"}
        if isinstance(value, str):
            if self.date_detection:
                for fmt in self.dynamic_date_formats:
                    try:
                        dates.parse_date(value, tuple(fmt.split("||")))
                    except ValueError:
                        continue
                    else:
                        if not value.lstrip("-").isdigit():
                            if fmt == "strict_date_optional_time":
                                return {"type": "date"}
                            return {"type": "date", "format": fmt}
            if self.numeric_detection:
                try:
                    int(value)
                    return {"type": "long"}
                except ValueError:
                    try:
                        float(value)
                        return {"type": "float"}
                    except ValueError:
                        pass
            return {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
        raise DocumentParsingError(f"cannot infer a mapping for value [{value!r}]")


def _first_non_null(value: Any) -> Any:
    if isinstance(value, list):
        for item in value:
            found = _first_non_null(item)
            if found is not None:
                return found
        return None
    return value


def _merge_props(old: MappingABC[str, Any], new: MappingABC[str, Any], prefix: str) -> dict[str, Any]:
    out = dict(old)
    for name, spec in new.items():
        path = prefix + name
        if name not in out:
            out[name] = spec
            continue
        cur = out[name]
        cur_type = cur.get("type", "object")
        new_type = spec.get("type")
        if new_type is None:
            # ``{"properties": ...}`` without a type (dynamic updates) merges into any object, nested included.
            new_type = cur_type if cur_type in OBJECT_TYPES and "properties" in spec else "object"
        if cur_type != new_type:
            raise IllegalArgument(f"mapper [{path}] cannot be changed from type [{cur_type}] to [{new_type}]")
        if cur_type in OBJECT_TYPES:
            if "enabled" in spec and spec["enabled"] != cur.get("enabled", True):
                raise MapperParsingError(f"the [enabled] parameter can't be updated for the object mapping [{path}]")
            merged = {**cur, **{k: v for k, v in spec.items() if k != "properties"}}
            merged["properties"] = _merge_props(cur.get("properties") or {}, spec.get("properties") or {},
                                                path + ".")  # fmt: skip
            if not merged["properties"] and "properties" not in cur and "properties" not in spec:
                merged.pop("properties")
            out[name] = merged
            continue
        for param in ("analyzer", "normalizer", "scaling_factor", "index", "doc_values", "format"):
            if param in spec and spec.get(param) != cur.get(param):
                raise IllegalArgument(
                    f"Mapper for [{path}] conflicts with existing mapper:\n\tCannot update parameter "
                    f"[{param}] from [{cur.get(param, 'default')}] to [{spec.get(param)}]"
                )
        merged_leaf = {**cur, **spec}
        if "fields" in cur or "fields" in spec:
            merged_leaf["fields"] = {**(cur.get("fields") or {}), **(spec.get("fields") or {})}
        out[name] = merged_leaf
    return out


# -- document values ----------------------------------------------------------------------------------------
_KEYWORD_LIKE = ("keyword", "constant_keyword", "wildcard", "version", "flattened")
_TEXT_LIKE = ("text", "match_only_text", "search_as_you_type")


def convert_value(leaf: Leaf, value: Any, doc_id: str | None) -> Any:
    """One source value → the value stored in the leaf's tantivy field (None: not indexed).

    ``geo_point`` gives a ``(lat, lon)`` tuple, range types a ``(lower, upper)`` tuple of inclusive bounds,
    types kept in ``_source`` only give None.
    """
    ftype = leaf.type
    try:
        if value is None:
            value = leaf.params.get("null_value")
            if value is None:
                return None
        if ftype in _TEXT_LIKE:
            if isinstance(value, dict | list):
                raise ValueError("object")
            return value if isinstance(value, str) else _stringify(value)
        if ftype in _KEYWORD_LIKE:
            if isinstance(value, dict | list):
                raise ValueError("object")
            text = value if isinstance(value, str) else _stringify(value)
            limit = leaf.params.get("ignore_above")
            if limit is not None and len(text) > int(limit):
                return None
            return text
        if ftype in NUMERIC_INT_TYPES:
            return _to_int(value, ftype, _flag(leaf.params.get("coerce", True)))
        if ftype in NUMERIC_FLOAT_TYPES:
            number = _to_float(value, _flag(leaf.params.get("coerce", True)))
            if ftype == "scaled_float":
                factor = float(leaf.params["scaling_factor"])
                number = round(number * factor) / factor
            return number
        if ftype in ("date", "date_nanos"):
            formats = tuple(str(leaf.params.get("format", "strict_date_optional_time||epoch_millis")).split("||"))
            if isinstance(value, bool):
                raise ValueError("boolean")
            return dates.parse_date(value, formats)
        if ftype == "boolean":
            if isinstance(value, bool):
                return value
            if value in ("true", "false"):
                return value == "true"
            if value == "":
                return False
            raise ValueError("boolean")
        if ftype == "ip":
            return _ip(value)
        if ftype == "token_count":
            if isinstance(value, dict | list):
                raise ValueError("object")
            return len(re.findall(r"\w+", value if isinstance(value, str) else _stringify(value)))
        if ftype == "geo_point":
            return parse_geo_point(value, leaf.path, _flag(leaf.params.get("ignore_z_value", True)))
        if ftype in RANGE_TYPES:
            return parse_range(leaf, value)
        if ftype == "alias":
            raise MapperParsingError(f"Cannot write to a field alias [{leaf.path}].")
        if ftype in SOURCE_ONLY_TYPES:
            return None
    except (ValueError, TypeError, OverflowError) as exc:
        if _flag(leaf.params.get("ignore_malformed", False)):
            return None
        preview = value if not isinstance(value, str) else f"'{value}'"
        reason = f"failed to parse field [{leaf.path}] of type [{ftype}]"
        if doc_id is not None:
            reason += f" in document with id '{doc_id}'"
        reason += f". Preview of field's value: {preview if not isinstance(value, dict) else _preview(value)}"
        # ES 8.0-8.7 and the 7.x clients report value failures as mapper_parsing_exception.
        raise MapperParsingError(reason, caused_by=IllegalArgument(str(exc) or repr(exc))) from None
    raise MapperParsingError(f"No handler for type [{ftype}] declared on field [{leaf.path}]")


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _ip(value: Any) -> str:
    if isinstance(value, bool | dict | list):
        raise ValueError(f"'{value}' is not an IP string literal.")
    addr = ipaddress.ip_address(str(value))
    if isinstance(addr, ipaddress.IPv4Address):
        return str(ipaddress.IPv6Address(f"::ffff:{addr}"))
    return str(addr)


# -- geo_point ----------------------------------------------------------------------------------------------
_GEOHASH = "0123456789bcdefghjkmnpqrstuvwxyz"
_WKT_POINT = re.compile(r"\s*POINT\s*\(\s*(\S+)\s+(\S+)(?:\s+(\S+))?\s*\)\s*", re.I)


def _coord(value: Any, name: str) -> float:
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        raise ValueError(f"[{name}] must be a number")
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        raise ValueError(f"unsupported {name} value [{value}]")
    return number


def _decode_geohash(text: str) -> tuple[float, float]:
    if not text:
        raise ValueError("empty geohash")
    lat, lon = [-90.0, 90.0], [-180.0, 180.0]
    even = True
    for ch in text.lower():
        idx = _GEOHASH.find(ch)
        if idx < 0:
            raise ValueError(f"unsupported symbol [{ch}] in geohash [{text}]")
        for bit in (16, 8, 4, 2, 1):
            rng = lon if even else lat
            mid = (rng[0] + rng[1]) / 2
            if idx & bit:
                rng[0] = mid
            else:
                rng[1] = mid
            even = not even
    return (lat[0] + lat[1]) / 2, (lon[0] + lon[1]) / 2


def _check_z(z: Any, path: str, ignore_z: bool) -> None:
    if z is not None and not ignore_z:
        raise ValueError(f"Exception parsing coordinates: found Z value [{z}] but [ignore_z_value] parameter is "
                         "[false]")  # fmt: skip


def parse_geo_point(value: Any, path: str = "", ignore_z: bool = True) -> tuple[float, float]:
    """``(lat, lon)`` of one ES geo_point value (object, ``"lat,lon"``, ``[lon, lat]``, geohash, WKT, GeoJSON)."""
    if isinstance(value, dict):
        if "coordinates" in value or "type" in value:
            if str(value.get("type", "")).lower() != "point":
                raise ValueError("[type] for geo_point can only be 'Point'")
            coords = value.get("coordinates")
            if not isinstance(coords, list):
                raise ValueError("[coordinates] must be an array")
            return parse_geo_point(coords, path, ignore_z)
        if "geohash" in value:
            if set(value) - {"geohash"}:
                raise ValueError("field must be either lat/lon or geohash")
            return parse_geo_point(_decode_geohash(str(value["geohash"])), path, ignore_z)  # type: ignore[arg-type]
        for key in value:
            if key not in ("lat", "lon", "z"):
                raise ValueError("field must be either [lat], [lon], [z], [type], [coordinates] or [geohash]")
        if "lat" not in value:
            raise ValueError("field [lat] missing")
        if "lon" not in value:
            raise ValueError("field [lon] missing")
        _check_z(value.get("z"), path, ignore_z)
        lat, lon = _coord(value["lat"], "lat"), _coord(value["lon"], "lon")
    elif isinstance(value, tuple):  # an already decoded (lat, lon)
        lat, lon = value
    elif isinstance(value, list):
        if len(value) < 2 or len(value) > 3:
            raise ValueError("[geo_point] field type should have at least two dimensions" if len(value) < 2
                             else "[geo_point] field type does not accept more than 3 values")  # fmt: skip
        _check_z(value[2] if len(value) == 3 else None, path, ignore_z)
        lon, lat = _coord(value[0], "lon"), _coord(value[1], "lat")
    elif isinstance(value, str):
        text = value.strip()
        wkt = _WKT_POINT.fullmatch(text)
        if wkt:
            _check_z(wkt.group(3), path, ignore_z)
            lon, lat = _coord(wkt.group(1), "lon"), _coord(wkt.group(2), "lat")
        elif "," in text:
            parts = [p.strip() for p in text.split(",")]
            if len(parts) > 3:
                raise ValueError(f"failed to parse [{text}], expected 2 or 3 coordinates but found: [{len(parts)}]")
            _check_z(parts[2] if len(parts) == 3 else None, path, ignore_z)
            lat, lon = _coord(parts[0], "lat"), _coord(parts[1], "lon")
        else:
            lat, lon = _decode_geohash(text)
    else:
        raise ValueError(f"geo_point expected, got [{value}]")
    if not -90.0 <= lat <= 90.0:
        raise ValueError(f"illegal latitude value [{lat}] for {path}")
    if not -180.0 <= lon <= 180.0:
        raise ValueError(f"illegal longitude value [{lon}] for {path}")
    return lat, lon


def geo_point_values(value: Any) -> list[Any]:
    """The individual points of a geo_point source value (``[lon, lat]`` is one point, not two)."""
    if isinstance(value, list):
        if value and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            return [value]
        out: list[Any] = []
        for item in value:
            if isinstance(item, list):
                out.extend(geo_point_values(item))
            else:
                out.append(item)
        return out
    return [value]


# -- range fields -------------------------------------------------------------------------------------------
_RANGE_LIMITS: dict[str, tuple[Any, Any]] = {
    "integer": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
    "float": (-3.4028234663852886e38, 3.4028234663852886e38),
    "double": (-1.7976931348623157e308, 1.7976931348623157e308),
    "date": (-(2**63), 2**63 - 1),
    "ip": ("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
}


def _range_bound(leaf: Leaf, kind: str, value: Any, step: int) -> Any:
    """One bound as an inclusive stored value; ``step`` is +1 for ``gt``, -1 for ``lt``, 0 when inclusive."""
    if kind in ("integer", "long"):
        number = _to_int(value, kind, _flag(leaf.params.get("coerce", True))) + step
        if not _RANGE_LIMITS[kind][0] <= number <= _RANGE_LIMITS[kind][1]:
            raise ValueError(f"Value [{value}] is out of range for {kind}")
        return number
    if kind in ("float", "double"):
        real = _to_float(value, _flag(leaf.params.get("coerce", True)))
        if kind == "float" and abs(real) > _RANGE_LIMITS["float"][1]:
            raise ValueError(f"[float] supports only finite values, but got [{value}]")
        return math.nextafter(real, math.inf * step) if step else real
    if kind == "date":
        if isinstance(value, bool):
            raise ValueError("boolean")
        formats = tuple(str(leaf.params.get("format", "strict_date_optional_time||epoch_millis")).split("||"))
        return int(dates.parse_date(value, formats)) + step
    addr = ipaddress.ip_address(_ip(value))
    return str(ipaddress.IPv6Address(int(addr) + step))


def parse_range(leaf: Leaf, value: Any) -> tuple[Any, Any]:
    """``(lower, upper)`` inclusive bounds of one range-field value (a CIDR string for ``ip_range`` too)."""
    kind = RANGE_TYPES[leaf.type]
    lo, hi = _RANGE_LIMITS[kind]
    if kind == "ip" and isinstance(value, str):
        net = ipaddress.ip_network(value, strict=False)
        return _ip(str(net.network_address)), _ip(str(net.broadcast_address))
    if not isinstance(value, dict):
        raise ValueError(f"error parsing field [{leaf.path}], expected an object but got {type(value).__name__}")
    for key, bound in value.items():
        if key in ("gt", "gte", "from") and bound is not None:
            lo = _range_bound(leaf, kind, bound, 1 if key == "gt" else 0)
        elif key in ("lt", "lte", "to") and bound is not None:
            hi = _range_bound(leaf, kind, bound, -1 if key == "lt" else 0)
        elif key not in ("gt", "gte", "lt", "lte", "from", "to", "include_lower", "include_upper"):
            raise ValueError(f"error parsing field [{leaf.path}], with unknown parameter [{key}]")
    if kind == "ip":
        lo, hi = _ip(lo), _ip(hi)
        if int(ipaddress.IPv6Address(lo)) > int(ipaddress.IPv6Address(hi)):
            raise ValueError(f"min value ({lo}) is greater than max value ({hi})")
        return lo, hi
    if lo > hi:
        raise ValueError(f"min value ({lo}) is greater than max value ({hi})")
    return lo, hi


def _preview(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_preview(v)}" for k, v in value.items()) + "}"
    return str(value)


def _stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _to_int(value: Any, ftype: str, coerce: bool) -> int:
    if isinstance(value, bool):
        raise ValueError("boolean")
    if isinstance(value, str) and not coerce:
        raise ValueError("[coerce] is false, strings are not accepted")
    if isinstance(value, str):
        text = value.strip()
        try:
            number: int | float = int(text)
        except ValueError:
            number = float(text)
    elif isinstance(value, int | float):
        number = value
    else:
        raise ValueError(f"Current token ({type(value).__name__}) not numeric")
    if isinstance(number, float):
        if math.isnan(number) or math.isinf(number):
            raise ValueError(f"[{ftype}] supports only finite values")
        if number != int(number) and not coerce:
            raise ValueError(f"Value [{number}] has a decimal part")
        number = int(number)
    lo, hi = _INT_RANGES[ftype]
    if not lo <= number <= hi:
        raise ValueError(f"Value [{number}] is out of range for {ftype}")
    return number


def _to_float(value: Any, coerce: bool = True) -> float:
    if isinstance(value, bool):
        raise ValueError("boolean")
    if isinstance(value, str) and not coerce:
        raise ValueError("[coerce] is false, strings are not accepted")
    if isinstance(value, str):
        number = float(value.strip())
    elif isinstance(value, int | float):
        number = float(value)
    else:
        raise ValueError("not numeric")
    if math.isnan(number) or math.isinf(number):
        raise ValueError("[float] supports only finite values")
    return number
