"""Document values: per-leaf converters and handlers turning ES source values into tantivy JSON values.

``native.schema.CompiledMapping.document`` plans which of these each source path goes through.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from native.errors import IllegalArgument
from native.fields import FieldInfo
from native.mapping import Leaf, convert_value, geo_point_values


def _put(out: dict[str, Any], name: str, values: list[Any]) -> None:
    """Add values to a tantivy field of the document being built (keeping values already there)."""
    if not values:
        return
    current = out.get(name)
    if current is None:
        out[name] = values if len(values) > 1 else values[0]
    elif type(current) is list:
        current.extend(values)
    else:
        out[name] = [current, *values]


def _simple_handler(leaf: Leaf, info: FieldInfo) -> Callable[..., None]:
    name, is_text = info.tantivy_name, info.es_type == "text"

    def handle(out: dict[str, Any], present: list[str], value: Any, doc_id: str) -> None:
        # an object (or an array of objects) where the mapping has a leaf fails the document, as in ES
        values = list(_flat(value)) if type(value) is list else [value]
        converted = [c for c in (_fast(leaf, info, v, doc_id) for v in values) if c is not None]
        if converted:
            _put(out, name, converted)
            if is_text and leaf.path not in present:
                present.append(leaf.path)

    return handle


def _geo_handler(leaf: Leaf, info: FieldInfo) -> Callable[..., None]:
    return _pair_handler(leaf, str(info.extra["lat"]), str(info.extra["lon"]), geo_point_values)


def _range_handler(leaf: Leaf, info: FieldInfo) -> Callable[..., None]:
    return _pair_handler(leaf, str(info.extra["gte"]), str(info.extra["lte"]),
                         lambda value: _flat(value) if type(value) is list else [value])  # fmt: skip


def _pair_handler(
    leaf: Leaf, first_name: str, second_name: str, items: Callable[[Any], Iterable[Any]]
) -> Callable[..., None]:
    """A leaf whose every value converts to a pair stored in two hidden columns (geo_point: lat, lon; range
    types: gte, lte)."""

    def handle(out: dict[str, Any], present: list[str], value: Any, doc_id: str) -> None:
        firsts, seconds = [], []
        for item in items(value):
            converted = convert_value(leaf, item, doc_id)
            if converted is not None:
                firsts.append(converted[0])
                seconds.append(converted[1])
        if firsts:
            _put(out, first_name, firsts)
            _put(out, second_name, seconds)
            present.append(leaf.path)

    return handle


def _flattened_handler(leaf: Leaf, info: FieldInfo) -> Callable[..., None]:
    name = info.tantivy_name

    def handle(out: dict[str, Any], present: list[str], value: Any, doc_id: str) -> None:
        values: list[Any] = []
        stack = [value]
        while stack:
            item = stack.pop()
            if type(item) is dict:
                stack.extend(reversed(list(item.values())))
            elif type(item) is list:
                stack.extend(reversed(item))
            else:
                converted = convert_value(leaf, item, doc_id)
                if converted is not None:
                    values.append(converted)
        _put(out, name, values)

    return handle


def _date_nanos_handler(leaf: Leaf, info: FieldInfo) -> Callable[..., None]:
    """date_nanos: epoch millis (rounded down) in the field's own column, epoch nanos in its hidden one."""
    name, nanos_name = info.tantivy_name, str(info.extra["nanos"])

    def handle(out: dict[str, Any], present: list[str], value: Any, doc_id: str) -> None:
        nanos = []
        for item in _flat(value) if type(value) is list else [value]:
            converted = convert_value(leaf, item, doc_id)
            if converted is not None:
                nanos.append(int(converted))
        if nanos:
            _put(out, name, [n // 1_000_000 for n in nanos])
            _put(out, nanos_name, nanos)

    return handle


def _token_count_handler(leaf: Leaf, info: FieldInfo) -> Callable[..., None]:
    name = info.tantivy_name
    analyze = info.extra["analyzer"]

    def handle(out: dict[str, Any], present: list[str], value: Any, doc_id: str) -> None:
        counts = []
        for item in _flat(value) if type(value) is list else [value]:
            if item is None:
                item = leaf.params.get("null_value")
                if item is None:
                    continue
                counts.append(convert_value(Leaf(leaf.path, "integer", {}), item, doc_id))
            elif type(item) is str:
                counts.append(len(analyze(item)))  # type: ignore[operator]
            else:
                counts.append(convert_value(leaf, item, doc_id))
        _put(out, name, counts)

    return handle


def _completion_handler(leaf: Leaf) -> Callable[..., None]:
    """A context-enabled ``completion`` value must carry its contexts (``native.completion_contexts``); a
    mapping reading them from a ``path`` of the document is not checked here (the handler sees one value)."""
    from native.completion_contexts import parse_mappings

    mappings = parse_mappings(leaf.params)
    if not mappings or any(m.path is not None for m in mappings):
        return _source_only_handler(leaf)
    path = leaf.path

    def handle(out: dict[str, Any], present: list[str], value: Any, doc_id: str) -> None:
        if value is None or value == []:
            return
        present.append(path)
        for item in value if type(value) is list else [value]:
            given = item.get("contexts") if isinstance(item, dict) else None
            if not isinstance(given, dict) or all(given.get(m.name) in (None, []) for m in mappings):
                raise IllegalArgument(f"Contexts are mandatory in context enabled completion field [{path}]")

    return handle


def _source_only_handler(leaf: Leaf) -> Callable[..., None]:
    path = leaf.path
    shapes = leaf.type == "geo_shape"

    def handle(out: dict[str, Any], present: list[str], value: Any, doc_id: str) -> None:
        if value is None or value == []:
            return
        if shapes and not _valid_shapes(leaf, value, doc_id):
            return
        present.append(path)

    return handle


def _valid_shapes(leaf: Leaf, value: Any, doc_id: str) -> bool:
    """Whether a ``geo_shape`` value parses as the ``geo_shape`` query reads it (``native.query.geo_shapes``);
    a malformed one is a 400, or, with ``ignore_malformed``, left out of ``_field_names`` (never matched)."""
    from native.errors import FieldValueError, IllegalArgument
    from native.query.geo_shapes import parse_shape, source_shapes
    from native.values import _flag, _preview

    try:
        for raw in source_shapes({"v": value}, "v"):
            parse_shape(raw, leaf.path)
    except IllegalArgument as exc:
        if _flag(leaf.params.get("ignore_malformed", False)):
            return False
        reason = (f"failed to parse field [{leaf.path}] of type [geo_shape] in document with id '{doc_id}'. "
                  f"Preview of field's value: '{_preview(value)}'")  # fmt: skip
        raise FieldValueError(reason, caused_by=IllegalArgument(exc.reason)) from None
    return True


def _flat(values: list[Any]) -> Iterator[Any]:
    for value in values:
        if type(value) is list:
            yield from _flat(value)
        else:
            yield value


def _converter(leaf: Leaf, info: FieldInfo) -> Callable[[Any, str], Any]:
    """``_fast`` for one leaf, with the common value type of its kind checked first (no kind dispatch)."""
    kind = info.es_type

    def general(value: Any, doc_id: str) -> Any:
        return _fast(leaf, info, value, doc_id)

    if kind == "text":

        def text(value: Any, doc_id: str) -> Any:
            return value if type(value) is str else _fast(leaf, info, value, doc_id)

        return text
    if kind == "keyword":
        limit = info.ignore_above

        def keyword(value: Any, doc_id: str) -> Any:
            if type(value) is str:
                return value if limit is None or len(value) <= limit else None
            return _fast(leaf, info, value, doc_id)

        return keyword
    if kind in ("long", "integer"):
        lo, hi = (-(2**63), 2**63) if kind == "long" else (-(2**31), 2**31)

        def integer(value: Any, doc_id: str) -> Any:
            if type(value) is int and lo <= value < hi:
                return value
            return _fast(leaf, info, value, doc_id)

        return integer
    if kind == "date" and info.date_formats == _DEFAULT_DATE_FORMATS and leaf.type != "date_nanos":

        def date(value: Any, doc_id: str) -> Any:
            if type(value) is str and len(value) >= 10 and value[4] == "-" and (len(value) == 10 or value[10] == "T"):
                try:
                    parsed = _fromisoformat(value)
                except ValueError:
                    return _fast(leaf, info, value, doc_id)
                if parsed.tzinfo is None:
                    parsed = parsed.replace(tzinfo=datetime.UTC)
                if parsed.microsecond % 1000 == 0:  # whole milliseconds: exact through the float seconds
                    return round(parsed.timestamp() * 1000)
                return (parsed - _EPOCH) // _MS
            return _fast(leaf, info, value, doc_id)

        return date
    if kind == "ip":
        match = _IPV4.fullmatch

        def ip(value: Any, doc_id: str) -> Any:
            if type(value) is str and match(value):
                return value
            return _fast(leaf, info, value, doc_id)

        return ip
    return general


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
_DEFAULT_DATE_FORMATS = ("strict_date_optional_time", "epoch_millis")
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MS = datetime.timedelta(milliseconds=1)
_fromisoformat = datetime.datetime.fromisoformat


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
    if kind == "date" and info.date_formats == _DEFAULT_DATE_FORMATS and leaf.type != "date_nanos":
        if vtype is int and -(2**63) <= value < 2**63:
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
