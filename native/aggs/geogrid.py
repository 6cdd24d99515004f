"""Grid aggregations on ``geo_point`` fields: ``geohash_grid`` (geohash cells, precision 1-12) and
``geotile_grid`` (web-mercator map tiles ``zoom/x/y``, precision 0-29).

Per shard every (Lucene-quantized) point of every matching document is mapped to its cell; a document
counts once per cell. With ``bounds`` only points inside the box count. Each shard keeps its top
``shard_size`` cells (doc count desc, then cell id desc, ES's order); the root adds them up and keeps
``size``. Sub-aggregations of a cell run on its documents (a ``term_set`` on ``_seq_no``).

Partial: ``{"b": [[key, doc_count, subs], ...]}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import tantivy

from native.aggs.execute import ShardContext
from native.aggs.geo import _geo_info, doc_points
from native.aggs.partials import Partial, finalize_level, merge_level
from native.aggs.readers import _check_keys, _field, _int
from native.aggs.spec import AggNode
from native.errors import IllegalArgument, XContentParseError
from native.fields import SEQ_NO_FIELD

_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"
_MAX_LAT_MERCATOR = 85.05112878
DEFAULT_SIZE = 10000


@dataclass(frozen=True)
class GeoGridSpec:
    field: str
    precision: int
    size: int = DEFAULT_SIZE
    shard_size: int = DEFAULT_SIZE * 3 // 2 + 10
    bounds: tuple[float, float, float, float] | None = None  # top, left, bottom, right


def _precision(name: str, kind: str, value: Any) -> int:
    if kind == "geohash_grid":
        if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
            return _geohash_levels_for(value)
        level = _int(kind, "precision", value)
        if not 1 <= level <= 12:
            raise IllegalArgument(f"Invalid geohash aggregation precision of {level}. Must be between 1 and 12.")
        return level
    level = _int(kind, "precision", value)
    if not 0 <= level <= 29:
        raise IllegalArgument(f"Invalid geotile_grid precision of {level}. Must be between 0 and 29.")
    return level


def _geohash_levels_for(distance: str) -> int:
    """The geohash level for a cell size given as a distance (ES's ``GeoUtils.geoHashLevelsForPrecision``)."""
    from native.query.geo import parse_distance

    try:
        metres = parse_distance(distance)
    except Exception:
        raise IllegalArgument(f"failed to parse [{distance}] as a precision") from None
    if metres <= 0:
        return 12
    equator = 2 * math.pi * 6_378_137.0
    polar = math.pi * 6_356_752.314245
    ratio = 1 + polar / equator
    width = math.sqrt(metres * metres / (ratio * ratio))
    part = math.ceil(equator / width)
    bits = math.ceil(math.log(part) / math.log(2))
    full, left = bits // 5, bits % 5
    levels = (full + (1 if left > 0 else 0)) + (full + (1 if left > 3 else 0))
    return max(1, min(12, levels))


def _bounds(kind: str, value: Any) -> tuple[float, float, float, float] | None:
    from native.values import parse_geo_point

    if value is None:
        return None
    if not isinstance(value, dict):
        raise XContentParseError(f"[{kind}] failed to parse field [bounds]")
    try:
        if "top_left" in value and "bottom_right" in value:
            top, left = parse_geo_point(value["top_left"])
            bottom, right = parse_geo_point(value["bottom_right"])
        elif "top_right" in value and "bottom_left" in value:
            top, right = parse_geo_point(value["top_right"])
            bottom, left = parse_geo_point(value["bottom_left"])
        elif {"top", "left", "bottom", "right"} <= set(value):
            top, left, bottom, right = (float(value[k]) for k in ("top", "left", "bottom", "right"))
        else:
            raise ValueError("failed to parse bounding box")
    except (ValueError, TypeError) as exc:
        raise XContentParseError(
            f"[{kind}] failed to parse field [bounds]", caused_by=IllegalArgument(str(exc))
        ) from None
    if top < bottom:
        raise IllegalArgument(f"top is below bottom corner: {top} vs. {bottom}")
    return top, left, bottom, right


def parse_geo_grid(name: str, kind: str, body: dict[str, Any]) -> GeoGridSpec:
    _check_keys(kind, body, {"field", "precision", "size", "shard_size", "bounds"})
    precision = _precision(name, kind, body.get("precision", 5 if kind == "geohash_grid" else 7))
    size = _int(kind, "size", body.get("size", DEFAULT_SIZE))
    if size <= 0:
        raise IllegalArgument(f"[size] must be greater than 0. Found [{size}] in [{name}]")
    if body.get("shard_size") is not None:
        shard_size = _int(kind, "shard_size", body["shard_size"])
        if shard_size <= 0:
            raise IllegalArgument(f"[shard_size] must be greater than 0. Found [{shard_size}] in [{name}]")
    else:
        shard_size = min(2**31 - 1, int(size * 1.5 + 10))
    return GeoGridSpec(_field(kind, body), precision, size, max(shard_size, size), _bounds(kind, body.get("bounds")))


# -- cells -------------------------------------------------------------------------------------------


def geohash(lat: float, lon: float, level: int) -> str:
    lat_lo, lat_hi, lon_lo, lon_hi = -90.0, 90.0, -180.0, 180.0
    out: list[str] = []
    bits = 0
    value = 0
    even = True
    while len(out) < level:
        if even:
            mid = (lon_lo + lon_hi) / 2
            if lon >= mid:
                value = value * 2 + 1
                lon_lo = mid
            else:
                value *= 2
                lon_hi = mid
        else:
            mid = (lat_lo + lat_hi) / 2
            if lat >= mid:
                value = value * 2 + 1
                lat_lo = mid
            else:
                value *= 2
                lat_hi = mid
        even = not even
        bits += 1
        if bits == 5:
            out.append(_BASE32[value])
            bits = value = 0
    return "".join(out)


def geotile(lat: float, lon: float, zoom: int) -> tuple[int, int, int]:
    tiles = 1 << zoom
    x = math.floor((lon + 180.0) / 360.0 * tiles)
    lat = max(-_MAX_LAT_MERCATOR, min(_MAX_LAT_MERCATOR, lat))
    sin_lat = math.sin(math.radians(lat))
    y = math.floor((0.5 - math.log((1 + sin_lat) / (1 - sin_lat)) / (4 * math.pi)) * tiles)
    return zoom, min(max(x, 0), tiles - 1), min(max(y, 0), tiles - 1)


def _rank(kind: str, count: int, key: str) -> tuple[Any, ...]:
    """ES's bucket order: doc count desc, then the cell's long id desc (for one precision: geohash text
    desc, tile ``(x, y)`` desc)."""
    if kind == "geotile_grid":
        return (-count, *(-int(part) for part in key.split("/")[1:]))
    return (-count, tuple(-ord(ch) for ch in key))


def _inside(bounds: tuple[float, float, float, float], lat: float, lon: float) -> bool:
    top, left, bottom, right = bounds
    if not bottom <= lat <= top:
        return False
    if left <= right:
        return left <= lon <= right
    return lon >= left or lon <= right  # the box crosses the dateline


def cell_members(ctx: ShardContext, node: AggNode, query: tantivy.Query) -> dict[str, list[int]]:
    """Cell key → ``_seq_no`` of the matching docs with a point in it (every cell, unranked)."""
    spec: GeoGridSpec = node.params
    info = _geo_info(ctx, spec.field, node.kind)
    if info is None:
        return {}
    docs, points = doc_points(ctx, info, query)
    seqs = ctx.searcher.fast_field_values(SEQ_NO_FIELD, docs) if docs else []
    cells: dict[str, list[int]] = {}
    for seq, pts in zip(seqs, points, strict=True):
        keys = set()
        for lat, lon in pts:
            if spec.bounds is not None and not _inside(spec.bounds, lat, lon):
                continue
            if node.kind == "geohash_grid":
                keys.add(geohash(lat, lon, spec.precision))
            else:
                keys.add("/".join(map(str, geotile(lat, lon, spec.precision))))
        for key in keys:
            cells.setdefault(key, []).append(int(seq or 0))
    return cells


def composite_keys(ctx: ShardContext, node: AggNode, query: tantivy.Query) -> list[tuple[Any, int, Any]]:
    """(key, doc_count, bucket filter) per cell, for a ``geotile_grid`` source of ``composite``."""
    return [
        (key, ctx.seq_count(seqs), tantivy.Query.term_set_query(ctx.schema, SEQ_NO_FIELD, seqs))
        for key, seqs in cell_members(ctx, node, query).items()
    ]


class GeoGridKind:
    def empty(self, node: AggNode) -> Partial:
        return {"b": []}

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: GeoGridSpec = node.params
        cells = cell_members(ctx, node, query)
        counts = {k: ctx.seq_count(seqs) for k, seqs in cells.items()}  # (``_doc_count`` weighs them)
        ranked = sorted(cells, key=lambda k: _rank(node.kind, counts[k], k))[: spec.shard_size]
        rows = []
        for key in ranked:
            subs: dict[str, Any] = {}
            if node.children:
                flt = tantivy.Query.term_set_query(ctx.schema, SEQ_NO_FIELD, cells[key])
                subs = ctx.collect_subs(node, query, flt)
            rows.append([key, counts[key], subs])
        return {"b": rows}

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        merged: dict[str, list[Any]] = {row[0]: list(row) for row in a["b"]}
        for key, count, subs in b["b"]:
            if key in merged:
                merged[key][1] += count
                merged[key][2] = merge_level(node.children, merged[key][2], subs)
            else:
                merged[key] = [key, count, subs]
        return {"b": list(merged.values())}

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        spec: GeoGridSpec = node.params
        rows = sorted(p["b"], key=lambda r: _rank(node.kind, r[1], r[0]))[: spec.size]
        return {
            "buckets": [
                {"key": key, "doc_count": count, **finalize_level(node.children, subs)} for key, count, subs in rows
            ]
        }


KINDS = {"geohash_grid": GeoGridKind(), "geotile_grid": GeoGridKind()}
