"""The ``fields`` and ``docvalue_fields`` search options: per-hit values of mapped fields.

Values are read from ``_source`` (ES reads doc values for ``docvalue_fields``; for the mapped types we
support the result is the same, normalised the same way): dates are rendered in the requested format
(``strict_date_optional_time`` by default), numbers and keywords as-is, ``geo_point`` as a GeoJSON point,
range fields as an object of inclusive ``gte``/``lte`` bounds; always as lists.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from collections.abc import Iterable
from collections.abc import Mapping as MappingABC
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from native import dates
from native.date_nanos import DEFAULT_NANOS_FORMATS, format_date_nanos
from native.errors import IllegalArgument
from native.fields import NUMERIC_TYPES
from native.mapping import RANGE_TYPES, Leaf, Mapping, convert_value, geo_point_values
from native.mapping_limits import with_index_defaults
from native.nested import NestedPath, nested_paths, reroot, strip
from native.schema import flatten_source


def parse_field_specs(raw: list[Any]) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for item in raw:
        if isinstance(item, str):
            out.append((item, None))
        elif isinstance(item, dict) and "field" in item:
            out.append((str(item["field"]), item.get("format")))
    return out


def decimal_format(number: float | int, pattern: str) -> str:
    """Java ``DecimalFormat`` for the patterns ES users write (``0.0``, ``#.00``, ``#,##0.###``, ``0%``)."""
    positive = pattern.split(";", 1)[0]
    start = next((i for i, ch in enumerate(positive) if ch in "#0,."), len(positive))
    end = start
    while end < len(positive) and positive[end] in "#0,.":
        end += 1
    prefix, body, suffix = positive[:start], positive[start:end], positive[end:]
    value = Decimal(str(number))
    if "%" in prefix + suffix:
        value *= 100
    elif "\u2030" in prefix + suffix:
        value *= 1000
    int_part, _, frac_part = body.partition(".")
    min_frac = frac_part.count("0")
    max_frac = min_frac + frac_part.count("#")
    min_int = int_part.replace(",", "").count("0")
    group = len(int_part) - int_part.rfind(",") - 1 if "," in int_part else 0
    quantized = value.quantize(Decimal(1).scaleb(-max_frac), rounding=ROUND_HALF_EVEN)
    negative = quantized < 0
    digits = f"{abs(quantized):f}"
    whole, _, frac = digits.partition(".")
    frac = frac.rstrip("0")
    frac = frac + "0" * (min_frac - len(frac))
    whole = whole.lstrip("0")
    whole = "0" * (min_int - len(whole)) + whole
    if not whole and not frac:
        whole = "0"
    if group > 0 and len(whole) > group:
        head = len(whole) % group or group
        whole = ",".join([whole[:head]] + [whole[i : i + group] for i in range(head, len(whole), group)])
    text = whole + ("." + frac if frac else "")
    return ("-" if negative and text.strip("0.,") else "") + prefix + text + suffix


def _render(leaf: Leaf, value: Any, fmt: str | None) -> Any:
    if leaf.type == "binary":  # base64 in _source, base64 out
        return value if isinstance(value, str) else None
    converted = convert_value(leaf, value, None)
    if converted is None:
        return None
    if fmt and fmt != "use_field_mapping" and isinstance(converted, int | float) and not isinstance(converted, bool):
        if leaf.type not in ("date", "date_nanos", "boolean"):
            return decimal_format(converted, fmt)
    if leaf.type == "date_nanos":  # epoch nanoseconds, in the mapping's (first) format unless one is asked
        own = str(leaf.params.get("format", "")).split("||")[0]
        pattern = fmt if fmt and fmt != "use_field_mapping" else own or None
        return format_date_nanos(converted, pattern or DEFAULT_NANOS_FORMATS[0])
    if leaf.type == "date":  # the field's own (first) format unless the request names one
        pattern = fmt or str(leaf.params.get("format", "strict_date_optional_time")).split("||")[0]
        if pattern.startswith("strict_date_optional_time"):
            pattern = "strict_date_optional_time"
        return dates.format_date(converted, pattern)
    if leaf.type == "ip":
        return str(value)
    if leaf.type == "geo_point":
        lat, lon = converted
        return {"type": "Point", "coordinates": [lon, lat]}
    if leaf.type in RANGE_TYPES:
        return _render_range(leaf, converted, fmt)
    return converted


_OBJECT_VALUED = frozenset({"geo_point", *RANGE_TYPES})


def _source_values(leaf: Leaf, source: MappingABC[str, Any]) -> list[Any]:
    """The values at the leaf's path, objects kept whole (a geo point ``{"lat", "lon"}``, a range ``{"gte"}``)."""
    found: list[Any] = []
    stack: list[tuple[Any, str]] = [(source, leaf.source_path)]
    while stack:
        node, rest = stack.pop()
        if not rest:
            found.append(node)
        elif isinstance(node, list):
            stack.extend((item, rest) for item in reversed(node))
        elif isinstance(node, MappingABC):
            for key, child in node.items():
                if rest == key:
                    stack.append((child, ""))
                elif rest.startswith(key + "."):
                    stack.append((child, rest[len(key) + 1 :]))
    if leaf.type == "geo_point":
        return [point for value in found for point in geo_point_values(value)]
    return [item for value in found for item in (value if isinstance(value, list) else [value])]


def _render_range(leaf: Leaf, bounds: tuple[Any, Any], fmt: str | None) -> dict[str, Any]:
    """A range value as ES renders it: inclusive ``gte``/``lte`` (``gt: 1`` on an integer range → ``gte: 2``)."""
    lo, hi = bounds
    if RANGE_TYPES[leaf.type] == "date":
        pattern = fmt or str(leaf.params.get("format", "strict_date_optional_time"))
        return {"gte": _format_bound(lo, pattern), "lte": _format_bound(hi, pattern)}
    if RANGE_TYPES[leaf.type] == "ip":
        return {"gte": _plain_ip(lo), "lte": _plain_ip(hi)}
    if RANGE_TYPES[leaf.type] in ("float", "double"):  # an open end is stored as the type's limit: no bound
        limit = 3.4028234663852886e38 if RANGE_TYPES[leaf.type] == "float" else 1.7976931348623157e308
        return {"gte": None if lo == -limit else lo, "lte": None if hi == limit else hi}
    return {"gte": lo, "lte": hi}


def _plain_ip(text: str) -> str:
    addr = ipaddress.IPv6Address(text) if ":" in text else ipaddress.IPv4Address(text)
    mapped = getattr(addr, "ipv4_mapped", None)
    return str(mapped or addr)


def _format_bound(millis: int, pattern: str) -> Any:
    try:
        return dates.format_date(millis, pattern)
    except (ValueError, OverflowError):
        return millis  # an open end (Long.MIN/MAX_VALUE) is outside the calendar we format


def doc_fields(
    mapping: Mapping, source: MappingABC[str, Any], specs: list[tuple[str, str | None]]
) -> dict[str, list[Any]]:
    """The ``fields`` of one hit. Fields under a ``nested`` field are grouped as ES groups them: the nested
    path maps to one object per nested object holding that object's fields (by path relative to it), nested
    levels inside in turn."""
    if not specs:
        return {}
    paths = nested_paths(mapping.properties)
    if not paths:
        return _leaf_fields(mapping.iter_leaves(), source, specs, "")
    return _nested_level(mapping, paths, source, specs, "")


def _nested_level(
    mapping: Mapping,
    paths: MappingABC[str, NestedPath],
    obj: MappingABC[str, Any],
    specs: list[tuple[str, str | None]],
    level: str,
) -> dict[str, list[Any]]:
    """The fields of the document of ``level`` ("" top level, else a nested path) whose object is ``obj``."""
    own = strip(obj, paths, level, level + "." if level else "")
    document = reroot(level, own) if level else own
    leaves = (leaf for leaf in mapping.iter_leaves() if _level_of(leaf.path, paths) == level)
    out = _leaf_fields(leaves, document, specs, level)
    for child in paths.values():
        if child.parent != level:
            continue
        relative = child.path[len(level) + 1 :] if level else child.path
        groups = [
            group
            for item in _objects_at(obj, relative)
            if (group := _nested_level(mapping, paths, item, specs, child.path))
        ]
        if groups:
            out[relative] = groups
    return out


def _level_of(path: str, paths: MappingABC[str, NestedPath]) -> str:
    """The deepest nested path ``path`` is under ("" when none)."""
    best = ""
    for nested in paths:
        if path.startswith(nested + ".") and len(nested) > len(best):
            best = nested
    return best


def _objects_at(node: Any, path: str) -> list[dict[str, Any]]:
    """The objects at ``path`` below ``node`` in source order (arrays flattened, dotted keys followed)."""
    if not path:
        if isinstance(node, list):
            return [o for item in node for o in _objects_at(item, "")]
        return [node] if isinstance(node, dict) else []
    if isinstance(node, list):
        return [o for item in node for o in _objects_at(item, path)]
    if not isinstance(node, MappingABC):
        return []
    out: list[dict[str, Any]] = []
    for key, child in node.items():
        if path == key:
            out.extend(_objects_at(child, ""))
        elif path.startswith(key + "."):
            out.extend(_objects_at(child, path[len(key) + 1 :]))
    return out


def _leaf_fields(
    leaves: Iterable[Leaf], source: MappingABC[str, Any], specs: list[tuple[str, str | None]], level: str
) -> dict[str, list[Any]]:
    """Rendered values of ``leaves`` matching ``specs`` in ``source``, by path (relative to ``level``)."""
    flat = flatten_source(source)
    out: dict[str, list[Any]] = {}
    for leaf in leaves:
        if leaf.type == "flattened":
            out.update(_flattened_fields(leaf, source, specs))
            continue
        fmt = None
        for pattern, f in specs:
            if fnmatch.fnmatchcase(leaf.path, pattern):
                fmt = f
                break
        else:
            continue
        if fmt is not None and not _takes_format(leaf.type):
            raise IllegalArgument(f"Field [{leaf.path}] of type [{leaf.type}] doesn't support formats.")
        values = []
        for value in _source_values(leaf, source) if leaf.type in _OBJECT_VALUED else flat.get(leaf.source_path, []):
            try:
                rendered = _render(leaf, value, fmt)
            except Exception:
                continue
            if rendered is not None:
                values.append(rendered)
        if values:
            out[leaf.path[len(level) + 1 :] if level else leaf.path] = values
    return out


def unmapped_fields(mapping: Mapping, source: MappingABC[str, Any], patterns: list[str]) -> dict[str, list[Any]]:
    """``fields`` entries with ``include_unmapped``: the ``_source`` values of the paths no field maps that
    match ``patterns`` (paths inside a mapped leaf, a geo point's ``lat`` say, are the leaf's)."""
    if not patterns:
        return {}
    leaves = {leaf.source_path or leaf.path for leaf in mapping.iter_leaves()}
    out: dict[str, list[Any]] = {}
    for path, values in flatten_source(source).items():
        if path in leaves or any(path.startswith(leaf + ".") for leaf in leaves):
            continue
        if any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns):
            kept = [v for v in values if v is not None]
            if kept:
                out[path] = kept
    return out


