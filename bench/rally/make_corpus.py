"""``python -m bench.rally.make_corpus [--docs N]``: write the Rally corpus of the ``logs`` track.

Writes, next to ``track.json`` in ``bench/rally/logs/`` (all three are generated, git-ignored):

- ``documents.json``: the deterministic log corpus of ``bench/corpus.py``, one JSON document a line;
- ``corpus.json``: the track's ``corpora`` entry, with the ``document-count`` and ``uncompressed-bytes``
  of that very file (Rally checks them before it bulk-loads);
- ``generated.j2``: Jinja variables (the query words and bounds of ``Corpus.params()``) that
  ``track.json`` imports, so the queries match the corpus whatever its size.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import orjson

from bench.corpus import Corpus

TRACK_DIR = Path(__file__).resolve().parent / "logs"
DEFAULT_DOCS = 100_000
INDEX = "logs"


def write_corpus(n_docs: int, track_dir: Path = TRACK_DIR) -> dict[str, int]:
    corpus = Corpus.generate(n_docs)
    docs_path = track_dir / "documents.json"
    tmp = docs_path.with_suffix(".json.tmp")
    with open(tmp, "wb") as f:
        for start in range(0, n_docs, 10_000):
            f.write(b"".join(orjson.dumps(corpus.doc(i)) + b"\n" for i in range(start, min(start + 10_000, n_docs))))
    os.replace(tmp, docs_path)
    # Rally keeps a line-offset index next to the corpus; a stale one would point into the old file.
    for stale in track_dir.glob("documents.json.offset*"):
        stale.unlink()
    size = docs_path.stat().st_size
    entry = {
        "name": "logs",
        "documents": [
            {
                "source-file": "documents.json",
                "document-count": n_docs,
                "uncompressed-bytes": size,
                "target-index": INDEX,
            }
        ],
    }
    (track_dir / "corpus.json").write_text(json.dumps(entry, indent=2) + "\n")
    p = corpus.params()
    lines = [f"{{% set document_count = {n_docs} %}}"]
    for key in ("word", "word2", "bytes_lo", "bytes_hi", "after_bytes", "status_gte", "method"):
        lines.append(f"{{% set {key} = {json.dumps(p[key])} %}}")
    lines.append(f"{{% set phrase = {json.dumps(' '.join(p['phrase']))} %}}")
    (track_dir / "generated.j2").write_text("\n".join(lines) + "\n")
    return {"document-count": n_docs, "uncompressed-bytes": size}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.rally.make_corpus", description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=DEFAULT_DOCS, help=f"documents to generate (default {DEFAULT_DOCS})")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    meta = write_corpus(args.docs)
    print(
        f"wrote {TRACK_DIR / 'documents.json'}: {meta['document-count']} docs, "
        f"{meta['uncompressed-bytes']} bytes in {time.perf_counter() - t0:.1f}s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
