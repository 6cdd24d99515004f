"""Geo math shared by the geo queries and geo aggregations (pure Python, no tantivy).

Distances follow ES: ``arc`` is the haversine distance on a sphere of ES's mean earth radius, ``plane`` the
equirectangular approximation of ``GeoUtils.planeDistance``. Points are ``(lat, lon)`` tuples in degrees.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from native.errors import IllegalArgument, ParsingError
from native.values import parse_geo_point

EARTH_MEAN_RADIUS = 6371008.7714  # metres, GeoUtils.EARTH_MEAN_RADIUS

# unit name → metres (DistanceUnit)
UNITS: dict[str, float] = {
    "in": 0.0254, "inch": 0.0254,
    "yd": 0.9144, "yards": 0.9144,
    "ft": 0.3048, "feet": 0.3048,
    "km": 1000.0, "kilometers": 1000.0,
    "NM": 1852.0, "nmi": 1852.0, "nauticalmiles": 1852.0,
    "mm": 0.001, "millimeters": 0.001,
    "cm": 0.01, "centimeters": 0.01,
    "mi": 1609.344, "miles": 1609.344,
    "m": 1.0, "meters": 1.0,
}  # fmt: skip
_DISTANCE = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]*)\s*")

Point = tuple[float, float]


def unit_metres(unit: str) -> float:
    factor = UNITS.get(unit)
    if factor is None:
        raise IllegalArgument(f"No distance unit match [{unit}]")
    return factor


def parse_distance(value: Any, default_unit: str = "m") -> float:
    """``"12km"``, ``"1.5mi"``, ``200`` (metres) → metres."""
    if isinstance(value, bool) or value is None:
        raise ParsingError(f"failed to parse distance [{value}]")
    if isinstance(value, int | float):
        return float(value) * unit_metres(default_unit)
    m = _DISTANCE.fullmatch(str(value))
    if not m:
        raise ParsingError(f"failed to parse distance [{value}]")
    number, unit = float(m.group(1)), m.group(2) or default_unit
    return number * unit_metres(unit)


def haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Arc distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_MEAN_RADIUS * math.asin(min(1.0, math.sqrt(h)))


def plane_distance(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat2 + lat1) / 2.0))
    y = math.radians(lat2 - lat1)
    return math.sqrt(x * x + y * y) * EARTH_MEAN_RADIUS


def distance(lat1: float, lon1: float, lat2: float, lon2: float, kind: str = "arc") -> float:
    return plane_distance(lat1, lon1, lat2, lon2) if kind == "plane" else haversine(lat1, lon1, lat2, lon2)


def normalize_lat_lon(lat: float, lon: float) -> Point:
    """ES ``GeoUtils.normalizePoint``: wrap latitudes over the poles and longitudes around the globe."""
    if -90 <= lat <= 90 and -180 <= lon <= 180:
        return lat, lon
    lat_mod = (lat + 180.0) % 360.0 - 180.0  # in [-180, 180)
    flip = False
    if lat_mod > 90.0:
        lat_mod, flip = 180.0 - lat_mod, True
    elif lat_mod < -90.0:
        lat_mod, flip = -180.0 - lat_mod, True
    if flip:
        lon += 180.0
    lon = (lon + 180.0) % 360.0 - 180.0 if not -180 <= lon <= 180 else lon
    return lat_mod, lon


def point(value: Any, *, query: str, method: str = "STRICT") -> Point:
    """An ES geo point in any format (object, ``[lon, lat]``, ``"lat,lon"``, geohash, WKT) → ``(lat, lon)``.

    Out-of-range coordinates are a 400 with ``STRICT`` and normalized otherwise (checked by the caller via
    ``check_point``, which knows the query name)."""
    try:
        return parse_geo_point(value, query)
    except ValueError as exc:
        text = str(exc)
        if text.startswith(("illegal latitude", "illegal longitude")):
            raw = _raw_lat_lon(value)
            if raw is not None:
                return raw
        raise ParsingError(f"[{query}] {text}") from None


def _raw_lat_lon(value: Any) -> Point | None:
    try:
        if isinstance(value, dict) and "lat" in value and "lon" in value:
            return float(value["lat"]), float(value["lon"])
        if isinstance(value, list) and len(value) >= 2:
            return float(value[1]), float(value[0])
        if isinstance(value, str) and "," in value:
            parts = value.split(",")
            return float(parts[0]), float(parts[1])
    except (TypeError, ValueError):
        return None
    return None


def valid(lat: float, lon: float) -> bool:
    return -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0


def lon_ranges(lo: float, hi: float) -> list[tuple[float, float]]:
    """``[lo, hi]`` (degrees, possibly beyond ±180) as ranges inside [-180, 180]."""
    if hi - lo >= 360.0:
        return [(-180.0, 180.0)]
    out: list[tuple[float, float]] = []
    if lo < -180.0:
        out.append((lo + 360.0, 180.0))
        lo = -180.0
    if hi > 180.0:
        out.append((-180.0, hi - 360.0))
        hi = 180.0
    out.append((lo, hi))
    return out


def _lon_half_width(lat: float, lat0: float, cos_d: float) -> float:
    """Half the longitude extent (degrees) of the spherical cap at latitude ``lat``; -1 when it misses."""
    c, c0 = math.cos(math.radians(lat)), math.cos(math.radians(lat0))
    s, s0 = math.sin(math.radians(lat)), math.sin(math.radians(lat0))
    if c * c0 < 1e-15:  # a pole, or a centre on a pole
        inside = s * s0 + c * c0 >= cos_d - 1e-15
        return 180.0 if inside else -1.0
    arg = (cos_d - s * s0) / (c * c0)
    if arg > 1.0:
        return -1.0
    if arg < -1.0:
        return 180.0
    return math.degrees(math.acos(arg))


def circle_strips(lat0: float, lon0: float, radius_m: float, n: int = 24) -> list[tuple[float, float, float, float]]:
    """Latitude strips covering a spherical cap: ``(lat_lo, lat_hi, inner, outer)`` half-widths in degrees.

    Within a strip every point with ``|Δlon| <= inner`` is inside the circle, and every point of the circle
    has ``|Δlon| <= outer`` (``inner`` is -1 when no part is certain). The longitude half-width of a cap is
    unimodal in latitude, so its extremes over a strip are at the ends or at the widest latitude.
    """
    ang = radius_m / EARTH_MEAN_RADIUS
    if ang >= math.pi:
        return [(-90.0, 90.0, 180.0, 180.0)]
    cos_d = math.cos(ang)
    lat_lo = max(-90.0, lat0 - math.degrees(ang))
    lat_hi = min(90.0, lat0 + math.degrees(ang))
    widest = None
    ratio = math.sin(math.radians(lat0)) / cos_d if cos_d > 0 else 2.0
    if -1.0 <= ratio <= 1.0:
        widest = math.degrees(math.asin(ratio))
    step = (lat_hi - lat_lo) / n
    out = []
    for i in range(n):
        a = lat_lo + i * step
        b = lat_hi if i == n - 1 else a + step
        wa, wb = _lon_half_width(a, lat0, cos_d), _lon_half_width(b, lat0, cos_d)
        outer = max(wa, wb)
        if widest is not None and a <= widest <= b:
            outer = max(outer, _lon_half_width(widest, lat0, cos_d))
        if outer < 0:
            # the cap touches this strip only inside (ends rounding): be generous
            outer = max(_lon_half_width((a + b) / 2, lat0, cos_d), 0.0)
        inner = min(wa, wb)
        # margins against rounding: widen the cover, shrink the certain part
        outer = min(180.0, outer * (1 + 1e-9) + 1e-9)
        inner = inner * (1 - 1e-9) - 1e-9 if inner > 0 else -1.0
        out.append((a, b, inner, outer))
    return out


def point_in_polygon(lat: float, lon: float, ring: Sequence[Point]) -> bool:
    """Even-odd rule on a ring of ``(lat, lon)`` vertices (planar in degrees, as ES treats geo polygons);
    points on an edge count as inside."""
    inside = False
    n = len(ring)
    j = n - 1
    for i in range(n):
        yi, xi = ring[i]
        yj, xj = ring[j]
        # on the edge?
        if min(yi, yj) <= lat <= max(yi, yj) and min(xi, xj) <= lon <= max(xi, xj):
            cross = (xj - xi) * (lat - yi) - (yj - yi) * (lon - xi)
            if abs(cross) <= 1e-12:
                return True
        if (yi > lat) != (yj > lat):
            x_at = xi + (lat - yi) * (xj - xi) / (yj - yi)
            if lon < x_at:
                inside = not inside
        j = i
    return inside
