"""Source values → the values stored in tantivy fields (``convert_value``), geo points and ranges."""

from __future__ import annotations

import ipaddress
import math
import re
from typing import Any

from native import dates
from native.date_nanos import check_nanos_range, parse_date_nanos
from native.errors import FieldValueError, IllegalArgument, MapperParsingError
from native.field_types import INT_RANGES, RANGE_TYPES, SOURCE_ONLY_TYPES, Leaf
from native.fields import NUMERIC_FLOAT_TYPES, NUMERIC_INT_TYPES

# -- document values ----------------------------------------------------------------------------------------
_KEYWORD_LIKE = ("keyword", "constant_keyword", "wildcard", "version", "flattened")
_TEXT_LIKE = ("text", "match_only_text", "search_as_you_type")


def convert_value(leaf: Leaf, value: Any, doc_id: str | None) -> Any:
    """One source value → the value stored in the leaf's tantivy field (None: not indexed).

    ``geo_point`` gives a ``(lat, lon)`` tuple, range types a ``(lower, upper)`` tuple of inclusive bounds,
    types kept in ``_source`` only give None.
    """
    ftype = leaf.type
    try:
        if value is None:
            value = leaf.params.get("null_value")
            if value is None:
                return None
        if ftype in _TEXT_LIKE:
            if isinstance(value, dict | list):
                raise ValueError("object")
            return value if isinstance(value, str) else _stringify(value)
        if ftype in _KEYWORD_LIKE:
            if isinstance(value, dict | list):
                raise ValueError("object")
            text = value if isinstance(value, str) else _stringify(value)
            limit = leaf.params.get("ignore_above")
            if limit is not None and len(text) > int(limit):
                return None
            return text
        if ftype in NUMERIC_INT_TYPES:
            return _to_int(value, ftype, _flag(leaf.params.get("coerce", True)))
        if ftype in NUMERIC_FLOAT_TYPES:
            number = _to_float(value, _flag(leaf.params.get("coerce", True)))
            if ftype == "scaled_float":
                factor = float(leaf.params["scaling_factor"])
                number = round(number * factor) / factor
            return number
        if ftype == "date_nanos":  # epoch nanoseconds (native.date_nanos)
            if isinstance(value, bool):
                raise ValueError("boolean")
            formats = tuple(str(leaf.params.get("format", "strict_date_optional_time_nanos||epoch_millis")).split("||"))
            return check_nanos_range(parse_date_nanos(value, formats))
        if ftype == "date":
            formats = tuple(str(leaf.params.get("format", "strict_date_optional_time||epoch_millis")).split("||"))
            if isinstance(value, bool):
                raise ValueError("boolean")
            millis = dates.parse_date(value, formats)
            if not -(2**63) <= millis < 2**63:  # the epoch-millisecond column is 64-bit
                raise ValueError(f"date [{value}] is out of range")
            if ftype == "date_nanos":  # a signed 64-bit count of nanoseconds since the epoch, as in ES
                if millis < 0:
                    raise ValueError(
                        f"date[{value}] is before the epoch in 1970 and cannot be stored in nanosecond resolution"
                    )
                if millis > (2**63 - 1) // 1_000_000:
                    raise ValueError(f"date[{value}] is after 2262-04-11T23:47:16.854775807 and cannot be stored "
                                     "in nanosecond resolution")  # fmt: skip
            return millis
        if ftype == "boolean":
            if isinstance(value, bool):
                return value
            if value in ("true", "false"):
                return value == "true"
            if value == "":
                return False
            raise ValueError("boolean")
        if ftype == "ip":
            return _ip(value)
        if ftype == "token_count":
            if isinstance(value, dict | list):
                raise ValueError("object")
            return len(re.findall(r"\w+", value if isinstance(value, str) else _stringify(value)))
        if ftype == "geo_point":
            return parse_geo_point(value, leaf.path, _flag(leaf.params.get("ignore_z_value", True)))
        if ftype in RANGE_TYPES:
            return parse_range(leaf, value)
        if ftype == "alias":
            raise FieldValueError(f"Cannot write to a field alias [{leaf.path}].")
        if ftype in SOURCE_ONLY_TYPES:
            return None
    except (ValueError, TypeError, OverflowError) as exc:
        # ignore_malformed covers malformed values, not an object where a value goes (ES's parsers read the
        # value's text first), except for the types whose values are objects
        if _flag(leaf.params.get("ignore_malformed", False)) and (
            not isinstance(value, dict) or ftype == "geo_point" or ftype in RANGE_TYPES
        ):
            return None
        reason = f"failed to parse field [{leaf.path}] of type [{ftype}]"
        if doc_id is not None:
            reason += f" in document with id '{doc_id}'"
        reason += f". Preview of field's value: '{_preview(value)}'"
        # ES 8.8+ (we report 8.19): document_parsing_exception, a MapperParsingError here. ES prefixes the
        # reason with the value's [line:column] in the source; we do not track positions, so it is left out.
        raise FieldValueError(reason, caused_by=IllegalArgument(str(exc) or repr(exc))) from None
    raise MapperParsingError(f"No handler for type [{ftype}] declared on field [{leaf.path}]")


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _ip(value: Any) -> str:
    if isinstance(value, bool | dict | list):
        raise ValueError(f"'{value}' is not an IP string literal.")
    addr = ipaddress.ip_address(str(value))
    if isinstance(addr, ipaddress.IPv4Address):
        return str(ipaddress.IPv6Address(f"::ffff:{addr}"))
    return str(addr)


