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

* ``nested``: its sub-fields get tantivy fields like an ``object``'s, but each nested object is a document
  of its own (``native.nested``), kept out of the top-level document unless ``include_in_parent`` /
  ``include_in_root``. Dynamic updates under a nested field merge into it.
* ``geo_point``: every ES value format parses (object, ``"lat,lon"``, ``[lon, lat]``, geohash, WKT
  ``POINT``, GeoJSON); latitude and longitude go to two hidden f64 fast fields. ``geo_shape``, ``shape``
  and ``point`` are accepted and kept in ``_source`` only.
* range types (``integer_range long_range float_range double_range date_range ip_range``): each range's
  inclusive lower/upper bound goes to two hidden fast fields (``gt``/``lt`` are made inclusive first).
  A multi-valued range field loses the pairing of its bounds (queries can only approximate).
* ``date_nanos`` keeps epoch millis in its column and epoch nanos in a hidden one (``native.date_nanos``);
  ``version`` and ``flattened`` (every leaf value) as ``keyword``; ``search_as_you_type`` as ``text``
  plus ``._2gram``/``._3gram``/``._index_prefix`` text sub-fields; ``token_count`` as the integer token
  count of its analyzer;
  ``unsigned_long`` as u64 (0 to 2^64-1, exact).
* ``alias`` resolves to its target (``FieldResolver.field``); writing to it is an error.
* ``binary``, ``dense_vector``, ``sparse_vector``, ``rank_feature(s)``, ``completion`` are accepted and
  kept in ``_source`` only (not searchable).
* ``copy_to`` copies source values into the target fields; ``enabled: false`` objects are kept in
  ``_source`` only; ``dynamic_templates``, ``numeric_detection``, ``null_value``, ``coerce`` and
  ``ignore_malformed`` (per field, or ``index.mapping.ignore_malformed`` via ``Analysis``) work as in ES.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping as MappingABC
from typing import Any

from native import dates
from native.doc_count import DOC_COUNT_FIELD, doc_count_value
from native.dynamic_templates import (
    _DEFAULT_DYNAMIC_MAPPING,
    _check_templates,
    _substitute,
    _template_match,
)
from native.errors import (
    DocumentParsingError,
    IllegalArgument,
    MapperParsingError,
    StrictDynamicMappingError,
)
from native.field_types import (
    GEO_POINT_TYPES,
    LEAF_TYPES,
    METADATA_FIELDS,
    OBJECT_TYPES,
    RANGE_TYPES,
    SOURCE_ONLY_TYPES,
    Leaf,
)
from native.properties import _check_field_def, _merge_props, normalize_properties, subobjects_mode
from native.values import convert_value, geo_point_values, parse_geo_point, parse_range

__all__ = [
    "GEO_POINT_TYPES",
    "LEAF_TYPES",
    "METADATA_FIELDS",
    "OBJECT_TYPES",
    "RANGE_TYPES",
    "SOURCE_ONLY_TYPES",
    "Leaf",
    "Mapping",
    "convert_value",
    "geo_point_values",
    "normalize_properties",
    "parse_geo_point",
    "parse_range",
]

MAX_TOTAL_FIELDS = 1000
MAX_DEPTH = 20
MAX_NESTED_FIELDS = 50

_DEFAULT_DYNAMIC_DATE_FORMATS = ("strict_date_optional_time", "yyyy/MM/dd HH:mm:ss||yyyy/MM/dd")

