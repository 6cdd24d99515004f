"""Per-index mapping and document limits read from the index settings.

- ``index.mapping.field_name_length.limit`` (ES 8, default unlimited): a mapped field or object whose own
  name (the last part of its path; a multi-field's own name) is longer is refused when the mapping is
  created or updated. A field a document would add dynamically is refused with the document, or, with
  ``index.mapping.field_name_length.ignore_dynamic_beyond_limit: true``, left unmapped (its values stay
  in ``_source`` only).
- ``index.mapping.array_objects.limit``: the objects held in arrays anywhere in one document, counted
  together; a document with more is a ``document_parsing_exception``. ES 9 sets it by default; here, as in
  ES 8, there is no limit unless the index sets one.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping as MappingABC
from typing import Any

from native.errors import DocumentParsingError, IllegalArgument
from native.mapping import Mapping
from native.schema import flatten_source

FIELD_NAME_LENGTH = "index.mapping.field_name_length.limit"
IGNORE_DYNAMIC_BEYOND = "index.mapping.field_name_length.ignore_dynamic_beyond_limit"
ARRAY_OBJECTS = "index.mapping.array_objects.limit"
IGNORE_ABOVE = "index.mapping.ignore_above"
TOTAL_TOKENS = "index.mapping.total_tokens_per_document.limit"
NESTED_OBJECTS = "index.mapping.nested_objects.limit"
DEFAULT_NESTED_OBJECTS = 10000
_IGNORE_ABOVE_TYPES = frozenset({"keyword", "wildcard", "flattened"})


def _long_setting(settings: MappingABC[str, Any], key: str, minimum: int) -> int | None:
    raw = settings.get(key)
    if raw is None:
        return None
    try:
        value = int(str(raw))
    except ValueError:
        raise IllegalArgument(f"Failed to parse value [{raw}] for setting [{key}]") from None
    if value < minimum:
        raise IllegalArgument(f"Failed to parse value [{value}] for setting [{key}] must be >= {minimum}")
    return value


def validate_limit_settings(settings: MappingABC[str, Any]) -> None:
    """The limit settings of an index being created or updated (a 400 naming the setting)."""
    _long_setting(settings, FIELD_NAME_LENGTH, 1)
    _long_setting(settings, ARRAY_OBJECTS, 1)
    _long_setting(settings, IGNORE_ABOVE, 0)
    _long_setting(settings, NESTED_OBJECTS, 0)
    total_tokens_limit(settings)
    ignore = settings.get(IGNORE_DYNAMIC_BEYOND)
    if ignore is not None and str(ignore).lower() not in ("true", "false"):
        raise IllegalArgument(
            f"Failed to parse value [{ignore}] as only [true] or [false] are allowed."
        )


def _names(props: MappingABC[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """``(own name, path)`` of every field, object and multi-field under ``props``."""
    out: list[tuple[str, str]] = []
    stack = [(prefix, props)]
    while stack:
        at, level = stack.pop()
        for name, spec in level.items():
            out.append((name, at + name))
            if isinstance(spec, MappingABC):
                if isinstance(spec.get("properties"), MappingABC):
                    stack.append((f"{at}{name}.", spec["properties"]))
                if isinstance(spec.get("fields"), MappingABC):
                    stack.append((f"{at}{name}.", spec["fields"]))
    return out


def check_field_name_lengths(mappings: MappingABC[str, Any], settings: MappingABC[str, Any]) -> None:
    """Refuse a mapping (its ``to_dict`` body) with a name past ``index.mapping.field_name_length.limit``."""
    limit = _long_setting(settings, FIELD_NAME_LENGTH, 1)
    if limit is None:
        return
    for name, _ in sorted(_names(mappings.get("properties") or {})):
        if len(name) > limit:
            raise IllegalArgument(f"Field name [{name}] is longer than the limit of [{limit}] characters")


def limit_dynamic_names(update: dict[str, Any], settings: MappingABC[str, Any]) -> dict[str, Any]:
    """A dynamic mapping update without the fields whose names are past the limit (when the index
    ignores them), else the update as it is; raises when the index refuses them."""
    limit = _long_setting(settings, FIELD_NAME_LENGTH, 1)
    if limit is None:
        return update
    ignore = str(settings.get(IGNORE_DYNAMIC_BEYOND, "false")).lower() == "true"
    too_long = [(name, path) for name, path in _names(update) if len(name) > limit]
    if not too_long:
        return update
    if not ignore:
        name = min(too_long)[0]
        raise IllegalArgument(f"Field name [{name}] is longer than the limit of [{limit}] characters")
    return _without(update, {path for _, path in too_long}, "")


def _without(props: MappingABC[str, Any], drop: set[str], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, spec in props.items():
        path = prefix + name
        if path in drop:
            continue
        if isinstance(spec, MappingABC) and isinstance(spec.get("properties"), MappingABC):
            spec = {**spec, "properties": _without(spec["properties"], drop, path + ".")}
        if isinstance(spec, MappingABC) and isinstance(spec.get("fields"), MappingABC):
            spec = {**spec, "fields": _without(spec["fields"], drop, path + ".")}
        out[name] = spec
    return out


def with_index_defaults(mappings: MappingABC[str, Any], settings: MappingABC[str, Any]) -> MappingABC[str, Any]:
    """A mapping body with ``index.mapping.ignore_above`` written into the keyword, wildcard and flattened
    fields (multi-fields too) that do not set their own, for code reading values from ``_source`` (the
    shard applies it through ``native.analysis.Analysis``)."""
    raw = settings.get(IGNORE_ABOVE)
    if raw is None or not isinstance(mappings.get("properties"), MappingABC):
        return mappings
    limit = int(str(raw))

    def walk(props: MappingABC[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, spec in props.items():
            if isinstance(spec, MappingABC):
                spec = dict(spec)
                if spec.get("type") in _IGNORE_ABOVE_TYPES and "ignore_above" not in spec:
                    spec["ignore_above"] = limit
                for key in ("properties", "fields"):
                    if isinstance(spec.get(key), MappingABC):
                        spec[key] = walk(spec[key])
            out[name] = spec
        return out

    return {**mappings, "properties": walk(mappings["properties"])}


def total_tokens_limit(settings: MappingABC[str, Any]) -> int | None:
    """``index.mapping.total_tokens_per_document.limit``: -1 (the default) or a positive count."""
    raw = settings.get(TOTAL_TOKENS)
    if raw is None:
        return None
    try:
        value = int(str(raw))
    except ValueError:
        raise IllegalArgument(f"Failed to parse value [{raw}] for setting [{TOTAL_TOKENS}]") from None
    if value == -1:
        return None
    if value < 1:
        raise IllegalArgument(
            f"Failed to parse value [{value}] for setting [{TOTAL_TOKENS}] must be -1 (no limit) or a positive number"
        )
    return value


def check_total_tokens(doc: MappingABC[str, Any], mapping: Mapping, analyze: Callable[[str, str], int],
                       limit: int) -> None:  # fmt: skip
    """Refuse a document whose text fields (multi-fields too) analyze to more than ``limit`` tokens in all;
    ``analyze(analyzer name, text)`` counts the tokens of one value."""
    flat = flatten_source(doc)
    total = 0
    for leaf in mapping.iter_leaves():
        if leaf.type not in ("text", "match_only_text", "search_as_you_type"):
            continue
        analyzer = str(leaf.params.get("analyzer", "standard"))
        for value in flat.get(leaf.source_path, []):
            if isinstance(value, str):
                total += analyze(analyzer, value)
        if total > limit:
            raise DocumentParsingError(
                f"The number of tokens in the document has exceeded the allowed limit of [{limit}]. This limit "
                f"can be set by changing the [{TOTAL_TOKENS}] index level setting."
            )


def check_nested_objects(doc: MappingABC[str, Any], nested_paths: list[str], settings: MappingABC[str, Any]) -> None:
    """Refuse a document with more nested objects (of every ``nested`` field, at any depth) than
    ``index.mapping.nested_objects.limit`` (10000 by default), as ES does."""
    if not nested_paths:
        return
    limit = _long_setting(settings, NESTED_OBJECTS, 0)
    limit = DEFAULT_NESTED_OBJECTS if limit is None else limit
    wanted = set(nested_paths)
    count = 0
    stack: list[tuple[str, Any]] = [("", doc)]
    while stack:
        prefix, node = stack.pop()
        if isinstance(node, list):
            stack.extend((prefix, item) for item in node)
            continue
        if not isinstance(node, dict):
            continue
        if prefix[:-1] in wanted:
            count += 1
        stack.extend((f"{prefix}{key}.", value) for key, value in node.items() if isinstance(value, dict | list))
    if count > limit:
        raise DocumentParsingError(
            f"The number of nested documents has exceeded the allowed limit of [{limit}]. This limit can be set by "
            f"changing the [{NESTED_OBJECTS}] index level setting."
        )


def check_array_objects(doc: MappingABC[str, Any], settings: MappingABC[str, Any]) -> None:
    """Refuse a document holding more objects in arrays than ``index.mapping.array_objects.limit``."""
    limit = _long_setting(settings, ARRAY_OBJECTS, 1)
    if limit is None:
        return
    count = 0
    stack: list[Any] = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        else:
            for item in node:
                if isinstance(item, dict):
                    count += 1
                if isinstance(item, dict | list):
                    stack.append(item)
    if count > limit:
        raise DocumentParsingError(
            f"The total number of objects across all arrays in the document has exceeded the allowed limit of "
            f"[{limit}]. This limit can be set by changing the [{ARRAY_OBJECTS}] index level setting."
        )
