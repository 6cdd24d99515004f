"""Geo aggregations on ``geo_point`` fields: ``geo_bounds``, ``geo_centroid`` and ``geo_distance`` (ranges).

Points are read per shard from the two hidden columns (``FieldInfo.extra["lat"]`` / ``["lon"]``): one fast
read per column when every matching doc has one point, otherwise every value of each doc through tantivy's
``top_hits`` docvalue fields. Coordinates are quantized the way Lucene's ``LatLonPoint`` doc values are
(32-bit encoding), so bounds and centroids print the numbers ES prints.

Partials — geo_bounds: ``{"t","b","pl","pr","nl","nr"}`` (top/bottom, min/max of the positive and of the
negative longitudes, None when unseen); geo_centroid: ``{"lat": sum, "lon": sum, "n": count}``;
geo_distance: ``{"b": [[doc_count, subs], ...]}`` per range (ranges sorted by from, to as ES does). A doc
counts in a distance range when any of its points is in ``[from, to)``; sub-aggregations of a range run on
the docs of that range (a ``term_set`` on ``_seq_no``).
"""

from __future__ import annotations

import math
from typing import Any

import tantivy

from native.aggs.execute import ShardContext
from native.aggs.partials import Partial, add_opt, finalize_level, java_double, merge_level
from native.aggs.spec import AggNode, GeoDistanceSpec, GeoMetricSpec
from native.errors import IllegalArgument
from native.fields import SEQ_NO_FIELD, FieldInfo
from native.query import geo

_LAT_DECODE = 180.0 / (1 << 32)
_LON_DECODE = 360.0 / (1 << 32)


def quantize(lat: float, lon: float) -> tuple[float, float]:
    """Lucene ``GeoEncodingUtils`` encode + decode."""
    if lat == 90.0:
        lat = math.nextafter(90.0, 0.0)
    if lon == 180.0:
        lon = math.nextafter(180.0, 0.0)
    return math.floor(lat / _LAT_DECODE) * _LAT_DECODE, math.floor(lon / _LON_DECODE) * _LON_DECODE


def _geo_info(ctx: ShardContext, path: str, kind: str) -> FieldInfo | None:
    info = ctx.field(path)
    if info is None:
        return None
    if "lat" not in info.extra:
        raise IllegalArgument(
            f"Field [{path}] of type [{info.extra.get('mapping_type', info.es_type)}] is not supported for "
            f"aggregation [{kind}]"
        )
    return info


def doc_points(
    ctx: ShardContext, info: FieldInfo, query: tantivy.Query
) -> tuple[list[tantivy.DocAddress], list[list[tuple[float, float]]]]:
    """The docs matching ``query`` with a point in ``info`` and the (quantized) points of each."""
    lat_name, lon_name = str(info.extra["lat"]), str(info.extra["lon"])
    with_value = ctx.restrict(query, tantivy.Query.exists_query(lat_name))
    docs = ctx.docs(with_value)
    if not docs:
        return [], []
    n_values = ctx.aggregate(with_value, {"c": {"value_count": {"field": lat_name}}})["c"].get("value") or 0
    if int(n_values) == len(docs):
        lats = ctx.searcher.fast_field_values(lat_name, docs)
        lons = ctx.searcher.fast_field_values(lon_name, docs)
        return docs, [[quantize(float(la or 0.0), float(lo or 0.0))] for la, lo in zip(lats, lons, strict=True)]
    points: list[list[tuple[float, float]]] = []
    for addr in docs:  # multi-valued: one small top_hits per doc keeps doc ↔ values aligned
        one = ctx.restrict(with_value, _seq_filter(ctx, ctx.searcher.fast_field_values(SEQ_NO_FIELD, [addr])))
        request = {"top_hits": {"size": 1, "sort": [], "docvalue_fields": [lat_name, lon_name]}}
        hits = ctx.aggregate(one, {"t": request})["t"]["hits"]
        values = (hits[0].get("docvalue_fields") or {}) if hits else {}
        lats, lons = list(values.get(lat_name) or []), list(values.get(lon_name) or [])
        points.append(
            [
                quantize(float(la), float(lo))
                for la, lo in zip(lats, lons, strict=False)
                if la is not None and lo is not None
            ]
        )
    return docs, points


def _seq_filter(ctx: ShardContext, seqs: list[Any]) -> tantivy.Query:
    return tantivy.Query.term_set_query(ctx.schema, SEQ_NO_FIELD, [int(s) for s in seqs if s is not None])


