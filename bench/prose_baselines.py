"""Raw tantivy-py and SQLite FTS5 over the prose corpus: the same fields and the same queries as Quidditch.

As for the log corpus, a hit-returning query returns its top documents and its ES ``hits.total`` in the same
timed call (``bench.totals``).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import Any

import tantivy

from bench import es_metadata
from bench.tantivy_baseline import TantivyBaseline
from bench.totals import capped_count_sql, es_total


def es_queries(p: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """ES request bodies, one per measured query kind (keys shared with the baselines below)."""
    word, word2 = p["word"], p["word2"]
    return {
        "match_1_word": {"query": {"match": {"description": word}}},
        "match_2_words_and": {"query": {"match": {"description": {"query": f"{word} {word2}", "operator": "and"}}}},
        "match_phrase": {"query": {"match_phrase": {"description": " ".join(p["phrase"])}}},
        "multi_match": {"query": {"multi_match": {"query": f"{word} {word2}", "fields": ["summary", "description"]}}},
        "query_string_wildcard": {
            "query": {"query_string": {"query": f"{p['prefix']}*", "default_field": "description"}}
        },
        "terms_agg_section": {"size": 0, "aggs": {"t": {"terms": {"field": "section", "size": 10}}}},
        "bool_filter_section_match": {
            "query": {
                "bool": {
                    "must": [{"match": {"description": word}}],
                    "filter": [{"term": {"section": p["section"]}}],
                }
            }
        },
    }


def tantivy_schema(with_es_metadata: bool = False) -> tantivy.Schema:
    """The package fields; ``with_es_metadata`` adds the fields of ``bench.es_metadata``."""
    sb = tantivy.SchemaBuilder()
    if with_es_metadata:
        es_metadata.add_fields(sb)
    sb.add_text_field("name", stored=True, fast=True, tokenizer_name="raw", index_option="freq")
    sb.add_text_field("section", stored=True, fast=True, tokenizer_name="raw", index_option="freq")
    sb.add_text_field("priority", stored=True, fast=True, tokenizer_name="raw", index_option="freq")
    sb.add_integer_field("installed_size", stored=True, indexed=True, fast=True)
    sb.add_text_field("maintainer", stored=True, tokenizer_name="default", index_option="position")
    sb.add_text_field("maintainer_raw", stored=False, fast=True, tokenizer_name="raw", index_option="freq")
    sb.add_text_field("summary", stored=True, tokenizer_name="default", index_option="position")
    sb.add_text_field("description", stored=True, tokenizer_name="default", index_option="position")
    return sb.build()


class TantivyProse(TantivyBaseline):
    """``TantivyBaseline`` (same writer heap/threads, same ingest loop) with the package schema."""

    def __init__(self, path: str, with_es_metadata: bool = False) -> None:
        # not super().__init__: that would create the log schema's index
        self.path = path
        os.makedirs(path, exist_ok=True)
        self.schema = tantivy_schema(with_es_metadata)
        self.index = tantivy.Index(self.schema, path=path)
        self.searcher = None

    def _queries(self, p: dict[str, Any]) -> dict[str, tantivy.Query]:
        """The hit-returning queries (``terms_agg_section`` is an aggregation)."""
        s = self.schema
        Q = tantivy.Query
        Occur = tantivy.Occur
        word, word2 = p["word"], p["word2"]
        term = Q.term_query(s, "description", word)

        def any_of(fieldname: str) -> tantivy.Query:
            return Q.boolean_query(
                [(Occur.Should, Q.term_query(s, fieldname, word)), (Occur.Should, Q.term_query(s, fieldname, word2))]
            )

        section = Q.const_score_query(Q.term_query(s, "section", p["section"]), 0.0)
        return {
            "match_1_word": term,
            "match_2_words_and": Q.boolean_query(
                [(Occur.Must, term), (Occur.Must, Q.term_query(s, "description", word2))]
            ),
            "match_phrase": Q.phrase_query(s, "description", list(p["phrase"])),
            "multi_match": Q.disjunction_max_query([any_of("summary"), any_of("description")]),
            "query_string_wildcard": Q.regex_query(s, "description", f"{p['prefix']}.*"),
            "bool_filter_section_match": Q.boolean_query([(Occur.Must, term), (Occur.Must, section)]),
        }

    def prose_queries(self, p: dict[str, Any]) -> dict[str, Callable[[], object]]:
        """One callable per query kind; a hit-returning one returns its ES ``hits.total``."""

        def hits(query: tantivy.Query, limit: int = 10) -> Callable[[], object]:
            def run() -> object:
                searcher = self.index.searcher()  # as a server does per request
                res = searcher.search(query, limit, count=True)  # counts every match: at least ES's work
                for _score, addr in res.hits:
                    searcher.doc(addr).to_dict()  # return the documents, like _source in a hit list
                return es_total(res.count)  # type: ignore[attr-defined]

            return run

        def agg(spec: dict[str, Any]) -> Callable[[], object]:
            q = tantivy.Query.all_query()

            def run() -> object:
                self.index.searcher().aggregate(q, spec)
                return True

            return run

        fns = {name: hits(q) for name, q in self._queries(p).items()}
        fns["terms_agg_section"] = agg({"t": {"terms": {"field": "section", "size": 10}}})
        return fns

    def count(self, name: str, p: dict[str, Any]) -> int | None:
        """Total hits of query ``name`` (not timed: a cross-check that the engines agree on semantics)."""
        query = self._queries(p).get(name)
        if query is None:
            return None
        return int(self.index.searcher().search(query, 1, count=True).count)  # type: ignore[attr-defined]


SQLITE_SCHEMA = """
CREATE TABLE pkgs (id INTEGER PRIMARY KEY, name TEXT, section TEXT, priority TEXT, installed_size INTEGER,
                   maintainer TEXT, summary TEXT, description TEXT);
