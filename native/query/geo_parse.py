"""Geo queries on ``geo_point`` fields: geo_distance, geo_bounding_box, geo_polygon, geo_shape (points only).

Coordinates are checked per ``validation_method`` while parsing: STRICT (the default) rejects an
out-of-range latitude/longitude with a 400, COERCE and IGNORE_MALFORMED normalize it (wrapping over the
poles and around the dateline). Nodes always hold valid ``(lat, lon)`` degrees.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from native.errors import IllegalArgument, ParsingError
from native.query import geo
from native.query.ast import GeoBoundingBox, GeoDistance, GeoPolygon, GeoShape, QueryAst
from native.query.limits import ParseContext
from native.query.params import as_bool, as_float, as_str, expect_object
from native.values import geohash_cell, geotile_cell

__all__ = ["PARSERS"]

_COMMON = ("boost", "_name", "ignore_unmapped", "validation_method")
_WKT_BBOX = re.compile(r"\s*BBOX\s*\(\s*([^,]+),([^,]+),([^,]+),([^,)]+)\)\s*", re.I)


def _method(name: str, body: dict[str, Any]) -> str:
    raw = body.get("validation_method")
    if raw is None:
        coerce = as_bool(name, "coerce", body.get("coerce", False))
        ignore = as_bool(name, "ignore_malformed", body.get("ignore_malformed", False))
        return "COERCE" if coerce else "IGNORE_MALFORMED" if ignore else "STRICT"
    method = as_str(name, "validation_method", raw).upper()
    if method not in ("STRICT", "COERCE", "IGNORE_MALFORMED"):
        raise IllegalArgument(f"No enum constant org.elasticsearch.index.query.GeoValidationMethod.{method}")
    return method


def _field_of(name: str, body: dict[str, Any], extra: tuple[str, ...]) -> tuple[str, Any]:
    fields = [k for k in body if k not in _COMMON and k not in extra and k not in ("coerce", "ignore_malformed")]
    if not fields:
        raise ParsingError(f"[{name}] query malformed, no field specified")
    if len(fields) > 1:
        raise ParsingError(f"[{name}] query doesn't support multiple fields, found [{fields[0]}] and [{fields[1]}]")
    return fields[0], body[fields[0]]


def _check(name: str, lat: float, lon: float, method: str, what: str = "") -> tuple[float, float]:
    if method == "STRICT":
        if not -90.0 <= lat <= 90.0:
            raise IllegalArgument(f"illegal latitude value [{lat}] for [{name}]")
        if not -180.0 <= lon <= 180.0:
            raise IllegalArgument(f"illegal longitude value [{lon}] for [{name}]")
        return lat, lon
    if method == "COERCE":
        return geo.normalize_lat_lon(lat, lon)
    return (lat, lon) if geo.valid(lat, lon) else geo.normalize_lat_lon(lat, lon)


def parse_geo_distance(body: Any, ctx: ParseContext) -> GeoDistance:
    body = expect_object("geo_distance", body)
    fname, raw = _field_of("geo_distance", body, ("distance", "distance_type", "unit", "optimize_bbox"))
    if "distance" not in body:
        raise ParsingError("geo_distance requires 'distance' to be specified")
    unit = str(body.get("unit", "m"))
    meters = geo.parse_distance(body["distance"], unit)
    if meters <= 0:
        raise IllegalArgument("distance must be greater than zero")
    distance_type = str(body.get("distance_type", "arc")).lower()
    if distance_type not in ("arc", "plane"):
        raise IllegalArgument(f"No geo distance for [{distance_type}]")
    method = _method("geo_distance", body)
    lat, lon = geo.point(raw, query="geo_distance")
    lat, lon = _check("geo_distance", lat, lon, method)
    ctx.count()
    return GeoDistance(
        fname, lat, lon, meters, distance_type,
        ignore_unmapped=as_bool("geo_distance", "ignore_unmapped", body.get("ignore_unmapped", False)),
        boost=as_float("geo_distance", "boost", body.get("boost", 1.0)),
    )  # fmt: skip


def _is_geohash(value: Any) -> bool:
    """A point written as a string that is neither ``"lat,lon"`` nor WKT (ES reads it as a geohash)."""
    return isinstance(value, str) and "," not in value and "(" not in value


def _corners(raw: Any) -> tuple[float, float, float, float]:
    """top, left, bottom, right of a bounding box in any ES form."""
    name = "geo_bounding_box"
    if not isinstance(raw, dict):
        raise ParsingError(f"[{name}] failed to parse bounding box. Expected start object but found [{raw!r}]")
    top = left = bottom = right = None
    for key, value in raw.items():
        if key == "wkt":
            m = _WKT_BBOX.fullmatch(str(value))
            if not m:
                raise ParsingError(f"[{name}] failed to parse WKT bounding box [{value}]")
            left, right, top, bottom = (float(g) for g in m.groups())  # BBOX(minLon, maxLon, maxLat, minLat)
        elif key in ("top", "bottom", "left", "right"):
            number = as_float(name, key, value)
            if key == "top":
                top = number
            elif key == "bottom":
                bottom = number
            elif key == "left":
                left = number
            else:
                right = number
        elif key in ("geohash", "geotile"):  # the whole box is one cell
            try:
                cell = geohash_cell(str(value)) if key == "geohash" else geotile_cell(str(value))
            except ValueError as exc:
                raise IllegalArgument(str(exc)) from None
            top, left, bottom, right = cell
        elif key in ("top_left", "topLeft", "bottom_right", "bottomRight", "top_right", "topRight",
                     "bottom_left", "bottomLeft"):  # fmt: skip
            if _is_geohash(value):  # a corner given as a geohash is that corner of its cell, as in ES
                try:
                    c_top, c_left, c_bottom, c_right = geohash_cell(value)
                except ValueError as exc:
                    raise IllegalArgument(str(exc)) from None
                lat = c_top if key.startswith("top") else c_bottom
                lon = c_left if key in ("top_left", "topLeft", "bottom_left", "bottomLeft") else c_right
            else:
                lat, lon = geo.point(value, query=name)
            if key.startswith("top"):
                top = lat
            else:
                bottom = lat
            if key in ("top_left", "topLeft", "bottom_left", "bottomLeft"):
                left = lon
            else:
                right = lon
        else:
            raise ParsingError(f"failed to parse bounding box. unexpected field [{key}]")
    if top is None or bottom is None or left is None or right is None:
        raise IllegalArgument(f"failed to parse bounding box. missing or invalid corners in [{name}]")
    return top, left, bottom, right


def parse_geo_bounding_box(body: Any, ctx: ParseContext) -> GeoBoundingBox:
    name = "geo_bounding_box"
    body = expect_object(name, body)
    fname, raw = _field_of(name, body, ("type",))
    top, left, bottom, right = _corners(raw)
    method = _method(name, body)
    if method == "STRICT":
        for label, value, limit in (("top latitude", top, 90), ("left longitude", left, 180),
                                    ("bottom latitude", bottom, 90), ("right longitude", right, 180)):  # fmt: skip
            if not -limit <= value <= limit:
                raise IllegalArgument(f"{label} is invalid: {value}")
        if top < bottom:
            raise IllegalArgument(f"top is below bottom corner: {top} vs. {bottom}")
    elif not (geo.valid(top, left) and geo.valid(bottom, right)):
        top, left = geo.normalize_lat_lon(top, left)
        bottom, right = geo.normalize_lat_lon(bottom, right)
    ctx.count()
    return GeoBoundingBox(
        fname, top, left, bottom, right,
        ignore_unmapped=as_bool(name, "ignore_unmapped", body.get("ignore_unmapped", False)),
        boost=as_float(name, "boost", body.get("boost", 1.0)),
    )  # fmt: skip


def _ring(name: str, raw: Any, method: str, *, lon_lat: bool = False) -> tuple[tuple[float, float], ...]:
    if not isinstance(raw, list):
        raise ParsingError(f"[{name}] polygon points must be an array")
    ring = []
    for item in raw:
        if lon_lat:
            if not isinstance(item, list) or len(item) < 2:
                raise ParsingError(f"[{name}] expected a [lon, lat] position, got [{item}]")
            lat, lon = float(item[1]), float(item[0])
        else:
            lat, lon = geo.point(item, query=name)
        ring.append(_check(name, lat, lon, method))
    if len(ring) > 1 and ring[0] == ring[-1]:
        ring.pop()
    if len(ring) < 3:
        raise IllegalArgument(f"too few points defined for {name} query")
    return tuple(ring)


def parse_geo_polygon(body: Any, ctx: ParseContext) -> GeoPolygon:
    name = "geo_polygon"
    body = expect_object(name, body)
    fname, raw = _field_of(name, body, ())
    if not isinstance(raw, dict) or "points" not in raw:
        raise ParsingError(f"[{name}] query requires [points]")
    method = _method(name, body)
    ctx.count()
    return GeoPolygon(
        fname, _ring(name, raw["points"], method),
        ignore_unmapped=as_bool(name, "ignore_unmapped", body.get("ignore_unmapped", False)),
        boost=as_float(name, "boost", body.get("boost", 1.0)),
    )  # fmt: skip


_WKT_ENVELOPE = re.compile(r"\s*ENVELOPE\s*\(\s*([^,]+),([^,]+),([^,]+),([^,)]+)\)\s*", re.I)
_WKT_POLYGON = re.compile(r"\s*POLYGON\s*\((.*)\)\s*", re.I | re.S)


def _wkt_shape(text: str) -> dict[str, Any]:
    m = _WKT_ENVELOPE.fullmatch(text)
    if m:
        min_lon, max_lon, max_lat, min_lat = (float(g) for g in m.groups())
        return {"type": "envelope", "coordinates": [[min_lon, max_lat], [max_lon, min_lat]]}
    m = _WKT_POLYGON.fullmatch(text)
    if m:
        rings = re.findall(r"\(([^()]*)\)", m.group(1))
        coords = [[[float(x) for x in pair.split()[:2]] for pair in ring.split(",")] for ring in rings]
        return {"type": "polygon", "coordinates": coords}
    if text.strip().upper().startswith("POINT"):
        lat, lon = geo.point(text, query="geo_shape")
        return {"type": "point", "coordinates": [lon, lat]}
    raise ParsingError(f"[geo_shape] unsupported WKT shape [{text[:50]}] for a geo_point field")


def _shape_nodes(fname: str, shape: Any) -> tuple[QueryAst, ...]:
    name = "geo_shape"
    if isinstance(shape, str):
        shape = _wkt_shape(shape)
    if not isinstance(shape, dict):
        raise ParsingError(f"[{name}] shape must be an object")
    kind = str(shape.get("type", "")).lower()
    coords = shape.get("coordinates")
    if kind == "envelope":
        if not isinstance(coords, list) or len(coords) != 2:
            raise ParsingError(f"[{name}] envelope needs two corner coordinates")
        (left, top), (right, bottom) = coords
        return (GeoBoundingBox(fname, float(top), float(left), float(bottom), float(right)),)
    if kind == "polygon":
        if not isinstance(coords, list) or not coords:
            raise ParsingError(f"[{name}] polygon needs coordinates")
        outer = _ring(name, coords[0], "STRICT", lon_lat=True)
        holes = tuple(_ring(name, h, "STRICT", lon_lat=True) for h in coords[1:])
        return (GeoPolygon(fname, outer, holes),)
    if kind == "multipolygon":
        out: list[QueryAst] = []
        for poly in coords or []:
            out.extend(_shape_nodes(fname, {"type": "polygon", "coordinates": poly}))
        return tuple(out)
    if kind == "point":
        lat, lon = geo.point(coords, query=name)
        return (GeoBoundingBox(fname, lat, lon, lat, lon),)
    if kind == "multipoint":
        return tuple(GeoBoundingBox(fname, float(c[1]), float(c[0]), float(c[1]), float(c[0])) for c in coords or [])
    if kind == "circle":
        lat, lon = geo.point(coords, query=name)
        return (GeoDistance(fname, lat, lon, geo.parse_distance(shape.get("radius"))),)
    if kind == "geometrycollection":
        out = []
        for g in shape.get("geometries") or []:
            out.extend(_shape_nodes(fname, g))
        return tuple(out)
    raise IllegalArgument(f"[{name}] shape type [{kind}] is not supported on a geo_point field")


def parse_geo_shape(body: Any, ctx: ParseContext) -> QueryAst:
    name = "geo_shape"
    body = expect_object(name, body)
    fname, raw = _field_of(name, body, ())
    if not isinstance(raw, dict):
        raise ParsingError(f"[{name}] query malformed, expected an object for field [{fname}]")
    if "indexed_shape" in raw:
        raise IllegalArgument(f"[{name}] indexed_shape is not supported")
    if "shape" not in raw:
        raise IllegalArgument("either shape or indexed_shape is required")
    relation = str(raw.get("relation", "intersects")).lower()
    if relation not in ("intersects", "within", "disjoint", "contains"):
        raise IllegalArgument(f"Unknown shape relation [{relation}]")
    point_error = False
    try:
        shapes = _shape_nodes(fname, raw["shape"])
    except (IllegalArgument, ParsingError):  # a shape a geo_shape field takes: raised again on a geo_point one
        shapes, point_error = (), True
    if relation == "contains" and not all(
        isinstance(s, GeoBoundingBox) and s.top == s.bottom and s.left == s.right for s in shapes
    ):
        shapes = ()  # a point contains no area
    ctx.count()
    return GeoShape(
        fname, shapes, relation,
        ignore_unmapped=as_bool(name, "ignore_unmapped", body.get("ignore_unmapped", False)),
        boost=as_float(name, "boost", body.get("boost", 1.0)),
        shape_json=orjson.dumps(raw["shape"]).decode(),
        point_error=point_error,
    )  # fmt: skip


PARSERS = {
    "geo_distance": parse_geo_distance,
    "geo_bounding_box": parse_geo_bounding_box,
    "geo_polygon": parse_geo_polygon,
    "geo_shape": parse_geo_shape,
}