def _takes_format(ftype: str) -> bool:
    """Types whose ``fields``/``docvalue_fields`` values a ``format`` applies to (dates, numbers, geo)."""
    return (ftype in ("date", "date_nanos", "geo_point", "geo_shape", "point", "shape") or ftype in RANGE_TYPES
            or ftype in NUMERIC_TYPES)  # fmt: skip


def _flattened_fields(leaf: Leaf, source: MappingABC[str, Any], specs: list[tuple[str, str | None]]
                      ) -> dict[str, list[Any]]:  # fmt: skip
    """A flattened field in ``fields``: the whole object by its name (``[{...}]``), or the values of one
    key by ``<field>.<key>``; values past ``ignore_above`` are left out, a key left with one value gives it
    alone (as ES rebuilds the object from its keyed doc values)."""
    limit = leaf.params.get("ignore_above")
    out: dict[str, list[Any]] = {}
    objects = [v for v in _source_values(leaf, source) if isinstance(v, MappingABC)]
    if not objects:
        return out
    if any(fnmatch.fnmatchcase(leaf.path, pattern) for pattern, _ in specs):
        kept = [obj for obj in (_kept(o, limit) for o in objects) if obj]
        if kept:
            out[leaf.path] = kept
    for pattern, _ in specs:
        if not pattern.startswith(leaf.path + ".") or any(ch in pattern for ch in "*?["):
            continue
        key = pattern[len(leaf.path) + 1 :]
        values = [v for o in objects for v in flatten_source(o).get(key, []) if _short(v, limit)]
        if values:
            out[pattern] = [v if isinstance(v, str) else _flat_text(v) for v in values]
    return out