# -- geo_point ----------------------------------------------------------------------------------------------
_GEOHASH = "0123456789bcdefghjkmnpqrstuvwxyz"
_WKT_POINT = re.compile(r"\s*POINT\s*\(\s*(\S+)\s+(\S+)(?:\s+(\S+))?\s*\)\s*", re.I)


def _coord(value: Any, name: str) -> float:
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        raise ValueError(f"[{name}] must be a number")
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        raise ValueError(f"unsupported {name} value [{value}]")
    return number


def geohash_cell(text: str) -> tuple[float, float, float, float]:
    """``(top, left, bottom, right)`` of a geohash's cell."""
    if not text:
        raise ValueError("empty geohash")
    lat, lon = [-90.0, 90.0], [-180.0, 180.0]
    even = True
    for ch in text.lower():
        idx = _GEOHASH.find(ch)
        if idx < 0:
            raise ValueError(f"unsupported symbol [{ch}] in geohash [{text}]")
        for bit in (16, 8, 4, 2, 1):
            rng = lon if even else lat
            mid = (rng[0] + rng[1]) / 2
            if idx & bit:
                rng[0] = mid
            else:
                rng[1] = mid
            even = not even
    return lat[1], lon[0], lat[0], lon[1]


MAX_GEOTILE_ZOOM = 29


def geotile_cell(key: str) -> tuple[float, float, float, float]:
    """``(top, left, bottom, right)`` of a ``zoom/x/y`` map tile (Web Mercator, as ES's ``geotile_grid``)."""
    parts = key.split("/")
    try:
        zoom, x, y = (int(p) for p in parts)
    except ValueError:
        raise ValueError(
            f'Invalid geotile_grid hash string of {key}. Must be three integers in a form "zoom/x/y".'
        ) from None
    if not 0 <= zoom <= MAX_GEOTILE_ZOOM:
        raise ValueError(f"Zoom/X/Y combination is not valid: {key}")
    tiles = 1 << zoom
    if not (0 <= x < tiles and 0 <= y < tiles):
        raise ValueError(f"Zoom/X/Y combination is not valid: {key}")

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / tiles))))

    return lat(y), x / tiles * 360.0 - 180.0, lat(y + 1), (x + 1) / tiles * 360.0 - 180.0


def _decode_geohash(text: str) -> tuple[float, float]:
    top, left, bottom, right = geohash_cell(text)
    return (top + bottom) / 2, (left + right) / 2


def _check_z(z: Any, path: str, ignore_z: bool) -> None:
    if z is not None and not ignore_z:
        raise ValueError(f"Exception parsing coordinates: found Z value [{z}] but [ignore_z_value] parameter is "
                         "[false]")  # fmt: skip


