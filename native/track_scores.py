"""``track_scores``: scores for hits sorted on something else, and the shard's ``max_score``.

A field-sorted search collects by the sort key and scores nothing. With ``track_scores`` the shard scores the
hits it returns (the query again, restricted to their ``_seq_no``s: a constant-zero filter leaves each score as
the query gives it) and the best score over every match (a top-1 search).
"""

from __future__ import annotations

from dataclasses import replace

import tantivy

from native.fields import SEQ_NO_FIELD
from native.search import ShardHits


def with_scores(searcher: tantivy.Searcher, schema: tantivy.Schema, query: tantivy.Query, hits: ShardHits) -> ShardHits:
    """``hits`` with every hit's score and the shard's ``max_score`` filled in."""
    if not hits.total:
        return hits
    top = searcher.search(query, 1, count=False).hits
    max_score = float(top[0][0]) if top else None
    missing = [h for h in hits.hits if h.score is None]
    if not missing:
        return replace(hits, max_score=max_score)
    only = tantivy.Query.term_set_query(schema, SEQ_NO_FIELD, [h.tiebreak for h in missing])
    restricted = tantivy.Query.boolean_query(
        [(tantivy.Occur.Must, query), (tantivy.Occur.Must, tantivy.Query.const_score_query(only, 0.0))]
    )
    scored = searcher.search(restricted, len(missing), count=False).hits
    by_addr = {(a.segment_ord, a.doc): float(s) for s, a in scored}
    out = [h if h.score is not None else replace(h, score=by_addr.get((h.segment_ord, h.doc))) for h in hits.hits]
    return ShardHits(out, hits.total, max_score)