CREATE VIRTUAL TABLE pkgs_fts USING fts5(maintainer, summary, description, content='pkgs', content_rowid='id');
"""
SQLITE_INDEXES = """
CREATE INDEX pkgs_name ON pkgs(name);
CREATE INDEX pkgs_section ON pkgs(section);
CREATE INDEX pkgs_priority ON pkgs(priority);
CREATE INDEX pkgs_size ON pkgs(installed_size);
CREATE INDEX pkgs_maintainer ON pkgs(maintainer);
"""


class SqliteProse:
    """A table plus an external-content FTS5 table over maintainer, summary and description."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SQLITE_SCHEMA)

    def ingest(self, rows: Iterable[tuple[Any, ...]], deadline_s: float, batch: int = 1000) -> dict[str, Any]:
        n = 0
        deadline = time.monotonic() + deadline_s
        t0 = time.perf_counter()
        buf: list[tuple[Any, ...]] = []

        def flush() -> None:
            with self.db:
                self.db.executemany("INSERT INTO pkgs VALUES (?,?,?,?,?,?,?,?)", buf)
                self.db.executemany(
                    "INSERT INTO pkgs_fts(rowid, maintainer, summary, description) VALUES (?,?,?,?)",
                    [(r[0], r[5], r[6], r[7]) for r in buf],
                )

        truncated = False
        for row in rows:
            buf.append(row)
            if len(buf) == batch:
                flush()
                n += len(buf)
                buf = []
                if time.monotonic() > deadline:
                    truncated = True
                    break
        if buf:
            flush()
            n += len(buf)
        t_rows = time.perf_counter() - t0
        self.db.executescript(SQLITE_INDEXES)
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.execute("ANALYZE")
        seconds = time.perf_counter() - t0
        return {"docs": n, "seconds": seconds, "rows_seconds": t_rows, "truncated": truncated}

    def prose_queries(self, p: dict[str, Any]) -> dict[str, Callable[[], object]]:
        """One callable per query kind; a hit-returning one returns its ES ``hits.total``, counted (up to
        10,001) in the same call as the top rows."""
        db = self.db

        def q(sql: str, *args: Any) -> Callable[[], object]:
            def run() -> object:
                db.execute(sql, args).fetchall()
                return True

            return run

        def hits(sql: str, count_sql: str, *args: Any) -> Callable[[], object]:
            def run() -> object:
                db.execute(sql, args).fetchall()
                return es_total(db.execute(count_sql, args).fetchone()[0])

            return run

        join = "FROM pkgs_fts JOIN pkgs l ON l.id = pkgs_fts.rowid WHERE pkgs_fts MATCH ?"
        fts = f"SELECT l.* {join} ORDER BY rank LIMIT 10"
        fts_count = capped_count_sql("FROM pkgs_fts WHERE pkgs_fts MATCH ?")
        fts_section = f"SELECT l.* {join} AND l.section = ? ORDER BY rank LIMIT 10"
        fts_section_count = capped_count_sql(f"{join} AND l.section = ?")
        fns = {
            name: hits(fts_section, fts_section_count, match, section) if section else hits(fts, fts_count, match)
            for name, (match, section) in self._matches(p).items()
        }
        fns["terms_agg_section"] = q("SELECT section, COUNT(*) c FROM pkgs GROUP BY section ORDER BY c DESC LIMIT 10")
        return fns

    @staticmethod
    def _matches(p: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
        """FTS5 MATCH expression (and section filter) per hit-returning query."""
        word, word2 = p["word"], p["word2"]
        phrase = " ".join(p["phrase"])
        return {
            "match_1_word": (f"description : {word}", None),
            "match_2_words_and": (f"description : ({word} AND {word2})", None),
            "match_phrase": (f'description : "{phrase}"', None),
            "multi_match": (f"{{summary description}} : ({word} OR {word2})", None),
            "query_string_wildcard": (f"description : {p['prefix']}*", None),
            "bool_filter_section_match": (f"description : {word}", p["section"]),
        }

    def count(self, name: str, p: dict[str, Any]) -> int | None:
        spec = self._matches(p).get(name)
        if spec is None:
            return None
        match, section = spec
        sql = "SELECT COUNT(*) FROM pkgs_fts JOIN pkgs l ON l.id = pkgs_fts.rowid WHERE pkgs_fts MATCH ?"
        args: tuple[Any, ...] = (match,)
        if section:
            sql += " AND l.section = ?"
            args += (section,)
        return int(self.db.execute(sql, args).fetchone()[0])

    def close(self) -> None:
        self.db.close()
