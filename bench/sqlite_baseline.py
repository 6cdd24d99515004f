"""SQLite (python sqlite3) with an FTS5 index on ``message``: a table plus an external-content FTS5 table.

A hit-returning query fetches its top rows and counts its matches up to 10,001 in the same call, so that it
computes what the ES request it is compared with computes (``bench.totals``).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import Any

from bench.totals import capped_count_sql, es_total

SCHEMA = """
CREATE TABLE logs (id INTEGER PRIMARY KEY, ts INTEGER, status INTEGER, bytes INTEGER, method TEXT, url TEXT,
                   client_ip TEXT, message TEXT);
CREATE VIRTUAL TABLE logs_fts USING fts5(message, content='logs', content_rowid='id');
"""
INDEXES = """
CREATE INDEX logs_bytes ON logs(bytes);
CREATE INDEX logs_status ON logs(status);
CREATE INDEX logs_ts ON logs(ts);
CREATE INDEX logs_method ON logs(method);
CREATE INDEX logs_url ON logs(url);
"""


class SqliteBaseline:
    def __init__(self, path: str) -> None:
        self.path = path
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def ingest(self, rows: Iterable[tuple[Any, ...]], deadline_s: float, batch: int = 1000) -> dict[str, Any]:
        n = 0
        deadline = time.monotonic() + deadline_s
        t0 = time.perf_counter()
        buf: list[tuple[Any, ...]] = []

        def flush() -> None:
            with self.db:
                self.db.executemany("INSERT INTO logs VALUES (?,?,?,?,?,?,?,?)", buf)
                self.db.executemany("INSERT INTO logs_fts(rowid, message) VALUES (?,?)", [(r[0], r[7]) for r in buf])

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
        self.db.executescript(INDEXES)
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.execute("ANALYZE")
        seconds = time.perf_counter() - t0
        return {"docs": n, "seconds": seconds, "rows_seconds": t_rows, "truncated": truncated}

    def queries(self, p: dict[str, Any]) -> dict[str, Callable[[], object] | None]:
        """One callable per query kind (None: SQLite cannot run it); a hit-returning one returns its ES
        ``hits.total``, counted in the same call as the top rows (``bench.totals``)."""
        db = self.db

        def q(sql: str, *args: Any) -> Callable[[], object]:
            def run() -> object:
                db.execute(sql, args).fetchall()
                return True

            return run

        def hits(
            sql: str, count_from_where: str, *args: Any, count_args: tuple[Any, ...] | None = None
        ) -> Callable[[], object]:
            count_sql = capped_count_sql(count_from_where)
            cargs = args if count_args is None else count_args

            def run() -> object:
                db.execute(sql, args).fetchall()
                return es_total(db.execute(count_sql, cargs).fetchone()[0])

            return run

        fts = (
            "SELECT l.* FROM logs_fts JOIN logs l ON l.id = logs_fts.rowid WHERE logs_fts MATCH ? "
            "ORDER BY rank LIMIT 10"
        )
        fts_count = "FROM logs_fts WHERE logs_fts MATCH ?"

        def match(expr: str) -> Callable[[], object]:
            return hits(fts, fts_count, expr)

        word, word2 = p["word"], p["word2"]
        return {
            "term": match(word),
            "match_and": match(f"{word} AND {word2}"),
            "phrase": match('"' + " ".join(p["phrase"]) + '"'),
            "range": hits(
                "SELECT * FROM logs WHERE bytes BETWEEN ? AND ? LIMIT 10",
                "FROM logs WHERE bytes BETWEEN ? AND ?",
                p["bytes_lo"],
                p["bytes_hi"],
            ),
            "bool_filter_match": hits(
                "SELECT l.* FROM logs_fts JOIN logs l ON l.id = logs_fts.rowid WHERE logs_fts MATCH ? "
                "AND l.status >= ? AND l.method = ? ORDER BY rank LIMIT 10",
                "FROM logs_fts JOIN logs l ON l.id = logs_fts.rowid WHERE logs_fts MATCH ? "
                "AND l.status >= ? AND l.method = ?",
                word,
                p["status_gte"],
                p["method"],
            ),
            "sort_numeric_100": hits("SELECT * FROM logs ORDER BY bytes DESC LIMIT 100", "FROM logs"),
            # ES's total for search_after counts every match of the query (match_all), not only those after it
            "search_after": hits(
                "SELECT * FROM logs WHERE bytes > ? ORDER BY bytes LIMIT 10",
                "FROM logs",
                p["after_bytes"],
                count_args=(),
            ),
            "terms_agg": q("SELECT url, COUNT(*) c FROM logs GROUP BY url ORDER BY c DESC LIMIT 10"),
            "date_histogram_avg": q("SELECT ts / 3600000, COUNT(*), AVG(bytes) FROM logs GROUP BY 1"),
            "percentiles": None,  # no percentile aggregate in SQLite
            "cardinality": q("SELECT COUNT(DISTINCT url) FROM logs"),
        }

    def close(self) -> None:
        self.db.close()
