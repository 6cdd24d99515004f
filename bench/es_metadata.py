"""The fields every ES document carries in Quidditch's shard schema, for the raw tantivy floor of ES-shaped docs.

``native/schema.py`` adds ``_id`` (raw-tokenized text, ``basic`` index option, stored and fast), ``_source``
(stored bytes: the original JSON), ``_seq_no`` (i64 stored, indexed and fast), ``_version`` and ``_primary_term``
(i64 stored and fast) to every index. The bench's second raw tantivy ingest row writes the same documents as
the bare ``add_json`` row plus these fields, with 20-character ids like Quidditch's auto ids; the documents
are prepared before the clock starts, as for the bare row.
"""

from __future__ import annotations

import base64
import random
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
import tantivy

LABEL = (
    "raw tantivy-py `add_json` + ES metadata fields (`_id`, `_source`, `_seq_no`, `_version`, `_primary_term`; "
    "1 writer thread, 64 MB heap)"
)
ID_CHARS = 20  # 15 bytes of url-safe base64, like ES's (and Quidditch's) auto ids
START_MS = 1_704_067_200_000  # the id clock prefix; any constant will do


def add_fields(sb: tantivy.SchemaBuilder) -> None:
    """The metadata fields, with the options of ``native.schema.CompiledMapping``."""
    sb.add_text_field("_id", stored=True, fast=True, tokenizer_name="raw", index_option="basic")
    sb.add_bytes_field("_source", stored=True)
    sb.add_integer_field("_seq_no", stored=True, indexed=True, fast=True)
    sb.add_integer_field("_version", stored=True, fast=True)
    sb.add_integer_field("_primary_term", stored=True, fast=True)


def auto_ids(n: int, seed: int) -> list[str]:
    """``n`` distinct 20-character ids laid out like ``cluster.writes.auto_ids`` (6-byte clock, 3-byte counter,
    6 random bytes), from a seeded generator so that runs are repeatable."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        raw = (START_MS + i // 1000).to_bytes(6, "big") + (i & 0xFFFFFF).to_bytes(3, "big") + rng.randbytes(6)
        out.append(base64.urlsafe_b64encode(raw).decode())
    return out


def with_metadata(docs: Iterable[str], sources: Iterable[bytes], seed: int = 0) -> Iterator[str]:
    """Each tantivy JSON doc (an object) with the metadata fields prepended; ``_source`` is the original JSON
    base64-encoded, as ``add_json`` takes bytes. ``_seq_no`` counts from 0, ``_version`` and ``_primary_term``
    are 1, as after a first ``_bulk`` of new documents."""
    docs, sources = list(docs), list(sources)
    ids = auto_ids(len(docs), seed)
    for seq_no, (doc, source, doc_id) in enumerate(zip(docs, sources, ids, strict=True)):
        head = orjson.dumps(
            {
                "_id": doc_id,
                "_source": base64.b64encode(source).decode(),
                "_seq_no": seq_no,
                "_version": 1,
                "_primary_term": 1,
            }
        ).decode()
        rest = doc[1:].lstrip()
        yield head[:-1] + ("}" if rest == "}" else "," + rest)


def ingest_row(
    make: Callable[..., Any], path: Path, docs: Iterable[str], sources: Iterable[bytes], deadline_s: float,
    seed: int = 0,
) -> dict[str, Any]:
    """The ingest row of ``make(path, with_es_metadata=True)`` (a raw tantivy baseline) fed ``docs`` with the
    metadata fields; the index is removed afterwards."""
    from bench.quidditch_runner import dir_bytes

    prepared = list(with_metadata(docs, sources, seed))
    row: dict[str, Any] = make(str(path), with_es_metadata=True).ingest(prepared, deadline_s)
    del prepared
    row["bytes_on_disk"] = dir_bytes(path)
    row.update(label=LABEL, docs_per_s=row["docs"] / row["seconds"],
               bytes_per_doc=row["bytes_on_disk"] / max(row["docs"], 1))  # fmt: skip
    shutil.rmtree(path, ignore_errors=True)
    return row

