"""``_source`` filtering (includes/excludes with wildcards), applied in the fetch phase."""

from __future__ import annotations

import fnmatch
from typing import Any

from cluster.search_request import SourceFilter


def _matches(path: str, patterns: tuple[str, ...], *, prefix_ok: bool) -> bool:
    for pattern in patterns:
        if fnmatch.fnmatchcase(path, pattern) or path == pattern:
            return True
        if prefix_ok and (path.startswith(pattern + ".") or fnmatch.fnmatchcase(path, pattern + ".*")):
            return True
    return False


def _could_match_below(path: str, patterns: tuple[str, ...]) -> bool:
    for pattern in patterns:
        if pattern.startswith(path + ".") or fnmatch.fnmatchcase(path, pattern.split(".")[0]) or "*" in pattern:
            if pattern.startswith(path + ".") or fnmatch.fnmatchcase(path + ".x", pattern.rsplit(".", 1)[0] + ".*"):
                return True
            if fnmatch.fnmatchcase(path, pattern):
                return True
    return False


def _filter(obj: Any, spec: SourceFilter, prefix: str) -> Any:
    if not isinstance(obj, dict):
        return obj
    out: dict[str, Any] = {}
    for key, value in obj.items():
        path = f"{prefix}{key}"
        if spec.excludes and _matches(path, spec.excludes, prefix_ok=True):
            continue
        included = not spec.includes or _matches(path, spec.includes, prefix_ok=True)
        if included:
            out[key] = _filter_children(value, SourceFilter(True, (), spec.excludes), path)
        elif isinstance(value, dict | list) and _could_match_below(path, spec.includes):
            child = _filter_children(value, spec, path)
            if child not in ({}, []):
                out[key] = child
    return out


def _filter_children(value: Any, spec: SourceFilter, path: str) -> Any:
    if isinstance(value, dict):
        return _filter(value, spec, path + ".")
    if isinstance(value, list):
        items = [_filter_children(v, spec, path) for v in value]
        return [v for v in items if not (isinstance(v, dict) and not v and spec.includes)]
    return value


def filter_source(source: dict[str, Any], spec: SourceFilter) -> dict[str, Any]:
    if not spec.includes and not spec.excludes:
        return source
    result = _filter(source, spec, "")
    return result if isinstance(result, dict) else {}
