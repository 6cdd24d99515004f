"""ES mappings: parsing, merging, dynamic mapping and document conversion.

A ``Mapping`` is the ES mapping of one index (``properties`` tree, ``dynamic``, date detection). It is
immutable: dynamic updates and ``PUT _mapping`` produce a new ``Mapping`` via ``merge``. The JSON it
renders (``to_dict``) is what ``GET _mapping`` returns.

Schema evolution (the DESIGN decision for fixed tantivy schemas): every leaf field gets a first-class
typed tantivy field (see ``native.fields``). When a mapping gains a leaf, the shard rebuilds its tantivy
index under the new schema from the stored ``_source`` (``native.shard``). The coordinator computes
dynamic mapping updates for a whole bulk request *before* routing it, so a bulk load pays for at most
one rebuild per new field set, and one usually happens while the index is still empty.
"""

from __future__ import annotations

import ipaddress
import math
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

LEAF_TYPES = frozenset(
    {"text", "keyword", "date", "boolean", "ip", "match_only_text", "constant_keyword", "wildcard"}
    | NUMERIC_INT_TYPES
    | NUMERIC_FLOAT_TYPES
)
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
}
_DEFAULT_DYNAMIC_DATE_FORMATS = ("strict_date_optional_time", "yyyy/MM/dd HH:mm:ss||yyyy/MM/dd")

# Parameters each field type accepts (others are a mapper_parsing_exception, as in ES).
_COMMON_PARAMS = {"type", "fields", "index", "store", "doc_values", "copy_to", "meta", "boost"}
_TYPE_PARAMS: dict[str, set[str]] = {
    "text": {"analyzer", "search_analyzer", "search_quote_analyzer", "norms", "index_options",
             "fielddata", "position_increment_gap", "term_vector", "similarity", "index_prefixes",
             "index_phrases", "eager_global_ordinals", "fielddata_frequency_filter"},
    "keyword": {"ignore_above", "normalizer", "null_value", "eager_global_ordinals", "norms",
                "index_options", "split_queries_on_whitespace", "similarity", "time_series_dimension",
                "script", "on_script_error"},
    "date": {"format", "locale", "null_value", "ignore_malformed", "precision_step"},
    "boolean": {"null_value"},
    "ip": {"null_value", "ignore_malformed"},
}  # fmt: skip
_NUMERIC_PARAMS = {"null_value", "coerce", "ignore_malformed", "scaling_factor", "time_series_metric"}


@dataclass(frozen=True)
class Leaf:
    """One indexable leaf: a mapped field or one of its multi-fields (``title.keyword``)."""

    path: str
    type: str
    params: MappingABC[str, Any]
    # Where the value comes from in ``_source``: the parent's path for a multi-field.
    source_path: str = ""


def _check_field_def(path: str, spec: Any) -> None:
    if not isinstance(spec, dict):
        raise MapperParsingError(f"Expected map for property [fields] on field [{path}] but got a {type(spec)}")
    ftype = spec.get("type", "object" if "properties" in spec or "type" not in spec else None)
    if ftype in OBJECT_TYPES:
        for k in spec:
            if k not in ("type", "properties", "dynamic", "enabled", "subobjects"):
                raise MapperParsingError(f"unknown parameter [{k}] on mapper [{path}] of type [{ftype}]")
        for name, child in (spec.get("properties") or {}).items():
            _check_field_def(f"{path}.{name}", child)
        return
    if ftype not in LEAF_TYPES:
        raise MapperParsingError(f"No handler for type [{ftype}] declared on field [{path}]")
    allowed = _COMMON_PARAMS | _TYPE_PARAMS.get(str(ftype), _NUMERIC_PARAMS if ftype != "text" else set())
    if ftype in NUMERIC_INT_TYPES or ftype in NUMERIC_FLOAT_TYPES:
        allowed = _COMMON_PARAMS | _NUMERIC_PARAMS
    for k in spec:
        if k not in allowed:
            raise MapperParsingError(f"unknown parameter [{k}] on mapper [{path}] of type [{ftype}]")
    if ftype == "scaled_float" and "scaling_factor" not in spec:
        raise MapperParsingError(f"Field [scaling_factor] is required for field [{path}]")
    for sub, sub_spec in (spec.get("fields") or {}).items():
        _check_field_def(f"{path}.{sub}", sub_spec)


