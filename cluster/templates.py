"""Index templates: validation of the three kinds and what they contribute to a new index.

- composable ``_index_template``: ``index_patterns``, ``priority``, ``composed_of`` (component templates,
  merged in order) and ``template`` {settings, mappings, aliases}; the highest-priority match wins alone;
- ``_component_template``: a ``template`` block reused by composable templates;
- legacy ``_template``: ``index_patterns``, ``order``, settings/mappings/aliases at the top level; every
  match applies, lower ``order`` first — and only when no composable template matches (as in ES 8).

Templates that create data streams (``data_stream: {}``) are listed but never applied: Quidditch has no
data streams, and a plain index would be a worse surprise than no template.
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from typing import Any

from cluster.settings import flatten_settings
from native.errors import BadRequest, IllegalArgument, ParsingError

COMPOSABLE_KEYS = frozenset({"index_patterns", "priority", "composed_of", "template", "version", "_meta",
                             "data_stream", "allow_auto_create", "ignore_missing_component_templates",
                             "deprecated"})  # fmt: skip
COMPONENT_KEYS = frozenset({"template", "version", "_meta", "deprecated"})
TEMPLATE_BLOCK_KEYS = frozenset({"settings", "mappings", "aliases", "lifecycle", "data_stream_options"})
LEGACY_KEYS = frozenset({"index_patterns", "template", "order", "version", "settings", "mappings", "aliases"})


@dataclass
class Contribution:
    """What templates give a new index, before the create request's own body is laid on top."""

    settings: dict[str, Any] = field(default_factory=dict)  # flat
    mappings: dict[str, Any] = field(default_factory=dict)
    aliases: dict[str, Any] = field(default_factory=dict)


def _patterns(value: Any) -> list[str]:
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    if isinstance(value, list) and all(isinstance(p, str) for p in value):
        return list(value)
    raise ParsingError("[index_template] failed to parse field [index_patterns]")


def _check_block(block: Any, where: str) -> dict[str, Any]:
    if block is None:
        return {}
    if not isinstance(block, dict):
        raise ParsingError(f"[{where}] template must be an object")
    for key in block:
        if key not in TEMPLATE_BLOCK_KEYS:
            raise ParsingError(f"[template] unknown field [{key}]")
    return dict(block)


