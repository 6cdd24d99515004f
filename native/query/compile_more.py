"""Compiling the specialised queries of ``native.query.specialized`` (see there for the mapping choices)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy
import orjson
import tantivy
from tantivy import Occur, Query

from native.errors import IllegalArgument
from native.fields import ID_FIELD, NUMERIC_COLUMNS, FieldInfo
from native.query import ast as A
from native.query import geo
from native.query.errors import QueryShardError
from native.query.msm import resolve_msm

_PINNED_BASE = 1e30
_FEATURE_STEPS = 16
# distance_feature scores exactly up to this many documents with the field on a shard, by steps beyond
EXACT_FEATURE_LIMIT = 100_000


class MoreCompilerMixin:
    """Methods of ``native.query.compile._Compiler`` for terms_set, pinned, spans, mlt, distance_feature."""

    schema: tantivy.Schema
    searcher: tantivy.Searcher | None
    resolver: Any
    now_millis: int
    leaf: Callable[..., Query]
    const: Callable[..., Query]
    boosted: Callable[..., Query]
    compile: Callable[..., Query]
    field: Callable[..., FieldInfo | None]
    exact: Callable[..., Query]
    expand_fields: Callable[..., list[tuple[FieldInfo, float, bool]]]
    distance_query: Callable[..., Query]
    geo_field: Callable[..., FieldInfo | None]

    # -- terms_set --------------------------------------------------------------------------------------

    def terms_set(self, node: A.TermsSet) -> Query:
        info = self.field(node.field, "term")
        if info is None or not node.values:
            return Query.empty_query()
        clauses = [self.exact(info, v) for v in node.values]
        n = len(clauses)

        def at_least(k: int) -> Query:
            if k <= 1:
                return clauses[0] if n == 1 else Query.boolean_query([(Occur.Should, c) for c in clauses])
            return Query.boolean_query([(Occur.Should, c) for c in clauses], k)

        if node.msm_script == "num_terms":
            return self.boosted(at_least(n), node.boost)
        assert node.msm_field is not None
        msm = self.resolver.field(node.msm_field)
        if msm is None:
            return Query.empty_query()
        if msm.tantivy_type not in NUMERIC_COLUMNS:
            message = f"failed to create query: field [{node.msm_field}] is not numeric"
            raise QueryShardError(message, caused_by=IllegalArgument(message))
        floating = msm.tantivy_type == tantivy.FieldType.Float
        capped = node.msm_script == "min"
        options: list[Query] = []
        for k in range(1, n + 1):
            lo: Any = None if k == 1 else k
            hi: Any = None if (capped and k == n) else k
            if floating:  # Lucene reads the long value: [k, k + 1)
                lo = None if lo is None else float(lo)
                q = Query.range_query(self.schema, msm.tantivy_name, msm.tantivy_type, lo,
                                      None if hi is None else float(hi + 1), True, False)  # fmt: skip
            else:
                q = Query.range_query(self.schema, msm.tantivy_name, msm.tantivy_type, lo, hi, True, True)
            self.leaf(q)
            options.append(Query.boolean_query([(Occur.Must, self.const(q, 0.0)), (Occur.Must, at_least(k))]))
        q = options[0] if len(options) == 1 else Query.boolean_query([(Occur.Should, o) for o in options])
        return self.boosted(q, node.boost)

    # -- pinned ------------------------------------------------------------------------------------------

    def pinned(self, node: A.Pinned) -> Query:
        organic = self.compile(node.organic)
        n = len(node.ids)
        pins = [
            self.const(self.leaf(Query.term_query(self.schema, ID_FIELD, doc_id)), _PINNED_BASE * (n - i))
            for i, doc_id in enumerate(dict.fromkeys(node.ids))
        ]
        if not pins:
            return self.boosted(organic, node.boost)
        return self.boosted(Query.disjunction_max_query([organic, *pins], 0.0), node.boost)

    # -- spans -------------------------------------------------------------------------------------------

    def span_near(self, node: A.SpanNear) -> Query:
        info = self.field(node.field, "term")
        if info is None:
            return Query.empty_query()
        if info.es_type != "text" or len(node.terms) == 1:
            return self.boosted(Query.boolean_query([(Occur.Must, self.exact(info, t)) for t in node.terms]),
                                node.boost)  # fmt: skip
        if not node.in_order:
            terms = [self.leaf(Query.term_query(self.schema, info.tantivy_name, t)) for t in node.terms]
            return self.boosted(Query.boolean_query([(Occur.Must, t) for t in terms]), node.boost)
        slop = max(0, min(node.slop, 10_000))
        q = Query.phrase_query(self.schema, info.tantivy_name, list(node.terms), slop)
        return self.boosted(self.leaf(q, len(node.terms)), node.boost)

    # -- more_like_this ----------------------------------------------------------------------------------

    def _like_sources(self, node: A.MoreLikeThis) -> list[dict[str, Any]]:
        sources = [d for d in node.like_docs if isinstance(d, dict)]
        if node.like_ids and self.searcher is not None:
            q = Query.term_set_query(self.schema, ID_FIELD, list(node.like_ids))
            for _, addr in self.searcher.search(q, len(node.like_ids), count=False).hits:
                stored = self.searcher.doc(addr).to_dict()
                sources.append(orjson.loads(bytes(stored["_source"][0])))
        return sources

    def more_like_this(self, node: A.MoreLikeThis) -> Query:
        from native.schema import flatten_source

        fields = [
            (info, boost)
            for info, boost, _ in self.expand_fields([A.FieldBoost(p) for p in node.fields])
            if info.es_type in ("text", "keyword")
        ]
        if not fields:
            return Query.empty_query()
        sources = [flatten_source(s) for s in self._like_sources(node)]
        stop = set(node.stop_words)
        terms: Counter[tuple[str, str]] = Counter()
        unlike: set[tuple[str, str]] = set()
        for info, _ in fields:
            texts = list(node.like_texts)
            for flat in sources:
                texts.extend(str(v) for v in flat.get(info.path, []) if v is not None)
            for text in texts:
                for token in self._mlt_tokens(info, text):
                    terms[(info.tantivy_name, token)] += 1
            for text in node.unlike_texts:
                unlike.update((info.tantivy_name, t) for t in self._mlt_tokens(info, text))
        scored: list[tuple[float, str, str]] = []
        num_docs = int(self.searcher.num_docs) if self.searcher is not None else 0
        for (name, token), tf in terms.items():
            if tf < node.min_term_freq or (name, token) in unlike or token in stop:
                continue
            if node.min_word_length and len(token) < node.min_word_length:
                continue
            if node.max_word_length and len(token) > node.max_word_length:
                continue
            idf = 1.0
            if self.searcher is not None:
                df = int(self.searcher.doc_freq(name, token))
                if df < node.min_doc_freq or (node.max_doc_freq is not None and df > node.max_doc_freq) or df == 0:
                    continue
                idf = 1.0 + math.log((num_docs + 1) / (df + 1))
            scored.append((tf * idf, name, token))
        scored.sort(key=lambda t: (-t[0], t[1], t[2]))
        chosen = scored[: max(0, node.max_query_terms)]
        if not chosen:
            return Query.empty_query()
        clauses = [self.leaf(Query.term_query(self.schema, name, token)) for _, name, token in chosen]
        need = resolve_msm(node.minimum_should_match, len(clauses))
        if need > len(clauses):
            return Query.empty_query()
        q = Query.boolean_query([(Occur.Should, c) for c in clauses], need if need > 1 else None)
        if node.like_ids and not node.include:
            q = Query.boolean_query(
                [(Occur.Must, q), (Occur.MustNot, Query.term_set_query(self.schema, ID_FIELD, list(node.like_ids)))]
            )
        return self.boosted(q, node.boost)

    @staticmethod
    def _mlt_tokens(info: FieldInfo, text: str) -> list[str]:
        if info.es_type == "keyword":
            return ["".join(info.analyze(text))] if info.analyze is not None else [text]
        return list(info.analyze(text)) if info.analyze is not None else text.split()

    # -- distance_feature --------------------------------------------------------------------------------

    def distance_feature(self, node: A.DistanceFeature) -> Query:
        info = self.resolver.field(node.field)
        if info is None:
            return Query.empty_query()
        steps = _FEATURE_STEPS
        boost = float(node.boost)
        if "lat" in info.extra:
            lat0, lon0 = geo.point(node.origin, query="distance_feature")
            pivot = geo.parse_distance(node.pivot)

            def band(radius: float) -> Query:
                return self.distance_query(info, lat0, lon0, radius)

            exists = Query.exists_query(str(info.extra["lat"]))
        elif info.es_type == "date":
            from native.dates import parse_interval
            from native.query.values import date_value

            origin = date_value(info, node.origin, self.now_millis)
            try:
                pivot = float(parse_interval(str(node.pivot)))
            except ValueError as exc:
                raise IllegalArgument(f"failed to parse [pivot] value [{node.pivot}]") from exc

            def band(radius: float) -> Query:
                lo = max(-(2**63), int(origin - radius))
                hi = min(2**63 - 1, int(origin + radius))
                return self.leaf(Query.range_query(self.schema, info.tantivy_name, info.tantivy_type, lo, hi))

            exists = Query.exists_query(info.tantivy_name)
        else:
            message = (
                f"failed to create query: Illegal data type of [{info.es_type}]! [distance_feature] query can only be "
                "run on a date, date_nanos or geo_point field type!"
            )
            raise QueryShardError(message, caused_by=IllegalArgument(message))
        if pivot <= 0:
            raise IllegalArgument("[pivot] must be greater than 0")
        exact = self._exact_distance_feature(info, node, pivot, exists)
        if exact is not None:
            return exact
        # score(d) = boost * pivot / (pivot + d) >= boost * j / steps  <=>  d <= pivot * (steps / j - 1)
        clauses: list[tuple[Occur, Query]] = [(Occur.Must, self.const(exists, boost / (2 * steps)))]
        for j in range(1, steps):
            radius = pivot * (steps / j - 1)
            clauses.append((Occur.Should, self.const(band(radius), boost / steps)))
        return Query.boolean_query(clauses)

    def _exact_distance_feature(
        self, info: FieldInfo, node: A.DistanceFeature, pivot: float, exists: Query
    ) -> Query | None:
        """ES's score for every document with the field, read from the fast columns and replayed on ``_seq_no``
        (None past ``EXACT_FEATURE_LIMIT`` such documents, or without a searcher: the staircase then)."""
        searcher = self.searcher
        if searcher is None:
            return None
        from native.fields import SEQ_NO_FIELD
        from native.query.compile_function_score import replay_scores

        count = int(searcher.aggregate(exists, {"n": {"value_count": {"field": SEQ_NO_FIELD}}})["n"]["value"])
        if count == 0:
            return Query.empty_query()
        if count > EXACT_FEATURE_LIMIT:
            return None
        addrs = [a for _, a in searcher.search(exists, count, count=False).hits]
        if "lat" in info.extra:
            lat0, lon0 = geo.point(node.origin, query="distance_feature")
            lats = searcher.fast_field_values(str(info.extra["lat"]), addrs)
            lons = searcher.fast_field_values(str(info.extra["lon"]), addrs)
            distances = [
                None if la is None or lo is None else geo.haversine(lat0, lon0, float(la), float(lo))
                for la, lo in zip(lats, lons, strict=True)
            ]
        else:
            from native.query.values import date_value

            origin = date_value(info, node.origin, self.now_millis)
            distances = [
                None if v is None else abs(float(v) - origin)
                for v in searcher.fast_field_values(info.tantivy_name, addrs)
            ]
        seqs = searcher.fast_field_values(SEQ_NO_FIELD, addrs)
        groups: dict[float, list[int]] = {}
        for distance, seq in zip(distances, seqs, strict=True):
            if distance is None:
                continue
            score = float(numpy.float32(float(node.boost) * pivot / (pivot + distance)))
            groups.setdefault(score, []).append(int(seq or 0))
        return replay_scores(self.schema, groups)
