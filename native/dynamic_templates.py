"""Dynamic templates: validating ``dynamic_templates`` and matching a new field's name or path against them."""

from __future__ import annotations

import re
from typing import Any

from native.errors import MapperParsingError

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
