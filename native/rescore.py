"""``rescore``: the query rescorer, applied per shard to the top ``window_size`` hits of the query phase.

As ES's ``QueryRescorer``: each hit in the window whose document matches ``rescore_query`` gets
``combine(score * query_weight, rescore_score * rescore_query_weight)`` (``score_mode`` total, multiply,
avg, max or min), a hit in the window that does not match gets ``score * query_weight``, and hits past the
window are treated the same way as non-matching ones; then every hit is sorted again by score. Several
rescorers apply one after the other, each to the output of the previous one.

The second-pass scores come from one tantivy search of ``rescore_query`` restricted (as a non-scoring
filter) to the window's documents, by their ``_seq_no``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import tantivy

from native.errors import IllegalArgument, ParsingError
from native.fields import SEQ_NO_FIELD
from native.query.params import as_float, as_int
from native.search import PartialHit

__all__ = ["SCORE_MODES", "Rescorer", "parse_rescore", "rescore_hits", "scores_within"]

DEFAULT_WINDOW_SIZE = 10

SCORE_MODES: dict[str, Callable[[float, float], float]] = {
    "total": lambda a, b: a + b,
    "multiply": lambda a, b: a * b,
    "avg": lambda a, b: (a + b) / 2.0,
    "max": max,
    "min": min,
}

_QUERY_KEYS = ("rescore_query", "query_weight", "rescore_query_weight", "score_mode")


@dataclass(frozen=True)
class Rescorer:
    """One ``query`` rescorer; ``query`` is the ``rescore_query`` JSON, parsed again by whoever compiles it."""

    query: dict[str, Any]
    window_size: int = DEFAULT_WINDOW_SIZE
    query_weight: float = 1.0
    rescore_query_weight: float = 1.0
    score_mode: str = "total"


def parse_rescore(raw: Any, parse_query: Callable[[Any], Any] | None = None) -> tuple[Rescorer, ...]:
    """The value of a search body's ``rescore`` (one object or a list of them) → rescorers, in order.

    ``parse_query`` (when given) validates each ``rescore_query`` so a bad one is a 400 before fan-out.
    """
    entries = raw if isinstance(raw, list) else [raw]
    out: list[Rescorer] = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise ParsingError("rescore must be an object or an array of objects")
        window = DEFAULT_WINDOW_SIZE
        body: dict[str, Any] | None = None
        for key, value in entry.items():
            if key == "window_size":
                window = as_int("rescore", "window_size", value)
                if window < 0:
                    raise IllegalArgument(f"[window_size] must be greater than or equal to 0, got [{window}]")
            elif key == "query":
                if not isinstance(value, dict):
                    raise ParsingError(f"unexpected token after [{key}]")
                body = value
            elif isinstance(value, dict):
                raise ParsingError(f"unknown rescorer [{key}]")
            else:
                raise ParsingError(f"rescore doesn't support [{key}]")
        if body is None:
            raise ParsingError("missing rescore type")
        for key in body:
            if key not in _QUERY_KEYS:
                raise ParsingError(f"[query] unknown field [{key}]")
        if "rescore_query" not in body or not isinstance(body["rescore_query"], dict):
            raise ParsingError("[query] rescore_query must not be null")
        if parse_query is not None:
            parse_query(body["rescore_query"])
        mode = body.get("score_mode", "total")
        if not isinstance(mode, str) or mode.lower() not in SCORE_MODES:
            raise IllegalArgument(f"illegal score_mode [{mode}]")
        out.append(
            Rescorer(
                query=body["rescore_query"],
                window_size=window,
                query_weight=as_float("query", "query_weight", body.get("query_weight", 1.0)),
                rescore_query_weight=as_float("query", "rescore_query_weight", body.get("rescore_query_weight", 1.0)),
                score_mode=mode.lower(),
            )
        )
    return tuple(out)


def scores_within(
    searcher: tantivy.Searcher, schema: tantivy.Schema, query: tantivy.Query, seq_nos: Sequence[int]
) -> dict[tuple[int, int], float]:
    """The score of ``query`` for each of the documents with these ``_seq_no``s that it matches, by address."""
    if not seq_nos:
        return {}
    restrict = tantivy.Query.term_set_query(schema, SEQ_NO_FIELD, list(seq_nos))
    filtered = tantivy.Query.boolean_query([
        (tantivy.Occur.Must, query),
        (tantivy.Occur.Must, tantivy.Query.const_score_query(restrict, 0.0)),
    ])  # fmt: skip
    result = searcher.search(filtered, len(seq_nos), count=False)
    return {(addr.segment_ord, addr.doc): float(score) for score, addr in result.hits}


def rescore_hits(
    searcher: tantivy.Searcher,
    schema: tantivy.Schema,
    hits: Sequence[PartialHit],
    rescorers: Sequence[tuple[Rescorer, tantivy.Query]],
) -> list[PartialHit]:
    """``hits`` (score-ordered, best first) rescored by each rescorer in turn and sorted again by score."""
    current = list(hits)
    if not current:
        return current
    seq_of = dict(zip(((h.segment_ord, h.doc) for h in current), _seq_nos(searcher, current), strict=True))
    for rescorer, query in rescorers:
        window = current[: rescorer.window_size]
        second = scores_within(searcher, schema, query, [seq_of[(h.segment_ord, h.doc)] for h in window])
        combine = SCORE_MODES[rescorer.score_mode]
        rescored: list[PartialHit] = []
        for i, hit in enumerate(current):
            first = (hit.score or 0.0) * rescorer.query_weight
            extra = second.get((hit.segment_ord, hit.doc)) if i < len(window) else None
            score = first if extra is None else combine(first, extra * rescorer.rescore_query_weight)
            tiebreak = seq_of[(hit.segment_ord, hit.doc)]
            rescored.append(replace(hit, sort_values=(score,), score=score, tiebreak=tiebreak))
        rescored.sort(key=lambda h: (-(h.score or 0.0), h.tiebreak))
        current = rescored
    return current


def _seq_nos(searcher: tantivy.Searcher, hits: Sequence[PartialHit]) -> list[int]:
    addrs = [tantivy.DocAddress(h.segment_ord, h.doc) for h in hits]
    if not addrs:
        return []
    return [int(v or 0) for v in searcher.fast_field_values(SEQ_NO_FIELD, addrs)]