def parse_geo_point(value: Any, path: str = "", ignore_z: bool = True) -> tuple[float, float]:
    """``(lat, lon)`` of one ES geo_point value (object, ``"lat,lon"``, ``[lon, lat]``, geohash, WKT, GeoJSON)."""
    if isinstance(value, dict):
        if "coordinates" in value or "type" in value:
            if str(value.get("type", "")).lower() != "point":
                raise ValueError("[type] for geo_point can only be 'Point'")
            coords = value.get("coordinates")
            if not isinstance(coords, list):
                raise ValueError("[coordinates] must be an array")
            return parse_geo_point(coords, path, ignore_z)
        if "geohash" in value:
            if set(value) - {"geohash"}:
                raise ValueError("field must be either lat/lon or geohash")
            return parse_geo_point(_decode_geohash(str(value["geohash"])), path, ignore_z)  # type: ignore[arg-type]
        for key in value:
            if key not in ("lat", "lon", "z"):
                raise ValueError("field must be either [lat], [lon], [z], [type], [coordinates] or [geohash]")
        if "lat" not in value:
            raise ValueError("field [lat] missing")
        if "lon" not in value:
            raise ValueError("field [lon] missing")
        _check_z(value.get("z"), path, ignore_z)
        lat, lon = _coord(value["lat"], "lat"), _coord(value["lon"], "lon")
    elif isinstance(value, tuple):  # an already decoded (lat, lon)
        lat, lon = value
    elif isinstance(value, list):
        if len(value) < 2 or len(value) > 3:
            raise ValueError("[geo_point] field type should have at least two dimensions" if len(value) < 2
                             else "[geo_point] field type does not accept more than 3 values")  # fmt: skip
        _check_z(value[2] if len(value) == 3 else None, path, ignore_z)
        lon, lat = _coord(value[0], "lon"), _coord(value[1], "lat")
    elif isinstance(value, str):
        text = value.strip()
        wkt = _WKT_POINT.fullmatch(text)
        if wkt:
            _check_z(wkt.group(3), path, ignore_z)
            lon, lat = _coord(wkt.group(1), "lon"), _coord(wkt.group(2), "lat")
        elif "," in text:
            parts = [p.strip() for p in text.split(",")]
            if len(parts) > 3:
                raise ValueError(f"failed to parse [{text}], expected 2 or 3 coordinates but found: [{len(parts)}]")
            _check_z(parts[2] if len(parts) == 3 else None, path, ignore_z)
            lat, lon = _coord(parts[0], "lat"), _coord(parts[1], "lon")
        else:
            lat, lon = _decode_geohash(text)
    else:
        raise ValueError(f"geo_point expected, got [{value}]")
    if not -90.0 <= lat <= 90.0:
        raise ValueError(f"illegal latitude value [{lat}] for {path}")
    if not -180.0 <= lon <= 180.0:
        raise ValueError(f"illegal longitude value [{lon}] for {path}")
    return lat, lon


def geo_point_values(value: Any) -> list[Any]:
    """The individual points of a geo_point source value (``[lon, lat]`` is one point, not two)."""
    if isinstance(value, list):
        if value and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            return [value]
        out: list[Any] = []
        for item in value:
            if isinstance(item, list):
                out.extend(geo_point_values(item))
            else:
                out.append(item)
        return out
    return [value]


