"""A deterministic, generated log corpus (nothing is downloaded)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

SEED = 20240101
VOCAB_SIZE = 2000
WORDS_PER_MESSAGE = 12
START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
SPAN_MS = 7 * 24 * 3600 * 1000

STATUSES = np.array([200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 500, 502, 503])
STATUS_P = np.array([0.70, 0.03, 0.02, 0.02, 0.03, 0.06, 0.02, 0.02, 0.01, 0.05, 0.02, 0.01, 0.01])
METHODS = np.array(["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"])
METHOD_P = np.array([0.78, 0.13, 0.04, 0.02, 0.02, 0.01])

MAPPING: dict[str, Any] = {
    "properties": {
        "@timestamp": {"type": "date"},
        "status": {"type": "integer"},
        "bytes": {"type": "long"},
        "method": {"type": "keyword"},
        "url": {"type": "keyword"},
        "client_ip": {"type": "ip"},
        "message": {"type": "text"},
    }
}

_SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ne",
    "ru",
    "ta",
    "ve",
    "zo",
    "pa",
    "di",
    "so",
    "qu",
    "ba",
    "fe",
    "gi",
    "ho",
    "ja",
    "xe",
    "wy",
    "ce",
    "tor",
    "lin",
    "mar",
    "sen",
    "dex",
    "pol",
    "vin",
    "rak",
]


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    words: set[str] = set()
    out: list[str] = []
    while len(out) < size:
        w = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))
        if w not in words:
            words.add(w)
            out.append(w)
    return out


def _zipf_probs(n: int, s: float) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1) ** s
    return p / p.sum()


@dataclass
class Corpus:
    """Column arrays for ``n`` log documents plus the query parameters derived from them."""

    n: int
    seed: int = SEED
    vocab: list[str] = field(default_factory=list)
    ts_ms: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ts_iso: list[str] = field(default_factory=list)
    status: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    bytes_: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    method: list[str] = field(default_factory=list)
    url: list[str] = field(default_factory=list)
    client_ip: list[str] = field(default_factory=list)
    message: list[str] = field(default_factory=list)

    @classmethod
    def generate(cls, n: int, seed: int = SEED) -> Corpus:
        rng = random.Random(seed)
        nrng = np.random.default_rng(seed)
        c = cls(n=n, seed=seed)
        c.vocab = _vocabulary(rng, VOCAB_SIZE)
        c.ts_ms = START_MS + np.sort(nrng.integers(0, SPAN_MS, n, dtype=np.int64))
        iso = np.datetime_as_string(c.ts_ms.astype("datetime64[ms]"), unit="ms")
        c.ts_iso = [s + "Z" for s in iso.tolist()]
        c.status = nrng.choice(STATUSES, n, p=STATUS_P).astype(np.int64)
        c.bytes_ = np.clip(nrng.lognormal(8.5, 1.4, n), 0, 50_000_000).astype(np.int64)
        c.method = nrng.choice(METHODS, n, p=METHOD_P).tolist()
        paths = [f"/{rng.choice(c.vocab)}/{rng.choice(c.vocab)}" for _ in range(500)]
        c.url = np.array(paths)[nrng.choice(500, n, p=_zipf_probs(500, 1.1))].tolist()
        ips = [f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}" for _ in range(5000)]
        c.client_ip = np.array(ips)[nrng.choice(5000, n, p=_zipf_probs(5000, 0.9))].tolist()
        word_ids = nrng.choice(VOCAB_SIZE, (n, WORDS_PER_MESSAGE), p=_zipf_probs(VOCAB_SIZE, 1.0))
        vocab_arr = np.array(c.vocab, dtype=object)
        words = vocab_arr[word_ids]
        c.message = [" ".join(row) for row in words.tolist()]
        return c

    # -- documents
    def doc(self, i: int) -> dict[str, Any]:
        return {
            "@timestamp": self.ts_iso[i],
            "status": int(self.status[i]),
            "bytes": int(self.bytes_[i]),
            "method": self.method[i],
            "url": self.url[i],
            "client_ip": self.client_ip[i],
            "message": self.message[i],
        }

    def bulk_bodies(self, index: str, batch: int = 1000, limit: int | None = None) -> list[bytes]:
        """NDJSON ``_bulk`` bodies of ``batch`` index actions each (auto ids)."""
        action = orjson.dumps({"index": {"_index": index}})
        n = self.n if limit is None else min(limit, self.n)
        bodies = []
        for start in range(0, n, batch):
            parts: list[bytes] = []
            for i in range(start, min(start + batch, n)):
                parts.append(action)
                parts.append(orjson.dumps(self.doc(i)))
            bodies.append(b"\n".join(parts) + b"\n")
        return bodies

    def sources(self) -> Iterator[bytes]:
        """Each doc's JSON exactly as ``bulk_bodies`` sends it (what Quidditch keeps as ``_source``)."""
        for i in range(self.n):
            yield orjson.dumps(self.doc(i))

    def tantivy_json(self) -> Iterator[str]:
        """One JSON string per doc for the raw tantivy schema (date as i64 millis)."""
        for i in range(self.n):
            yield orjson.dumps(
                {
                    "ts": int(self.ts_ms[i]),
                    "status": int(self.status[i]),
                    "bytes": int(self.bytes_[i]),
                    "method": self.method[i],
                    "url": self.url[i],
                    "client_ip": self.client_ip[i],
                    "message": self.message[i],
                }
            ).decode()

    def sqlite_rows(self) -> Iterator[tuple[int, int, int, int, str, str, str, str]]:
        for i in range(self.n):
            yield (
                i + 1,
                int(self.ts_ms[i]),
                int(self.status[i]),
                int(self.bytes_[i]),
                self.method[i],
                self.url[i],
                self.client_ip[i],
                self.message[i],
            )

    # -- query parameters
    def params(self) -> dict[str, Any]:
        """Words and bounds used by every engine's queries (the same values everywhere)."""
        sorted_bytes = np.sort(self.bytes_)
        return {
            "word": self.vocab[20],  # frequent but not a stop-word-like top term
            "word2": self.vocab[45],
            "phrase": [self.vocab[0], self.vocab[1]],
            "bytes_lo": int(sorted_bytes[int(self.n * 0.40)]),
            "bytes_hi": int(sorted_bytes[int(self.n * 0.41)]),
            "after_bytes": int(sorted_bytes[int(self.n * 0.5)]),  # a deep page: half the index is before it
            "status_gte": 400,
            "method": "GET",
        }