def normalize_composable(name: str, body: Any, components: MappingABC[str, Any]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ParsingError("request body is required")
    for key in body:
        if key not in COMPOSABLE_KEYS:
            raise IllegalArgument(f"[index_template] unknown field [{key}]")
    if "index_patterns" not in body:
        raise IllegalArgument("Validation Failed: 1: index patterns are missing;")
    out = dict(body)
    out["index_patterns"] = _patterns(body["index_patterns"])
    out["composed_of"] = list(body.get("composed_of") or [])
    template = _check_block(body.get("template"), "index_template")
    if template:
        out["template"] = _normalize_block(template)
    missing = [c for c in out["composed_of"] if c not in components
               and c not in (body.get("ignore_missing_component_templates") or [])]  # fmt: skip
    if missing and body.get("ignore_missing_component_templates"):
        raise InvalidIndexTemplate(f"index_template [{name}] invalid, cause [index template [{name}] specifies a "
                                   f"missing component templates {_list(missing)} that does not exist]")  # fmt: skip
    if missing:
        raise IllegalArgument(
            f"index template [{name}] specifies component templates {_list(missing)} that do not exist"
        )
    if template.get("lifecycle") is not None and "data_stream" not in body:
        raise IllegalArgument(f"index template [{name}] specifies lifecycle configuration that can only be used in "
                              "combination with a data stream")  # fmt: skip
    return out


class InvalidIndexTemplate(BadRequest):
    es_type = "invalid_index_template_exception"


def _list(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


def check_overlap(name: str, body: MappingABC[str, Any], existing: MappingABC[str, Any]) -> None:
    """ES refuses two composable templates with the same priority and overlapping patterns."""
    priority = int(body.get("priority") or 0)
    mine = body["index_patterns"]
    clashes = []
    for other_name, other in existing.items():
        if other_name == name or int(other.get("priority") or 0) != priority:
            continue
        theirs = other["index_patterns"]
        if any(_overlap(a, b) for a in mine for b in theirs):
            clashes.append(f"{other_name} => {_list(theirs)}")
    if clashes:
        raise IllegalArgument(
            f"index template [{name}] has index patterns {_list(mine)} matching patterns from existing templates "
            f"[{', '.join(c.split(' => ')[0] for c in clashes)}] with patterns ({', '.join(clashes)}) that have the "
            f"same priority [{priority}], multiple index templates may not match during index creation, please "
            "use a different priority"
        )


def _overlap(a: str, b: str) -> bool:
    # ES uses automaton intersection; a pattern matching the other's literal form is close enough here.
    return fnmatch.fnmatchcase(a.replace("*", "x"), b) or fnmatch.fnmatchcase(b.replace("*", "x"), a) or a == b


def normalize_component(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ParsingError("request body is required")
    for key in body:
        if key not in COMPONENT_KEYS:
            raise IllegalArgument(f"[component_template] unknown field [{key}]")
    if "template" not in body:
        raise IllegalArgument("[component_template] required field [template] is missing")
    out = dict(body)
    out["template"] = _normalize_block(_check_block(body["template"], "component_template"))
    return out


def normalize_legacy(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ParsingError("request body is required")
    for key in body:
        if key not in LEGACY_KEYS:
            raise IllegalArgument(f"unknown key [{key}] in the template ")
    patterns = body.get("index_patterns", body.get("template"))
    if patterns is None:
        raise IllegalArgument("Validation Failed: 1: index patterns are missing;")
    out: dict[str, Any] = {
        "order": int(body.get("order") or 0),
        "index_patterns": _patterns(patterns),
        "settings": {k: v for k, v in flatten_settings(body.get("settings")).items() if v is not None},
        "mappings": _strip_type(body.get("mappings") or {}),
        "aliases": dict(body.get("aliases") or {}),
    }
    if "version" in body:
        out["version"] = body["version"]
    return out


def _strip_type(mappings: Any) -> dict[str, Any]:
    if isinstance(mappings, dict) and list(mappings) == ["_doc"] and isinstance(mappings["_doc"], dict):
        return dict(mappings["_doc"])
    return dict(mappings) if isinstance(mappings, dict) else {}


def _normalize_block(block: dict[str, Any]) -> dict[str, Any]:
    out = dict(block)
    if "settings" in out:
        out["settings"] = {k: v for k, v in flatten_settings(out["settings"]).items() if v is not None}
    if "mappings" in out:
        out["mappings"] = _strip_type(out["mappings"])
    return out


def matching_composable(name: str, templates: MappingABC[str, Any]) -> str | None:
    """The composable template for a new index ``name``: highest priority among those matching."""
    best: tuple[int, str] | None = None
    for tname, body in templates.items():
        if not any(fnmatch.fnmatchcase(name, p) for p in body["index_patterns"]):
            continue
        priority = int(body.get("priority") or 0)
        if best is None or priority > best[0]:
            best = (priority, tname)
    return best[1] if best else None


def matching_legacy(name: str, templates: MappingABC[str, Any]) -> list[str]:
    found = [t for t, body in templates.items() if any(fnmatch.fnmatchcase(name, p) for p in body["index_patterns"])]
    return sorted(found, key=lambda t: (int(templates[t].get("order") or 0), t))


def merge_mappings(base: MappingABC[str, Any], overlay: MappingABC[str, Any]) -> dict[str, Any]:
    """Deep merge as ES composes template mappings: objects merge key by key, later leaves win."""
    out = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            if "type" in value and value.get("type") != out[key].get("type") and key != "properties":
                out[key] = copy.deepcopy(value)
            else:
                out[key] = merge_mappings(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _apply_block(into: Contribution, block: MappingABC[str, Any]) -> None:
    into.settings.update(block.get("settings") or {})
    into.mappings = merge_mappings(into.mappings, block.get("mappings") or {})
    into.aliases.update(block.get("aliases") or {})


def resolve(
    name: str,
    index_templates: MappingABC[str, Any],
    component_templates: MappingABC[str, Any],
    legacy_templates: MappingABC[str, Any],
) -> Contribution:
    out = Contribution()
    composable = matching_composable(name, index_templates)
    if composable is not None:
        body = index_templates[composable]
        if "data_stream" in body:
            return out
        for component in body.get("composed_of") or []:
            if component in component_templates:
                _apply_block(out, component_templates[component]["template"])
        _apply_block(out, body.get("template") or {})
        return out
    for legacy in matching_legacy(name, legacy_templates):
        _apply_block(out, legacy_templates[legacy])
    return out


def nested_for_output(block: MappingABC[str, Any], flat_settings: bool) -> dict[str, Any]:
    """A stored template block as ES shows it (settings nested unless ``flat_settings``)."""
    from cluster.settings import nest_settings

    out = dict(block)
    if "settings" in out and not flat_settings:
        out["settings"] = nest_settings(out["settings"])
    return out


BUILTIN_COMPONENTS: dict[str, Any] = {
    name: {
        "template": {"settings": {}, "mappings": {}} if "settings" in name else {"mappings": {"dynamic": True}},
        "version": 1,
        "_meta": {"managed": True, "description": f"default {name.split('@')[0]} shipped with Elasticsearch"},
    }
    for name in ("logs@mappings", "logs@settings", "metrics@mappings", "metrics@settings",
                 "synthetics@mappings", "synthetics@settings")
}  # fmt: skip
BUILTIN_INDEX_TEMPLATES: dict[str, Any] = {
    kind: {
        "index_patterns": [f"{kind}-*-*"],
        "composed_of": [f"{kind}@mappings", f"{kind}@settings"],
        "priority": 100,
        "version": 1,
        "data_stream": {"hidden": False, "allow_custom_routing": False},
        "allow_auto_create": True,
        "_meta": {"managed": True, "description": f"default {kind} template installed by Elasticsearch"},
    }
    for kind in ("logs", "metrics", "synthetics")
}