def _short(value: Any, limit: Any) -> bool:
    return value is not None and (limit is None or len(_flat_text(value)) <= int(limit))


def _flat_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _kept(obj: MappingABC[str, Any], limit: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(value, MappingABC):
            child = _kept(value, limit)
            if child:
                out[key] = child
            continue
        values = [v for v in (value if isinstance(value, list) else [value]) if _short(v, limit)]
        if values:
            out[key] = values[0] if len(values) == 1 else values
    return out


def stored_values(mapping: Mapping, source: MappingABC[str, Any], names: list[str]) -> dict[str, list[Any]]:
    """GET's ``stored_fields``: the values of the named (or matching) fields mapped with ``store: true``,
    read from ``_source`` and rendered as ``fields`` renders them. Metadata names (``_source``…) and fields
    that are not stored give nothing, as in ES."""
    stored = [leaf.path for leaf in mapping.iter_leaves() if str(leaf.params.get("store", "false")).lower() == "true"]
    wanted = [path for path in stored if any(fnmatch.fnmatchcase(path, name) for name in names)]
    if not wanted:
        return {}
    return doc_fields(mapping, source, [(path, None) for path in wanted])


def add_ignored(hit: dict[str, Any], ignored: MappingABC[str, list[Any]], specs: list[tuple[str, str | None]]) -> None:
    """A search hit's ``_ignored`` (the fields whose values were not indexed), ``fields._ignored`` when the
    ``fields`` option names it, and ``ignored_field_values``: the ignored values of the fields it asks for."""
    if not ignored:
        return
    hit["_ignored"] = list(ignored)
    if any(pattern == "_ignored" for pattern, _ in specs):
        hit.setdefault("fields", {})["_ignored"] = list(ignored)
    values = {path: list(v) for path, v in ignored.items()
              if any(fnmatch.fnmatchcase(path, pattern) for pattern, _ in specs)}  # fmt: skip
    if values:
        hit["ignored_field_values"] = values


def fetch_mapping(mappings: MappingABC[str, Any], settings: MappingABC[str, Any]) -> Mapping:
    """The mapping values are fetched with: the index's, with its index-level defaults (``ignore_above``)."""
    return Mapping(with_index_defaults(mappings, settings))