class GeoBoundsKind:
    def empty(self, node: AggNode) -> Partial:
        return {"t": None, "b": None, "pl": None, "pr": None, "nl": None, "nr": None}

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: GeoMetricSpec = node.params
        out = self.empty(node)
        info = _geo_info(ctx, spec.field, "geo_bounds")
        if info is None:
            return out
        for points in doc_points(ctx, info, query)[1]:
            for lat, lon in points:
                out["t"] = add_opt(out["t"], lat, max)
                out["b"] = add_opt(out["b"], lat, min)
                if lon >= 0:
                    out["pl"], out["pr"] = add_opt(out["pl"], lon, min), add_opt(out["pr"], lon, max)
                else:
                    out["nl"], out["nr"] = add_opt(out["nl"], lon, min), add_opt(out["nr"], lon, max)
        return out

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        return {
            "t": add_opt(a["t"], b["t"], max), "b": add_opt(a["b"], b["b"], min),
            "pl": add_opt(a["pl"], b["pl"], min), "pr": add_opt(a["pr"], b["pr"], max),
            "nl": add_opt(a["nl"], b["nl"], min), "nr": add_opt(a["nr"], b["nr"], max),
        }  # fmt: skip

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        if p["t"] is None:
            return {}
        top, bottom = p["t"], p["b"]
        if p["pl"] is None:
            left, right = p["nl"], p["nr"]
        elif p["nl"] is None:
            left, right = p["pl"], p["pr"]
        elif node.params.wrap_longitude:
            unwrapped = p["pr"] - p["nl"]
            wrapped = (180 - p["pl"]) - (-180 - p["nr"])
            left, right = (p["nl"], p["pr"]) if unwrapped <= wrapped else (p["pl"], p["nr"])
        else:
            left, right = p["nl"], p["pr"]
        return {"bounds": {"top_left": {"lat": top, "lon": left}, "bottom_right": {"lat": bottom, "lon": right}}}


class GeoCentroidKind:
    def empty(self, node: AggNode) -> Partial:
        return {"lat": 0.0, "lon": 0.0, "n": 0}

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: GeoMetricSpec = node.params
        info = _geo_info(ctx, spec.field, "geo_centroid")
        if info is None:
            return self.empty(node)
        lats: list[float] = []
        lons: list[float] = []
        for points in doc_points(ctx, info, query)[1]:
            for lat, lon in points:
                lats.append(lat)
                lons.append(lon)
        return {"lat": math.fsum(lats), "lon": math.fsum(lons), "n": len(lats)}

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        return {"lat": a["lat"] + b["lat"], "lon": a["lon"] + b["lon"], "n": a["n"] + b["n"]}

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        if not p["n"]:
            return {"count": 0}
        return {"location": {"lat": p["lat"] / p["n"], "lon": p["lon"] / p["n"]}, "count": p["n"]}


def _sorted_ranges(spec: GeoDistanceSpec) -> list[Any]:
    return sorted(
        spec.ranges,
        key=lambda r: (-math.inf if r.lo is None else r.lo, math.inf if r.hi is None else r.hi),
    )


class GeoDistanceKind:
    def empty(self, node: AggNode) -> Partial:
        return {"b": [[0, {}] for _ in node.params.ranges]}

    def collect(self, ctx: ShardContext, node: AggNode, query: tantivy.Query) -> Partial:
        spec: GeoDistanceSpec = node.params
        ranges = _sorted_ranges(spec)
        info = _geo_info(ctx, spec.field, "geo_distance")
        if info is None:
            return self.empty(node)
        docs, points = doc_points(ctx, info, query)
        factor = geo.unit_metres(spec.unit)
        lat0, lon0 = spec.origin
        members: list[list[tantivy.DocAddress]] = [[] for _ in ranges]
        for addr, pts in zip(docs, points, strict=True):
            dists = [geo.distance(lat0, lon0, la, lo, spec.distance_type) / factor for la, lo in pts]
            for i, r in enumerate(ranges):
                if any((r.lo is None or d >= r.lo) and (r.hi is None or d < r.hi) for d in dists):
                    members[i].append(addr)
        out = []
        for addrs in members:
            subs: dict[str, Any] = {}
            if node.children:
                seqs = ctx.searcher.fast_field_values(SEQ_NO_FIELD, addrs) if addrs else []
                flt = _seq_filter(ctx, seqs) if addrs else tantivy.Query.empty_query()
                subs = ctx.collect_subs(node, query, flt)
            out.append([ctx.addr_count(addrs), subs])
        return {"b": out}

    def merge(self, node: AggNode, a: Partial, b: Partial) -> Partial:
        return {
            "b": [[x[0] + y[0], merge_level(node.children, x[1], y[1])] for x, y in zip(a["b"], b["b"], strict=True)]
        }

    def finalize(self, node: AggNode, p: Partial) -> dict[str, Any]:
        spec: GeoDistanceSpec = node.params
        buckets = []
        for r, (count, subs) in zip(_sorted_ranges(spec), p["b"], strict=True):
            key = (
                r.key
                if r.key is not None
                else (f"{'*' if r.lo is None else java_double(r.lo)}-{'*' if r.hi is None else java_double(r.hi)}")
            )
            bucket: dict[str, Any] = {"key": key}
            if r.lo is not None:
                bucket["from"] = float(r.lo)
            if r.hi is not None:
                bucket["to"] = float(r.hi)
            bucket["doc_count"] = count
            bucket.update(finalize_level(node.children, subs))
            buckets.append(bucket)
        if spec.keyed:
            return {"buckets": {b.pop("key"): b for b in buckets}}
        return {"buckets": buckets}


KINDS = {"geo_bounds": GeoBoundsKind(), "geo_centroid": GeoCentroidKind(), "geo_distance": GeoDistanceKind()}
