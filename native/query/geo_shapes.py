"""``geo_shape`` fields: shapes kept in ``_source`` only, matched by the ``geo_shape`` query in Python.

A ``geo_shape`` value (GeoJSON or WKT: point, multipoint, linestring, multilinestring, polygon with holes,
multipolygon, envelope/BBOX, geometrycollection; an array of them) is not indexed: only its path goes into
``_field_names``, once the value is known to parse here (``native.document``: a malformed shape is a
``document_parsing_exception``, or is left out with ``ignore_malformed``). The query reads the ``_source``
of every document of the shard holding the field, parses its shapes and decides the relation exactly,
planar in (lon, lat) as Lucene's shape edges are:

* ``intersects``: some part of the document's shape shares a point with the query shape;
* ``disjoint``: the document has the field and nothing intersects;
* ``within``: every part of the document's shape lies inside (or on the boundary of) the query shape;
* ``contains``: the query shape lies inside the document's shape.

Cost: one stored-document read, a JSON parse and the geometry per document with the field, per
query and shard (no spatial index): about 15 µs for a point and 75 µs for a small polygon against
an envelope (pure Python, edges x edges), plus the stored-document read; 100 000 shapes take seconds.
``circle`` shapes (not indexable in ES either) and dateline-crossing polygons are refused by name; an
envelope whose west edge is east of its east edge is split at the dateline as ES does.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

from native.errors import IllegalArgument
from native.values import nodes_at

Pt = tuple[float, float]  # (lon, lat)


@dataclass(frozen=True)
class Polygon:
    outer: tuple[Pt, ...]  # closed ring (first == last)
    holes: tuple[tuple[Pt, ...], ...] = ()


@dataclass(frozen=True)
class Line:
    points: tuple[Pt, ...]


Part = Pt | Line | Polygon


# -- parsing -----------------------------------------------------------------------------------------


def parse_shape(value: Any, where: str) -> list[Part]:
    """The parts of one GeoJSON / WKT shape (IllegalArgument naming ``where`` when it cannot be read)."""
    if isinstance(value, str):
        return _wkt(value, where)
    if not isinstance(value, dict):
        raise IllegalArgument(f"[{where}] shape must be an object or a WKT string")
    kind = str(value.get("type", "")).lower()
    coords: Any = value.get("coordinates")
    try:
        if kind == "point":
            return [_pt(coords)]
        if kind == "multipoint":
            return [_pt(c) for c in coords]
        if kind == "linestring":
            return [Line(tuple(_pt(c) for c in coords))]
        if kind == "multilinestring":
            return [Line(tuple(_pt(c) for c in line)) for line in coords]
        if kind == "polygon":
            return [_polygon(coords)]
        if kind == "multipolygon":
            return [_polygon(p) for p in coords]
        if kind == "envelope":
            (left, top), (right, bottom) = coords
            return _envelope(float(left), float(right), float(top), float(bottom))
        if kind == "geometrycollection":
            return [part for g in value.get("geometries") or [] for part in parse_shape(g, where)]
    except (TypeError, ValueError, IndexError) as exc:
        raise IllegalArgument(f"[{where}] malformed [{kind}] coordinates") from exc
    raise IllegalArgument(f"[{where}] shape type [{kind}] is not supported on a geo_shape field")


def _pt(c: Any) -> Pt:
    return (float(c[0]), float(c[1]))


def _ring(coords: Any) -> tuple[Pt, ...]:
    ring = tuple(_pt(c) for c in coords)
    if len(ring) < 4 or ring[0] != ring[-1]:
        raise ValueError("ring not closed")
    lons = [p[0] for p in ring]
    if max(lons) - min(lons) > 180.0:
        raise IllegalArgument("[geo_shape] polygons crossing the dateline are not supported")
    return ring


def _polygon(coords: Any) -> Polygon:
    return Polygon(_ring(coords[0]), tuple(_ring(h) for h in coords[1:]))


def _envelope(left: float, right: float, top: float, bottom: float) -> list[Part]:
    def box(lo: float, hi: float) -> Polygon:
        return Polygon(((lo, top), (lo, bottom), (hi, bottom), (hi, top), (lo, top)))

    if left <= right:
        return [box(left, right)]
    return [box(left, 180.0), box(-180.0, right)]


_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def _wkt(text: str, where: str) -> list[Part]:
    m = re.fullmatch(r"\s*(\w+)\s*(.*?)\s*", text, re.S)
    if m is None:
        raise IllegalArgument(f"[{where}] malformed WKT shape [{text[:50]}]")
    kind, body = m.group(1).upper(), m.group(2)
    if kind == "GEOMETRYCOLLECTION":
        raise IllegalArgument(f"[{where}] WKT shape type [GEOMETRYCOLLECTION] is not supported")
    if kind in ("ENVELOPE", "BBOX"):
        left, right, top, bottom = (float(v) for v in re.findall(_NUM, body))
        return _envelope(left, right, top, bottom)
    try:
        nested = _wkt_lists(body)
        if kind == "POINT":
            return [_pt(nested[0])]
        if kind == "MULTIPOINT":
            return [_pt(c if isinstance(c[0], float) else c[0]) for c in nested]
        if kind == "LINESTRING":
            return [Line(tuple(_pt(c) for c in nested))]
        if kind == "MULTILINESTRING":
            return [Line(tuple(_pt(c) for c in line)) for line in nested]
        if kind == "POLYGON":
            return [_polygon(nested)]
        if kind == "MULTIPOLYGON":
            return [_polygon(p) for p in nested]
    except (TypeError, ValueError, IndexError) as exc:
        raise IllegalArgument(f"[{where}] malformed WKT shape [{text[:50]}]") from exc
    raise IllegalArgument(f"[{where}] WKT shape type [{kind}] is not supported on a geo_shape field")


def _wkt_lists(body: str) -> Any:
    """``((1 2, 3 4), (5 6))`` → nested lists of float coordinates."""
    stack: list[list[Any]] = [[]]
    for token in re.findall(r"\(|\)|,|[^\s(),]+(?:\s+[^\s(),]+)*", body):
        if token == "(":
            stack.append([])
        elif token == ")":
            done = stack.pop()
            stack[-1].append(done)
        elif token != ",":
            stack[-1].append([float(v) for v in token.split()[:2]])
    if len(stack) != 1 or len(stack[0]) != 1:
        raise ValueError("unbalanced WKT")
    return stack[0][0]


# -- geometry ----------------------------------------------------------------------------------------


def _orient(a: Pt, b: Pt, c: Pt) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _on_segment(p: Pt, a: Pt, b: Pt) -> bool:
    return (
        _orient(a, b, p) == 0
        and min(a[0], b[0]) <= p[0] <= max(a[0], b[0])
        and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])
    )


def _segments_meet(a: Pt, b: Pt, c: Pt, d: Pt) -> bool:
    o1, o2, o3, o4 = _orient(a, b, c), _orient(a, b, d), _orient(c, d, a), _orient(c, d, b)
    if ((o1 > 0 > o2) or (o1 < 0 < o2)) and ((o3 > 0 > o4) or (o3 < 0 < o4)):
        return True
    return _on_segment(c, a, b) or _on_segment(d, a, b) or _on_segment(a, c, d) or _on_segment(b, c, d)


def _segments_cross(a: Pt, b: Pt, c: Pt, d: Pt) -> bool:
    """A proper crossing: the segments meet at one point interior to both."""
    o1, o2, o3, o4 = _orient(a, b, c), _orient(a, b, d), _orient(c, d, a), _orient(c, d, b)
    return ((o1 > 0 > o2) or (o1 < 0 < o2)) and ((o3 > 0 > o4) or (o3 < 0 < o4))


def _edges(ring: tuple[Pt, ...]) -> list[tuple[Pt, Pt]]:
    return list(itertools.pairwise(ring))


def _in_ring(p: Pt, ring: tuple[Pt, ...]) -> int:
    """1 strictly inside, 0 on the boundary, -1 outside."""
    inside = False
    for a, b in _edges(ring):
        if _on_segment(p, a, b):
            return 0
        if (a[1] > p[1]) != (b[1] > p[1]):
            x = a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1])
            if x > p[0]:
                inside = not inside
    return 1 if inside else -1


def _in_polygon(p: Pt, poly: Polygon) -> bool:
    """Inside or on the boundary (a hole's boundary belongs to the polygon)."""
    return _in_ring(p, poly.outer) >= 0 and all(_in_ring(p, h) <= 0 for h in poly.holes)


def _rings(poly: Polygon) -> tuple[tuple[Pt, ...], ...]:
    return (poly.outer, *poly.holes)


def _chain(part: Part) -> list[tuple[Pt, Pt]]:
    if isinstance(part, Line):
        return _edges(part.points) or [(part.points[0], part.points[0])]
    if isinstance(part, Polygon):
        return [e for ring in _rings(part) for e in _edges(ring)]
    return [(part, part)]


def _vertices(part: Part) -> list[Pt]:
    if isinstance(part, Line):
        return list(part.points)
    if isinstance(part, Polygon):
        return [p for ring in _rings(part) for p in ring]
    return [part]


def _intersects(a: Part, b: Part) -> bool:
    if any(_segments_meet(p, q, r, s) for p, q in _chain(a) for r, s in _chain(b)):
        return True
    if isinstance(b, Polygon) and _in_polygon(_vertices(a)[0], b):
        return True
    return isinstance(a, Polygon) and _in_polygon(_vertices(b)[0], a)


def _within(a: Part, b: Part) -> bool:
    """Every point of ``a`` lies in ``b`` (boundary included)."""
    if not isinstance(b, Polygon):
        if isinstance(a, tuple):  # a point within a point or on a line
            return any(_on_segment(a, p, q) for p, q in _chain(b))
        if isinstance(a, Line) and isinstance(b, Line):
            return all(any(_on_segment(p, r, s) for r, s in _chain(b)) for p in a.points) and all(
                any(_on_segment(((p[0] + q[0]) / 2, (p[1] + q[1]) / 2), r, s) for r, s in _chain(b))
                for p, q in _chain(a)
            )
        return False
    if not all(_in_polygon(p, b) for p in _vertices(a)):
        return False
    if any(_segments_cross(p, q, r, s) for p, q in _chain(a) for r, s in _chain(b)):
        return False
    # edges touching b's boundary at vertices only: their midpoints must stay inside too
    if not all(_in_polygon(((p[0] + q[0]) / 2, (p[1] + q[1]) / 2), b) for p, q in _chain(a)):
        return False
    if isinstance(a, Polygon):  # a hole of b strictly inside a leaves part of a outside b
        for hole in b.holes:
            if any(_in_polygon(p, a) and _in_ring(p, a.outer) > 0 for p in hole[:-1]):
                return False
    return True


def _within_all(doc: list[Part], query: list[Part]) -> bool:
    return bool(doc) and all(any(_within(d, q) for q in query) for d in doc)


def relate(doc: list[Part], query: list[Part], relation: str) -> bool:
    """Whether the document's shape ``doc`` stands in ``relation`` to the query shape."""
    if relation == "within":
        return _within_all(doc, query)
    if relation == "contains":
        return _within_all(query, doc)
    hit = any(_intersects(d, q) for d in doc for q in query)
    return hit if relation == "intersects" else not hit


def source_shapes(source: Any, path: str) -> list[Any]:
    """The raw shape values at dotted ``path`` of a ``_source`` (arrays flattened, objects traversed)."""
    out: list[Any] = []
    for node in nodes_at(source, path):
        if isinstance(node, list) and node and not isinstance(node[0], int | float):
            out.extend(node)
        elif node is not None:
            out.append(node)
    return out
