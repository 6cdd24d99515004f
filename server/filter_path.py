"""``?filter_path=`` response filtering, with Elasticsearch's semantics.

Mirrors ES's ``FilterPath`` trie and ``FilterPathBasedFilter`` (Jackson token filtering):

- ``a.b.c`` keeps that path; a comma list keeps the union. A path ends where it is matched: everything
  under a matched name is kept whole.
- A segment containing ``*`` is a glob on one name (``hits.hits._s*``, ``*.state``); ``**`` matches one
  or more levels (``routing_table.indices.**.state``). ``\\.`` is a literal dot inside a name.
- Lists are transparent: the filter applies to every element, and elements left empty are dropped.
- Inclusive filters drop what does not lie on a path: a scalar where the path wanted to go deeper, and
  objects or lists left empty (even if they were empty to begin with).
- ``-a.b`` excludes. Exclusion-only filters keep everything else; an object or list emptied by exclusion
  is dropped, one that was already empty is kept. With both kinds, the inclusive filter is applied first
  and the exclusive one to its result (ES chains the two generators that way).
- An empty result is ``{}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

__all__ = ["apply_filter_path", "glob_matcher", "parse_filter_path"]

_DROP: Any = object()  # marker: the value contributes nothing


@dataclass
class _Node:
    """One trie node: the segment it matched, whether a path ends here, and the next segments."""

    pattern: str = ""
    final: bool = False
    terms: dict[str, _Node] = field(default_factory=dict)
    wildcards: list[_Node] = field(default_factory=list)

    @property
    def double_wildcard(self) -> bool:
        return self.pattern == "**"


def _split(path: str) -> list[str]:
    """Split on unescaped dots; ``\\.`` stays a dot inside the segment."""
    segments: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(path):
        c = path[i]
        if c == "\\" and i + 1 < len(path) and path[i + 1] == ".":
            current.append(".")
            i += 2
            continue
        if c == ".":
            segments.append("".join(current))
            current = []
        else:
            current.append(c)
        i += 1
    segments.append("".join(current))
    return segments


def _compile(paths: Iterable[str]) -> _Node | None:
    root = _Node()
    children: dict[str, Any] = {}  # build tree: name -> (final, subtree)
    any_path = False
    for path in paths:
        path = path.strip()
        if not path:
            continue
        any_path = True
        level = children
        segments = _split(path)
        for i, segment in enumerate(segments):
            last = i == len(segments) - 1
            entry = level.get(segment)
            if last:
                level[segment] = (True, {})  # a shorter path wins over longer ones below it
                break
            if entry is None:
                entry = (False, {})
                level[segment] = entry
            elif entry[0]:
                break  # already kept whole
            level = entry[1]
    if not any_path:
        return None
    _build(root, children)
    return root


def _build(node: _Node, children: dict[str, Any]) -> None:
    for name, (final, sub) in children.items():
        child = _Node(pattern=name, final=final)
        _build(child, sub)
        if "*" in name:
            node.wildcards.append(child)
        else:
            node.terms[name] = child


@lru_cache(maxsize=256)
def glob_matcher(pattern: str) -> Callable[[str], Any]:
    """A name matcher where only ``*`` is special (ES ``Glob.globMatch``)."""
    regex = re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)
    return regex.fullmatch


def _match(nodes: list[_Node], name: str) -> list[_Node] | None:
    """``None`` if ``name`` completes a path; else the nodes to continue with (empty: no match)."""
    nxt: list[_Node] = []
    for node in nodes:
        term = node.terms.get(name)
        if term is not None:
            if term.final:
                return None
            nxt.append(term)
        for wildcard in node.wildcards:
            if glob_matcher(wildcard.pattern)(name):
                if wildcard.final:
                    return None
                nxt.append(wildcard)
        if node.double_wildcard:
            nxt.append(node)
    return nxt


def _include(value: Any, nodes: list[_Node]) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            nxt = _match(nodes, str(key))
            if nxt is None:
                out[key] = item
            elif nxt:
                kept = _include(item, nxt)
                if kept is not _DROP:
                    out[key] = kept
        return out if out else _DROP
    if isinstance(value, (list, tuple)):
        items = [kept for item in value if (kept := _include(item, nodes)) is not _DROP]
        return items if items else _DROP
    return _DROP  # a scalar where the path wanted to go deeper


def _exclude(value: Any, nodes: list[_Node]) -> Any:
    if isinstance(value, dict):
        if not value:
            return value
        out = {}
        for key, item in value.items():
            nxt = _match(nodes, str(key))
            if nxt is None:
                continue
            if not nxt:
                out[key] = item
            else:
                kept = _exclude(item, nxt)
                if kept is not _DROP:
                    out[key] = kept
        return out if out else _DROP
    if isinstance(value, (list, tuple)):
        if not value:
            return value
        items = [kept for item in value if (kept := _exclude(item, nodes)) is not _DROP]
        return items if items else _DROP
    return value


def parse_filter_path(filter_path: str | Iterable[str]) -> tuple[list[str], list[str]]:
    """Split a ``filter_path`` value (comma list or list of them) into (includes, excludes)."""
    raw = [filter_path] if isinstance(filter_path, str) else list(filter_path)
    includes: list[str] = []
    excludes: list[str] = []
    for chunk in raw:
        for part in chunk.split(","):
            part = part.strip()
            if part.startswith("-"):
                if part[1:].strip():
                    excludes.append(part[1:].strip())
            elif part:
                includes.append(part)
    return includes, excludes


def apply_filter_path(obj: Any, filter_path: str | list[str]) -> Any:
    """Filter a response body; see the module docstring. ``obj`` is not modified."""
    includes, excludes = parse_filter_path(filter_path)
    include_root = _compile(includes)
    exclude_root = _compile(excludes)
    result = obj
    if include_root is not None:
        result = _include(result, [include_root])
    if exclude_root is not None and result is not _DROP:
        result = _exclude(result, [exclude_root])
    if result is _DROP or (isinstance(result, (dict, list)) and not result):
        return {}
    return result