class Mapping:
    """An immutable ES mapping (the ``mappings`` object of one index)."""

    def __init__(self, body: MappingABC[str, Any] | None = None) -> None:
        body = dict(body or {})
        body.pop("_doc", None) if "_doc" in body and len(body) == 1 else None
        if "_doc" in body and isinstance(body["_doc"], dict):
            body = dict(body["_doc"])
        for key in body:
            if key not in ("properties", "dynamic", "date_detection", "numeric_detection",
                           "dynamic_date_formats", "_source", "_meta", "dynamic_templates",
                           "_routing", "enabled", "runtime", "subobjects"):  # fmt: skip
                raise MapperParsingError(f"Root mapping definition has unsupported parameters:  [{key} : {body[key]}]")
        if "runtime" in body:
            raise IllegalArgument("cannot execute [inline] scripts")
        for name, spec in (body.get("properties") or {}).items():
            _check_field_def(name, spec)
        self.body: dict[str, Any] = body
        self.properties: dict[str, Any] = dict(body.get("properties") or {})
        dyn = body.get("dynamic", True)
        self.dynamic: str = str(dyn).lower() if not isinstance(dyn, bool) else ("true" if dyn else "false")
        self.date_detection = bool(body.get("date_detection", True))
        self.numeric_detection = bool(body.get("numeric_detection", False))
        formats = body.get("dynamic_date_formats", _DEFAULT_DYNAMIC_DATE_FORMATS)
        self.dynamic_date_formats: tuple[str, ...] = tuple(formats)
        self._leaves: list[Leaf] | None = None
        if sum(1 for _ in self.iter_leaves()) > MAX_TOTAL_FIELDS:
            raise IllegalArgument(f"Limit of total fields [{MAX_TOTAL_FIELDS}] has been exceeded")

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
                    if spec.get("enabled", True):
                        stack.append((path + ".", spec.get("properties") or {}))
                    continue
                leaves.append(Leaf(path, ftype, spec, path))
                for sub, sub_spec in sorted((spec.get("fields") or {}).items()):
                    leaves.append(Leaf(f"{path}.{sub}", sub_spec.get("type", "keyword"), sub_spec, path))
        leaves.sort(key=lambda leaf: leaf.path)
        self._leaves = leaves
        yield from leaves

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
        """A new mapping with ``update`` (a mappings body) merged in; conflicting types raise."""
        update = dict(update)
        if "_doc" in update and isinstance(update["_doc"], dict) and len(update) == 1:
            update = dict(update["_doc"])
        Mapping(update)  # validates the update on its own
        body = {**self.body, **{k: v for k, v in update.items() if k != "properties"}}
        body["properties"] = _merge_props(self.properties, update.get("properties") or {}, "")
        if not body["properties"]:
            body.pop("properties")
        return Mapping(body)

    def dynamic_update(self, source: MappingABC[str, Any]) -> dict[str, Any] | None:
        """Properties to add for the unmapped fields of ``source`` (None when nothing is new).

        Raises ``StrictDynamicMappingError`` for a new field under ``dynamic: strict``.
        """
        new: dict[str, Any] = {}
        self._collect_dynamic(source, self.properties, self.dynamic, new, "", 1)
        return new or None

    def _collect_dynamic(
        self,
        obj: MappingABC[str, Any],
        props: MappingABC[str, Any],
        dynamic: str,
        out: dict[str, Any],
        prefix: str,
        depth: int,
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
                self._collect_dynamic({head: {rest: value}}, props, dynamic, out, prefix, depth)
                continue
            if not key.strip():
                raise DocumentParsingError("field name cannot be an empty string")
            spec = props.get(key)
            path = prefix + key
            sample = _first_non_null(value)
            if spec is not None:
                if spec.get("type", "object") in OBJECT_TYPES and isinstance(sample, dict):
                    child_dyn = str(spec.get("dynamic", dynamic)).lower()
                    sub_out: dict[str, Any] = {}
                    for item in value if isinstance(value, list) else [value]:
                        if isinstance(item, dict):
                            self._collect_dynamic(item, spec.get("properties") or {}, child_dyn,
                                                  sub_out, path + ".", depth + 1)  # fmt: skip
                    if sub_out:
                        out.setdefault(key, {"properties": {}})["properties"].update(sub_out)
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
                sub_props: dict[str, Any] = dict((existing or {}).get("properties", {}))
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, dict):
                        self._collect_dynamic(item, {}, dynamic, sub_props, path + ".", depth + 1)
                out[key] = {"properties": sub_props} if sub_props else {"type": "object"}
            elif existing is None:
                out[key] = self._infer(sample)

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
                            return {"type": "date"}
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
        new_type = spec.get("type", "object")
        if cur_type != new_type:
            raise IllegalArgument(f"mapper [{path}] cannot be changed from type [{cur_type}] to [{new_type}]")
        if cur_type in OBJECT_TYPES:
            merged = {**cur, **{k: v for k, v in spec.items() if k != "properties"}}
            merged["properties"] = _merge_props(cur.get("properties") or {}, spec.get("properties") or {},
                                                path + ".")  # fmt: skip
            out[name] = merged
            continue
        for param in ("analyzer", "normalizer", "scaling_factor", "index"):
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
def convert_value(leaf: Leaf, value: Any, doc_id: str | None) -> Any:
    """One source value → the value stored in the leaf's tantivy field (None: not indexed)."""
    ftype = leaf.type
    try:
        if value is None:
            value = leaf.params.get("null_value")
            if value is None:
                return None
        if ftype in ("text", "match_only_text"):
            if isinstance(value, dict | list):
                raise ValueError("object")
            return value if isinstance(value, str) else _stringify(value)
        if ftype in ("keyword", "constant_keyword", "wildcard"):
            if isinstance(value, dict | list):
                raise ValueError("object")
            text = value if isinstance(value, str) else _stringify(value)
            limit = leaf.params.get("ignore_above")
            if limit is not None and len(text) > int(limit):
                return None
            return text
        if ftype in NUMERIC_INT_TYPES:
            return _to_int(value, ftype, leaf.params.get("coerce", True))
        if ftype in NUMERIC_FLOAT_TYPES:
            number = _to_float(value)
            if ftype == "scaled_float":
                factor = float(leaf.params["scaling_factor"])
                number = round(number * factor) / factor
            return number
        if ftype == "date":
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
            addr = ipaddress.ip_address(str(value))
            if isinstance(addr, ipaddress.IPv4Address):
                return str(ipaddress.IPv6Address(f"::ffff:{addr}"))
            return str(addr)
    except (ValueError, TypeError, OverflowError) as exc:
        if leaf.params.get("ignore_malformed"):
            return None
        preview = value if not isinstance(value, str) else f"'{value}'"
        reason = f"failed to parse field [{leaf.path}] of type [{ftype}]"
        if doc_id is not None:
            reason += f" in document with id '{doc_id}'"
        reason += f". Preview of field's value: {preview if not isinstance(value, dict) else _preview(value)}"
        # ES 8.0-8.7 and the 7.x clients report value failures as mapper_parsing_exception.
        raise MapperParsingError(reason, caused_by=IllegalArgument(str(exc) or repr(exc))) from None
    raise MapperParsingError(f"No handler for type [{ftype}] declared on field [{leaf.path}]")


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


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("boolean")
    if isinstance(value, str):
        number = float(value.strip())
    elif isinstance(value, int | float):
        number = float(value)
    else:
        raise ValueError("not numeric")
    if math.isnan(number) or math.isinf(number):
        raise ValueError("[float] supports only finite values")
    return number
