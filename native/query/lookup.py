"""Terms lookup: ``{"terms": {"user": {"index": "users", "id": "2", "path": "followers"}}}``.

The values come from another document, which only the coordinating node can read (a shard cannot
reach other indices). The root finds every lookup in the request JSON (query, ``post_filter``, queries
inside aggregations) with ``find_lookups``, fetches each document once with a realtime GET, reads the
values at ``path`` with ``extract_values`` and substitutes plain ``terms`` with ``resolve_lookups``.
Shards only ever see plain ``terms``; a missing document gives no values, so the query matches nothing
(as in ES).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from native.errors import IllegalArgument, ParsingError

__all__ = ["LookupRef", "extract_values", "find_lookups", "parse_lookup", "resolve_lookups"]

LOOKUP_KEYS = frozenset({"index", "id", "path", "routing"})
_QUERY_OPTIONS = ("boost", "_name")


@dataclass(frozen=True)
class LookupRef:
    """The document (and the path inside it) one lookup reads."""

    index: str
    id: str
    path: str
    routing: str | None = None


def parse_lookup(body: Mapping[str, Any]) -> tuple[str, str, str, str | None]:
    """``(index, id, path, routing)`` of a lookup element, with ES's errors."""
    for key in body:
        if key not in LOOKUP_KEYS:
            raise ParsingError(f"[terms] query does not support [{key}] within lookup element")
    for key in ("id", "path", "index"):
        value = body.get(key)
        if value is None or isinstance(value, dict | list):
            raise IllegalArgument(f"[terms] query lookup element requires specifying the {key}.")
    routing = body.get("routing")
    return str(body["index"]), str(body["id"]), str(body["path"]), None if routing is None else str(routing)


def _lookup_of(terms_body: Any) -> tuple[str, LookupRef] | None:
    """The field and lookup of a ``terms`` query body, when it is a well-formed lookup."""
    if not isinstance(terms_body, dict):
        return None
    fields = [k for k in terms_body if k not in _QUERY_OPTIONS]
    if len(fields) != 1:
        return None
    element = terms_body[fields[0]]
    if not isinstance(element, dict) or "id" not in element or not set(element) <= LOOKUP_KEYS:
        return None
    try:
        return fields[0], LookupRef(*parse_lookup(element))
    except (ParsingError, IllegalArgument):
        return None


def _walk(node: Any) -> Iterator[Any]:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def find_lookups(*bodies: Any) -> list[LookupRef]:
    """Every distinct lookup in the given request parts (query, post_filter, aggs), in no promised order."""
    found: dict[LookupRef, None] = {}
    for body in bodies:
        for obj in _walk(body):
            got = _lookup_of(obj.get("terms"))
            if got is not None:
                found[got[1]] = None
    return list(found)


def resolve_lookups(body: Any, values: Mapping[LookupRef, list[Any]]) -> Any:
    """A copy of ``body`` where every lookup in ``values`` is a plain ``terms`` over its values."""
    if isinstance(body, list):
        return [resolve_lookups(item, values) for item in body]
    if not isinstance(body, dict):
        return body
    out = {key: resolve_lookups(value, values) for key, value in body.items()}
    got = _lookup_of(body.get("terms"))
    if got is not None and got[1] in values:
        field, ref = got
        terms = {k: v for k, v in body["terms"].items() if k in _QUERY_OPTIONS}
        out["terms"] = {field: list(values[ref]), **terms}
    return out


def extract_values(source: Any, path: str) -> list[Any]:
    """The scalar values at a dotted ``path`` of a ``_source`` (through arrays of objects, and keys that
    themselves contain dots), flattened; objects and nulls are skipped."""
    out: list[Any] = []
    _extract(source, path.split("."), out)
    return out


def _extract(node: Any, parts: list[str], out: list[Any]) -> None:
    if isinstance(node, list):
        for item in node:
            _extract(item, parts, out)
        return
    if not parts:
        if node is not None and not isinstance(node, dict):
            out.append(node)
        return
    if not isinstance(node, dict):
        return
    for end in range(1, len(parts) + 1):
        key = ".".join(parts[:end])
        if key in node:
            _extract(node[key], parts[end:], out)
