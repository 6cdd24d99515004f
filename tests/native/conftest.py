"""A small real tantivy index plus a tiny FieldResolver, for the query compiler tests."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import tantivy

from native.fields import FIELD_NAMES_FIELD, ID_FIELD, SEQ_NO_FIELD, FieldInfo
from native.query import compile_query, parse_query

NOW = 1_710_510_300_000  # 2024-03-15T13:45:00Z
DAY = 86_400_000
BASE_TS = 1_704_067_200_000  # 2024-01-01T00:00:00Z

WORDS = ["quick", "brown", "fox", "jumps", "over", "lazy", "dog", "red", "fast", "slow", "elephant", "quack"]
TAGS = ["Alpha", "beta", "Gamma", "delta-1", "alpha"]

_ANALYZER = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.lowercase()).build()
_LOWER = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.raw()).filter(tantivy.Filter.lowercase()).build()


def analyze(text: str) -> list[str]:
    return list(_ANALYZER.analyze(text))


def normalize_lower(text: str) -> list[str]:
    return list(_LOWER.analyze(text))


def make_docs() -> list[dict[str, Any]]:
    docs = []
    for i in range(30):
        doc: dict[str, Any] = {"_id": f"d{i}", "n": i, "tag": TAGS[i % len(TAGS)], "flag": i % 3 == 0}
        if i % 7 != 0:
            words = [WORDS[(i * k + i // 2) % len(WORDS)] for k in (1, 2, 3)]
            doc["title"] = " ".join(words) + (" Quick" if i % 4 == 0 else "")
        if i % 5 != 0:
            doc["price"] = i * 1.5
        doc["ts"] = BASE_TS + i * DAY + (i % 4) * 3_600_000
        doc["tag_lc"] = doc["tag"]
        if i % 6 == 0:
            doc["user"] = {"name": f"User{i}"}
        docs.append(doc)
    return docs


@dataclass
class TinyResolver:
    schema: tantivy.Schema
    fields: dict[str, FieldInfo]

    def field(self, path: str) -> FieldInfo | None:
        return self.fields.get(path)

    def expand(self, pattern: str) -> Sequence[FieldInfo]:
        return [f for p, f in self.fields.items() if fnmatch.fnmatchcase(p, pattern)]

    def default_fields(self) -> Sequence[FieldInfo]:
        return [f for f in self.fields.values() if f.es_type in ("text", "keyword")]


@dataclass
class TinyIndex:
    index: tantivy.Index
    resolver: TinyResolver
    docs: list[dict[str, Any]]

    def run(self, query: tantivy.Query) -> set[str]:
        searcher = self.index.searcher()
        result = searcher.search(query, 1000)
        return {searcher.doc(addr)[ID_FIELD][0] for _, addr in result.hits}

    def scored(self, body: dict[str, Any] | None) -> dict[str, float]:
        query = compile_query(parse_query(body), self.resolver, now_millis=NOW)
        searcher = self.index.searcher()
        return {searcher.doc(addr)[ID_FIELD][0]: score for score, addr in searcher.search(query, 1000).hits}

    def search(self, body: dict[str, Any] | None, now: int = NOW) -> set[str]:
        return self.run(compile_query(parse_query(body), self.resolver, now_millis=now))

    def ids(self, pred: Any) -> set[str]:
        return {d["_id"] for d in self.docs if pred(d)}


@pytest.fixture(scope="session")
def tiny_index(tmp_path_factory: pytest.TempPathFactory) -> TinyIndex:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field(ID_FIELD, stored=True, fast=True, tokenizer_name="raw")
    sb.add_text_field(FIELD_NAMES_FIELD, tokenizer_name="raw")
    sb.add_integer_field(SEQ_NO_FIELD, fast=True)  # as every shard schema: ``count_matches`` counts its values
    sb.add_text_field("title", tokenizer_name="en")
    sb.add_text_field("tag", fast=True, tokenizer_name="raw")
    sb.add_text_field("tag_lc", fast=True, tokenizer_name="lower")
    sb.add_text_field("user.name", fast=True, tokenizer_name="raw")
    sb.add_integer_field("n", indexed=True, fast=True)
    sb.add_float_field("price", indexed=True, fast=True)
    sb.add_integer_field("ts", indexed=True, fast=True)
    sb.add_boolean_field("flag", indexed=True, fast=True)
    schema = sb.build()
    index = tantivy.Index(schema, path=str(tmp_path_factory.mktemp("tiny")))
    index.register_tokenizer("en", _ANALYZER)
    index.register_tokenizer("lower", _LOWER)
    index.register_fast_field_tokenizer("lower", _LOWER)
    docs = make_docs()
    writer = index.writer(heap_size=15_000_000, num_threads=1)
    for seq_no, d in enumerate(docs):
        doc = tantivy.Document()
        doc.add_text(ID_FIELD, d["_id"])
        doc.add_integer(SEQ_NO_FIELD, seq_no)
        present = [k for k in ("title", "tag", "tag_lc", "n", "price", "ts", "flag") if k in d]
        if "user" in d:
            doc.add_text("user.name", d["user"]["name"])
            present.append("user.name")
        for p in present:
            doc.add_text(FIELD_NAMES_FIELD, p)
        if "title" in d:
            doc.add_text("title", d["title"])
        doc.add_text("tag", d["tag"])
        doc.add_text("tag_lc", d["tag_lc"])
        doc.add_integer("n", d["n"])
        if "price" in d:
            doc.add_float("price", d["price"])
        doc.add_integer("ts", d["ts"])
        doc.add_boolean("flag", d["flag"])
        writer.add_document(doc)
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    fields = {
        "title": FieldInfo("title", "text", "title", analyze=analyze),
        "tag": FieldInfo("tag", "keyword", "tag", ignore_above=20),
        "tag_lc": FieldInfo("tag_lc", "keyword", "tag_lc", analyze=normalize_lower),
        "user.name": FieldInfo("user.name", "keyword", "user.name"),
        "n": FieldInfo("n", "long", "n"),
        "price": FieldInfo("price", "double", "price"),
        "ts": FieldInfo("ts", "date", "ts"),
        "flag": FieldInfo("flag", "boolean", "flag"),
    }
    return TinyIndex(index, TinyResolver(schema, fields), docs)


def write_in_segments(shard: Any, docs: Sequence[dict[str, Any]], per_segment: int, ids: Sequence[str]) -> None:
    """Index ``docs`` (ids ``ids``) into a ``native.shard.Shard``, refreshing every ``per_segment`` documents
    so that the shard has several segments."""
    import orjson

    from native.writes import WriteOp

    for start in range(0, len(docs), per_segment):
        chunk = range(start, min(start + per_segment, len(docs)))
        shard.write([WriteOp("index", ids[i], orjson.dumps(docs[i])) for i in chunk])
        shard.refresh()
