"""Context suggesters: ``contexts`` of a ``completion`` field (``category`` and ``geo``), as ES's reference
describes them.

Mapping: ``"contexts": [{"name", "type": "category"|"geo", "path"?, "precision"? (geo, a geohash level or a
distance, 6 by default)}]``. A suggestion's contexts come from its value (``{"input", "contexts": {name:
values}}``) or, for a mapping with ``path``, from that field of the document; geo values (any geo_point
format) are kept as geohashes of the mapping's precision.

Query: ``"contexts": {name: [...]}``; a category context is a string or ``{"context", "boost", "prefix"}``,
a geo context a point or ``{"context": point, "boost", "precision", "neighbours"}``. A geo context matches the
cells of the point's geohash at ``min(precision, mapping precision)`` (query precision 12 by default), plus
its 8 neighbours when that is the mapping's precision, or the cells (and neighbours) of each ``neighbours``
precision; a cell shorter than the mapping's precision matches the geohashes it prefixes. A suggestion
matches when any of its contexts matches any query context and scores ``weight x`` the best matching boost.
A context-enabled field needs query contexts ("Missing mandatory contexts in context query") and, at index
time, contexts in every value (checked in ``native.document`` unless a mapping reads them from a ``path``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from native.errors import IllegalArgument, ParsingError

__all__ = ["ContextMapping", "QueryContext", "doc_contexts", "match_contexts", "parse_mappings", "parse_query"]

GEO_MAPPING_PRECISION = 6
GEO_QUERY_PRECISION = 12


@dataclass(frozen=True)
class ContextMapping:
    name: str
    type: str  # category | geo
    path: str | None = None
    precision: int = GEO_MAPPING_PRECISION


@dataclass(frozen=True)
class QueryContext:
    name: str
    value: str  # a category, or a geohash cell
    boost: float = 1.0
    prefix: bool = False


def _precision(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        level = value
    elif isinstance(value, str) and value.strip().isdigit():
        level = int(value)
    elif isinstance(value, str):
        from native.aggs.geogrid import _geohash_levels_for

        level = _geohash_levels_for(value)
    else:
        raise ParsingError(f"[precision] must be a number or a distance, got [{value}]")
    if not 1 <= level <= 12:
        raise IllegalArgument(f"Invalid geohash aggregation precision of {level}. Must be between 1 and 12.")
    return level


def parse_mappings(params: Mapping[str, Any]) -> list[ContextMapping]:
    """A completion field's ``contexts`` mapping parameter."""
    raw = params.get("contexts")
    if raw is None:
        return []
    out = []
    for item in raw if isinstance(raw, list) else [raw]:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise IllegalArgument("field [name] is required for a completion context")
        kind = str(item.get("type", "")).lower()
        if kind not in ("category", "geo"):
            raise IllegalArgument(f"unknown context type [{item.get('type')}]")
        path = item.get("path")
        precision = _precision(item["precision"]) if kind == "geo" and "precision" in item else GEO_MAPPING_PRECISION
        out.append(ContextMapping(item["name"], kind, str(path) if path is not None else None, precision))
    return out


def _cell(point: Any, level: int) -> str:
    from native.aggs.geogrid import geohash
    from native.values import parse_geo_point

    try:
        lat, lon = parse_geo_point(point)
    except (ValueError, TypeError) as e:
        raise ParsingError(f"failed to parse geo context [{point}]: {e}") from None
    return geohash(lat, lon, level)


def _neighbours(cell: str) -> set[str]:
    """The (up to) 8 cells around a geohash cell, at its level."""
    from native.aggs.geogrid import geohash
    from native.values import geohash_cell

    top, left, bottom, right = geohash_cell(cell)
    height, width = top - bottom, right - left
    lat, lon = (top + bottom) / 2, (left + right) / 2
    out = set()
    for dlat in (-1, 0, 1):
        for dlon in (-1, 0, 1):
            if dlat == dlon == 0:
                continue
            nlat = lat + dlat * height
            if not -90.0 < nlat < 90.0:
                continue
            nlon = (lon + dlon * width + 180.0) % 360.0 - 180.0
            out.add(geohash(nlat, nlon, len(cell)))
    out.discard(cell)
    return out


