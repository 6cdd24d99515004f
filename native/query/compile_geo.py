"""Compiling geo queries on ``geo_point`` fields (two hidden f64 columns ``<name>_lat`` / ``<name>_lon``).

tantivy has no per-document scoring/filtering hook, so a shape becomes range queries on the two columns:

* ``geo_bounding_box``: exact (one lat range AND one or two lon ranges when it crosses the dateline).
* ``geo_distance``: the circle is cut into latitude strips (``geo.circle_strips``). Per strip, the docs whose
  longitude is within the strip's *inner* half-width are certainly inside (accepted by range queries
  alone); the docs between the inner and *outer* half-widths are boundary candidates. When the compiler
  has the shard's searcher (``compile_query(..., searcher=...)``), the candidates' lat/lon are read from
  the fast columns, the exact distance is checked in Python, and the survivors come back as a
  ``term_set`` on ``_seq_no`` (unique per live doc of a shard). The cost is one extra search over the
  thin boundary ring plus two fast-field reads per candidate. Without a searcher the whole boundary
  ring is accepted: a superset whose error is bounded by the strip height (1/24 of the diameter).
* ``geo_polygon`` / ``geo_shape`` polygons: the polygon's bounding box is the coarse filter and the
  even-odd rule the exact check (searcher needed; bounding box alone otherwise).

Multi-valued geo_point fields keep lat and lon in separate multi-valued columns: range queries may pair
the latitude of one point with the longitude of another, and the exact check reads the first point only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import tantivy
from tantivy import Occur, Query

from native.errors import IllegalArgument
from native.fields import FIELD_NAMES_FIELD, SEQ_NO_FIELD, SOURCE_FIELD, FieldInfo
from native.query import ast as A
from native.query import geo, geo_shapes
from native.query.errors import QueryShardError

F = tantivy.FieldType.Float
MAX_REFINE = 2_000_000  # candidates read at most for an exact check; beyond that the coarse filter stands


class GeoCompilerMixin:
    """Methods of ``native.query.compile._Compiler`` for the geo nodes."""

    schema: tantivy.Schema
    searcher: tantivy.Searcher | None
    resolver: Any
    leaf: Callable[..., Query]
    const: Callable[..., Query]
    boosted: Callable[..., Query]

    def geo_field(self, path: str, query: str, ignore_unmapped: bool) -> FieldInfo | None:
        info = self.resolver.field(path)
        if info is None:
            if ignore_unmapped:
                return None
            message = (
                f"failed to find geo field [{path}]"
                if query != "geo_shape"
                else (f"failed to find type for field [{path}]")
            )
            raise QueryShardError(f"failed to create query: {message}", caused_by=IllegalArgument(message))
        if "lat" not in info.extra:
            mapping_type = info.extra.get("mapping_type", info.es_type)
            message = f"Field [{path}] is of unsupported type [{mapping_type}] for [{query}] query"
            if query == "geo_shape":
                message = f"Field [{path}] is of unsupported type [{mapping_type}]. [{query}] query supports " \
                          "the following types [geo_point, geo_shape]"  # fmt: skip
            raise QueryShardError(f"failed to create query: {message}", caused_by=IllegalArgument(message))
        return info

    def _col(self, info: FieldInfo, which: str, lo: float | None, hi: float | None) -> Query:
        return self.leaf(Query.range_query(self.schema, str(info.extra[which]), F, lo, hi, True, True))

    def _box(self, info: FieldInfo, bottom: float, top: float, left: float, right: float) -> Query:
        """lat in [bottom, top] and lon in [left, right] (all inside [-180, 180])."""
        clauses = [(Occur.Must, self._col(info, "lat", bottom, top))]
        if left > -180.0 or right < 180.0:
            clauses.append((Occur.Must, self._col(info, "lon", left, right)))
        else:
            clauses.append((Occur.Must, Query.exists_query(str(info.extra["lon"]))))
        return Query.boolean_query(clauses)

    def _boxes(self, info: FieldInfo, bottom: float, top: float, lon_lo: float, lon_hi: float) -> list[Query]:
        return [self._box(info, bottom, top, a, b) for a, b in geo.lon_ranges(lon_lo, lon_hi)]

    @staticmethod
    def _union(queries: list[Query]) -> Query:
        if not queries:
            return Query.empty_query()
        if len(queries) == 1:
            return queries[0]
        return Query.boolean_query([(Occur.Should, q) for q in queries])

    def refine(self, info: FieldInfo, candidates: Query, keep: Callable[[float, float], bool]) -> Query | None:
        """The candidates whose (first) point passes ``keep``, as a query; None without a searcher."""
        searcher = self.searcher
        if searcher is None:
            return None
        count = int(searcher.search(candidates, 1, count=True).count)  # type: ignore[attr-defined]
        if count == 0:
            return Query.empty_query()
        if count > MAX_REFINE:
            return None
        addrs = [a for _, a in searcher.search(candidates, count, count=False).hits]
        lats = searcher.fast_field_values(str(info.extra["lat"]), addrs)
        lons = searcher.fast_field_values(str(info.extra["lon"]), addrs)
        seqs = searcher.fast_field_values(SEQ_NO_FIELD, addrs)
        kept = [
            s for s, la, lo in zip(seqs, lats, lons, strict=True) if la is not None and lo is not None and keep(la, lo)
        ]
        if not kept:
            return Query.empty_query()
        return self.leaf(Query.term_set_query(self.schema, SEQ_NO_FIELD, kept))

    # -- nodes ----------------------------------------------------------------------------------------

    def geo_bounding_box(self, node: A.GeoBoundingBox) -> Query:
        shape_field = self.resolver.field(node.field)
        if shape_field is not None and shape_field.extra.get("mapping_type", shape_field.es_type) == "geo_shape":
            # the shapes that intersect the box (ES: geo_bounding_box on a geo_shape field)
            envelope = {"type": "envelope", "coordinates": [[node.left, node.top], [node.right, node.bottom]]}
            box = A.GeoShape(node.field, (), "intersects", shape_json=orjson.dumps(envelope).decode())
            return self.const(self.geo_shape_field(shape_field, box), node.boost)
        info = self.geo_field(node.field, "geo_bounding_box", node.ignore_unmapped)
        if info is None:
            return Query.empty_query()
        return self.const(self.bbox_query(info, node), node.boost)

    def bbox_query(self, info: FieldInfo, node: A.GeoBoundingBox) -> Query:
        if node.top < node.bottom:
            return Query.empty_query()
        if node.left <= node.right:
            return self._box(info, node.bottom, node.top, node.left, node.right)
        return self._union(
            [
                self._box(info, node.bottom, node.top, node.left, 180.0),
                self._box(info, node.bottom, node.top, -180.0, node.right),
            ]
        )

    def geo_distance(self, node: A.GeoDistance) -> Query:
        info = self.geo_field(node.field, "geo_distance", node.ignore_unmapped)
        if info is None:
            return Query.empty_query()
        return self.const(self.distance_query(info, node.lat, node.lon, node.distance, node.distance_type), node.boost)

    def distance_query(self, info: FieldInfo, lat0: float, lon0: float, radius: float, kind: str = "arc") -> Query:
        """Docs within ``radius`` metres of ``(lat0, lon0)`` (arc distance, as Lucene's distance query)."""
        certain: list[Query] = []
        boundary: list[Query] = []
        for a, b, inner, outer in geo.circle_strips(lat0, lon0, radius):
            if outer < 0:
                continue
            if inner >= 0:
                certain.extend(self._boxes(info, a, b, lon0 - inner, lon0 + inner))
                if outer > inner:
                    boundary.extend(self._boxes(info, a, b, lon0 - outer, lon0 - inner))
                    boundary.extend(self._boxes(info, a, b, lon0 + inner, lon0 + outer))
            else:
                boundary.extend(self._boxes(info, a, b, lon0 - outer, lon0 + outer))
        ring = self._union(boundary)
        if boundary:
            limit = radius * (1 + 1e-12)
            refined = self.refine(info, ring, lambda la, lo: geo.haversine(lat0, lon0, la, lo) <= limit)
            if refined is not None:
                ring = refined
        return self._union([*certain, ring] if boundary else certain)

    def geo_polygon(self, node: A.GeoPolygon) -> Query:
        info = self.geo_field(node.field, "geo_polygon", node.ignore_unmapped)
        if info is None:
            return Query.empty_query()
        return self.const(self.polygon_query(info, node), node.boost)

    def polygon_query(self, info: FieldInfo, node: A.GeoPolygon) -> Query:
        lats = [p[0] for p in node.points]
        lons = [p[1] for p in node.points]
        coarse = self._box(info, min(lats), max(lats), min(lons), max(lons))
        ring, holes = node.points, node.holes

        def keep(la: float, lo: float) -> bool:
            return geo.point_in_polygon(la, lo, ring) and not any(geo.point_in_polygon(la, lo, h) for h in holes)

        refined = self.refine(info, coarse, keep)
        return coarse if refined is None else refined

    def geo_shape(self, node: A.GeoShape) -> Query:
        shape_field = self.resolver.field(node.field)
        if shape_field is not None and shape_field.extra.get("mapping_type", shape_field.es_type) == "geo_shape":
            matched = self.geo_shape_field(shape_field, node)
            return self.const(matched, 0.0 if node.boost == 1.0 else node.boost)
        info = self.geo_field(node.field, "geo_shape", node.ignore_unmapped)
        if info is None:
            return Query.empty_query()
        if node.point_error:
            from native.query.geo_parse import _shape_nodes

            _shape_nodes(node.field, orjson.loads(node.shape_json))  # raises what the parse deferred
        parts: list[Query] = []
        for shape in node.shapes:
            if isinstance(shape, A.GeoBoundingBox):
                parts.append(self.bbox_query(info, shape))
            elif isinstance(shape, A.GeoPolygon):
                parts.append(self.polygon_query(info, shape))
            elif isinstance(shape, A.GeoDistance):
                parts.append(self.distance_query(info, shape.lat, shape.lon, shape.distance))
        matched = self._union(parts)
        if node.relation == "disjoint":
            matched = Query.boolean_query(
                [(Occur.Must, Query.exists_query(str(info.extra["lat"]))), (Occur.MustNot, matched)]
            )
        # geo_shape queries on points score 0 (constant score with no weight), as ES/OpenSearch report
        return self.const(matched, 0.0 if node.boost == 1.0 else node.boost)

    def geo_shape_field(self, info: FieldInfo, node: A.GeoShape) -> Query:
        """``geo_shape`` on a ``geo_shape`` field: each document holding the field has its shapes read from
        ``_source`` and related to the query shape in Python (``native.query.geo_shapes``)."""
        query_shape = geo_shapes.parse_shape(orjson.loads(node.shape_json), "geo_shape")
        holders = self.leaf(Query.term_query(self.schema, FIELD_NAMES_FIELD, info.path))
        searcher = self.searcher
        if searcher is None:  # validate_query: compiles and renders, never matches
            return holders
        count = int(searcher.search(holders, 1, count=True).count)  # type: ignore[attr-defined]
        if count == 0:
            return Query.empty_query()
        addrs = [a for _, a in searcher.search(holders, count, count=False).hits]
        seqs = searcher.fast_field_values(SEQ_NO_FIELD, addrs)
        kept = []
        for addr, seq in zip(addrs, seqs, strict=True):
            source = orjson.loads(bytes(searcher.doc(addr).to_dict()[SOURCE_FIELD][0]))
            parts: list[geo_shapes.Part] = []
            try:
                for raw in geo_shapes.source_shapes(source, info.path):
                    parts.extend(geo_shapes.parse_shape(raw, info.path))
            except IllegalArgument:
                continue  # a malformed stored shape (kept by ignore_malformed) matches nothing
            if parts and seq is not None and geo_shapes.relate(parts, query_shape, node.relation):
                kept.append(seq)
        if not kept:
            return Query.empty_query()
        return self.leaf(Query.term_set_query(self.schema, SEQ_NO_FIELD, kept))
