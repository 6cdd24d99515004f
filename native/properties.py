"""The ``properties`` tree: dotted names expanded, each field definition validated, two trees merged."""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from typing import Any

from native.errors import IllegalArgument, MapperParsingError, ParsingError
from native.field_types import LEAF_TYPES, OBJECT_TYPES, RANGE_TYPES, Leaf
from native.fields import NUMERIC_FLOAT_TYPES, NUMERIC_INT_TYPES
from native.values import convert_value

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
_OBJECT_PARAMS = {"type", "properties", "dynamic", "enabled", "subobjects", "include_in_parent", "include_in_root",
                  "priority", "time_series_dimension"}  # fmt: skip


def subobjects_mode(value: Any) -> str:
    """An object's ``subobjects`` as ``"true"``, ``"false"`` or ``"auto"`` (ES 8.16+: dotted names stay
    whole unless an object of their first part is mapped, objects in documents still make objects)."""
    if value is False or str(value).lower() == "false":
        return "false"
    return "auto" if str(value).lower() == "auto" else "true"


def _check_passthrough(path: str, spec: MappingABC[str, Any]) -> None:
    priority = spec.get("priority")
    if priority is None:
        raise MapperParsingError(f"Failed to parse mapping: Pass-through object [{path}] is missing a non-negative "
                                 "value for parameter [priority]")  # fmt: skip
    if isinstance(priority, bool) or not isinstance(priority, int) or priority < 0:
        raise MapperParsingError(f"Failed to parse mapping: Pass-through object [{path}] is missing a non-negative "
                                 "value for parameter [priority]")  # fmt: skip
    if str(spec.get("subobjects", "false")).lower() != "false":
        raise MapperParsingError(f"Failed to parse mapping: Mapping definition for [{path}] has unsupported "
                                 "parameters:  [subobjects : true]")  # fmt: skip


def _check_doc_values_object(path: str, ftype: str, value: dict[str, Any]) -> None:
    """``doc_values: {cardinality: low|high}`` (ES 9 keyword and match_only_text): doc values are on; how ES
    lays them out on disk (sorted-set or binary) does not change what a query or aggregation sees here."""
    if ftype not in ("keyword", "match_only_text"):
        raise MapperParsingError(
            f"Failed to parse mapping: Cannot parse value [{value}] as only [true] or [false] are allowed. for "
            f"parameter [doc_values] of field [{path}]"
        )
    for key, setting in value.items():
        if key != "cardinality":
            raise MapperParsingError(f"Failed to parse mapping: unknown parameter [{key}] in [doc_values] of field "
                                     f"[{path}]")  # fmt: skip
        if setting not in ("low", "high"):
            raise MapperParsingError(f"Failed to parse mapping: unknown value [{setting}] for [doc_values.cardinality] "
                                     f"of field [{path}], expected one of [low, high]")  # fmt: skip


def normalize_properties(props: Any, prefix: str = "", subobjects: Any = True) -> dict[str, Any]:
    """``properties`` with dotted names expanded into objects (``{"a.b": x}`` → ``{"a": {"properties": {"b": x}}}``)
    where the object's ``subobjects`` is true (``false`` and ``auto`` keep them whole)."""
    mode = subobjects_mode(subobjects)
    if not isinstance(props, dict):
        raise MapperParsingError(f"Expected map for property [properties] on field [{prefix.rstrip('.') or '_doc'}] "
                                 f"but got a class {type(props).__name__}")  # fmt: skip
    out: dict[str, Any] = {}
    for name, spec in props.items():
        if not isinstance(name, str) or name == "":
            raise IllegalArgument("field name cannot be an empty string")
        if not name.strip():
            raise IllegalArgument(f"field name cannot contain only whitespaces: ['{name}']")
        if isinstance(spec, dict):
            _check_type_name(f"{prefix}{name}", spec)
        if isinstance(spec, dict) and "properties" in spec and spec.get("type", "object") in OBJECT_TYPES:
            sub = spec.get("subobjects", True if mode == "auto" else subobjects)
            if spec.get("type") == "passthrough":
                sub = False  # a pass-through object keeps dotted names whole
            spec = {**spec, "properties": normalize_properties(spec["properties"], f"{prefix}{name}.", sub)}
        if "." in name and mode == "true":
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


_INT_PARAMS = ("ignore_above", "position_increment_gap", "max_input_length", "max_shingle_size")


def _check_int_param(path: str, key: str, value: Any) -> None:
    """An integer parameter (``ignore_above``…): an int or a numeric string, not negative."""
    number: Any = value
    if isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            raise MapperParsingError(
                f'Failed to parse mapping: For input string: "{value}" for parameter [{key}] of field [{path}]'
            ) from None
    if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number < 2**31:
        raise MapperParsingError(
            f"Failed to parse mapping: [{key}] on field [{path}] must be a positive integer, got [{value}]"
        )


def _check_type_name(path: str, spec: MappingABC[str, Any]) -> None:
    if "type" in spec and not isinstance(spec["type"], str):
        raise MapperParsingError(f"No handler for type [{spec['type']}] declared on field [{path}]")


def _check_field_def(path: str, spec: Any) -> None:
    if not isinstance(spec, dict):
        raise MapperParsingError(f"Expected map for property [fields] on field [{path}] but got a {type(spec)}")
    _check_type_name(path, spec)
    ftype = spec.get("type", "object" if "properties" in spec or "type" not in spec else None)
    if ftype in OBJECT_TYPES:
        for k in spec:
            if k not in _OBJECT_PARAMS or (k in ("priority", "time_series_dimension") and ftype != "passthrough"):
                raise MapperParsingError(f"unknown parameter [{k}] on mapper [{path}] of type [{ftype}]")
        if ftype == "passthrough":
            _check_passthrough(path, spec)
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
    for key in _INT_PARAMS:
        if key in spec:
            _check_int_param(path, key, spec[key])
    if ftype == "scaled_float":
        factor = spec["scaling_factor"]
        if isinstance(factor, bool) or not isinstance(factor, int | float) or not 0 < factor < float("inf"):
            raise MapperParsingError(
                f"Failed to parse mapping: [scaling_factor] must be a positive number, got [{factor}]"
            )
    if ftype == "completion" and spec.get("contexts") is not None:
        from native.completion_contexts import parse_mappings

        try:
            parse_mappings(spec)
        except (IllegalArgument, ParsingError) as exc:
            raise MapperParsingError(f"Failed to parse mapping: {exc.reason}") from None
    if ftype == "token_count" and "analyzer" not in spec:
        raise MapperParsingError(f"Analyzer must be set for field [{path}] but wasn't.")
    if ftype == "dense_vector" and "dims" in spec and not isinstance(spec["dims"], int):
        raise MapperParsingError(f"Failed to parse mapping: [dims] on mapper [{path}] of type [dense_vector] "
                                 f"must be an integer")  # fmt: skip
    if isinstance(spec.get("doc_values"), dict):
        _check_doc_values_object(path, str(ftype), spec["doc_values"])
    for flag in ("index", "doc_values", "store", "coerce", "ignore_malformed"):
        if flag == "doc_values" and isinstance(spec.get(flag), dict):
            continue
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
    fields = spec.get("fields") or {}
    if not isinstance(fields, dict):
        raise MapperParsingError(
            f"Failed to parse mapping: Expected map for property [fields] on field [{path}] but got a "
            f"{type(fields).__name__}"
        )
    for sub, sub_spec in fields.items():
        _check_field_def(f"{path}.{sub}", sub_spec)


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