_ROOT_KEYS = frozenset(
    {"properties", "dynamic", "date_detection", "numeric_detection", "dynamic_date_formats", "_source", "_meta",
     "dynamic_templates", "_routing", "enabled", "runtime", "subobjects", "_field_names", "_data_stream_timestamp"}
)  # fmt: skip


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
            body["properties"] = normalize_properties(body["properties"], "", body.get("subobjects", True))
        for name, spec in (body.get("properties") or {}).items():
            _check_field_def(name, spec)
        self.templates = _check_templates(body["dynamic_templates"]) if "dynamic_templates" in body else []
        self._forced: MappingABC[str, str] = {}  # set for one ``dynamic_update`` call
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
        self._check_object_limits()
        if not partial:
            self._check_aliases()

    def _check_object_limits(self) -> None:
        """ES's ``index.mapping.depth.limit`` (20) and ``index.mapping.nested_fields.limit`` (50)."""
        nested = 0
        for path, kind in self.iter_objects():
            if path.count(".") + 2 > MAX_DEPTH:  # the root object is depth 1
                raise IllegalArgument(
                    f"Limit of mapping depth [{MAX_DEPTH}] has been exceeded due to object field [{path}]"
                )
            nested += kind == "nested"
        if nested > MAX_NESTED_FIELDS:
            raise IllegalArgument(f"Limit of nested fields [{MAX_NESTED_FIELDS}] has been exceeded")

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
        """``(path, "object" | "nested" | "passthrough")`` of every object field, for ``field_caps``."""
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
    def nested_paths(self) -> list[str]:
        """The paths of the ``nested`` objects."""
        cached: list[str] | None = getattr(self, "_nested_paths", None)
        if cached is None:
            cached = self._nested_paths = [path for path, kind in self.iter_objects() if kind == "nested"]
        return cached

    @property
    def has_nested(self) -> bool:
        return bool(self.nested_paths)

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
        if "subobjects" in self.body and "subobjects" not in update:  # dotted names in the update stay whole
            update["subobjects"] = self.body["subobjects"]
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

    def dynamic_update(
        self, source: MappingABC[str, Any], forced: MappingABC[str, str] | None = None
    ) -> dict[str, Any] | None:
        """Properties to add for the unmapped fields of ``source`` (None when nothing is new).

        Raises ``StrictDynamicMappingError`` for a new field under ``dynamic: strict``. ``forced`` is a bulk
        item's ``dynamic_templates``: new field path → the name of the template that maps it, whatever its
        match conditions (an unknown name, or a leaf template for an object, fails the document).
        """
        self._forced = forced or {}
        try:
            return self._dynamic_update(source)
        finally:
            self._forced = {}

    def _dynamic_update(self, source: MappingABC[str, Any]) -> dict[str, Any] | None:
        new: dict[str, Any] = {}
        copies: list[tuple[str, Any]] = []
        subobjects = subobjects_mode(self.body.get("subobjects", True))
        self._collect_dynamic(source, self.properties, self.dynamic, new, "", 1, copies, subobjects)
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
        subobjects: str = "true",
    ) -> None:
        """``subobjects`` of the object (``native.properties.subobjects_mode``): under ``false`` dotted names
        stay whole and an object value maps its leaves under dotted names at this level; under ``auto``
        a dotted name stays whole unless an object of its first part is mapped, as ES does."""
        if depth > MAX_DEPTH:
            raise IllegalArgument(f"Limit of mapping depth [{MAX_DEPTH}] has been exceeded")
        for key, value in obj.items():
            if not prefix and key == DOC_COUNT_FIELD:  # a metadata field documents may carry (native.doc_count)
                doc_count_value(value)
                continue
            if not prefix and key in METADATA_FIELDS:
                raise DocumentParsingError(
                    f"[1:{len(key) + 2}] Field [{key}] is a metadata field and cannot be added inside a "
                    "document. Use the index API request parameters."
                )
            if subobjects == "false" and type(value) is dict and key not in props:  # the object flattens
                flat = {f"{key}.{k}": v for k, v in value.items()}
                self._collect_dynamic(flat, props, dynamic, out, prefix, depth, copies, subobjects)
                continue
            if "." in key and key.strip(".") and (subobjects == "true" or (subobjects == "auto" and (
                    type(value) is dict or _is_object(props.get(key.split(".", 1)[0]))
                    or _is_object(out.get(key.split(".", 1)[0]))))):  # fmt: skip
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
                        child_sub = "false" if subobjects == "false" or stype == "passthrough" else subobjects_mode(
                            spec.get("subobjects", True))
                        sub_out: dict[str, Any] = {}
                        for item in value if isinstance(value, list) else [value]:
                            if isinstance(item, dict):
                                self._collect_dynamic(item, spec.get("properties") or {}, child_dyn,
                                                      sub_out, path + ".", depth + 1, copies, child_sub)  # fmt: skip
                        if sub_out:
                            entry = out.setdefault(key, {"properties": {}})
                            if "subobjects" in spec or stype == "passthrough":  # the update's dotted names are
                                entry.setdefault("subobjects", spec.get("subobjects", False))  # read as the object's
                            entry["properties"].update(sub_out)
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
                mapped = self._infer_with_templates(path, key, sample) if self.templates or self._forced else None
                if mapped is not None and mapped.get("type", "object") not in OBJECT_TYPES:
                    if path in self._forced:
                        raise MapperParsingError(
                            f"Field [{path}] must be an object; but it's configured as [{mapped.get('type')}] in "
                            f"dynamic template [{self._forced[path]}]"
                        )
                    out.setdefault(key, mapped)
                    continue
                base = {k: v for k, v in (mapped or {}).items() if k != "properties"}
                if base.get("enabled", True) is False:
                    out.setdefault(key, base or {"type": "object"})
                    continue
                child_dyn = str(base.get("dynamic", dynamic)).lower()
                child_sub = "false" if subobjects == "false" else subobjects_mode(base.get("subobjects", True))
                known = dict((mapped or {}).get("properties") or {})  # a template's own properties
                if known:
                    known = normalize_properties(known, path + ".", child_sub)
                sub_props: dict[str, Any] = {**known, **(existing or {}).get("properties", {})}
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, dict):
                        self._collect_dynamic(item, known, child_dyn, sub_props, path + ".", depth + 1, copies,
                                              child_sub)  # fmt: skip
                if sub_props:
                    out[key] = {**base, "properties": sub_props}
                else:
                    out[key] = base or {"type": "object"}
            elif existing is None:
                mapped = self._infer_with_templates(path, key, sample) if self.templates or self._forced else None
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
        wanted = self._forced.get(path)
        if wanted is not None and all(name != wanted for name, _ in self.templates):
            raise MapperParsingError(
                f"Can't find dynamic template for dynamic template name [{wanted}] of field [{path}]"
            )
        for tpl_name, tpl in self.templates:
            if wanted is not None:
                if tpl_name != wanted:
                    continue
            elif not self._template_applies(tpl, path, name, dyn_type):
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

    @staticmethod
    def _template_applies(tpl: MappingABC[str, Any], path: str, name: str, dyn_type: str) -> bool:
        """Whether a dynamic template's match conditions take a new field."""
        mmt = tpl.get("match_mapping_type")
        if mmt is not None:
            types = mmt if isinstance(mmt, list) else [mmt]
            if "*" not in types and dyn_type not in types:
                return False
        ummt = tpl.get("unmatch_mapping_type")
        if ummt is not None and dyn_type in (ummt if isinstance(ummt, list) else [ummt]):
            return False
        regex = tpl.get("match_pattern") == "regex"
        if "match" in tpl and not _template_match(tpl["match"], name, regex):
            return False
        if "unmatch" in tpl and _template_match(tpl["unmatch"], name, regex):
            return False
        if "path_match" in tpl and not _template_match(tpl["path_match"], path, regex):
            return False
        return not ("path_unmatch" in tpl and _template_match(tpl["path_unmatch"], path, regex))

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


def _is_object(spec: Any) -> bool:
    return isinstance(spec, MappingABC) and spec.get("type", "object") in OBJECT_TYPES


def routing_required(mappings: MappingABC[str, Any]) -> bool:
    """``_routing: {required: true}``: every document API on the index must name a routing."""
    routing = mappings.get("_routing")
    return isinstance(routing, MappingABC) and str(routing.get("required", False)).lower() == "true"


def source_enabled(mappings: MappingABC[str, Any]) -> bool:
    """False for ``_source: {enabled: false}``: the source is kept (a rebuild reindexes from it) but never
    returned, as ES does not store it."""
    source = mappings.get("_source")
    return not isinstance(source, MappingABC) or source.get("enabled", True) not in (False, "false")


def _first_non_null(value: Any) -> Any:
    if isinstance(value, list):
        for item in value:
            found = _first_non_null(item)
            if found is not None:
                return found
        return None
    return value