# -- range fields -------------------------------------------------------------------------------------------
_RANGE_LIMITS: dict[str, tuple[Any, Any]] = {
    "integer": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
    "float": (-3.4028234663852886e38, 3.4028234663852886e38),
    "double": (-1.7976931348623157e308, 1.7976931348623157e308),
    "date": (-(2**63), 2**63 - 1),
    "ip": ("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
}


def _range_bound(leaf: Leaf, kind: str, value: Any, step: int, upper: bool = False) -> Any:
    """One bound as an inclusive stored value; ``step`` is +1 for ``gt``, -1 for ``lt``, 0 when inclusive.
    An inclusive upper date (``lte``) rounds up the fields its format leaves out, as ES's date_range does
    (``lte: 2016-11-01`` covers the whole day)."""
    if kind in ("integer", "long"):
        number = _to_int(value, kind, _flag(leaf.params.get("coerce", True))) + step
        if not _RANGE_LIMITS[kind][0] <= number <= _RANGE_LIMITS[kind][1]:
            raise ValueError(f"Value [{value}] is out of range for {kind}")
        return number
    if kind in ("float", "double"):
        real = _to_float(value, _flag(leaf.params.get("coerce", True)))
        if kind == "float" and abs(real) > _RANGE_LIMITS["float"][1]:
            raise ValueError(f"[float] supports only finite values, but got [{value}]")
        return math.nextafter(real, math.inf * step) if step else real
    if kind == "date":
        if isinstance(value, bool):
            raise ValueError("boolean")
        formats = tuple(str(leaf.params.get("format", "strict_date_optional_time||epoch_millis")).split("||"))
        return int(dates.parse_date(value, formats, round_up=upper and step == 0)) + step
    addr = ipaddress.ip_address(_ip(value))
    return str(ipaddress.IPv6Address(int(addr) + step))


def parse_range(leaf: Leaf, value: Any) -> tuple[Any, Any]:
    """``(lower, upper)`` inclusive bounds of one range-field value (a CIDR string for ``ip_range`` too)."""
    kind = RANGE_TYPES[leaf.type]
    lo, hi = _RANGE_LIMITS[kind]
    if kind == "ip" and isinstance(value, str):
        net = ipaddress.ip_network(value, strict=False)
        return _ip(str(net.network_address)), _ip(str(net.broadcast_address))
    if not isinstance(value, dict):
        raise ValueError(f"error parsing field [{leaf.path}], expected an object but got {type(value).__name__}")
    for key, bound in value.items():
        if key in ("gt", "gte", "from") and bound is not None:
            lo = _range_bound(leaf, kind, bound, 1 if key == "gt" else 0)
        elif key in ("lt", "lte", "to") and bound is not None:
            hi = _range_bound(leaf, kind, bound, -1 if key == "lt" else 0, upper=True)
        elif key not in ("gt", "gte", "lt", "lte", "from", "to", "include_lower", "include_upper"):
            raise ValueError(f"error parsing field [{leaf.path}], with unknown parameter [{key}]")
    if kind == "ip":
        lo, hi = _ip(lo), _ip(hi)
        if int(ipaddress.IPv6Address(lo)) > int(ipaddress.IPv6Address(hi)):
            raise ValueError(f"min value ({lo}) is greater than max value ({hi})")
        return lo, hi
    if lo > hi:
        raise ValueError(f"min value ({lo}) is greater than max value ({hi})")
    return lo, hi


def _preview(value: Any) -> str:
    """A value as Java's ``toString`` of the parsed map/list prints it (ES's "Preview of field's value")."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_preview(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_preview(v) for v in value) + "]"
    if value is None:
        return "null"
    return _stringify(value)


def _stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _to_int(value: Any, ftype: str, coerce: bool) -> int:
    if isinstance(value, bool):
        raise ValueError("boolean")
    if isinstance(value, str) and not coerce:
        raise ValueError("[coerce] is false, strings are not accepted")
    if isinstance(value, str):
        text = value.strip()
        try:
            number: int | float = int(text)
        except ValueError:
            number = float(text)
    elif isinstance(value, int | float):
        number = value
    else:
        raise ValueError(f"Current token ({type(value).__name__}) not numeric")
    if isinstance(number, float):
        if math.isnan(number) or math.isinf(number):
            raise ValueError(f"[{ftype}] supports only finite values")
        if number != int(number) and not coerce:
            raise ValueError(f"Value [{number}] has a decimal part")
        number = int(number)
    lo, hi = INT_RANGES[ftype]
    if not lo <= number <= hi:
        raise ValueError(f"Value [{number}] is out of range for {ftype}")
    return number


def _to_float(value: Any, coerce: bool = True) -> float:
    if isinstance(value, bool):
        raise ValueError("boolean")
    if isinstance(value, str) and not coerce:
        raise ValueError("[coerce] is false, strings are not accepted")
    if isinstance(value, str):
        text = value.strip()
        if text[-1:] in ("d", "D", "f", "F") and text[:-1][-1:].isdigit():
            text = text[:-1]  # Java's Double.parseDouble takes a type suffix ("1.0d")
        number = float(text)
    elif isinstance(value, int | float):
        number = float(value)
    else:
        raise ValueError("not numeric")
    if math.isnan(number) or math.isinf(number):
        raise ValueError("[float] supports only finite values")
    return number


def nodes_at(source: Any, path: str) -> list[Any]:
    """The nodes at a dotted ``path`` of a ``_source`` (arrays on the way walked), each as found: an array at
    the end of the path stays one node."""
    nodes: list[Any] = [source]
    for part in path.split("."):
        step: list[Any] = []
        for node in nodes:
            for item in node if isinstance(node, list) else [node]:
                if isinstance(item, dict) and part in item:
                    step.append(item[part])
        nodes = step
    return nodes


def leaf_values_at(source: Any, path: str) -> list[Any]:
    """The values at a dotted ``path`` of a ``_source``, arrays flattened, nulls and objects left out."""
    out: list[Any] = []
    for node in nodes_at(source, path):
        out.extend(node if isinstance(node, list) else [node])
    return [v for v in out if v is not None and not isinstance(v, dict)]

