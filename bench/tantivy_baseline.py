"""Raw tantivy-py in-process: the same fields and queries, without HTTP, ES semantics or per-doc Python.

Every hit-returning query returns what an ES ``_search`` returns: the top hits' stored documents and
``hits.total`` (see ``bench.totals``). ``Searcher.search(count=True)`` counts every match rather than stopping at
10,001, which is at least as much work as ES's default.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any

import tantivy

from bench import es_metadata
from bench.totals import es_total

WRITER_HEAP = 64_000_000  # the same per-shard heap and thread count as native.applier


def schema(with_es_metadata: bool = False) -> tantivy.Schema:
    """The log corpus's fields; ``with_es_metadata`` adds the fields of ``bench.es_metadata``."""
    sb = tantivy.SchemaBuilder()
    if with_es_metadata:
        es_metadata.add_fields(sb)
    sb.add_integer_field("ts", stored=True, indexed=True, fast=True)
    sb.add_integer_field("status", stored=True, indexed=True, fast=True)
    sb.add_integer_field("bytes", stored=True, indexed=True, fast=True)
    sb.add_text_field("method", stored=True, fast=True, tokenizer_name="raw", index_option="freq")
    sb.add_text_field("url", stored=True, fast=True, tokenizer_name="raw", index_option="freq")
    sb.add_ip_addr_field("client_ip", stored=True, indexed=True, fast=True)
    sb.add_text_field("message", stored=True, tokenizer_name="default", index_option="position")
    return sb.build()


class TantivyBaseline:
    def __init__(self, path: str, with_es_metadata: bool = False) -> None:
        self.path = path
        os.makedirs(path, exist_ok=True)
        self.schema = schema(with_es_metadata)
        self.index = tantivy.Index(self.schema, path=path)
        self.searcher: tantivy.Searcher | None = None

    def ingest(self, docs: Iterable[str], deadline_s: float) -> dict[str, Any]:
        writer = self.index.writer(WRITER_HEAP, 1)
        n = 0
        deadline = time.monotonic() + deadline_s
        t0 = time.perf_counter()
        for doc in docs:
            writer.add_json(doc)
            n += 1
            if n % 10_000 == 0 and time.monotonic() > deadline:
                break
        t_add = time.perf_counter() - t0
        writer.commit()
        writer.wait_merging_threads()
        seconds = time.perf_counter() - t0
        self.index.reload()
        self.searcher = self.index.searcher()
        return {
            "docs": n,
            "seconds": seconds,
            "add_seconds": t_add,
            "truncated": n and time.monotonic() > deadline,
        }

    # -- queries
    def queries(self, p: dict[str, Any]) -> dict[str, Callable[[], object]]:
        """One callable per query kind; a hit-returning one returns its ES ``hits.total``."""
        s = self.schema
        Q = tantivy.Query
        I64 = tantivy.FieldType.Integer

        def hits(query: tantivy.Query, limit: int = 10, total_of_all: bool = False, **kw: Any) -> Callable[[], object]:
            def run() -> object:
                searcher = self.index.searcher()  # as a server does per request
                res = searcher.search(query, limit, count=True, **kw)
                for _score, addr in res.hits:
                    searcher.doc(addr).to_dict()  # return the documents, like _source in a hit list
                # search_after: ES's total counts the query's matches (all docs), not those after the cursor
                return es_total(searcher.num_docs if total_of_all else res.count)  # type: ignore[attr-defined]

            return run

        def agg(spec: dict[str, Any], query: tantivy.Query | None = None) -> Callable[[], object]:
            q = query or Q.all_query()

            def run() -> bool:
                self.index.searcher().aggregate(q, spec)
                return True

            return run

        word, word2 = p["word"], p["word2"]
        term = Q.term_query(s, "message", word)
        return {
            "term": hits(term),
            "match_and": hits(
                Q.boolean_query([(tantivy.Occur.Must, term), (tantivy.Occur.Must, Q.term_query(s, "message", word2))])
            ),
            "phrase": hits(Q.phrase_query(s, "message", list(p["phrase"]))),
            "range": hits(Q.range_query(s, "bytes", I64, p["bytes_lo"], p["bytes_hi"])),
            "bool_filter_match": hits(
                Q.boolean_query(
                    [
                        (tantivy.Occur.Must, term),
                        (
                            tantivy.Occur.Must,
                            Q.const_score_query(Q.range_query(s, "status", I64, p["status_gte"], None), 0.0),
                        ),
                        (
                            tantivy.Occur.Must,
                            Q.const_score_query(Q.term_query(s, "method", p["method"]), 0.0),
                        ),
                    ]
                )
            ),
            "sort_numeric_100": hits(Q.all_query(), 100, order_by_field="bytes", order=tantivy.Order.Desc),
            "search_after": hits(
                Q.range_query(s, "bytes", I64, p["after_bytes"], None, include_lower=False),
                10,
                total_of_all=True,
                order_by_field="bytes",
                order=tantivy.Order.Asc,
            ),
            "terms_agg": agg({"t": {"terms": {"field": "url", "size": 10}}}),
            "date_histogram_avg": agg(
                {
                    "h": {
                        "histogram": {"field": "ts", "interval": 3_600_000},
                        "aggs": {"a": {"avg": {"field": "bytes"}}},
                    }
                }
            ),
            "percentiles": agg({"p": {"percentiles": {"field": "bytes"}}}),
            "cardinality": agg({"c": {"cardinality": {"field": "url"}}}),
        }
