"""Quidditch benchmark: ``python -m bench [--quick] [--docs N]``.

Starts its own server on 127.0.0.1, loads a generated log corpus and a prose corpus (Debian package
descriptions from the local APT lists), and measures ingest, query latency, throughput and memory beside raw
tantivy-py and SQLite FTS5 baselines. Results land in ``bench/results/``; see ``bench/README.md``.
"""