def doc_contexts(value: Any, source: Any, mappings: list[ContextMapping], values_at: Any) -> dict[str, set[str]]:
    """A completion value's contexts (``values_at(source, path)`` reads a ``path`` context from the document)."""
    given = value.get("contexts") if isinstance(value, dict) else None
    if given is not None and not isinstance(given, dict):
        raise ParsingError("[contexts] must be an object")
    out: dict[str, set[str]] = {}
    for mapping in mappings:
        raw: list[Any] = []
        if mapping.path is not None:  # the document's field, and the value's own contexts too (as ES merges them)
            for found in values_at(source, mapping.path):
                raw.extend(_listed(found, mapping))
        got = (given or {}).get(mapping.name)
        if got is not None:
            raw.extend(_listed(got, mapping))
        if mapping.type == "category":
            values = {str(v).lower() if isinstance(v, bool) else str(v) for v in raw if v is not None}
        else:
            values = {_cell(v, mapping.precision) for v in raw if v is not None}
        if values:
            out[mapping.name] = values
    return out


def _listed(value: Any, mapping: ContextMapping) -> list[Any]:
    if isinstance(value, list) and (mapping.type == "category" or _is_point_list(value)):
        return value
    return [value]


def _is_point_list(value: list[Any]) -> bool:
    """A list of points, not one ``[lon, lat]`` point."""
    return not (len(value) in (2, 3) and all(isinstance(v, int | float) for v in value))


def parse_query(raw: Any, mappings: list[ContextMapping], field: str) -> list[QueryContext]:
    """The ``contexts`` of a completion suggestion, against the field's context mappings."""
    if not isinstance(raw, dict):
        raise ParsingError("[contexts] must be an object")
    if not mappings:
        raise IllegalArgument(f"suggester [{field}] doesn't expect any context")
    by_name = {m.name: m for m in mappings}
    out: list[QueryContext] = []
    for name, entries in raw.items():
        mapping = by_name.get(name)
        if mapping is None:
            known = ", ".join(sorted(by_name))
            raise IllegalArgument(f"Unknown context name [{name}], must be one of [{known}]")
        if mapping.type == "geo" and not (isinstance(entries, list) and _is_point_list(entries)):
            entries = [entries]
        for entry in entries if isinstance(entries, list) else [entries]:
            out.extend(_category(name, entry) if mapping.type == "category" else _geo(name, entry, mapping))
    if not out:
        raise IllegalArgument("Missing mandatory contexts in context query")
    return out


def _boost(entry: Mapping[str, Any]) -> float:
    try:
        boost = float(entry.get("boost", 1))
    except (TypeError, ValueError):
        raise ParsingError("[boost] must be a number") from None
    if boost < 0:
        raise IllegalArgument("[boost] must be greater or equal to 0")
    return boost


def _category(name: str, entry: Any) -> list[QueryContext]:
    if isinstance(entry, dict):
        for key in entry:
            if key not in ("context", "boost", "prefix"):
                raise ParsingError(f"[category] unknown field [{key}]")
        if entry.get("context") is None:
            raise ParsingError("[category] context query requires [context]")
        prefix = str(entry.get("prefix", False)).lower() == "true"
        return [QueryContext(name, str(entry["context"]), _boost(entry), prefix)]
    if isinstance(entry, str | int | float) and not isinstance(entry, bool):
        return [QueryContext(name, str(entry))]
    if isinstance(entry, bool):
        return [QueryContext(name, str(entry).lower())]
    raise ParsingError("category context must be an object, string, number or boolean")


def _geo(name: str, entry: Any, mapping: ContextMapping) -> list[QueryContext]:
    if isinstance(entry, dict) and "context" in entry:
        for key in entry:
            if key not in ("context", "boost", "precision", "neighbours"):
                raise ParsingError(f"[geo] unknown field [{key}]")
        point, boost = entry["context"], _boost(entry)
        precision = _precision(entry.get("precision", GEO_QUERY_PRECISION))
        neighbours = [_precision(n) for n in entry.get("neighbours") or []]
    else:
        point, boost, precision, neighbours = entry, 1.0, GEO_QUERY_PRECISION, []
    level = min(mapping.precision, precision)
    cell = _cell(point, level)
    cells = {cell}
    if not neighbours and len(cell) == mapping.precision:
        cells |= _neighbours(cell)
    for n in neighbours:
        if n < len(cell):
            cells.add(cell[:n])
            cells |= _neighbours(cell[:n])
    return [QueryContext(name, c, boost, len(c) < mapping.precision) for c in sorted(cells)]


def match_contexts(
    query: list[QueryContext], contexts: dict[str, set[str]]
) -> tuple[float, dict[str, set[str]]] | None:
    """The best boost of the query contexts a suggestion's contexts match, and the values matched (None: no
    match)."""
    best: float | None = None
    matched: dict[str, set[str]] = {}
    for q in query:
        for value in contexts.get(q.name, ()):
            if value == q.value or (q.prefix and value.startswith(q.value)):
                matched.setdefault(q.name, set()).add(value)
                best = q.boost if best is None else max(best, q.boost)
    return None if best is None else (best, matched)
